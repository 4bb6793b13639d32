"""Penalty rows for the rules tests, written directly (valid codes, no importer).

``make_penalty(session, ...)`` adds one record and flushes; the test commits.  Only
what a test names differs from an ordinary, general (一般) fine on an organisation."""

from __future__ import annotations

import hashlib
import itertools
import random
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.core.codes import mask_id_number, person_key
from registry.records.demo import make_resident_id, make_uscc
from registry.records.models import Penalty, Person
from tests.conftest import TEST_ID_KEY

_rng = random.Random(20261129)
_numbers = itertools.count(1)

#: Two market-regulation authorities (机关, code type 1-1).
AUTHORITY = make_uscc(_rng, "440300", authority="1", kind="1")
OTHER_AUTHORITY = make_uscc(_rng, "320500", authority="1", kind="1")


def new_uscc(division: str = "440300") -> str:
    """A fresh, valid enterprise code (9-1)."""
    return make_uscc(_rng, division)


def new_person(session: Session, name: str = "张三") -> str:
    """A person row (keyed hash only); returns the person key."""
    number = make_resident_id(_rng, "440300")
    key = person_key(number, TEST_ID_KEY)
    masked = mask_id_number(number)
    session.add(Person(person_key=key, id_type="身份证", id_masked=masked, name=name))
    session.flush()
    return key


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def make_penalty(
    session: Session,
    uscc: str | None = None,
    *,
    decided_on: date = date(2026, 6, 1),
    violation_type: str = "虚假广告",
    categories: tuple[str, ...] | list[str] = ("罚款",),
    fine_wan: float | str | None = 5,
    party_type: str = "organisation",
    person: str | None = None,
    authority_uscc: str = AUTHORITY,
    disclosure_deadline: date | None = None,
    business_volume_wan: float | str | None = None,
    illegal_gains_wan: float | str | None = None,
    transferred_to_police: bool = False,
    aggravated: bool = False,
    legal_representative_key: str | None = None,
    status: str = "active",
    revoked_on: date | None = None,
) -> Penalty:
    """One penalty on ``uscc`` (or, for a party without a code, on person key ``person``)."""
    if uscc is None and person is None:
        uscc = new_uscc()
    number = next(_numbers)
    subject_key = uscc if uscc is not None else f"P:{person}"
    if uscc is None and party_type == "organisation":
        party_type = "natural_person"
    penalty = Penalty(
        subject_key=subject_key,
        uscc=uscc,
        party_name=f"测试主体{number}",
        party_type=party_type,
        person_key=person,
        legal_representative="李四" if legal_representative_key else None,
        legal_representative_key=legal_representative_key,
        decision_number=f"深市监罚〔{decided_on.year}〕{number}号",
        violation_type=violation_type,
        facts=f"当事人{violation_type}。",
        basis="《中华人民共和国行政处罚法》第二十八条",
        categories=list(categories),
        content="、".join(categories),
        fine_wan=_money(fine_wan),
        decided_on=decided_on,
        valid_until=date(2099, 12, 31),
        disclosure_deadline=disclosure_deadline,
        authority="深圳市市场监督管理局",
        authority_uscc=authority_uscc,
        business_volume_wan=_money(business_volume_wan),
        illegal_gains_wan=_money(illegal_gains_wan),
        transferred_to_police=transferred_to_police,
        aggravated=aggravated,
        status=status,
        revoked_on=revoked_on,
        content_hash=hashlib.sha256(f"{subject_key}/{number}".encode()).hexdigest(),
    )
    session.add(penalty)
    session.flush()
    return penalty


#: The tables an evaluation writes to (or a dry run must leave alone).
EVALUATION_TABLES = (
    "penalties",
    "list_entries",
    "list_entry_events",
    "decisions",
    "alerts",
    "changes",
    "audit_log",
    "person_links",
    "rule_packs",
    "measures",
    "dirty_entities",
)


def row_counts(session: Session) -> dict[str, int]:
    """How many rows each of :data:`EVALUATION_TABLES` holds."""
    return {
        t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
        for t in EVALUATION_TABLES
    }
