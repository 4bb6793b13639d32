"""Test data for the API tests as direct model rows (entities, penalties, list entries,
decisions, persons, alerts) and API tokens through :func:`registry.core.tokens.create_token`.

Everything is written in ``session`` and flushed; call :meth:`ApiFactory.commit` before
requests (the app has its own sessions).  Codes are valid USCCs from
:func:`registry.records.demo.make_uscc`; ID numbers valid resident IDs from
:func:`registry.records.demo.make_resident_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import mask_id_number, person_key
from registry.core.tokens import create_token
from registry.evaluation.models import Alert, Decision
from registry.lists.models import ListEntry
from registry.records.demo import make_resident_id
from registry.records.models import Penalty, Person, PersonLink
from tests.conftest import TEST_ID_KEY
from tests.rows import RowFactory, add_entry, add_penalty, add_row


@dataclass(frozen=True)
class Token:
    secret: str
    role: str
    authority: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


class ApiFactory(RowFactory):
    def __init__(self, session: Session, seed: int = 11) -> None:
        super().__init__(session, seed)

    def commit(self) -> None:
        self.session.commit()

    # --- codes and people ------------------------------------------------------------

    def id_number(self) -> str:
        return make_resident_id(self.rng, "110105")

    def token(self, role: str, authority: str | None = None, name: str | None = None) -> Token:
        secret = create_token(
            self.session,
            role=role,
            name=name or f"{role}-{self.rng.randrange(10**6)}",
            authority=authority,
            actor="test",
        )
        self.session.flush()
        return Token(secret, role, authority)

    # --- rows --------------------------------------------------------------------------

    def penalty(
        self,
        uscc: str,
        authority_uscc: str,
        *,
        decided_on: date | None = None,
        disclosure_until: date | None = None,
        severity: str = "general",
        **fields: Any,
    ) -> Penalty:
        self._numbers += 1
        decided_on = decided_on or clock.today() - timedelta(days=30)
        number = f"深市监罚〔{decided_on.year}〕{self._numbers}号"
        values: dict[str, Any] = {
            "violation_type": "销售假冒注册商标的商品",
            "basis": "《中华人民共和国商标法》第六十条",
            "categories": ["罚款"],
            "fine_wan": Decimal("5"),
            "severity": severity,
            "disclosure_until": disclosure_until
            if disclosure_until is not None
            else decided_on + timedelta(days=3 * 365),
        }
        values.update(fields)
        return add_penalty(self.session, uscc, authority_uscc, number, decided_on, values)

    def repairable_penalty(self, uscc: str, authority_uscc: str, decided_on: date) -> Penalty:
        """A penalty disclosed for three years from ``decided_on`` whose disclosure may be
        repaired 90 days on."""
        return self.penalty(
            uscc,
            authority_uscc,
            decided_on=decided_on,
            disclosure_until=decided_on + timedelta(days=3 * 365),
            repair_allowed_from=decided_on + timedelta(days=90),
            repairable=True,
        )

    def entry(
        self,
        uscc: str,
        list_type: str = "samr_serious",
        *,
        authority_uscc: str | None,
        status: str = "active",
        since: date | None = None,
        until: date | None = None,
        basis: Sequence[int] = (),
        rule_id: str | None = "heavy-penalty",
        **fields: Any,
    ) -> ListEntry:
        values: dict[str, Any] = {
            "status": status,
            "rule_id": rule_id,
            "pack_version": "test",
            "proposed_on": since or clock.today(),
        }
        if status in ("active", "removed"):
            since = since or clock.today()
            values.update(since=since, until=until or since + timedelta(days=3 * 365))
        values.update(fields)
        return add_entry(self.session, uscc, list_type, authority_uscc, basis, values)

    def decision(self, entry: ListEntry, basis: Sequence[int], **fields: Any) -> Decision:
        values: dict[str, Any] = {
            "uscc": entry.uscc,
            "rule_id": entry.rule_id or "heavy-penalty",
            "rule_title": "知识产权侵权、假冒伪劣违法行为受到较重行政处罚",
            "pack_version": "test",
            "outcome": "propose",
            "list_type": entry.list_type,
            "list_entry_id": entry.id,
            "basis_penalty_ids": list(basis),
        }
        values.update(fields)
        return add_row(self.session, Decision(**values))

    def person(self, number: str, name: str = "王伟") -> Person:
        key = person_key(number, TEST_ID_KEY)
        person = Person(
            person_key=key, id_type="身份证", id_masked=mask_id_number(number), name=name
        )
        return add_row(self.session, person)

    def link(self, person: Person, uscc: str, role: str = "legal_representative") -> PersonLink:
        link = PersonLink(uscc=uscc, person_key=person.person_key, role=role)
        return add_row(self.session, link)

    def alert(self, penalty: Penalty, **fields: Any) -> Alert:
        values: dict[str, Any] = {
            "uscc": penalty.subject_key,
            "kind": "criminal-transfer-check",
            "penalty_id": penalty.id,
            "decision_number": penalty.decision_number,
            "authority_uscc": penalty.authority_uscc,
            "rule_id": "counterfeit-trademark",
            "pack_version": "test",
            "threshold": {"business_volume_wan": "5"},
        }
        values.update(fields)
        return add_row(self.session, Alert(**values))

    # --- API bodies ------------------------------------------------------------------

    def record(self, authority_uscc: str, **fields: Any) -> dict[str, Any]:
        """A valid penalty record body for POST /api/v1/penalties."""
        self._numbers += 1
        body: dict[str, Any] = {
            "party_name": "深圳市华鑫科技有限公司",
            "party_type": "organisation",
            "uscc": self.uscc(),
            "legal_representative": "王伟",
            "decision_number": f"深市监罚〔2026〕{1000 + self._numbers}号",
            "violation_type": "发布虚假广告",
            "facts": "经查，当事人发布虚假广告。",
            "basis": "《中华人民共和国广告法》第五十五条",
            "categories": ["罚款"],
            "content": "罚款5万元",
            "fine_wan": "5",
            "decided_on": "2026-10-01",
            "authority": "深圳市市场监督管理局",
            "authority_uscc": authority_uscc,
        }
        body.update(fields)
        return body


def apply_for_repair(client: Any, penalty: Penalty, token: Token, statement: str) -> Any:
    """POST /api/v1/repairs for ``penalty``'s disclosure as ``token``; the response."""
    body = {"target_type": "penalty", "target_id": penalty.id, "statement": statement}
    return client.post("/api/v1/repairs", json=body, headers=token.headers)
