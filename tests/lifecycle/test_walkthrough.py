"""An entity's way through the registry, with the real rules (registry.evaluation):
penalty → proposal → confirmation → sanctions → repair refused, then accepted → removed;
and the abnormal-operations three-year rule reached during scheduler downtime."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.core import clock
from registry.core.errors import TooEarly
from registry.evaluation.sweep import sweep
from registry.lists.entries import confirm_entry, entries_in_force
from registry.lists.models import ListEntry
from registry.lists.repairs import apply_repair, approve_repair
from registry.records.disclosure import is_disclosed
from registry.records.models import Penalty

DAY = timedelta(days=1)


@pytest.fixture
def evaluation():
    return pytest.importorskip("registry.evaluation.runs")


def _entries(session, uscc: str, list_type: str) -> list[ListEntry]:
    return list(
        session.execute(
            select(ListEntry)
            .where(ListEntry.uscc == uscc, ListEntry.list_type == list_type)
            .order_by(ListEntry.id)
        ).scalars()
    )


def test_penalty_to_sanctions_to_repair(session, factory, pack, authority, today, evaluation):
    uscc = factory.uscc()
    factory.entity(uscc)
    penalty = factory.unevaluated_ip_penalty(
        uscc, authority_uscc=authority, decided_on=date(2026, 11, 20), fine_wan="30"
    )
    session.commit()
    evaluation.evaluate_subjects(session, pack, [uscc], actor="test")
    session.commit()
    penalty = session.get(Penalty, penalty.id)
    assert penalty.severity == "serious"
    assert penalty.repair_allowed_from == date(2027, 11, 20)
    assert is_disclosed(penalty, today)

    # The rules propose; a proposal sanctions nothing and is not public.
    (entry,) = _entries(session, uscc, "samr_serious")
    assert (entry.status, entry.rule_id, entry.authority_uscc) == (
        "proposed",
        "heavy-penalty",
        authority,
    )
    assert entries_in_force(session, [uscc], today) == []

    # 告知, hearing, then the regulator confirms: sanctions bind from today.
    confirm_entry(session, pack, entry.id, authority, "regulator:张三", "听证后决定列入")
    session.commit()
    in_force = entries_in_force(session, [uscc], today)
    assert [e.id for e in in_force] == [entry.id]
    assert entries_in_force(session, [uscc], today - DAY) == []
    assert [e.id for e in entries_in_force(session, [uscc], date(2029, 11, 29))] == [entry.id]
    assert entries_in_force(session, [uscc], date(2029, 11, 30)) == []
    measures = {m.id for m in pack.measures_for("samr_serious", "procurement")}
    assert measures == {"procurement-ban"}

    # Repair before the minimum: refused, with the date it becomes possible.
    with pytest.raises(TooEarly) as err:
        apply_repair(session, pack, "list_entry", entry.id, "当事人", "已改正并履行义务")
    assert err.value.details["allowed_from"] == "2027-11-29"
    with pytest.raises(TooEarly) as err:
        apply_repair(session, pack, "penalty", penalty.id, "当事人", "已缴清罚款")
    assert err.value.details["allowed_from"] == "2027-11-20"
    session.rollback()

    # A year on: both applications are accepted and approved.
    clock.set_clock(date(2027, 11, 29))
    entry_repair = apply_repair(session, pack, "list_entry", entry.id, "当事人", "已改正并履行义务")
    penalty_repair = apply_repair(session, pack, "penalty", penalty.id, "当事人", "已缴清罚款")
    session.commit()
    clock.set_clock(date(2027, 12, 6))
    approve_repair(session, pack, entry_repair.id, authority, "regulator:李四")
    approve_repair(session, pack, penalty_repair.id, authority, "regulator:李四")
    session.commit()
    entry = session.get(ListEntry, entry.id)
    assert (entry.status, entry.end_reason, entry.ended_on) == (
        "removed",
        "repaired",
        date(2027, 12, 6),
    )
    assert [e.id for e in entries_in_force(session, [uscc], date(2027, 12, 5))] == [entry.id]
    assert entries_in_force(session, [uscc], date(2027, 12, 6)) == []
    penalty = session.get(Penalty, penalty.id)
    assert not is_disclosed(penalty, date(2027, 12, 5))  # repaired: public on no day
    assert not is_disclosed(penalty, date(2027, 12, 6))

    # The same records do not put the entity back on the list.
    evaluation.evaluate_subjects(session, pack, [uscc], actor="test")
    session.commit()
    assert [e.status for e in _entries(session, uscc, "samr_serious")] == ["removed"]


def test_three_years_abnormal_reached_during_downtime(
    session, factory, pack, authority, today, evaluation
):
    uscc = factory.uscc()
    factory.entity(uscc)
    since = date(2023, 12, 2)  # held 36 months on 2026-12-02, inside the coming week
    report = factory.penalty(
        uscc,
        authority_uscc=authority,
        decided_on=since,
        categories=["警告"],
        fine_wan=None,
        violation_type="未按规定公示年度报告",
    )
    factory.entry(
        uscc,
        "abnormal_operations",
        status="active",
        authority_uscc=authority,
        since=since,
        basis=[report.id],
        rule_id="annual-report",
    )
    session.commit()
    assert sweep(session, pack, today).reevaluated == []
    session.commit()
    assert _entries(session, uscc, "samr_serious") == []

    clock.advance(days=7)
    result = sweep(session, pack, clock.today())
    session.commit()
    assert result.reevaluated == [uscc]
    (proposal,) = _entries(session, uscc, "samr_serious")
    assert (proposal.status, proposal.rule_id) == ("proposed", "abnormal-three-years")
    # Idempotent: the subject is not handed to the rules again.
    assert sweep(session, pack, clock.today()).reevaluated == []
