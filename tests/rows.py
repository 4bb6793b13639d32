"""Rows the test factories share."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.lists.models import ListEntry
from registry.records.demo import make_uscc
from registry.records.models import Entity, Penalty

T = TypeVar("T")


def add_row(session: Session, row: T) -> T:
    """``row`` added to ``session`` and flushed (so it has its id)."""
    session.add(row)
    session.flush()
    return row


def add_entity(session: Session, uscc: str, name: str, **fields: Any) -> Entity:
    """An entity row for ``uscc`` (its region taken from the code), flushed."""
    entity = Entity(
        uscc=uscc,
        name=name,
        party_type=fields.pop("party_type", "organisation"),
        division_code=uscc[2:8],
        province_code=uscc[2:4],
        **fields,
    )
    return add_row(session, entity)


class RowFactory:
    """What the test factories share: their session, a seeded random source for valid
    codes, a running number for decisions, and entities."""

    def __init__(self, session: Session, seed: int) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self._numbers = 0

    def uscc(self, division: str = "440305", authority: str = "9", kind: str = "1") -> str:
        return make_uscc(self.rng, division, authority, kind)

    def authority(self) -> str:
        """A market-regulation bureau's code (机关: 1 1)."""
        return make_uscc(self.rng, "440305", "1", "1")

    def entity(self, uscc: str | None = None, name: str = "深圳市华鑫科技有限公司") -> Entity:
        return add_entity(self.session, uscc or self.uscc(), name)


def add_penalty(
    session: Session,
    uscc: str,
    authority_uscc: str,
    number: str,
    decided_on: date,
    fields: Mapping[str, Any],
) -> Penalty:
    """A penalty numbered ``number`` of the city bureau against the organisation ``uscc``
    (its content hash from the number), flushed; ``fields`` add to or override these."""
    values: dict[str, Any] = {
        "subject_key": uscc,
        "uscc": uscc,
        "party_name": "深圳市华鑫科技有限公司",
        "party_type": "organisation",
        "legal_representative": "王伟",
        "decision_number": number,
        "facts": "经查，当事人存在违法行为。",
        "content": "罚款",
        "decided_on": decided_on,
        "valid_until": date(2099, 12, 31),
        "authority": "深圳市市场监督管理局",
        "authority_uscc": authority_uscc,
        "content_hash": hashlib.sha256(number.encode()).hexdigest(),
    }
    values.update(fields)
    return add_row(session, Penalty(**values))


def add_entry(
    session: Session,
    uscc: str,
    list_type: str,
    authority_uscc: str | None,
    basis: Sequence[int],
    fields: Mapping[str, Any],
) -> ListEntry:
    """A list entry of ``uscc`` on ``list_type`` on the basis of these penalty ids,
    flushed; ``fields`` (``status``, ``rule_id``, ``pack_version``, ``proposed_on``,
    terms …) add to its columns or override them."""
    values: dict[str, Any] = {
        "uscc": uscc,
        "list_type": list_type,
        "authority_uscc": authority_uscc,
        "basis_penalty_ids": list(basis),
    }
    values.update(fields)
    return add_row(session, ListEntry(**values))


def entries_where(rt: Any, *where: Any) -> list[ListEntry]:
    """The list entries matching ``where``, oldest first, read in a session of ``rt``."""
    with rt.sessions() as s:
        return list(s.execute(select(ListEntry).where(*where).order_by(ListEntry.id)).scalars())
