"""The rules over the registry (registry.evaluation), on SQLite and PostgreSQL: every
default rule fires on records that should fire it and misses just beyond its bounds;
derived disclosure data; alerts; rule 5; idempotence; the queue and the bulk run."""

from __future__ import annotations

import functools
import multiprocessing
import os
from datetime import date

import pytest
from sqlalchemy import func, select, text, update

from registry.core import clock
from registry.core.audit import verify_chain
from registry.core.models import AuditEntry, Change
from registry.evaluation.models import Alert, Decision, Measure, RulePackRecord
from registry.evaluation.revocation import revoke_penalty_now
from registry.evaluation.runs import (
    after_write,
    evaluate_all,
    evaluate_dirty,
    evaluate_now,
    evaluate_subjects,
)
from registry.evaluation.workers import run_in_processes
from registry.lists.entries import confirm_entry, reject_entry
from registry.lists.models import ListEntry, ListEntryEvent
from registry.records.disclosure import queue_dirty
from registry.records.models import DirtyEntity, Penalty, PersonLink
from tests.evaluation import jobs
from tests.evaluation.factories import (
    AUTHORITY,
    OTHER_AUTHORITY,
    make_penalty,
    new_person,
    new_uscc,
    row_counts,
)
from tests.rows import entries_where

TODAY = date(2026, 11, 29)
IP = "销售侵犯注册商标专用权商品"
SERIOUS = ["罚款", "吊销许可证件"]


def entries_of(rt, key):
    return entries_where(rt, ListEntry.uscc == key)


def penalty(rt, penalty_id):
    with rt.sessions() as s:
        return s.get(Penalty, penalty_id)


def counts(rt):
    with rt.sessions() as s:
        return row_counts(s)


# --- rule 1: heavy-penalty -----------------------------------------------------------


def test_heavy_penalty_proposes_samr_serious_with_its_explanation(rt, session):
    key = new_uscc()
    older = make_penalty(
        session, key, decided_on=date(2025, 3, 1), violation_type=IP, categories=SERIOUS
    )
    newer = make_penalty(
        session,
        key,
        decided_on=date(2026, 2, 1),
        violation_type="生产销售不合格产品",
        categories=["责令停产停业"],
        authority_uscc=OTHER_AUTHORITY,
    )
    session.commit()

    summary = evaluate_now(rt, [key])

    assert summary.proposed == 1
    [entry] = entries_of(rt, key)
    assert (entry.list_type, entry.status, entry.rule_id) == (
        "samr_serious",
        "proposed",
        "heavy-penalty",
    )
    assert entry.basis_penalty_ids == [older.id, newer.id]
    assert entry.authority_uscc == OTHER_AUTHORITY  # the newest basis record's authority
    assert (entry.proposed_on, entry.since) == (TODAY, None)
    assert entry.pack_version == rt.pack.version
    with rt.sessions() as s:
        [decision] = s.execute(select(Decision).where(Decision.uscc == key)).scalars()
        assert (decision.rule_id, decision.outcome) == ("heavy-penalty", "propose")
        assert decision.list_entry_id == entry.id
        assert decision.basis_penalty_ids == [older.id, newer.id]
        assert decision.facts["aggregates"]["serious_ip_penalties"]["value"] == 2
        assert decision.trace["rule"] == "heavy-penalty"
        [event] = s.execute(select(ListEntryEvent).where(ListEntryEvent.uscc == key)).scalars()
        assert (event.event, event.on_date, event.actor) == ("proposed", TODAY, "rules")
        actions = s.execute(select(AuditEntry.action).where(AuditEntry.uscc == key)).scalars()
        assert "list_entry.proposed" in set(actions)
        assert verify_chain(s)[1] is None


def test_heavy_penalty_just_misses_below_the_serious_fine(rt, session):
    below, at = new_uscc(), new_uscc()
    make_penalty(session, below, violation_type=IP, fine_wan="99.99")
    make_penalty(session, at, violation_type=IP, fine_wan=100)
    make_penalty(session, below, violation_type="虚假广告", categories=SERIOUS)  # not IP
    session.commit()
    evaluate_now(rt, [below, at])
    assert entries_of(rt, below) == []
    [entry] = entries_of(rt, at)
    assert (entry.list_type, entry.rule_id) == ("samr_serious", "heavy-penalty")


# --- rule 2: repeat-infringement -----------------------------------------------------


def test_repeat_infringement_within_24_months_and_one_day_beyond(rt, session):
    inside, outside = new_uscc(), new_uscc()
    a = make_penalty(session, inside, decided_on=date(2024, 5, 31), violation_type="侵犯专利权")
    b = make_penalty(session, inside, decided_on=date(2026, 5, 31), violation_type="假冒专利")
    make_penalty(session, outside, decided_on=date(2024, 5, 31), violation_type="侵犯专利权")
    make_penalty(session, outside, decided_on=date(2026, 6, 1), violation_type="假冒专利")
    session.commit()
    evaluate_now(rt, [inside, outside])
    [entry] = entries_of(rt, inside)
    assert (entry.list_type, entry.status, entry.rule_id) == (
        "ip_serious",
        "proposed",
        "repeat-infringement",
    )
    assert entry.basis_penalty_ids == [a.id, b.id]
    assert entries_of(rt, outside) == []


# --- rule 3 and 4: annual report, three years abnormal -------------------------------


def test_annual_report_activates_abnormal_operations_at_once(rt, session):
    key = new_uscc()
    p = make_penalty(
        session, key, violation_type="未按规定公示年度报告", categories=["警告"], fine_wan=None
    )
    session.commit()
    summary = evaluate_now(rt, [key])
    assert summary.activated == 1
    [entry] = entries_of(rt, key)
    assert (entry.list_type, entry.status, entry.rule_id) == (
        "abnormal_operations",
        "active",
        "annual-report",
    )
    assert (entry.since, entry.until, entry.basis_penalty_ids) == (TODAY, None, [p.id])
    with rt.sessions() as s:
        change = s.execute(select(Change).where(Change.kind == "list_entry")).scalar_one()
        assert (change.object_id, change.action) == (entry.id, "activated")
    # the warning itself is minor and never disclosed
    assert penalty(rt, p.id).severity == "minor"
    assert penalty(rt, p.id).disclosure_until is None


@pytest.mark.parametrize(
    ("since", "fires"), [(date(2023, 11, 29), True), (date(2023, 11, 30), False)]
)
def test_abnormal_operations_held_three_years_proposes_samr_serious(rt, session, since, fires):
    key = new_uscc()
    held = ListEntry(
        uscc=key,
        list_type="abnormal_operations",
        status="active",
        rule_id="annual-report",
        authority_uscc=OTHER_AUTHORITY,
        basis_penalty_ids=[],
        proposed_on=since,
        since=since,
    )
    session.add(held)
    session.commit()
    evaluate_now(rt, [key])
    proposed = [e for e in entries_of(rt, key) if e.list_type == "samr_serious"]
    if not fires:
        assert proposed == []
        return
    [entry] = proposed
    assert (entry.status, entry.rule_id, entry.authority_uscc) == (
        "proposed",
        "abnormal-three-years",
        OTHER_AUTHORITY,
    )
    with rt.sessions() as s:
        decision = s.execute(
            select(Decision).where(Decision.list_entry_id == entry.id)
        ).scalar_one()
        assert decision.facts["basis_list_entry_ids"] == [held.id]
    evaluate_now(rt, [key])  # once proposed, not again
    assert len([e for e in entries_of(rt, key) if e.list_type == "samr_serious"]) == 1


# --- severity and disclosure ---------------------------------------------------------


def test_warning_only_is_minor_not_disclosed_and_lists_nothing(rt, session):
    key = new_uscc()
    p = make_penalty(session, key, violation_type=IP, categories=["警告"], fine_wan=None)
    session.commit()
    evaluate_now(rt, [key])
    stored = penalty(rt, p.id)
    assert (stored.severity, stored.disclosure_until, stored.repair_allowed_from) == (
        "minor",
        None,
        None,
    )
    assert stored.pack_version == rt.pack.version
    assert entries_of(rt, key) == []


def test_disclosure_windows_general_serious_and_the_authoritys_deadline(rt, session):
    key = new_uscc()
    general = make_penalty(session, key, decided_on=date(2026, 1, 15), fine_wan=5)
    serious = make_penalty(session, key, decided_on=date(2026, 5, 31), categories=SERIOUS)
    early = make_penalty(
        session, key, decided_on=date(2026, 1, 15), disclosure_deadline=date(2026, 8, 31)
    )
    late = make_penalty(
        session, key, decided_on=date(2026, 1, 15), disclosure_deadline=date(2030, 1, 1)
    )
    session.commit()
    evaluate_now(rt, [key])
    g, s_, e, la = (penalty(rt, p.id) for p in (general, serious, early, late))
    assert (g.severity, g.disclosure_until, g.repair_allowed_from) == (
        "general",
        date(2027, 1, 15),
        date(2026, 4, 15),
    )
    assert (g.disclosure_regime, g.repairable) == ("ndrc-2023", True)
    assert (s_.severity, s_.disclosure_until, s_.repair_allowed_from) == (
        "serious",
        date(2029, 5, 31),
        date(2027, 5, 31),
    )
    assert s_.disclosure_regime == "ndrc-2026"
    assert e.disclosure_until == date(2026, 8, 31)
    assert la.disclosure_until == date(2027, 1, 15)


# --- alerts --------------------------------------------------------------------------


def test_criminal_transfer_alert_at_and_under_the_threshold(rt, session):
    at, under, sent = new_uscc(), new_uscc(), new_uscc()
    hit = make_penalty(session, at, violation_type="假冒注册商标", business_volume_wan=5)
    make_penalty(session, under, violation_type="假冒注册商标", business_volume_wan="4.99")
    make_penalty(
        session,
        sent,
        violation_type="假冒注册商标",
        business_volume_wan=50,
        transferred_to_police=True,
    )
    session.commit()
    summary = evaluate_now(rt, [at, under, sent])
    assert summary.alerts_opened == 1
    with rt.sessions() as s:
        alert = s.execute(select(Alert)).scalar_one()
        assert (alert.uscc, alert.kind, alert.penalty_id) == (at, "criminal-transfer-check", hit.id)
        assert (alert.decision_number, alert.authority_uscc) == (hit.decision_number, AUTHORITY)
        assert alert.threshold["field"] == "business_volume_wan"
        assert alert.threshold["threshold"] == 5
        alert.status, alert.resolution = "resolved", "已移送"
        s.commit()
        # even when the record is evaluated afresh, a resolved alert is not re-opened
        s.execute(update(Penalty).values(pack_version=None))
        s.commit()
    assert evaluate_now(rt, [at]).alerts_opened == 0
    with rt.sessions() as s:
        assert s.execute(select(Alert.status)).scalars().all() == ["resolved"]


# --- rule 5: revoked records ---------------------------------------------------------


def test_revoking_the_basis_withdraws_a_proposal(rt, session):
    key = new_uscc()
    p = make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    session.commit()
    evaluate_now(rt, [key])
    revoke_penalty_now(rt, p.id, AUTHORITY, "regulator:1", "复议撤销")  # runs after_write
    [entry] = entries_of(rt, key)
    assert (entry.status, entry.end_reason, entry.ended_on) == ("rejected", "basis_revoked", TODAY)
    with rt.sessions() as s:
        events = s.execute(
            select(ListEntryEvent.event).where(ListEntryEvent.list_entry_id == entry.id)
        ).scalars()
        assert list(events) == ["proposed", "withdrawn"]
        outcomes = s.execute(
            select(Decision.outcome).where(Decision.list_entry_id == entry.id).order_by(Decision.id)
        ).scalars()
        assert list(outcomes) == ["propose", "withdraw"]
        assert s.execute(select(DirtyEntity)).first() is None


def test_revoking_the_basis_removes_a_confirmed_entry(rt, session):
    key = new_uscc()
    p = make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    session.commit()
    evaluate_now(rt, [key])
    [entry] = entries_of(rt, key)
    with rt.unit_of_work() as s:
        confirm_entry(s, rt.pack, entry.id, AUTHORITY, "regulator:1")
    evaluate_now(rt, [key])  # a confirmed entry is not proposed again
    assert len(entries_of(rt, key)) == 1
    revoke_penalty_now(rt, p.id, AUTHORITY, "regulator:1", "诉讼撤销")
    [entry] = entries_of(rt, key)
    assert (entry.status, entry.end_reason, entry.ended_on) == ("removed", "basis_revoked", TODAY)
    with rt.sessions() as s:
        actions = s.execute(
            select(Change.action).where(Change.kind == "list_entry", Change.object_id == entry.id)
        ).scalars()
        assert list(actions) == ["confirmed", "removed"]


def test_an_entry_still_supported_after_a_revocation_keeps_the_rest_as_its_basis(rt, session):
    key = new_uscc()
    a = make_penalty(
        session, key, decided_on=date(2023, 6, 1), violation_type=IP, categories=SERIOUS
    )
    b = make_penalty(
        session, key, decided_on=date(2026, 1, 1), violation_type=IP, categories=SERIOUS
    )
    session.commit()
    evaluate_now(rt, [key])
    revoke_penalty_now(rt, a.id, AUTHORITY, "regulator:1", "复议撤销")
    [entry] = entries_of(rt, key)
    assert (entry.status, entry.basis_penalty_ids) == ("proposed", [b.id])
    with rt.sessions() as s:
        events = s.execute(
            select(ListEntryEvent.event).where(ListEntryEvent.list_entry_id == entry.id)
        ).scalars()
        assert list(events) == ["proposed", "basis_updated"]


def test_repeat_infringement_is_withdrawn_when_one_of_two_records_is_revoked(rt, session):
    key = new_uscc()
    a = make_penalty(session, key, decided_on=date(2025, 1, 1), violation_type="专利侵权")
    make_penalty(session, key, decided_on=date(2026, 1, 1), violation_type="专利侵权")
    session.commit()
    evaluate_now(rt, [key])
    revoke_penalty_now(rt, a.id, AUTHORITY, "regulator:1", "复议撤销")
    [entry] = entries_of(rt, key)
    assert (entry.list_type, entry.status, entry.end_reason) == (
        "ip_serious",
        "rejected",
        "basis_revoked",
    )


# --- repeated runs, regulators' decisions --------------------------------------------


def test_evaluating_again_changes_nothing(rt, session):
    keys = [new_uscc() for _ in range(3)]
    make_penalty(session, keys[0], violation_type=IP, categories=SERIOUS)
    make_penalty(session, keys[1], violation_type="未按规定公示年度报告", categories=["警告"])
    make_penalty(session, keys[2], violation_type="假冒专利", illegal_gains_wan=12)
    session.commit()
    evaluate_now(rt, keys)
    before = counts(rt)
    summary = evaluate_now(rt, keys)
    assert counts(rt) == before
    assert (summary.penalties_updated, summary.proposed, summary.activated) == (0, 0, 0)


def test_a_rejected_proposal_returns_only_with_new_records(rt, session):
    key = new_uscc()
    make_penalty(session, key, decided_on=date(2023, 6, 1), violation_type=IP, categories=SERIOUS)
    session.commit()
    evaluate_now(rt, [key])
    # (41 months clean and on no list: the entity is graded A and red-listed as well)
    [entry] = [e for e in entries_of(rt, key) if e.list_type == "samr_serious"]
    with rt.unit_of_work() as s:
        reject_entry(s, rt.pack, entry.id, AUTHORITY, "regulator:1", "听证后不予列入")
    evaluate_now(rt, [key])
    samr = [e.status for e in entries_of(rt, key) if e.list_type == "samr_serious"]
    assert samr == ["rejected"]
    with rt.unit_of_work() as s:
        make_penalty(s, key, decided_on=date(2026, 9, 1), violation_type=IP, categories=SERIOUS)
    evaluate_now(rt, [key])
    samr = [e.status for e in entries_of(rt, key) if e.list_type == "samr_serious"]
    assert samr == ["rejected", "proposed"]


# --- people --------------------------------------------------------------------------


def test_a_natural_person_is_evaluated_by_subject_key(rt, session):
    person = new_person(session)
    make_penalty(session, person=person, decided_on=date(2025, 3, 1), violation_type="商标侵权")
    make_penalty(session, person=person, decided_on=date(2026, 3, 1), violation_type="商标侵权")
    session.commit()
    evaluate_now(rt, [f"P:{person}"])
    [entry] = entries_of(rt, f"P:{person}")
    assert (entry.list_type, entry.status) == ("ip_serious", "proposed")


def test_a_listed_entitys_legal_representative_is_linked(rt, session):
    key = new_uscc()
    rep = new_person(session, "王五")
    make_penalty(session, key, violation_type=IP, categories=SERIOUS, legal_representative_key=rep)
    session.commit()
    assert evaluate_now(rt, [key]).person_links == 1
    with rt.sessions() as s:
        link = s.execute(select(PersonLink)).scalar_one()
        assert (link.uscc, link.person_key, link.role) == (key, rep, "legal_representative")
    with rt.sessions() as s:
        s.execute(update(ListEntry).values(basis_penalty_ids=[]))  # force a refresh
        s.commit()
    evaluate_now(rt, [key])
    with rt.sessions() as s:
        assert s.execute(select(func.count()).select_from(PersonLink)).scalar_one() == 1


# --- the pack, the queue, the bulk run -----------------------------------------------


def test_the_pack_and_its_measures_are_stored_on_first_use(rt, session):
    key = new_uscc()
    make_penalty(session, key)
    session.commit()
    evaluate_now(rt, [key])
    evaluate_now(rt, [key])
    with rt.sessions() as s:
        record = s.get(RulePackRecord, rt.pack.version)
        assert record is not None
        assert record.name == "default"
        measures = s.execute(
            select(Measure.measure_id).where(Measure.pack_version == rt.pack.version)
        ).scalars()
        assert sorted(measures) == sorted(m.id for m in rt.pack.measures)


def test_evaluate_dirty_consumes_the_queue(rt, session):
    keys = [new_uscc() for _ in range(5)]
    for key in keys:
        make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    queue_dirty(session, keys)
    session.commit()
    summary = evaluate_dirty(rt, batch=2)
    assert (summary.subjects, summary.proposed) == (5, 5)
    with rt.sessions() as s:
        assert s.execute(select(DirtyEntity)).first() is None
    assert evaluate_dirty(rt).subjects == 0


def test_after_write_evaluates_at_once_and_never_raises(rt, session):
    key = new_uscc()
    make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    queue_dirty(session, [key])
    session.commit()
    summary = after_write(rt, [key])
    assert summary is not None
    assert summary.proposed == 1
    with rt.sessions() as s:
        assert s.execute(select(DirtyEntity)).first() is None


def test_evaluate_all_streams_every_subject_in_batches(rt, session):
    keys = [new_uscc() for _ in range(7)]
    for key in keys:
        make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    person = new_person(session)
    make_penalty(session, person=person, violation_type="未按规定公示年度报告", categories=["警告"])
    queue_dirty(session, keys[:2])
    session.commit()
    summary = evaluate_all(rt, batch=3)
    assert (summary.subjects, summary.proposed, summary.activated) == (8, 7, 1)
    with rt.sessions() as s:
        assert s.execute(select(DirtyEntity)).first() is None
        assert (
            s.execute(select(func.count(Penalty.id)).where(Penalty.pack_version.is_(None))).scalar()
            == 0
        )


def test_evaluate_subjects_runs_in_the_callers_transaction(rt, session):
    key = new_uscc()
    make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    session.commit()
    with rt.unit_of_work() as s:
        evaluate_subjects(s, rt.pack, [key], as_of=clock.today(), actor="system:sweep")
        s.rollback()  # nothing is committed behind the caller's back
    assert entries_of(rt, key) == []


@pytest.mark.postgres_only
def test_evaluate_all_in_worker_processes(rt, session, backend):
    keys = [new_uscc() for _ in range(12)]
    for key in keys:
        make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    session.commit()
    seen = []
    summary = evaluate_all(rt, batch=2, workers=2, progress=lambda done, total: seen.append(done))
    assert (summary.subjects, summary.proposed) == (12, 12)
    assert seen[-1] == 12
    with rt.sessions() as s:
        assert s.execute(select(func.count(ListEntry.id))).scalar_one() == 12
        decided = s.execute(select(func.count(Decision.id))).scalar_one()
        assert decided == 12
        assert verify_chain(s)[1] is None


def _shares(job, count: int, **kwargs):
    return [(functools.partial(job, caller=os.getpid(), **kwargs), ()) for _ in range(count)]


def test_worker_processes_the_caller_takes_one_share_itself(rt):
    """Three shares: one evaluated in the calling process (rather than a process more
    holding the interpreter and the engine while the caller waits), two elsewhere."""
    seen = []
    total = run_in_processes(
        rt, _shares(jobs.where_it_ran, 3, batches=2), lambda done, _: seen.append(done), 0
    )
    assert total.subjects == 2 * 1 + 2 * 2 * 100
    assert sorted(seen) == seen
    assert seen[-1] == total.subjects
    assert multiprocessing.active_children() == []


def test_a_worker_that_fails_fails_the_run(rt):
    with pytest.raises(RuntimeError, match=r"(?s)a rules worker failed.*the worker's share broke"):
        run_in_processes(rt, _shares(jobs.breaks_elsewhere, 2), None, 0)
    assert multiprocessing.active_children() == []


def test_when_the_callers_share_fails_the_workers_are_stopped(rt):
    with pytest.raises(ValueError, match="the caller's share broke"):
        run_in_processes(rt, _shares(jobs.breaks_here_slow_elsewhere, 2), None, 0)
    # stopped, not waited for (its share would take two minutes)
    assert multiprocessing.active_children() == []


@pytest.mark.postgres_only
def test_evaluate_subjects_leaves_a_subject_being_evaluated_elsewhere(rt, session, backend):
    from registry.evaluation.queue import _LOCK_NAMESPACE, _lock_name

    key = new_uscc()
    make_penalty(session, key, violation_type=IP, categories=SERIOUS)
    session.commit()
    import zlib

    with rt.engine.connect() as other:
        other.begin()
        lock = zlib.crc32(_lock_name(key).encode()) & 0x7FFFFFFF
        other.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :b)"), {"ns": _LOCK_NAMESPACE, "b": lock}
        )
        with rt.unit_of_work() as s:  # e.g. the sweep, holding the audit lock
            summary = evaluate_subjects(s, rt.pack, [key])
        assert summary.subjects == 0
        other.rollback()
    assert evaluate_now(rt, [key]).proposed == 1
