"""What binds and what is disclosed on a given day: the Python and SQL forms agree on
every boundary day, and the periods come from the pack."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.lists.entries import binds_on, entries_in_force, in_force_on
from registry.lists.models import ListEntry
from registry.records.disclosure import disclosed_on, disclosure_ends_on, is_disclosed
from registry.records.models import Penalty
from rules.windows import add_months

DAY = timedelta(days=1)


def _found(session, query) -> bool:
    return session.execute(query).scalar_one_or_none() is not None


def _sql_binds(session, entry_id: int, day: date) -> bool:
    return _found(session, select(ListEntry.id).where(ListEntry.id == entry_id, in_force_on(day)))


def _sql_disclosed(session, penalty_id: int, day: date) -> bool:
    return _found(session, select(Penalty.id).where(Penalty.id == penalty_id, disclosed_on(day)))


def _agree_entry(session, entry: ListEntry, day: date) -> bool:
    python = binds_on(entry, day)
    assert _sql_binds(session, entry.id, day) is python, (entry.status, day)
    return python


def _agree_penalty(session, penalty: Penalty, day: date) -> bool:
    python = is_disclosed(penalty, day)
    assert _sql_disclosed(session, penalty.id, day) is python, (penalty.status, day)
    return python


def test_active_entry_binds_from_since_through_until(session, factory, authority, today):
    uscc = factory.uscc()
    since = date(2025, 3, 31)
    entry = factory.entry(uscc, status="active", authority_uscc=authority, since=since)
    assert entry.until == date(2028, 3, 31)  # 36 months, from the pack
    assert entry.early_removal_from == date(2026, 3, 31)
    assert not _agree_entry(session, entry, since - DAY)
    assert _agree_entry(session, entry, since)
    assert _agree_entry(session, entry, entry.until)  # future days: from the terms set
    assert not _agree_entry(session, entry, entry.until + DAY)


def test_removed_entry_bound_until_the_day_before_it_ended(session, factory, authority, today):
    uscc = factory.uscc()
    entry = factory.entry(
        uscc,
        status="removed",
        authority_uscc=authority,
        since=date(2025, 1, 10),
        ended_on=date(2026, 2, 1),
        end_reason="repaired",
    )
    assert _agree_entry(session, entry, date(2025, 1, 10))
    assert _agree_entry(session, entry, date(2026, 1, 31))
    assert not _agree_entry(session, entry, date(2026, 2, 1))
    assert not _agree_entry(session, entry, today)


def test_open_term_entry_binds_until_ended(session, factory, authority, today):
    entry = factory.entry(
        factory.uscc(),
        "abnormal_operations",
        status="active",
        authority_uscc=authority,
        since=date(2020, 5, 6),
        rule_id="annual-report",
    )
    assert entry.until is None
    assert _agree_entry(session, entry, date(2020, 5, 6))
    assert _agree_entry(session, entry, date(2040, 1, 1))
    assert not _agree_entry(session, entry, date(2020, 5, 5))


def test_proposed_and_rejected_entries_never_bind(session, factory, authority, today):
    uscc = factory.uscc()
    proposed = factory.entry(uscc, authority_uscc=authority)
    rejected = factory.entry(
        uscc,
        authority_uscc=authority,
        status="rejected",
        since=today,
        ended_on=today,
        end_reason="rejected",
    )
    for day in (today - DAY, today, today + DAY):
        assert not _agree_entry(session, proposed, day)
        assert not _agree_entry(session, rejected, day)


def test_entries_in_force_by_subject_day_and_list(session, factory, authority, today):
    a, b = factory.uscc(), factory.uscc()
    samr = factory.entry(a, status="active", authority_uscc=authority, since=date(2026, 1, 1))
    abnormal = factory.entry(
        a, "abnormal_operations", status="active", authority_uscc=authority, since=today
    )
    factory.entry(b, authority_uscc=authority)  # proposed only
    session.commit()
    assert [e.id for e in entries_in_force(session, [a, b], today)] == [abnormal.id, samr.id]
    assert [e.id for e in entries_in_force(session, [a], today - DAY)] == [samr.id]
    assert [e.id for e in entries_in_force(session, [a], today, ["samr_serious"])] == [samr.id]
    assert entries_in_force(session, [b], today) == []
    assert entries_in_force(session, [], today) == []


def test_general_penalty_is_disclosed_for_one_year(session, factory, authority, today):
    decided = date(2025, 6, 15)
    penalty = factory.penalty(factory.uscc(), authority_uscc=authority, decided_on=decided)
    assert penalty.severity == "general"
    year_later = add_months(decided, 12)
    assert penalty.disclosure_until == year_later == date(2026, 6, 15)
    assert not _agree_penalty(session, penalty, decided - DAY)
    assert _agree_penalty(session, penalty, decided)
    assert _agree_penalty(session, penalty, year_later)
    assert not _agree_penalty(session, penalty, year_later + DAY)
    assert disclosure_ends_on(penalty) == year_later + DAY


def test_serious_penalty_is_disclosed_for_three_years(session, factory, authority, today):
    decided = date(2024, 2, 29)
    penalty = factory.penalty(
        factory.uscc(), authority_uscc=authority, decided_on=decided, categories=["吊销许可证件"]
    )
    assert penalty.severity == "serious"
    three_years = add_months(decided, 36)  # 2027-02-28: the month's end
    assert penalty.disclosure_until == three_years == date(2027, 2, 28)
    assert _agree_penalty(session, penalty, three_years)
    assert not _agree_penalty(session, penalty, three_years + DAY)
    assert penalty.repair_allowed_from == date(2025, 2, 28)


def test_windows_the_rules_store_give_the_same_boundaries(session, factory, pack, authority):
    """The real rules (registry.evaluation) derive the windows the factory mimics."""
    evaluation = pytest.importorskip("registry.evaluation.runs")
    uscc = factory.uscc()
    underived = {
        "severity": None,
        "disclosure_until": None,
        "repair_allowed_from": None,
        "repairable": None,
    }
    general = factory.penalty(
        uscc, authority_uscc=authority, decided_on=date(2025, 6, 15), **underived
    )
    serious = factory.penalty(
        uscc,
        authority_uscc=authority,
        decided_on=date(2024, 2, 29),
        categories=["吊销许可证件"],
        **underived,
    )
    session.commit()
    evaluation.evaluate_subjects(session, pack, [uscc], actor="test")
    session.commit()
    general, serious = session.get(Penalty, general.id), session.get(Penalty, serious.id)
    assert (general.severity, general.disclosure_until) == ("general", date(2026, 6, 15))
    assert (serious.severity, serious.disclosure_until) == ("serious", date(2027, 2, 28))
    for penalty, last in ((general, date(2026, 6, 15)), (serious, date(2027, 2, 28))):
        assert _agree_penalty(session, penalty, penalty.decided_on)
        assert _agree_penalty(session, penalty, last)
        assert not _agree_penalty(session, penalty, last + DAY)


def test_minor_penalty_is_never_disclosed(session, factory, authority, today):
    penalty = factory.penalty(
        factory.uscc(), authority_uscc=authority, decided_on=today, categories=["警告"]
    )
    assert penalty.severity == "minor"
    assert penalty.disclosure_until is None
    assert not _agree_penalty(session, penalty, today)
    assert disclosure_ends_on(penalty) is None


def test_revoked_and_repaired_penalties_leave_disclosure_for_every_day(
    session, factory, authority, today
):
    uscc = factory.uscc()
    decided = date(2026, 1, 5)
    revoked = factory.penalty(
        uscc,
        authority_uscc=authority,
        decided_on=decided,
        status="revoked",
        revoked_on=date(2026, 6, 1),
    )
    repaired = factory.penalty(
        uscc, authority_uscc=authority, decided_on=decided, repaired_on=date(2026, 7, 1)
    )
    # Void: not public on any day, the days before the revocation or repair included.
    assert not _agree_penalty(session, revoked, date(2026, 5, 31))
    assert not _agree_penalty(session, revoked, date(2026, 6, 1))
    assert not _agree_penalty(session, repaired, date(2026, 6, 30))
    assert not _agree_penalty(session, repaired, date(2026, 7, 1))
    assert disclosure_ends_on(revoked) == date(2026, 6, 1)
    assert disclosure_ends_on(repaired) == date(2026, 7, 1)
    # A revoked record without its date is never shown.
    undated = factory.penalty(uscc, authority_uscc=authority, decided_on=decided, status="revoked")
    assert not _agree_penalty(session, undated, date(2026, 2, 1))
