"""Test data for the public pages as direct model rows.

Every field that decides what the public sees (status, revoked_on, disclosure_until,
repaired_on, list entry status and dates) is set here explicitly, so each test states
the case it covers.  Codes are valid USCCs from :func:`registry.records.demo.make_uscc`; names
are indexed for search with :func:`registry.records.search.index_entity_name`, as the importer
does.  The factory flushes; tests commit before code that opens its own sessions.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from registry.core.models import Change
from registry.lists.models import ListEntry
from registry.records.demo import make_uscc
from registry.records.models import Entity, Penalty, Person
from registry.records.search import index_entity_name
from tests.rows import add_entity

TODAY = date(2026, 11, 29)  # the suite's fixed "today" (tests/conftest.py)


class WebFactory:
    def __init__(self, session: Session, seed: int = 11) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self._numbers = 0

    def uscc(self, division: str = "440305", authority: str = "9", kind: str = "1") -> str:
        return make_uscc(self.rng, division, authority, kind)

    def authority_code(self) -> str:
        """A market-regulation bureau's code (机关: 1 1)."""
        return make_uscc(self.rng, "440305", "1", "1")

    def entity(
        self,
        name: str = "深圳市华鑫科技有限公司",
        uscc: str | None = None,
        *,
        party_type: str = "organisation",
        index: bool = True,
    ) -> Entity:
        uscc = uscc or self.uscc()
        pinyin, initials = index_entity_name(name) if index else (None, None)
        return add_entity(
            self.session,
            uscc,
            name,
            party_type=party_type,
            name_pinyin=pinyin,
            name_initials=initials,
        )

    def penalty(
        self,
        uscc: str | None,
        *,
        authority_uscc: str,
        decided_on: date = TODAY - timedelta(days=60),
        disclosure_until: date | None = TODAY + timedelta(days=300),
        status: str = "active",
        revoked_on: date | None = None,
        repaired_on: date | None = None,
        severity: str | None = "general",
        party_name: str = "深圳市华鑫科技有限公司",
        party_type: str = "organisation",
        categories: tuple[str, ...] = ("罚款",),
        fine_wan: str | None = "5",
        decision_number: str | None = None,
        authority: str = "深圳市市场监督管理局",
        violation_type: str = "发布虚假广告",
        legal_representative: str | None = "张三丰",
        record_change: bool = True,
        **fields: Any,
    ) -> Penalty:
        self._numbers += 1
        number = decision_number or f"深市监罚〔{decided_on.year}〕{self._numbers}号"
        subject = uscc or f"P:{fields.get('person_key') or 'x' * 64}"
        penalty = Penalty(
            subject_key=subject,
            uscc=uscc,
            party_name=party_name,
            party_type=party_type,
            legal_representative=legal_representative,
            legal_representative_id_type="身份证" if legal_representative else None,
            legal_representative_id_masked="110105********002X" if legal_representative else None,
            decision_number=number,
            violation_type=violation_type,
            facts="经查，当事人在其网店发布虚假广告。",
            basis="《中华人民共和国广告法》第五十五条",
            categories=list(categories),
            content="罚款人民币五万元。",
            fine_wan=None if fine_wan is None else Decimal(fine_wan),
            decided_on=decided_on,
            authority=authority,
            authority_uscc=authority_uscc,
            source_unit=fields.pop("source_unit", authority),
            source_unit_uscc=authority_uscc,
            status=status,
            revoked_on=revoked_on,
            revoked_reason="复议撤销" if status == "revoked" else None,
            content_hash=hashlib.sha256(number.encode()).hexdigest(),
            severity=severity,
            disclosure_until=disclosure_until,
            repaired_on=repaired_on,
            **fields,
        )
        self.session.add(penalty)
        self.session.flush()
        if record_change:
            self.change(
                subject, "penalty", penalty.id, "revoked" if status == "revoked" else "created"
            )
        return penalty

    def person(self, name: str = "李小明", id_number: str = "11010519491231002X") -> Person:
        key = hashlib.sha256(id_number.encode()).hexdigest()
        person = Person(person_key=key, id_type="身份证", id_masked="110105********002X", name=name)
        self.session.add(person)
        self.session.flush()
        return person

    def list_entry(
        self,
        uscc: str,
        list_type: str = "samr_serious",
        *,
        status: str = "active",
        since: date | None = TODAY - timedelta(days=100),
        until: date | None = TODAY + timedelta(days=900),
        ended_on: date | None = None,
        authority_uscc: str | None = None,
        proposed_on: date | None = None,
        record_change: bool = True,
    ) -> ListEntry:
        entry = ListEntry(
            uscc=uscc,
            list_type=list_type,
            status=status,
            rule_id="heavy-penalty",
            authority_uscc=authority_uscc,
            basis_penalty_ids=[],
            proposed_on=proposed_on or since or TODAY,
            since=since if status in ("active", "removed") else None,
            until=until if status in ("active", "removed") else None,
            ended_on=ended_on,
        )
        self.session.add(entry)
        self.session.flush()
        if record_change:
            self.change(uscc, "list_entry", entry.id, status)
        return entry

    def change(self, uscc: str, kind: str, object_id: int | None, action: str) -> Change:
        change = Change(uscc=uscc, kind=kind, object_id=object_id, action=action)
        self.session.add(change)
        self.session.flush()
        return change
