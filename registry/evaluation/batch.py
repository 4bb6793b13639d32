"""Running the rules over the registry: facts in, decisions stored, lists updated.

Two stages per set of subjects, in one transaction (the caller's unit of work):

1. **Penalties.**  Every penalty of the subjects goes through the pack's penalty model
   (:meth:`rules.Evaluator.evaluate_penalties`, memoised, so re-evaluating unchanged
   records costs a dictionary lookup).  Where the result differs from what is stored —
   a new or changed record, or a new pack version — the derived columns are written:
   ``severity``, ``disclosure_until`` (decision date + the maximum period, or the
   authority's 公示截止期 if earlier; null when not disclosed), ``repair_allowed_from``
   (decision date + the minimum period), ``repairable``, ``disclosure_regime``,
   ``pack_version``.  Alerts (e.g. ``criminal-transfer-check``) are opened once per
   (subject, kind, penalty): never re-opened after a regulator resolved them.
2. **Entities.**  :func:`registry.evaluation.facts.entity_aggregates` computes the pack's aggregates
   in SQL; entities whose facts cannot fire a rule are skipped
   (:meth:`rules.Evaluator.can_skip`); the rest go through the entity rules, and the
   decisions are applied:

   - ``propose`` → a ``proposed`` entry (a regulator confirms it, DOMAIN.md §4);
     ``activate`` → an ``active`` entry from today with the list's term.  The deciding
     authority is that of the newest basis penalty (or of the basis list entry).
   - An entry already proposed or active on that list is not duplicated — its basis is
     refreshed when the records supporting it changed.  A regulator's confirmed entry is
     never re-proposed while active.
   - A decision resting only on records an earlier entry on that list already rested on
     (rejected by a regulator, or ended: term over, repaired, corrected) is not acted on
     again: a new proposal needs new records.
   - Rule 5 (``on_basis_revoked: remove``): an entry the rules no longer support, and
     whose basis includes a record revoked since, is withdrawn if proposed (status
     ``rejected``) or removed if active (status ``removed``), reason ``basis_revoked``.
   - Red lists (``kind: incentive``): an entry a rule made is held only while a rule
     supports it — when none does any more (e.g. a penalty arrived) it is removed, reason
     ``ineligible``; a subject with a proposed or active dishonesty entry (or one this
     run makes) is not red-listed by a rule.  Entries an authority named (no rule) are
     left to that authority.

3. **Grades.**  With a ``grading`` section, every entity (not natural persons) is graded
   on the same facts — the lists counted as they are after stage 2 — and the grade is
   stored with history by :mod:`registry.evaluation.grades` (a new row only when it changes).

   Every entry created or changed gets a dated :class:`~registry.lists.models.ListEntryEvent`,
   a :class:`~registry.evaluation.models.Decision` per rule (rule, pack version, basis, facts,
   trace) and an audit entry; bulk derived data (penalty derivations, alerts) gets one
   audit entry per batch listing every record.  The pack itself is stored
   (:class:`~registry.evaluation.models.RulePackRecord`, its
   :class:`~registry.evaluation.models.Measure` rows) the first time it decides anything.

Concurrency: on PostgreSQL an evaluation takes transaction-level advisory locks on the
hash buckets of its subjects (sorted, so evaluators never deadlock) before reading, so two
evaluations of one subject run one after the other; the audit lock is taken last.  On
SQLite the write transaction serialises everything.  The dirty queue is consumed with
``DELETE … RETURNING`` (``SKIP LOCKED`` on PostgreSQL) in the evaluating transaction:
a crash puts the keys back, and a subject written again meanwhile is queued again.

Entry points: :func:`evaluate_subjects` (inside a unit of work), :func:`evaluate_now` and
:func:`after_write` (their own unit of work, right after a write commits),
:func:`evaluate_dirty` (the queue), :func:`evaluate_all` (everything, a transaction per
batch), :func:`preview` (a dry run against a candidate pack: the diff, nothing written).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import (
    Executable,
    insert,
    select,
)
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.db import is_postgres
from registry.evaluation import grades
from registry.evaluation.facts import (
    KeywordMatcher,
    PenaltyRow,
    Subjects,
    entity_aggregates,
    penalty_rows,
)
from registry.evaluation.models import Measure, RulePackRecord
from rules import RulePack

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
    from rules import Evaluator
from registry.evaluation.apply import (
    apply_actions,
    link_persons,
    open_alerts,
    penalty_audit,
    rowcount,
    write_penalties,
)
from registry.evaluation.plan import (
    OPEN_STATUSES,
    BatchPlan,
    EntryAction,
    EvaluationSummary,
    evaluate_penalties,
    facts_after,
    load_entries,
    new_alerts,
    party_type,
    plan_entries,
)

# --- pack and evaluator --------------------------------------------------------------

_engines: dict[str, tuple[Evaluator, KeywordMatcher]] = {}
_engines_lock = threading.Lock()


def evaluator_for(pack: RulePack) -> Evaluator:
    """One evaluator per pack version and process (building one compiles zen models)."""
    return engine_for(pack)[0]


def engine_for(
    pack: RulePack, evaluator: Evaluator | None = None
) -> tuple[Evaluator, KeywordMatcher]:
    found = _engines.get(pack.version)
    if found is None:
        with _engines_lock:
            found = _engines.get(pack.version)
            if found is None:
                found = (evaluator or pack.evaluator(), KeywordMatcher(pack))
                _engines[pack.version] = found
    return found


def resolve_engine(rt_or_pack: Runtime | RulePack) -> tuple[RulePack, Evaluator, KeywordMatcher]:
    if isinstance(rt_or_pack, RulePack):
        evaluator, matcher = engine_for(rt_or_pack)
        return rt_or_pack, evaluator, matcher
    pack = rt_or_pack.pack
    evaluator, matcher = engine_for(pack, rt_or_pack.evaluator)
    return pack, evaluator, matcher


def ensure_pack_stored(session: Session, pack: RulePack, actor: str) -> list[audit.AuditEvent]:
    """Store the pack version and its measures the first time it is used; returns the
    audit events to record (the caller records them with its own, last)."""
    known = session.execute(
        select(RulePackRecord.version).where(RulePackRecord.version == pack.version)
    ).first()
    if known is not None:
        return []
    values = {
        "version": pack.version,
        "name": pack.name,
        "content": json.loads(pack.canonical or "{}"),
    }
    statement: Executable
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = (
            pg_insert(RulePackRecord)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["version"])
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = (
            sqlite_insert(RulePackRecord)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["version"])
        )
    stored = rowcount(session.execute(statement))
    if not stored:
        return []  # another process stored it a moment ago
    measures = [
        {
            "pack_version": pack.version,
            "measure_id": m.id,
            "title": m.title,
            "department": m.department,
            "legal_basis": m.legal_basis,
            "kind": m.kind,
            "scenarios": list(m.scenarios),
            "list_types": list(m.lists),
            "binds": list(m.binds),
        }
        for m in pack.measures
    ]
    if measures:
        session.execute(insert(Measure.__table__), measures)
    return [
        audit.AuditEvent(
            actor=actor,
            action="rule_pack.stored",
            object_type="rule_pack",
            object_id=pack.version,
            after={
                "name": pack.name,
                "title": pack.title,
                "rules": [rule.id for rule in pack.rules],
                "measures": [m.id for m in pack.measures],
            },
        )
    ]


# --- one batch -----------------------------------------------------------------------


def evaluate_batch(
    session: Session,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    subjects: Subjects,
    as_of: date,
    actor: str,
    *,
    apply: bool,
    extra_events: Sequence[audit.AuditEvent] = (),
) -> BatchPlan:
    summary = EvaluationSummary(subjects=len(subjects.keys))
    started = time.perf_counter()
    rows = penalty_rows(session, subjects)
    entries = load_entries(session, subjects)
    summary.penalties = len(rows)
    summary.facts_s += time.perf_counter() - started

    mark = time.perf_counter()
    changes, alert_candidates, severity_of = evaluate_penalties(
        pack, evaluator, matcher, rows, as_of
    )
    summary.engine_s += time.perf_counter() - mark

    mark = time.perf_counter()
    alerts = new_alerts(session, subjects, alert_candidates)
    summary.facts_s += time.perf_counter() - mark
    events: list[audit.AuditEvent] = list(extra_events)
    if apply and changes:
        mark = time.perf_counter()
        summary.penalties_updated = write_penalties(session, changes)
        events.extend(penalty_audit(session, changes, actor, pack.version))
        summary.writes_s += time.perf_counter() - mark
    elif not apply:
        summary.penalties_updated = len(changes)

    mark = time.perf_counter()
    aggregates = entity_aggregates(
        session,
        pack,
        subjects,
        as_of,
        severity_of=None if apply else severity_of,
        entries=entries,  # nothing above writes list entries: still as loaded
    )
    summary.facts_s += time.perf_counter() - mark

    mark = time.perf_counter()
    rows_by_subject: dict[str, list[PenaltyRow]] = defaultdict(list)
    for row in rows:
        rows_by_subject[row.subject_key].append(row)
    asked, entity_facts = [], {}
    for key in subjects.keys:
        facts = {
            "uscc": key,
            "as_of": as_of.isoformat(),
            "party_type": party_type(rows_by_subject.get(key, ()), key, as_of),
            "aggregates": aggregates.get(key, {}),
        }
        entity_facts[key] = facts
        if evaluator.can_skip(facts):
            summary.skipped += 1
        else:
            asked.append(facts)
    outcomes = {o.uscc: o.decisions for o in evaluator.evaluate_entities(asked)}
    summary.evaluated = len(asked)
    rows_by_id = {row.id: row for row in rows}
    actions: list[EntryAction] = []
    for key in subjects.keys:
        decisions = outcomes.get(key, ())
        if not decisions and not any(e.status in OPEN_STATUSES for e in entries.get(key, ())):
            continue
        actions.extend(
            plan_entries(
                pack, key, decisions, entity_facts[key], entries.get(key, ()), rows_by_id, as_of
            )
        )
    grade_changes: list[grades.GradeChange] = []
    if pack.grading is not None:
        graded_facts = facts_after(pack, entity_facts, actions, as_of)
        grade_outcomes = evaluator.grade_entities(graded_facts)
        summary.graded = len(grade_outcomes)
        summary.engine_s += time.perf_counter() - mark
        mark = time.perf_counter()
        grade_changes = grades.plan_grades(grade_outcomes, grades.open_grades(session, subjects))
        summary.grades_changed = sum(1 for c in grade_changes if c.changes_grade)
        summary.facts_s += time.perf_counter() - mark
    else:
        summary.engine_s += time.perf_counter() - mark

    summary.alerts_opened = len(alerts)
    if apply:
        mark = time.perf_counter()
        today, now = clock.today(), clock.now()
        events.extend(open_alerts(session, alerts, pack.version, actor))
        events.extend(apply_actions(session, pack, actions, today, now, actor))
        events.extend(grades.apply_grades(session, pack, grade_changes, today, as_of, actor))
        linked = {a.subject_key for a in actions if a.action in ("propose", "activate", "refresh")}
        summary.person_links = link_persons(session, sorted(linked), now, actor, events)
        if events:
            audit.record(session, events)
            session.flush()
        summary.writes_s += time.perf_counter() - mark
    counts = Counter(action.action for action in actions)  # in apply mode: those applied
    summary.proposed = counts["propose"]
    summary.activated = counts["activate"]
    summary.refreshed = counts["refresh"]
    summary.withdrawn = counts["withdraw"]
    summary.removed = counts["remove"]
    summary.total_s = time.perf_counter() - started
    return BatchPlan(subjects, rows, changes, alerts, actions, entries, summary, grade_changes)
