"""Test data as direct model rows: entities, penalties, list entries, repairs.

A penalty's derived state (severity, disclosure window, repair minimum) is computed from
the default rule pack's own outcome — the months come from the pack, never from here —
unless the test passes the fields itself.  Codes are valid USCCs from
:func:`registry.records.demo.make_uscc`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from registry.core import clock
from registry.lists.entries import entry_terms
from registry.lists.models import ListEntry, ListEntryEvent, Repair
from registry.records.models import Penalty
from rules import DEFAULT_PACK_PATH, RulePack, load_pack
from rules.windows import add_months
from tests.rows import RowFactory, add_entry, add_penalty, add_row

_UNSET: Any = object()


@functools.cache
def default_pack() -> RulePack:
    return load_pack(DEFAULT_PACK_PATH)


@functools.cache
def default_evaluator() -> Any:
    return default_pack().evaluator()


def disclosure_window(decided_on: date, max_months: int) -> date:
    """Last day of disclosure for a window of ``max_months`` from ``decided_on``, as
    ``registry.evaluation`` stores it: the decision date plus the period (both ends
    disclosed)."""
    return add_months(decided_on, max_months)


class Factory(RowFactory):
    """Makes rows in ``session`` (flushes; the test commits when it needs to)."""

    def __init__(self, session: Session, seed: int = 7) -> None:
        super().__init__(session, seed)
        self.pack = default_pack()

    def penalty(
        self,
        uscc: str,
        *,
        authority_uscc: str,
        decided_on: date,
        categories: Sequence[str] = ("罚款",),
        fine_wan: str | None = "5",
        violation_type: str = "发布虚假广告",
        aggravated: bool = False,
        severity: str | None = _UNSET,
        disclosure_until: date | None = _UNSET,
        repair_allowed_from: date | None = _UNSET,
        repairable: bool | None = _UNSET,
        **fields: Any,
    ) -> Penalty:
        """A penalty; severity and windows from the default pack unless given."""
        self._numbers += 1
        number = f"深市监罚〔{decided_on.year}〕{self._numbers}号"
        outcome = default_evaluator().evaluate_penalties(
            [
                {
                    "penalty_id": None,
                    "decision_number": number,
                    "decided_on": decided_on,
                    "party_type": "organisation",
                    "categories": list(categories),
                    "fine_wan": None if fine_wan is None else Decimal(fine_wan),
                    "confiscated_wan": None,
                    "business_volume_wan": None,
                    "illegal_gains_wan": None,
                    "aggravated": aggravated,
                    "transferred_to_police": False,
                    "violation_type": violation_type,
                }
            ]
        )[0]
        if severity is _UNSET:
            severity = outcome.severity
        if disclosure_until is _UNSET:
            disclosure_until = (
                disclosure_window(decided_on, outcome.disclosure_max_months)
                if outcome.disclosed and outcome.disclosure_max_months is not None
                else None
            )
        if repair_allowed_from is _UNSET:
            repair_allowed_from = (
                add_months(decided_on, outcome.disclosure_min_months)
                if outcome.disclosure_min_months is not None
                else None
            )
        if repairable is _UNSET:
            repairable = outcome.repairable
        values: dict[str, Any] = {
            "violation_type": violation_type,
            "basis": "《中华人民共和国广告法》第五十五条",
            "categories": list(categories),
            "fine_wan": None if fine_wan is None else Decimal(fine_wan),
            "source_unit": "深圳市市场监督管理局",
            "source_unit_uscc": authority_uscc,
            "aggravated": aggravated,
            "severity": severity,
            "pack_version": self.pack.version,
            "disclosure_regime": outcome.regime,
            "disclosure_until": disclosure_until,
            "repair_allowed_from": repair_allowed_from,
            "repairable": repairable,
        }
        values.update(fields)
        return add_penalty(self.session, uscc, authority_uscc, number, decided_on, values)

    def unevaluated_ip_penalty(
        self, uscc: str, *, authority_uscc: str, decided_on: date, **fields: Any
    ) -> Penalty:
        """A fine and a revoked licence for selling goods that infringe a trademark, as
        written before the rules ran: no severity, windows or repairability yet."""
        return self.penalty(
            uscc,
            authority_uscc=authority_uscc,
            decided_on=decided_on,
            categories=["罚款", "吊销许可证件"],
            violation_type="销售侵犯注册商标专用权商品",
            severity=None,
            disclosure_until=None,
            repair_allowed_from=None,
            repairable=None,
            **fields,
        )

    def entry(
        self,
        uscc: str,
        list_type: str = "samr_serious",
        *,
        authority_uscc: str | None,
        status: str = "proposed",
        basis: Sequence[int] = (),
        proposed_on: date | None = None,
        since: date | None = None,
        rule_id: str | None = "heavy-penalty",
        **fields: Any,
    ) -> ListEntry:
        """A list entry; an active one gets its terms from the pack (``since`` default
        today)."""
        proposed_on = proposed_on or since or clock.today()
        values: dict[str, Any] = {
            "status": status,
            "rule_id": rule_id,
            "pack_version": self.pack.version,
            "proposed_on": proposed_on,
        }
        if status in ("active", "removed"):
            since = since or clock.today()
            until, early = entry_terms(self.pack, list_type, since)
            values.update(since=since, until=until, early_removal_from=early)
        values.update(fields)
        entry = add_entry(self.session, uscc, list_type, authority_uscc, basis, values)
        event = "proposed" if status == "proposed" else "activated"
        add_row(
            self.session,
            ListEntryEvent(
                list_entry_id=entry.id, uscc=uscc, event=event, on_date=proposed_on, actor="test"
            ),
        )
        return entry

    def repair(
        self,
        target: Penalty | ListEntry,
        *,
        applied_on: date,
        due_on: date,
        status: str = "pending",
    ) -> Repair:
        is_penalty = isinstance(target, Penalty)
        repair = Repair(
            uscc=target.subject_key if is_penalty else target.uscc,
            target_type="penalty" if is_penalty else "list_entry",
            target_id=target.id,
            authority_uscc=target.authority_uscc,
            status=status,
            applied_on=applied_on,
            due_on=due_on,
            applicant="当事人",
            statement="已改正",
        )
        return add_row(self.session, repair)
