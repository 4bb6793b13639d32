"""Credit repair (信用修复) of a penalty's disclosure and of a list entry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.core import clock
from registry.core.errors import Conflict, Forbidden, Invalid, TooEarly
from registry.core.models import Change
from registry.lists.repairs import (
    apply_repair,
    approve_repair,
    list_repairs,
    overdue_repairs,
    reject_repair,
)
from registry.records.disclosure import disclosed_on, is_disclosed
from registry.records.models import Penalty

DAY = timedelta(days=1)


def test_penalty_repair_refused_before_the_minimum_with_the_date(
    session, factory, pack, authority, today
):
    decided = date(2026, 10, 1)
    penalty = factory.penalty(factory.uscc(), authority_uscc=authority, decided_on=decided)
    assert penalty.repair_allowed_from == date(2027, 1, 1)  # general: 3 months
    with pytest.raises(TooEarly) as err:
        apply_repair(session, pack, "penalty", penalty.id, "当事人", "已缴清罚款并整改")
    assert err.value.status == 422
    assert err.value.details["allowed_from"] == "2027-01-01"
    assert "2027-01-01" in err.value.message


def test_penalty_repair_accepted_and_approved_ends_disclosure_that_day(
    session, factory, pack, authority, today
):
    penalty = factory.penalty(factory.uscc(), authority_uscc=authority, decided_on=date(2026, 6, 1))
    repair = apply_repair(session, pack, "penalty", penalty.id, "当事人", "已缴清罚款并整改")
    assert (repair.status, repair.applied_on, repair.due_on) == ("pending", today, today + 21 * DAY)
    assert repair.authority_uscc == authority
    with pytest.raises(Conflict, match="待处理"):
        apply_repair(session, pack, "penalty", penalty.id, "当事人", "再次申请")
    with pytest.raises(Forbidden):
        approve_repair(session, pack, repair.id, factory.authority(), "r")
    session.commit()

    clock.advance(days=5)
    approved_on = clock.today()
    approve_repair(session, pack, repair.id, authority, "regulator:张三", "符合修复条件")
    session.commit()
    assert penalty.repaired_on == approved_on
    assert repair.status == "approved"
    assert repair.decided_on == approved_on
    assert not is_disclosed(penalty, approved_on - DAY)  # repaired: gone for every day
    assert not is_disclosed(penalty, approved_on)
    assert session.execute(select(Penalty.id).where(disclosed_on(approved_on))).first() is None
    actions = session.execute(
        select(Change.action).where(Change.kind == "penalty", Change.object_id == penalty.id)
    ).scalars()
    assert list(actions) == ["repaired"]
    with pytest.raises(Conflict):
        approve_repair(session, pack, repair.id, authority, "r")
    with pytest.raises(Conflict, match="已于"):
        apply_repair(session, pack, "penalty", penalty.id, "当事人", "again")


def test_non_repairable_and_undisclosed_penalties_are_refused(
    session, factory, pack, authority, today
):
    uscc = factory.uscc()
    food = factory.penalty(
        uscc,
        authority_uscc=authority,
        decided_on=date(2026, 1, 10),
        violation_type="生产经营不符合食品安全标准的食品",
    )
    assert food.repairable is False
    with pytest.raises(Conflict, match="不得提前修复"):
        apply_repair(session, pack, "penalty", food.id, "当事人", "整改")
    minor = factory.penalty(
        uscc, authority_uscc=authority, decided_on=date(2026, 1, 10), categories=["警告"]
    )
    with pytest.raises(Conflict, match="不予公示"):
        apply_repair(session, pack, "penalty", minor.id, "当事人", "整改")
    old = factory.penalty(uscc, authority_uscc=authority, decided_on=date(2024, 1, 10))
    with pytest.raises(Conflict, match="不在公示期内"):
        apply_repair(session, pack, "penalty", old.id, "当事人", "整改")
    revoked = factory.penalty(
        uscc,
        authority_uscc=authority,
        decided_on=date(2026, 1, 10),
        status="revoked",
        revoked_on=date(2026, 3, 1),
    )
    with pytest.raises(Conflict, match="已撤销"):
        apply_repair(session, pack, "penalty", revoked.id, "当事人", "整改")
    with pytest.raises(Invalid):
        apply_repair(session, pack, "penalty", old.id, "当事人", " ")
    with pytest.raises(Invalid):
        apply_repair(session, pack, "entity", old.id, "当事人", "整改")


def test_entry_repair_before_and_after_the_minimum(session, factory, pack, authority, today):
    uscc = factory.uscc()
    entry = factory.entry(uscc, status="active", authority_uscc=authority, since=today)
    with pytest.raises(TooEarly) as err:
        apply_repair(session, pack, "list_entry", entry.id, "当事人", "已改正并履行义务")
    assert err.value.details["allowed_from"] == "2027-11-29"
    session.commit()
    clock.set_clock(date(2027, 11, 29))
    repair = apply_repair(session, pack, "list_entry", entry.id, "当事人", "已改正并履行义务")
    session.commit()
    clock.advance(days=3)
    approve_repair(session, pack, repair.id, authority, "regulator:张三")
    session.commit()
    assert (entry.status, entry.end_reason, entry.ended_on) == (
        "removed",
        "repaired",
        date(2027, 12, 2),
    )


def test_reject_and_overdue(session, factory, pack, authority, today):
    penalty = factory.penalty(factory.uscc(), authority_uscc=authority, decided_on=date(2026, 6, 1))
    first = apply_repair(session, pack, "penalty", penalty.id, "当事人", "整改")
    with pytest.raises(Invalid):
        reject_repair(session, pack, first.id, authority, "r", "")
    reject_repair(session, pack, first.id, authority, "regulator:李四", "整改材料不全")
    assert (first.status, first.reason) == ("rejected", "整改材料不全")
    second = apply_repair(session, pack, "penalty", penalty.id, "当事人", "补充材料")
    session.commit()
    assert overdue_repairs(session, authority, today + 21 * DAY) == []
    assert [r.id for r in overdue_repairs(session, authority, today + 22 * DAY)] == [second.id]
    assert overdue_repairs(session, factory.authority(), today + 22 * DAY) == []
    assert [r.id for r in list_repairs(session, authority)] == [first.id, second.id]
    assert [r.id for r in list_repairs(session, authority, "pending")] == [second.id]
