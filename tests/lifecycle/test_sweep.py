"""The sweep materialises what fell due, with the dates it fell due on; answers never
depend on it having run."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from registry.core import audit, clock
from registry.core.models import AuditEntry, Change
from registry.evaluation.sweep import DISCLOSURE_ENDED, sweep
from registry.lists.entries import entries_in_force
from registry.lists.held import held_cutoff
from registry.lists.models import ListEntry, ListEntryEvent, Repair
from registry.records.disclosure import is_disclosed
from registry.records.models import Penalty
from rules.windows import add_months

DAY = timedelta(days=1)


def _answers(session, subjects: list[str], penalty_ids: list[int], days: list[date]):
    """What the registry says for each day: entries binding, penalties disclosed."""
    out = {}
    for day in days:
        entries = tuple(sorted(e.id for e in entries_in_force(session, subjects, day)))
        shown = tuple(pid for pid in penalty_ids if is_disclosed(session.get(Penalty, pid), day))
        out[day] = (entries, shown)
    return out


def test_week_of_downtime_caught_up_by_one_sweep(session, factory, pack, authority, today):
    start = today  # 2026-11-29: the last sweep ran this day
    uscc = factory.uscc()
    ending = [  # until = the last day of each term, inside the week to come
        factory.entry(
            uscc, status="active", authority_uscc=authority, since=date(2023, 11, 30), until=u
        )
        for u in (start + DAY, start + 3 * DAY, start + 6 * DAY)
    ]
    staying = factory.entry(
        uscc, "ip_serious", status="active", authority_uscc=authority, since=date(2024, 1, 1)
    )
    leaving = [
        factory.penalty(
            uscc,
            authority_uscc=authority,
            decided_on=date(2025, 12, 1),
            disclosure_until=start + n * DAY,
        )
        for n in (2, 4)
    ]
    shown = factory.penalty(uscc, authority_uscc=authority, decided_on=date(2026, 11, 1))
    late = factory.repair(shown, applied_on=start - 20 * DAY, due_on=start + 2 * DAY)
    on_time = factory.repair(leaving[0], applied_on=start, due_on=start + 21 * DAY)
    first = sweep(session, pack, start)
    assert first.summary() == {
        "as_of": "2026-11-29",
        "entries_ended": 0,
        "disclosures_ended": 0,
        "reevaluated": 0,
        "repairs_overdue": 0,
    }
    session.commit()

    week = [start + n * DAY for n in range(8)]
    penalty_ids = [p.id for p in [*leaving, shown]]
    expected = _answers(session, [uscc], penalty_ids, week)
    assert expected[start][0] == tuple(sorted([*(e.id for e in ending), staying.id]))
    assert expected[start + 2 * DAY][0] == tuple(sorted([ending[1].id, ending[2].id, staying.id]))
    assert expected[start + 7 * DAY][0] == (staying.id,)
    assert expected[start + 2 * DAY][1] == tuple(penalty_ids)
    assert expected[start + 3 * DAY][1] == (leaving[1].id, shown.id)
    assert expected[start + 5 * DAY][1] == (shown.id,)

    clock.advance(days=7)  # the scheduler was down for a week
    resumed = clock.today()
    assert resumed == start + 7 * DAY
    result = sweep(session, pack, resumed)
    session.commit()
    assert sorted(result.entries_ended) == sorted(e.id for e in ending)
    assert sorted(result.disclosures_ended) == sorted(p.id for p in leaving)
    assert result.repairs_overdue == [late.id]

    for entry in ending:
        session.refresh(entry)
        assert entry.status == "removed"
        assert entry.end_reason == "term_ended"
        assert entry.ended_on == entry.until + DAY  # the day it ended, not the sweep's
        event = session.execute(
            select(ListEntryEvent).where(
                ListEntryEvent.list_entry_id == entry.id, ListEntryEvent.event == "removed"
            )
        ).scalar_one()
        assert event.on_date == entry.until + DAY
    assert session.get(ListEntry, staying.id).status == "active"
    assert session.get(Repair, late.id).status == "overdue"
    assert session.get(Repair, on_time.id).status == "pending"

    feed = session.execute(
        select(Change.kind, Change.object_id, Change.action).order_by(Change.id)
    ).all()
    assert sorted(feed) == sorted(
        [("list_entry", e.id, "removed") for e in ending]
        + [("penalty", p.id, DISCLOSURE_ENDED) for p in leaving]
    )
    ended_audit = session.execute(
        select(AuditEntry.after).where(AuditEntry.action == "penalty.disclosure_ended")
    ).scalars()
    assert sorted(a["ended_on"] for a in ended_audit) == [
        (p.disclosure_until + DAY).isoformat() for p in leaving
    ]
    # The answers for every missed day are the same after the sweep as before it.
    assert _answers(session, [uscc], penalty_ids, week) == expected

    # Idempotent: the same sweep again changes nothing.
    counts = {
        t.__name__: session.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (Change, AuditEntry, ListEntryEvent)
    }
    again = sweep(session, pack, resumed)
    session.commit()
    assert again.summary()["entries_ended"] == again.summary()["disclosures_ended"] == 0
    assert again.repairs_overdue == []
    assert counts == {
        t.__name__: session.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (Change, AuditEntry, ListEntryEvent)
    }
    assert audit.verify_chain(session)[1] is None


def test_a_penalty_changed_after_leaving_is_told_again(session, factory, pack, authority, today):
    penalty = factory.penalty(
        factory.uscc(),
        authority_uscc=authority,
        decided_on=date(2025, 1, 1),
        disclosure_until=today - DAY,
    )
    assert sweep(session, pack, today).disclosures_ended == [penalty.id]
    assert sweep(session, pack, today).disclosures_ended == []
    # The record is corrected (a new change in the feed), and is still out of its window.
    session.add(Change(uscc=penalty.subject_key, kind="penalty", object_id=penalty.id, action="u"))
    session.flush()
    assert sweep(session, pack, today).disclosures_ended == [penalty.id]
    # Repaired before its window ended: the repair told the feed already.
    repaired = factory.penalty(
        penalty.subject_key,
        authority_uscc=authority,
        decided_on=date(2025, 1, 1),
        disclosure_until=today - DAY,
        repaired_on=today - 30 * DAY,
    )
    assert repaired.id not in sweep(session, pack, today).disclosures_ended


def test_held_cutoff_counts_calendar_months() -> None:
    assert held_cutoff(date(2026, 11, 29), 36) == date(2023, 11, 29)
    # 2020-02-29 plus 12 months is 2021-02-28: held a year on that day.
    assert held_cutoff(date(2021, 2, 28), 12) == date(2020, 2, 29)
    for day in (date(2024, 2, 29), date(2023, 3, 31), date(2026, 1, 1)):
        cutoff = held_cutoff(day, 36)
        assert add_months(cutoff, 36) <= day < add_months(cutoff + DAY, 36)
