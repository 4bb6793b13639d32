"""The regulator's decisions on list entries: confirm, reject, remove."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.core import audit, clock
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound, TooEarly
from registry.core.models import AuditEntry, Change
from registry.lists.entries import confirm_entry, entries_in_force, reject_entry, remove_entry
from registry.lists.models import ListEntry, ListEntryEvent

DAY = timedelta(days=1)


def _events(session, entry_id: int) -> list[tuple[str, date]]:
    rows = session.execute(
        select(ListEntryEvent.event, ListEntryEvent.on_date)
        .where(ListEntryEvent.list_entry_id == entry_id)
        .order_by(ListEntryEvent.id)
    ).all()
    return [tuple(r) for r in rows]


def _changes(session, entry_id: int) -> list[str]:
    return list(
        session.execute(
            select(Change.action)
            .where(Change.kind == "list_entry", Change.object_id == entry_id)
            .order_by(Change.id)
        ).scalars()
    )


def test_confirm_sets_terms_from_the_pack(session, factory, pack, authority, today):
    uscc = factory.uscc()
    entry = factory.entry(uscc, authority_uscc=authority, proposed_on=today - 20 * DAY)
    confirm_entry(session, pack, entry.id, authority, "regulator:张三", "听证后决定列入")
    session.commit()
    session.refresh(entry)
    assert entry.status == "active"
    assert entry.since == today == date(2026, 11, 29)
    assert entry.until == date(2029, 11, 29)
    assert entry.early_removal_from == date(2027, 11, 29)
    assert entry.confirmed_by == "regulator:张三"
    assert _events(session, entry.id)[-1] == ("confirmed", today)
    assert _changes(session, entry.id) == ["confirmed"]
    last = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    assert last.action == "list_entry.confirmed"
    assert last.after["reason"] == "听证后决定列入"
    assert audit.verify_chain(session)[1] is None
    assert [e.id for e in entries_in_force(session, [uscc], today)] == [entry.id]
    assert entries_in_force(session, [uscc], today - DAY) == []


def test_only_the_deciding_authority_may_decide(session, factory, pack, authority, today):
    entry = factory.entry(factory.uscc(), authority_uscc=authority)
    other = factory.authority()
    with pytest.raises(Forbidden) as err:
        confirm_entry(session, pack, entry.id, other, "regulator:李四")
    assert err.value.status == 403
    # The refusal does not say whose entry it is (docs/security.md, authority checks).
    assert authority not in err.value.message
    assert authority not in str(err.value.details)
    with pytest.raises(Forbidden):
        reject_entry(session, pack, entry.id, None, "x", "理由")
    with pytest.raises(NotFound):
        confirm_entry(session, pack, 999_999, authority, "x")
    assert session.get(ListEntry, entry.id).status == "proposed"


def test_confirm_twice_is_a_conflict(session, factory, pack, authority, today):
    entry = factory.entry(factory.uscc(), authority_uscc=authority)
    confirm_entry(session, pack, entry.id, authority, "r")
    with pytest.raises(Conflict) as err:
        confirm_entry(session, pack, entry.id, authority, "r")
    assert err.value.status == 409
    assert err.value.details["status"] == "active"


def test_open_term_list_confirms_without_until(session, factory, pack, authority, today):
    entry = factory.entry(
        factory.uscc(), "abnormal_operations", authority_uscc=authority, rule_id="annual-report"
    )
    confirm_entry(session, pack, entry.id, authority, "r")
    assert entry.until is None
    assert entry.early_removal_from == today


def test_reject_needs_a_reason_and_ends_the_proposal(session, factory, pack, authority, today):
    entry = factory.entry(factory.uscc(), authority_uscc=authority)
    with pytest.raises(Invalid):
        reject_entry(session, pack, entry.id, authority, "r", "  ")
    reject_entry(session, pack, entry.id, authority, "regulator:王五", "陈述申辩理由成立")
    session.commit()
    assert entry.status == "rejected"
    assert entry.end_reason == "rejected"
    assert entry.ended_on == today
    assert entry.note == "陈述申辩理由成立"
    assert _changes(session, entry.id) == []  # never public
    assert _events(session, entry.id)[-1] == ("rejected", today)
    with pytest.raises(Conflict):
        confirm_entry(session, pack, entry.id, authority, "r")


def test_remove_reasons(session, factory, pack, authority, today):
    uscc = factory.uscc()
    entry = factory.entry(uscc, status="active", authority_uscc=authority, since=today - 30 * DAY)
    with pytest.raises(Invalid):
        remove_entry(session, pack, entry.id, authority, "r", "because")
    with pytest.raises(Invalid):
        remove_entry(session, pack, entry.id, authority, "r", "manual")  # note required
    with pytest.raises(Conflict, match="期限尚未届满"):
        remove_entry(session, pack, entry.id, authority, "r", "term_ended")
    with pytest.raises(TooEarly) as err:
        remove_entry(session, pack, entry.id, authority, "r", "repaired")
    assert err.value.details["allowed_from"] == entry.early_removal_from.isoformat()
    with pytest.raises(Forbidden):
        remove_entry(session, pack, entry.id, factory.authority(), "r", "corrected")
    remove_entry(session, pack, entry.id, authority, "regulator:赵六", "corrected", "错误列入")
    session.commit()
    assert (entry.status, entry.end_reason, entry.ended_on) == ("removed", "corrected", today)
    assert entry.ended_by == "regulator:赵六"
    assert _changes(session, entry.id) == ["removed"]
    assert entries_in_force(session, [uscc], today) == []
    assert [e.id for e in entries_in_force(session, [uscc], today - DAY)] == [entry.id]
    with pytest.raises(Conflict):
        remove_entry(session, pack, entry.id, authority, "r", "corrected")


def test_remove_after_the_term_dates_the_end_after_until(session, factory, pack, authority, today):
    entry = factory.entry(
        factory.uscc(), status="active", authority_uscc=authority, since=date(2023, 11, 1)
    )
    assert entry.until == date(2026, 11, 1)
    remove_entry(session, pack, entry.id, authority, "r", "term_ended")
    assert entry.ended_on == date(2026, 11, 2)
    assert _events(session, entry.id)[-1] == ("removed", date(2026, 11, 2))


def test_list_missing_from_the_pack_cannot_be_confirmed(session, factory, pack, authority, today):
    entry = factory.entry(factory.uscc(), "retired_list", authority_uscc=authority)
    with pytest.raises(Conflict, match="retired_list"):
        confirm_entry(session, pack, entry.id, authority, "r")
    assert clock.today() == today
