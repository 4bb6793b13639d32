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
2. **Entities.**  :func:`registry.facts.entity_aggregates` computes the pack's aggregates
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
   stored with history by :mod:`registry.grades` (a new row only when it changes).

   Every entry created or changed gets a dated :class:`~registry.models.ListEntryEvent`,
   a :class:`~registry.models.Decision` per rule (rule, pack version, basis, facts,
   trace) and an audit entry; bulk derived data (penalty derivations, alerts) gets one
   audit entry per batch listing every record.  The pack itself is stored
   (:class:`~registry.models.RulePackRecord`, its :class:`~registry.models.Measure` rows)
   the first time it decides anything.

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

import contextlib
import functools
import json
import logging
import queue
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    CursorResult,
    Executable,
    Result,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from registry import audit, clock, grades
from registry.db import is_postgres
from registry.facts import (
    KeywordMatcher,
    PenaltyRow,
    Subjects,
    count_subjects,
    entity_aggregates,
    penalty_facts,
    penalty_rows,
    subject_page,
)
from registry.lists import binds_on, entry_terms, is_public_list, snapshot
from registry.models import (
    Alert,
    Change,
    Decision,
    ListEntry,
    ListEntryEvent,
    Measure,
    Penalty,
    RulePackRecord,
    UTCDateTime,
)
from rules import RulePack
from rules.windows import add_months

if TYPE_CHECKING:
    from registry.runtime import Runtime
    from rules import Evaluator
    from rules.evaluate import Decision as RuleDecision

log = logging.getLogger(__name__)

RULES_ACTOR = "rules"
#: Subjects per transaction in bulk runs.
BATCH = 5000
#: A dirty queue this long is drained the bulk way (:func:`evaluate_dirty`).
BULK_FROM = 2 * BATCH
#: Subjects per transaction when the queue is drained the bulk way (after an import):
#: pages of 1,000 drained 100,000 queued subjects as fast as pages of 5,000 (28–33 s in
#: one process, 17 s in two, either size) and each process peaked 37 MB lower (113
#: against 150 MB) — memory that counts twice while two workers run beside the importer.
DRAIN_PAGE = 1000
#: At most this many worker processes by default.
MAX_WORKERS = 4
#: A page of queued keys is read by key range when the range holds at most 1/this more
#: subjects than the page (they are read and dropped).
RANGE_SLACK = 4
_LOCK_NAMESPACE = 0x52554C45  # "RULE": first key of the two-key advisory locks
_OPEN = ("proposed", "active")
#: Up to this many new entries in a transaction get an audit entry each; more (bulk
#: runs) get one audit entry per batch listing them all.
_AUDIT_EACH_UP_TO = 50
_ENDED = ("rejected", "removed")
#: ``end_reason`` of a red-list entry no rule supports any more.
INELIGIBLE = "ineligible"


# --- results -------------------------------------------------------------------------


@dataclass
class EvaluationSummary:
    """What an evaluation did (or, in a preview, would do), with where the time went."""

    subjects: int = 0
    evaluated: int = 0  #: entities the entity rules were asked about
    skipped: int = 0  #: entities whose facts cannot fire a rule (no engine call)
    penalties: int = 0
    penalties_updated: int = 0
    alerts_opened: int = 0
    proposed: int = 0
    activated: int = 0
    refreshed: int = 0
    withdrawn: int = 0
    removed: int = 0
    person_links: int = 0
    graded: int = 0  #: entities whose grade was computed
    grades_changed: int = 0  #: entities whose grade changed (or was set the first time)
    facts_s: float = 0.0
    engine_s: float = 0.0
    writes_s: float = 0.0
    total_s: float = 0.0

    def add(self, other: EvaluationSummary) -> EvaluationSummary:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def describe(self) -> str:
        return (
            f"evaluated {self.subjects} subject(s) ({self.evaluated} through the entity rules, "
            f"{self.skipped} without a possible rule); {self.penalties_updated} of "
            f"{self.penalties} penalties updated; {self.proposed} proposed, "
            f"{self.activated} activated, {self.refreshed} refreshed, {self.withdrawn} "
            f"withdrawn, {self.removed} removed; {self.alerts_opened} alert(s) opened"
            + (
                f"; {self.graded} graded, {self.grades_changed} grade(s) changed"
                if self.graded
                else ""
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Derived(NamedTuple):
    """The penalty columns the rules derive."""

    severity: str | None
    disclosure_until: date | None
    repair_allowed_from: date | None
    repairable: bool | None
    pack_version: str | None
    disclosure_regime: str | None


@dataclass(frozen=True)
class PenaltyChange:
    penalty_id: int
    subject_key: str
    before: Derived
    after: Derived


@dataclass(frozen=True)
class AlertOpening:
    subject_key: str
    penalty_id: int
    decision_number: str
    authority_uscc: str
    kind: str
    rule_id: str
    threshold: dict[str, Any]


@dataclass
class EntryState:
    """A list entry as read (and, for an update, as it becomes); ``lists.snapshot`` and
    ``lists.binds_on`` read it like a :class:`~registry.models.ListEntry`."""

    id: int
    uscc: str
    list_type: str
    status: str
    rule_id: str | None
    pack_version: str | None
    authority_uscc: str | None
    basis_penalty_ids: list[int]
    proposed_on: date | None
    since: date | None
    until: date | None
    early_removal_from: date | None
    confirmed_by: str | None
    ended_on: date | None
    ended_by: str | None
    end_reason: str | None


@dataclass
class EntryAction:
    """One change the decisions make to a subject's entries."""

    action: str  #: propose | activate | refresh | withdraw | remove
    subject_key: str
    list_type: str
    rule_id: str | None
    rule_title: str
    authority_uscc: str | None
    basis_ids: tuple[int, ...]
    basis_entry_ids: tuple[int, ...] = ()
    entry: EntryState | None = None
    decisions: tuple[RuleDecision, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    revoked_ids: tuple[int, ...] = ()
    end_reason: str = "basis_revoked"


@dataclass
class BatchPlan:
    """Everything one batch decided (applied or, in a preview, only reported)."""

    subjects: Subjects
    rows: list[PenaltyRow]
    penalty_changes: list[PenaltyChange]
    alerts: list[AlertOpening]
    actions: list[EntryAction]
    entries: dict[str, list[EntryState]]
    summary: EvaluationSummary
    grade_changes: list[grades.GradeChange] = field(default_factory=list)


# --- pack and evaluator --------------------------------------------------------------

_engines: dict[str, tuple[Evaluator, KeywordMatcher]] = {}
_engines_lock = threading.Lock()


def evaluator_for(pack: RulePack) -> Evaluator:
    """One evaluator per pack version and process (building one compiles zen models)."""
    return _engine(pack)[0]


def _engine(pack: RulePack, evaluator: Evaluator | None = None) -> tuple[Evaluator, KeywordMatcher]:
    found = _engines.get(pack.version)
    if found is None:
        with _engines_lock:
            found = _engines.get(pack.version)
            if found is None:
                found = (evaluator or pack.evaluator(), KeywordMatcher(pack))
                _engines[pack.version] = found
    return found


def _resolve(rt_or_pack: Runtime | RulePack) -> tuple[RulePack, Evaluator, KeywordMatcher]:
    if isinstance(rt_or_pack, RulePack):
        evaluator, matcher = _engine(rt_or_pack)
        return rt_or_pack, evaluator, matcher
    pack = rt_or_pack.pack
    evaluator, matcher = _engine(pack, rt_or_pack.evaluator)
    return pack, evaluator, matcher


def _rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched.  Session.execute is typed as returning a
    Result; for those statements it is a CursorResult, which has ``rowcount``."""
    return cast(CursorResult[Any], result).rowcount


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
    stored = _rowcount(session.execute(statement))
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


# --- locks and the queue -------------------------------------------------------------


def _lock_name(key: str) -> str:
    """The lock a subject's evaluation takes: its code's first 8 characters (registering
    authority, type, division) or, for a person, ``P:`` and 2 hex digits.  Coarse on
    purpose: a bulk batch of neighbouring keys takes a few dozen locks, and two bulk
    workers on different key ranges rarely share one."""
    return key[:4] if key.startswith("P:") else key[:8]


def _lock_subjects(session: Session, keys: Sequence[str], *, wait: bool = True) -> list[str]:
    """Serialise evaluations of the same subjects (PostgreSQL; SQLite's write lock does).
    Locks are taken in one sorted order, so evaluators never deadlock each other.

    ``wait=False`` for a caller's transaction that may already hold the audit lock (an
    evaluator holding a subject lock waits for that one: waiting here could deadlock):
    only the free locks are taken, and the subjects behind busy ones are returned."""
    if not is_postgres(session) or not keys:
        return []
    lock_of = {key: zlib.crc32(_lock_name(key).encode()) & 0x7FFFFFFF for key in keys}
    locks = sorted(set(lock_of.values()))
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    rows = session.execute(
        text(
            f"SELECT b, {function}(:ns, b) "
            "FROM unnest(CAST(:locks AS integer[])) WITH ORDINALITY AS t(b, i) ORDER BY i"
        ),
        {"ns": _LOCK_NAMESPACE, "locks": locks},
    ).all()
    if wait:
        return []
    busy = {lock for lock, taken in rows if taken is False}
    return [key for key in keys if lock_of[key] in busy]


def _take_dirty(session: Session, limit: int) -> list[str]:
    """Remove up to ``limit`` queued subjects from the queue and return them."""
    skip = " FOR UPDATE SKIP LOCKED" if is_postgres(session) else ""
    rows = session.execute(
        text(
            "DELETE FROM dirty_entities WHERE subject_key IN ("
            "SELECT subject_key FROM dirty_entities ORDER BY subject_key "
            f"LIMIT :n{skip}) RETURNING subject_key"
        ),
        {"n": limit},
    )
    return sorted(row[0] for row in rows)


def _clear_dirty(session: Session, keys: Sequence[str]) -> None:
    if keys:
        session.execute(
            text("DELETE FROM dirty_entities WHERE subject_key IN :keys").bindparams(
                bindparam("keys", expanding=True)
            ),
            {"keys": list(keys)},
        )


# --- stage 1: penalties --------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _months_after(day: date, months: int) -> date:
    """:func:`rules.windows.add_months`, cached: decision dates repeat a lot."""
    return add_months(day, months)


def _derive(row: PenaltyRow, outcome: Any, version: str) -> Derived:
    until = allowed = None
    if outcome.disclosed:
        if outcome.disclosure_max_months is not None:
            until = _months_after(row.decided_on, outcome.disclosure_max_months)
        if row.disclosure_deadline is not None:
            until = (
                row.disclosure_deadline if until is None else min(until, row.disclosure_deadline)
            )
        allowed = _months_after(row.decided_on, outcome.disclosure_min_months or 0)
    return Derived(
        outcome.severity, until, allowed, bool(outcome.repairable), version, outcome.regime
    )


def _stored(row: PenaltyRow) -> Derived:
    return Derived(
        row.severity,
        row.disclosure_until,
        row.repair_allowed_from,
        row.repairable,
        row.pack_version,
        row.disclosure_regime,
    )


def _evaluate_penalties(
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    rows: list[PenaltyRow],
    as_of: date,
) -> tuple[list[PenaltyChange], list[AlertOpening], dict[int, str]]:
    outcomes = evaluator.evaluate_penalties(
        [penalty_facts(row, matcher(row.violation_type)) for row in rows]
    )
    changes: list[PenaltyChange] = []
    alerts: list[AlertOpening] = []
    severity_of: dict[int, str] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        derived = _derive(row, outcome, pack.version)
        if derived != _stored(row):
            changes.append(PenaltyChange(row.id, row.subject_key, _stored(row), derived))
        severity_of[row.id] = outcome.severity
        if outcome.alerts and row.counts_on(as_of):
            alerts.extend(
                AlertOpening(
                    row.subject_key,
                    row.id,
                    row.decision_number,
                    row.authority_uscc,
                    hit.kind,
                    hit.rule_id,
                    dict(hit.threshold),
                )
                for hit in outcome.alerts
            )
    return changes, alerts, severity_of


def _new_alerts(
    session: Session, subjects: Subjects, candidates: list[AlertOpening]
) -> list[AlertOpening]:
    """The candidates not already opened (an alert resolved once stays resolved)."""
    if not candidates:
        return []
    seen = {
        (row.uscc, row.kind, row.penalty_id)
        for row in session.execute(
            select(Alert.uscc, Alert.kind, Alert.penalty_id).where(
                subjects.condition(Alert.uscc),
                Alert.penalty_id.in_(sorted({a.penalty_id for a in candidates})),
            )
        )
    }
    fresh, taken = [], set()
    for alert in candidates:
        key = (alert.subject_key, alert.kind, alert.penalty_id)
        if key not in seen and key not in taken:
            taken.add(key)
            fresh.append(alert)
    return fresh


def _write_penalties(session: Session, changes: list[PenaltyChange]) -> int:
    """Store the derived columns of changed penalties; returns how many were written.

    PostgreSQL: one ``UPDATE … FROM unnest(arrays)``, skipping rows a writer holds locked
    (that writer queues the subject again in its own transaction, so nothing is lost)."""
    if not changes:
        return 0
    if is_postgres(session):
        result = session.execute(
            text(
                """
                UPDATE penalties p SET severity = v.severity,
                    disclosure_until = v.disclosure_until,
                    repair_allowed_from = v.repair_allowed_from, repairable = v.repairable,
                    pack_version = v.pack_version, disclosure_regime = v.disclosure_regime
                FROM unnest(CAST(:ids AS bigint[]), CAST(:severity AS text[]),
                            CAST(:until AS date[]), CAST(:allowed AS date[]),
                            CAST(:repairable AS boolean[]), CAST(:version AS text[]),
                            CAST(:regime AS text[]))
                     AS v(id, severity, disclosure_until, repair_allowed_from, repairable,
                          pack_version, disclosure_regime)
                WHERE p.id = v.id AND p.id IN (
                    SELECT id FROM penalties WHERE id = ANY(CAST(:ids AS bigint[]))
                    FOR UPDATE SKIP LOCKED)
                """
            ),
            {
                "ids": [c.penalty_id for c in changes],
                "severity": [c.after.severity for c in changes],
                "until": [c.after.disclosure_until for c in changes],
                "allowed": [c.after.repair_allowed_from for c in changes],
                "repairable": [c.after.repairable for c in changes],
                "version": [c.after.pack_version for c in changes],
                "regime": [c.after.disclosure_regime for c in changes],
            },
        )
        return int(_rowcount(result))
    table = Penalty.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("pid"))
        .values(**{name: bindparam(f"v_{name}") for name in Derived._fields}),
        [
            {"pid": c.penalty_id, **{f"v_{k}": v for k, v in c.after._asdict().items()}}
            for c in changes
        ],
        execution_options={"synchronize_session": False},
    )
    return len(changes)


# --- stage 2: entities ---------------------------------------------------------------


def _load_entries(session: Session, subjects: Subjects) -> dict[str, list[EntryState]]:
    names = [f.name for f in fields(EntryState)]
    rows = session.execute(
        select(*(getattr(ListEntry, name) for name in names))
        .where(subjects.condition(ListEntry.uscc))
        .order_by(ListEntry.uscc, ListEntry.id)
    )
    out: dict[str, list[EntryState]] = defaultdict(list)
    for row in rows:
        state = EntryState(*row)
        state.basis_penalty_ids = list(state.basis_penalty_ids or [])
        if subjects.holds(state.uscc):
            out[state.uscc].append(state)
    return out


def _party_type(rows: Sequence[PenaltyRow], key: str, as_of: date) -> str:
    counted = [row for row in rows if row.counts_on(as_of)] or list(rows)
    if counted:
        return max(counted, key=lambda r: (r.decided_on, r.id)).party_type
    return "natural_person" if key.startswith("P:") else "organisation"


def _plan_entries(
    pack: RulePack,
    key: str,
    decisions: Sequence[RuleDecision],
    facts: Mapping[str, Any],
    entries: Sequence[EntryState],
    rows_by_id: Mapping[int, PenaltyRow],
    as_of: date,
) -> list[EntryAction]:
    """What the decisions do to one subject's entries (module docstring, stage 2)."""
    actions: list[EntryAction] = []
    by_list: dict[str, list[RuleDecision]] = defaultdict(list)
    # A red list never takes an entity a dishonesty list holds or is about to hold (a
    # proposal pending confirmation, or one this evaluation makes).
    blocked = any(pack.list_kind(d.list_type) != "incentive" for d in decisions) or any(
        e.status in _OPEN and pack.list_kind(e.list_type) != "incentive" for e in entries
    )
    for decision in decisions:
        if blocked and pack.list_kind(decision.list_type) == "incentive":
            continue
        by_list[decision.list_type].append(decision)
    open_entries: dict[str, EntryState] = {}
    for entry in entries:
        if entry.status in _OPEN:
            open_entries[entry.list_type] = entry  # by id order: the newest wins
    entries_by_id = {entry.id: entry for entry in entries}
    for list_type, fired in by_list.items():
        penalty_basis: set[int] = set()
        entry_basis: set[int] = set()
        crossings: list[date] = []
        for decision in fired:
            aggregate = pack.aggregates.get(pack.rule(decision.rule_id).basis)
            if aggregate is not None and aggregate.kind == "list_held":
                entry_basis.update(decision.basis_ids)
                for entry_id in decision.basis_ids:
                    held = entries_by_id.get(entry_id)
                    if held is not None and held.since is not None:
                        crossings.append(add_months(held.since, aggregate.months or 0))
            else:
                penalty_basis.update(decision.basis_ids)
        basis = tuple(sorted(penalty_basis))
        first = fired[0]
        current = open_entries.get(list_type)
        if current is not None:
            if (
                current.rule_id is not None
                and basis
                and set(current.basis_penalty_ids) != set(basis)
            ):
                actions.append(
                    EntryAction(
                        "refresh",
                        key,
                        list_type,
                        current.rule_id,
                        first.rule_title,
                        current.authority_uscc,
                        basis,
                        tuple(sorted(entry_basis)),
                        entry=current,
                        decisions=tuple(fired),
                        facts=dict(facts),
                    )
                )
            continue
        if _covered(entries, list_type, penalty_basis, crossings):
            continue
        actions.append(
            EntryAction(
                first.action,
                key,
                list_type,
                first.rule_id,
                first.rule_title,
                _authority(basis, sorted(entry_basis), rows_by_id, entries_by_id),
                basis,
                tuple(sorted(entry_basis)),
                decisions=tuple(fired),
                facts=dict(facts),
            )
        )
    for list_type, entry in open_entries.items():
        if (
            list_type in by_list
            or entry.rule_id is None
            or pack.list_kind(list_type) != "incentive"
        ):
            continue
        # a red-list entry holds only while a rule supports it
        actions.append(
            EntryAction(
                "withdraw" if entry.status == "proposed" else "remove",
                key,
                list_type,
                entry.rule_id,
                _rule_title(pack, entry.rule_id),
                entry.authority_uscc,
                tuple(entry.basis_penalty_ids),
                entry=entry,
                facts=dict(facts),
                end_reason=INELIGIBLE,
            )
        )
    if pack.on_basis_revoked != "remove":
        return actions
    for list_type, entry in open_entries.items():
        if pack.list_kind(list_type) == "incentive" and entry.rule_id is not None:
            continue  # handled above
        if list_type in by_list or entry.rule_id is None or not entry.basis_penalty_ids:
            continue
        revoked = tuple(
            pid
            for pid in entry.basis_penalty_ids
            if pid in rows_by_id and rows_by_id[pid].revoked_on_day(as_of)
        )
        if not revoked:
            continue  # the rules stopped firing for another reason: a regulator decides
        rule_title = _rule_title(pack, entry.rule_id)
        actions.append(
            EntryAction(
                "withdraw" if entry.status == "proposed" else "remove",
                key,
                list_type,
                entry.rule_id,
                rule_title,
                entry.authority_uscc,
                tuple(entry.basis_penalty_ids),
                entry=entry,
                facts=dict(facts),
                revoked_ids=revoked,
            )
        )
    return actions


def _covered(
    entries: Sequence[EntryState], list_type: str, penalty_basis: set[int], crossings: list[date]
) -> bool:
    """True when earlier entries on the list already rested on all of this support."""
    earlier = [e for e in entries if e.list_type == list_type and e.status in _ENDED]
    if not earlier:
        return False
    seen: set[int] = set()
    for entry in earlier:
        seen.update(entry.basis_penalty_ids)
    if penalty_basis and not penalty_basis <= seen:
        return False
    if crossings:
        crossed = min(crossings)
        return any((e.proposed_on or e.since or date.min) >= crossed for e in earlier)
    return bool(penalty_basis)


def _authority(
    basis: Sequence[int],
    entry_basis: Sequence[int],
    rows_by_id: Mapping[int, PenaltyRow],
    entries_by_id: Mapping[int, EntryState],
) -> str | None:
    rows = [rows_by_id[pid] for pid in basis if pid in rows_by_id]
    if rows:
        return max(rows, key=lambda r: (r.decided_on, r.id)).authority_uscc
    for entry_id in entry_basis:
        entry = entries_by_id.get(entry_id)
        if entry is not None and entry.authority_uscc:
            return entry.authority_uscc
    return None


def _rule_title(pack: RulePack, rule_id: str) -> str:
    try:
        return pack.rule(rule_id).title
    except KeyError:
        return rule_id


# --- one batch -----------------------------------------------------------------------


def _evaluate_batch(
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
    entries = _load_entries(session, subjects)
    summary.penalties = len(rows)
    summary.facts_s += time.perf_counter() - started

    mark = time.perf_counter()
    changes, alert_candidates, severity_of = _evaluate_penalties(
        pack, evaluator, matcher, rows, as_of
    )
    summary.engine_s += time.perf_counter() - mark

    mark = time.perf_counter()
    alerts = _new_alerts(session, subjects, alert_candidates)
    summary.facts_s += time.perf_counter() - mark
    events: list[audit.AuditEvent] = list(extra_events)
    if apply and changes:
        mark = time.perf_counter()
        summary.penalties_updated = _write_penalties(session, changes)
        events.extend(_penalty_audit(session, changes, actor, pack.version))
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
            "party_type": _party_type(rows_by_subject.get(key, ()), key, as_of),
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
        if not decisions and not any(e.status in _OPEN for e in entries.get(key, ())):
            continue
        actions.extend(
            _plan_entries(
                pack, key, decisions, entity_facts[key], entries.get(key, ()), rows_by_id, as_of
            )
        )
    grade_changes: list[grades.GradeChange] = []
    if pack.grading is not None:
        graded_facts = _facts_after(pack, entity_facts, actions, as_of)
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
        events.extend(_open_alerts(session, alerts, pack.version, actor))
        events.extend(_apply_actions(session, pack, actions, today, now, actor))
        events.extend(grades.apply_grades(session, pack, grade_changes, today, as_of, actor))
        linked = {a.subject_key for a in actions if a.action in ("propose", "activate", "refresh")}
        summary.person_links = _link_persons(session, sorted(linked), now, actor, events)
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


def _facts_after(
    pack: RulePack,
    entity_facts: Mapping[str, dict[str, Any]],
    actions: Sequence[EntryAction],
    as_of: date,
) -> list[dict[str, Any]]:
    """The entities' facts for grading, with the ``listed`` aggregates counted as the
    lists stand after this evaluation's own changes (an entry activated today counts, an
    entry removed today does not) — so a grade never lags its lists by one run."""
    if as_of != clock.today():
        return [f for key, f in entity_facts.items() if grades.gradable(key)]
    listed = [a for a in pack.aggregates.values() if a.kind == "listed"]
    delta: dict[str, Counter[str]] = defaultdict(Counter)
    for a in actions:
        step = {"activate": 1, "remove": -1}.get(a.action, 0)
        if a.action == "remove" and a.entry is not None and a.entry.status == "proposed":
            step = 0
        if step:
            for aggregate in listed:
                if a.list_type in aggregate.list_types:
                    delta[a.subject_key][aggregate.name] += step
    out = []
    for key, facts in entity_facts.items():
        if not grades.gradable(key):
            continue
        change = delta.get(key)
        if change:
            values = {name: dict(item) for name, item in facts["aggregates"].items()}
            for name, step in change.items():
                item = values.setdefault(name, {"value": 0, "ids": []})
                item["value"] = max(0, item["value"] + step)
            facts = {**facts, "aggregates": values}
        out.append(facts)
    return out


def _penalty_audit(
    session: Session, changes: list[PenaltyChange], actor: str, version: str
) -> list[audit.AuditEvent]:
    """One audit entry per batch listing every penalty whose derived columns changed, and
    a change-feed row where an already evaluated penalty's disclosure window moved."""
    moved = [
        {"uscc": c.subject_key, "kind": "penalty", "object_id": c.penalty_id}
        for c in changes
        if c.before.pack_version is not None
        and c.before.disclosure_until != c.after.disclosure_until
    ]
    if moved:
        now = clock.now()
        session.execute(
            insert(Change.__table__),
            [{**m, "action": "disclosure_changed", "at": now} for m in moved],
        )
    subjects = {c.subject_key for c in changes}
    return [
        audit.AuditEvent(
            actor=actor,
            action="penalties.evaluated",
            object_type="penalty",
            object_id=changes[0].penalty_id if len(changes) == 1 else None,
            uscc=next(iter(subjects)) if len(subjects) == 1 else None,
            after=_penalty_audit_body(changes, version),
        )
    ]


def _penalty_audit_body(changes: list[PenaltyChange], version: str) -> dict[str, Any]:
    """The ids by severity; for a few records (incremental runs) each one's new values.
    The values follow from the record version and the pack version, both kept."""
    by_severity: dict[str, list[int]] = defaultdict(list)
    for c in changes:
        by_severity[c.after.severity or "-"].append(c.penalty_id)
    body: dict[str, Any] = {
        "pack_version": version,
        "count": len(changes),
        "by_severity": dict(by_severity),
    }
    if len(changes) <= 50:
        body["penalties"] = {
            str(c.penalty_id): {
                "severity": c.after.severity,
                "disclosure_until": c.after.disclosure_until,
                "repair_allowed_from": c.after.repair_allowed_from,
                "repairable": c.after.repairable,
                "regime": c.after.disclosure_regime,
            }
            for c in changes
        }
    return body


def _open_alerts(
    session: Session, alerts: list[AlertOpening], version: str, actor: str
) -> list[audit.AuditEvent]:
    if not alerts:
        return []
    # RETURNING the natural key instead of sort_by_parameter_order: SQLAlchemy would
    # split the insert into many small statements to keep the order.
    alerts_table = Alert.__table__
    returned = session.execute(
        insert(alerts_table).returning(
            alerts_table.c.id, alerts_table.c.uscc, alerts_table.c.kind, alerts_table.c.penalty_id
        ),
        [
            {
                "uscc": a.subject_key,
                "kind": a.kind,
                "penalty_id": a.penalty_id,
                "decision_number": a.decision_number,
                "authority_uscc": a.authority_uscc,
                "rule_id": a.rule_id,
                "pack_version": version,
                "threshold": audit.to_jsonable(a.threshold),
                "status": "open",
            }
            for a in alerts
        ],
    )
    by_key = {(uscc, kind, pid): alert_id for alert_id, uscc, kind, pid in returned}
    ids = [by_key[(a.subject_key, a.kind, a.penalty_id)] for a in alerts]
    subjects = {a.subject_key for a in alerts}
    return [
        audit.AuditEvent(
            actor=actor,
            action="alerts.opened",
            object_type="alert",
            object_id=ids[0] if len(ids) == 1 else None,
            uscc=next(iter(subjects)) if len(subjects) == 1 else None,
            after={
                "count": len(ids),
                # [alert id, penalty id, kind, authority]
                "alerts": [
                    [alert_id, a.penalty_id, a.kind, a.authority_uscc]
                    for alert_id, a in zip(ids, alerts, strict=True)
                ],
            },
        )
    ]


_EVENT = {
    "propose": "proposed",
    "activate": "activated",
    "refresh": "basis_updated",
    "withdraw": "withdrawn",
    "remove": "removed",
}


def _apply_actions(
    session: Session,
    pack: RulePack,
    actions: list[EntryAction],
    today: date,
    now: Any,
    actor: str,
) -> list[audit.AuditEvent]:
    """Write the entry changes with their events, decisions, change-feed rows; returns
    their audit events.  Set-based: one statement per kind of row."""
    if not actions:
        return []
    created = [a for a in actions if a.action in ("propose", "activate")]
    if created:
        new_rows: list[dict[str, Any]] = []
        terms: dict[str, tuple[date | None, date]] = {}
        for a in created:
            since = until = early = None
            if a.action == "activate":
                since = today
                if a.list_type not in terms:
                    terms[a.list_type] = entry_terms(pack, a.list_type, today)
                until, early = terms[a.list_type]
            new_rows.append(
                {
                    "uscc": a.subject_key,
                    "list_type": a.list_type,
                    "status": "active" if a.action == "activate" else "proposed",
                    "rule_id": a.rule_id,
                    "pack_version": pack.version,
                    "authority_uscc": a.authority_uscc,
                    "basis_penalty_ids": list(a.basis_ids),
                    "proposed_on": today,
                    "since": since,
                    "until": until,
                    "early_removal_from": early,
                }
            )
        # one new entry per (subject, list) in a batch: the natural key maps the ids back
        entries = ListEntry.__table__
        returned = session.execute(
            insert(entries).returning(entries.c.id, entries.c.uscc, entries.c.list_type),
            new_rows,
        )
        by_key = {(uscc, list_type): entry_id for entry_id, uscc, list_type in returned}
        ids = [by_key[(row["uscc"], row["list_type"])] for row in new_rows]
        for entry_id, row, a in zip(ids, new_rows, created, strict=True):
            a.entry = EntryState(
                id=entry_id,
                confirmed_by=None,
                ended_on=None,
                ended_by=None,
                end_reason=None,
                **row,
            )
    befores: dict[int, dict[str, Any]] = {}
    table = ListEntry.__table__
    applied: list[EntryAction] = []
    for a in actions:
        if a.action in ("propose", "activate") or a.entry is None:
            applied.append(a)
            continue
        # Row by row, guarded by the status read (these are few): a regulator who
        # confirmed, rejected or removed the entry meanwhile wins, and the change is
        # left for the next evaluation to reconsider.
        entry = a.entry
        if a.action == "refresh":
            values: dict[str, Any] = {
                "basis_penalty_ids": list(a.basis_ids),
                "pack_version": pack.version,
            }
        else:
            values = {
                "status": "rejected" if a.action == "withdraw" else "removed",
                "ended_on": today,
                "ended_by": actor,
                "end_reason": a.end_reason,
            }
        done = session.execute(
            update(table)
            .where(table.c.id == entry.id, table.c.status == entry.status)
            .values(**values)
            .returning(table.c.id),
            execution_options={"synchronize_session": False},
        ).first()
        if done is None:
            log.info("list entry %s changed while being evaluated; left as it is", entry.id)
            continue
        befores[entry.id] = {**snapshot(entry), "basis_penalty_ids": list(entry.basis_penalty_ids)}
        for name, value in values.items():
            setattr(entry, name, value)
        applied.append(a)
    actions[:] = applied

    event_rows, decision_rows, change_rows, events = [], [], [], []
    for a in actions:
        assert a.entry is not None  # every action has its entry by now
        entry = a.entry
        reason = (
            f"basis_revoked: {', '.join(map(str, a.revoked_ids))}"
            if a.revoked_ids
            else f"{INELIGIBLE}: {a.rule_id}: {a.rule_title}"
            if a.end_reason == INELIGIBLE
            else f"{a.rule_id}: {a.rule_title}"
        )
        event_rows.append(
            {
                "list_entry_id": entry.id,
                "uscc": entry.uscc,
                "event": _EVENT[a.action],
                "on_date": today,
                "at": now,
                "actor": actor,
                "reason": reason,
            }
        )
        public_change = {"activate": "activated", "remove": "removed"}.get(a.action)
        if public_change and is_public_list(pack, entry.list_type):
            change_rows.append(
                {
                    "uscc": entry.uscc,
                    "kind": "list_entry",
                    "object_id": entry.id,
                    "action": public_change,
                    "at": now,
                }
            )
        decision_rows.extend(_decision_rows(a, entry, pack.version, now))
        after = {**snapshot(entry), "basis_penalty_ids": list(entry.basis_penalty_ids)}
        after.update(rule_id=a.rule_id, reason=reason)
        after = {k: v for k, v in after.items() if v is not None}
        if a.basis_entry_ids:
            after["basis_list_entry_ids"] = list(a.basis_entry_ids)
        if a.action in ("propose", "activate") and len(created) > _AUDIT_EACH_UP_TO:
            continue  # many new entries: one audit entry for the batch, below
        events.append(
            audit.AuditEvent(
                actor=actor,
                action=f"list_entry.{_EVENT[a.action]}",
                object_type="list_entry",
                object_id=entry.id,
                uscc=entry.uscc,
                before=befores.get(entry.id),
                after=after,
            )
        )
    if len(created) > _AUDIT_EACH_UP_TO:
        # As the importer does for new records: one entry per batch and kind lists every
        # new entry, so the chain vouches for each without an entry per row; each entry
        # also has its dated event and its decisions.
        for action in ("propose", "activate"):
            made = [a for a in created if a.action == action and a.entry is not None]
            if made:
                events.append(
                    audit.AuditEvent(
                        actor=actor,
                        action=f"list_entries.{_EVENT[action]}",
                        object_type="list_entry",
                        after={
                            "count": len(made),
                            "pack_version": pack.version,
                            # [entry id, subject, list type, rule]; the basis of each is
                            # in its row and its decisions
                            "entries": [
                                [a.entry.id, a.subject_key, a.list_type, a.rule_id]
                                for a in made
                                if a.entry is not None
                            ],
                        },
                    )
                )
    session.execute(insert(ListEntryEvent.__table__), event_rows)
    session.execute(insert(Decision.__table__), decision_rows)
    if change_rows:
        session.execute(insert(Change.__table__), change_rows)
    return events


def _decision_rows(a: EntryAction, entry: EntryState, version: str, now: Any) -> list[dict]:
    facts = dict(a.facts)  # plain JSON already: strings, numbers, lists
    if a.basis_entry_ids:
        facts["basis_list_entry_ids"] = list(a.basis_entry_ids)
    base = {
        "uscc": a.subject_key,
        "pack_version": version,
        "list_type": a.list_type,
        "list_entry_id": entry.id,
        "facts": facts,
        "decided_at": now,
    }
    if not a.decisions and a.end_reason == INELIGIBLE:
        return [
            {
                **base,
                "rule_id": a.rule_id or INELIGIBLE,
                "rule_title": a.rule_title,
                "outcome": a.action,
                "basis_penalty_ids": [],
                "trace": {
                    "reason": INELIGIBLE,
                    "note": "no rule supports the red-list entry any more (e.g. a penalty "
                    "arrived or the grade fell)",
                    "facts": facts.get("aggregates", {}),
                },
            }
        ]
    if not a.decisions:  # withdraw / remove: the entry's own rule, explained by the revocation
        return [
            {
                **base,
                "rule_id": a.rule_id or "basis-revoked",
                "rule_title": a.rule_title,
                "outcome": a.action,
                "basis_penalty_ids": list(a.basis_ids),
                "trace": {
                    "reason": "basis_revoked",
                    "revoked_penalty_ids": list(a.revoked_ids),
                    "basis_penalty_ids": list(a.basis_ids),
                    "note": "no rule supports the entry any more; its basis includes revoked "
                    "records (DOMAIN.md §4 rule 5)",
                },
            }
        ]
    penalty_basis = set(a.basis_ids)
    return [
        {
            **base,
            "rule_id": d.rule_id,
            "rule_title": d.rule_title,
            "outcome": a.action,
            "basis_penalty_ids": [i for i in d.basis_ids if i in penalty_basis],
            "trace": d.trace,  # the engine's answer: plain JSON
        }
        for d in a.decisions
    ]


def _link_persons(
    session: Session,
    subject_keys: Sequence[str],
    now: Any,
    actor: str,
    events: list[audit.AuditEvent],
) -> int:
    """Link listed entities to their legal representatives (measures reach people,
    DOMAIN.md §5); idempotent — the importer may have made the links already."""
    codes = [key for key in subject_keys if not key.startswith("P:")]
    if not codes:
        return 0
    result = session.execute(
        text(
            """
            INSERT INTO person_links (uscc, person_key, role, source_penalty_id, since_on,
                                      created_at, updated_at)
            SELECT p.uscc, p.legal_representative_key, 'legal_representative',
                   min(p.id), min(p.decided_on), :now, :now
            FROM penalties p
            WHERE p.uscc IN :codes AND p.legal_representative_key IS NOT NULL
              AND EXISTS (SELECT 1 FROM persons x WHERE x.person_key = p.legal_representative_key)
            GROUP BY p.uscc, p.legal_representative_key
            ON CONFLICT (uscc, person_key, role) DO NOTHING
            """
        ).bindparams(bindparam("codes", expanding=True), bindparam("now", type_=UTCDateTime())),
        {"codes": codes, "now": now},
    )
    linked = max(int(_rowcount(result) or 0), 0)
    if linked:
        events.append(
            audit.AuditEvent(
                actor=actor,
                action="person_links.created",
                object_type="person_link",
                uscc=codes[0] if len(codes) == 1 else None,
                after={"count": linked, "role": "legal_representative", "entities": codes},
            )
        )
    return linked


# --- entry points --------------------------------------------------------------------


def normalise_subject(value: str) -> str:
    """A subject key from user input: ``P:<person key>`` as given, else a USCC,
    normalised and checked (:class:`registry.codes.CodeError` if malformed)."""
    from registry.codes import validate_uscc

    text_ = value.strip()
    if text_.startswith("P:"):
        return text_
    return validate_uscc(text_)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` drawing a bar on standard error when it is a
    terminal (else None), for :func:`evaluate_all`."""
    import sys

    import click

    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            bar.length = max(total, 1)
            bar.update(done - shown)
            shown = done

        yield advance


def evaluate_subjects(
    session: Session,
    rt_or_pack: Runtime | RulePack,
    subject_keys: Iterable[str],
    as_of: date | None = None,
    actor: str = RULES_ACTOR,
    *,
    _wait: bool = False,
) -> EvaluationSummary:
    """Run the rules for these subjects in the caller's transaction (flushes, never
    commits) and apply what they decide; ``as_of`` (default today) is the day the facts
    are taken on.  Subject keys are USCCs or ``P:<person key>``.

    It never waits for another evaluation of the same subject (the caller's transaction
    may hold the audit lock that one waits for, a deadlock): a subject being evaluated
    elsewhere at this moment is left to that evaluation."""
    pack, evaluator, matcher = _resolve(rt_or_pack)
    keys = sorted(set(subject_keys))
    total = EvaluationSummary()
    if not keys:
        return total
    day = as_of or clock.today()
    session.flush()
    stored = ensure_pack_stored(session, pack, actor)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        busy = _lock_subjects(session, chunk, wait=_wait)
        if busy:
            # Being evaluated by another transaction right now, which reads the same
            # committed facts as of today; a writer queues its subjects in its own
            # transaction (before any lock this one could hold), so nothing is lost.
            log.info("%d subject(s) being evaluated elsewhere; skipped here", len(busy))
            chunk = sorted(set(chunk) - set(busy))
            if not chunk:
                continue
        plan = _evaluate_batch(
            session,
            pack,
            evaluator,
            matcher,
            Subjects.of(chunk),
            day,
            actor,
            apply=True,
            extra_events=stored if start == 0 else (),
        )
        total.add(plan.summary)
    session.expire_all()
    return total


def evaluate_now(
    rt: Runtime,
    subject_keys: Iterable[str],
    as_of: date | None = None,
    actor: str = RULES_ACTOR,
) -> EvaluationSummary:
    """Evaluate these subjects now, in a unit of work of their own; they leave the dirty
    queue in the same transaction."""
    keys = sorted(set(subject_keys))
    if not keys:
        return EvaluationSummary()
    with rt.unit_of_work() as session:
        _clear_dirty(session, keys)
        return evaluate_subjects(session, rt, keys, as_of=as_of, actor=actor, _wait=True)


def after_write(
    rt: Runtime, subject_keys: Iterable[str], actor: str = RULES_ACTOR
) -> EvaluationSummary | None:
    """Right after a write committed: evaluate the subjects it touched.  A failure here
    must not fail the write that already committed: it is logged, and the subjects stay
    in the dirty queue for :func:`evaluate_dirty` (the scheduler's ``evaluate`` job)."""
    keys = sorted(set(subject_keys))
    if not keys:
        return None
    try:
        return evaluate_now(rt, keys, actor=actor)
    except Exception:
        log.exception("rules evaluation failed for %d subject(s); left queued", len(keys))
        return None


def evaluate_dirty(
    rt: Runtime,
    limit: int | None = None,
    batch: int = 1000,
    actor: str = RULES_ACTOR,
    *,
    bulk_from: int | None = None,
    bulk_batch: int = DRAIN_PAGE,
    workers: int | None = None,
) -> EvaluationSummary:
    """Consume the dirty-entity queue: evaluate queued subjects, ``batch`` per transaction,
    until the queue is empty (or ``limit`` subjects were taken).  Safe to run twice at
    once: each transaction takes rows no other holds (``SKIP LOCKED``).

    A queue of ``bulk_from`` subjects or more (default :data:`BULK_FROM`; after an import,
    say) is drained the way :func:`evaluate_all` works: in key order, ``bulk_batch``
    subjects per transaction, a page read by key range where the queued subjects are
    (nearly) all the subjects in it, and on PostgreSQL in ``workers`` processes (default:
    the machine's cores, at most :data:`MAX_WORKERS`), each draining a contiguous share of
    the queued keys.  The same subjects are evaluated the same way; only the transactions
    are fewer and larger.  Only a page of keys is held at a time, so memory does not grow
    with the queue.  Whatever is queued meanwhile is taken by the loop above at the end."""
    total = EvaluationSummary()
    threshold = BULK_FROM if bulk_from is None else bulk_from
    if limit is None and threshold > 0:
        with rt.sessions() as session:
            queued = _queue_length(session)
        if queued >= threshold:
            total.add(_drain_queue(rt, queued, actor, workers, bulk_batch))
    pack, evaluator, matcher = _resolve(rt)
    while limit is None or total.subjects < limit:
        size = batch if limit is None else min(batch, limit - total.subjects)
        with rt.unit_of_work() as session:
            keys = _take_dirty(session, size)
            if not keys:
                break
            summary = _evaluate_taken(
                session, pack, evaluator, matcher, keys, Subjects.of(keys), clock.today(), actor
            )
        total.add(summary)
    return total


def _evaluate_taken(
    session: Session,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    keys: list[str],
    subjects: Subjects,
    day: date,
    actor: str,
) -> EvaluationSummary:
    """Evaluate and apply subjects just taken off the queue (``keys``, read as
    ``subjects``), in the caller's transaction: the pack stored, the subjects locked."""
    stored = ensure_pack_stored(session, pack, actor)
    _lock_subjects(session, keys)
    plan = _evaluate_batch(
        session, pack, evaluator, matcher, subjects, day, actor, apply=True, extra_events=stored
    )
    return plan.summary


def _queue_length(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM dirty_entities")).scalar_one())


def _default_workers() -> int:
    """The machine's cores, at most :data:`MAX_WORKERS`; 1 inside a daemonic process
    (which may not start processes of its own)."""
    import multiprocessing
    import os

    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _drain_queue(
    rt: Runtime, queued: int, actor: str, workers: int | None, size: int
) -> EvaluationSummary:
    """The bulk way through the queue (:func:`evaluate_dirty`)."""
    day = clock.today()
    workers = _default_workers() if workers is None else max(1, workers)
    if workers > 1 and is_postgres(rt.engine) and queued >= 2 * workers * size:
        with rt.sessions() as session:
            bounds = _queue_bounds(session, workers)
        shares = list(zip([None, *bounds], [*bounds, None], strict=True))
        return _run_in_processes(
            rt,
            [(_drain_range, (lo, hi, day, actor, size)) for lo, hi in shares],
            None,
            queued,
        )
    total = EvaluationSummary()
    pack, evaluator, matcher = _resolve(rt)
    for summary in _drain_range(rt, pack, evaluator, matcher, None, None, day, actor, size):
        total.add(summary)
    return total


def _queue_bounds(session: Session, workers: int) -> list[str]:
    """Keys splitting the queue into ``workers`` shares of about the same size
    (PostgreSQL)."""
    fractions = [i / workers for i in range(1, workers)]
    found = session.execute(
        text(
            "SELECT percentile_disc(CAST(:f AS float8[])) WITHIN GROUP (ORDER BY subject_key) "
            "FROM dirty_entities"
        ),
        {"f": fractions},
    ).scalar_one()
    return sorted(set(found or []))


def _take_dirty_range(
    session: Session, after: str | None, upto: str | None, limit: int
) -> list[str]:
    """Remove up to ``limit`` queued subjects with keys in ``(after, upto]`` (either end
    open when None), the lowest first, and return them."""
    conditions: list[str] = ["1 = 1"]
    params: dict[str, Any] = {"n": limit}
    if after is not None:
        conditions.append("subject_key > :after")
        params["after"] = after
    if upto is not None:
        conditions.append("subject_key <= :upto")
        params["upto"] = upto
    skip = " FOR UPDATE SKIP LOCKED" if is_postgres(session) else ""
    rows = session.execute(
        text(
            "DELETE FROM dirty_entities WHERE subject_key IN ("
            f"SELECT subject_key FROM dirty_entities WHERE {' AND '.join(conditions)} "
            f"ORDER BY subject_key LIMIT :n{skip}) RETURNING subject_key"
        ),
        params,
    )
    return sorted(row[0] for row in rows)


def _page_subjects(session: Session, keys: Sequence[str], after: str | None) -> Subjects:
    """The subjects of a page of queued keys: read by key range ``(after, keys[-1]]``
    when the keys are nearly every subject with penalties in it (a range scan; the few
    others read are dropped), else by the keys themselves."""
    most = len(keys) + len(keys) // RANGE_SLACK
    query = select(Penalty.subject_key).distinct().where(Penalty.subject_key <= keys[-1])
    if after is not None:
        query = query.where(Penalty.subject_key > after)
    found = session.execute(
        select(func.count()).select_from(query.limit(most + 1).subquery())
    ).scalar_one()
    if found <= most:
        return Subjects.in_range(keys, after, keys[-1])
    return Subjects.of(keys)


def _drain_range(
    rt: Runtime,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    lo: str | None,
    hi: str | None,
    day: date,
    actor: str,
    size: int = BATCH,
) -> Iterator[EvaluationSummary]:
    """Evaluate the queued subjects with keys in ``(lo, hi]``, ``size`` per transaction
    in key order, until none is left there; yields each batch's summary."""
    after = lo
    while True:
        with rt.unit_of_work() as session:
            keys = _take_dirty_range(session, after, hi, size)
            if not keys:
                return
            subjects = _page_subjects(session, keys, after)
            summary = _evaluate_taken(session, pack, evaluator, matcher, keys, subjects, day, actor)
        after = keys[-1]
        yield summary


def evaluate_all(
    rt: Runtime,
    as_of: date | None = None,
    batch: int = BATCH,
    actor: str = RULES_ACTOR,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> EvaluationSummary:
    """Evaluate every subject (with penalties or open list entries) in key order, one
    transaction per ``batch`` subjects; ``progress(done, total)`` after each batch.

    ``workers > 1`` (PostgreSQL only): that many processes, each taking a contiguous
    share of the key range (the pack's zen engine holds the GIL, so threads would not
    help); the subject locks are by key prefix, so the shares do not block each other."""
    if workers > 1 and is_postgres(rt.engine):
        with rt.sessions() as session:
            keys = all_subject_keys(session)
        batches = [keys[i : i + batch] for i in range(0, len(keys), batch)]
        if len(batches) >= 2 * workers:
            return _evaluate_in_processes(rt, batches, as_of, actor, progress, workers)
    pack, evaluator, matcher = _resolve(rt)
    day = as_of or clock.today()
    total = EvaluationSummary()
    expected = 0
    if progress is not None:
        with rt.sessions() as session:
            expected = count_subjects(session)
    after: str | None = None
    while True:
        with rt.unit_of_work() as session:
            keys = subject_page(session, after, batch)
            if not keys:
                break
            plan = _bulk_batch(session, pack, evaluator, matcher, keys, after, day, actor)
        total.add(plan.summary)
        after = keys[-1]
        if progress is not None:
            progress(total.subjects, max(expected, total.subjects))
    return total


def all_subject_keys(session: Session) -> list[str]:
    """Every subject with a penalty or an open list entry, sorted."""
    keys = set(session.execute(select(Penalty.subject_key).distinct()).scalars())
    keys.update(
        session.execute(
            select(ListEntry.uscc).distinct().where(ListEntry.status.in_(_OPEN))
        ).scalars()
    )
    return sorted(keys)


def _bulk_batch(
    session: Session,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    keys: Sequence[str],
    after: str | None,
    day: date,
    actor: str,
) -> BatchPlan:
    """One transaction of a bulk run: the subjects ``keys``, every key in ``(after,
    keys[-1]]``; they leave the dirty queue first (so a write after our reads queues
    them again)."""
    stored = ensure_pack_stored(session, pack, actor)
    _clear_dirty(session, keys)
    _lock_subjects(session, keys)
    return _evaluate_batch(
        session,
        pack,
        evaluator,
        matcher,
        Subjects.in_range(keys, after, keys[-1]),
        day,
        actor,
        apply=True,
        extra_events=stored,
    )


def _evaluate_in_processes(
    rt: Runtime,
    batches: list[list[str]],
    as_of: date | None,
    actor: str,
    progress: Callable[[int, int], None] | None,
    workers: int,
) -> EvaluationSummary:
    share = -(-len(batches) // workers)
    day = as_of or clock.today()
    jobs: list[tuple[Callable[..., Iterator[EvaluationSummary]], tuple[Any, ...]]] = []
    for index in range(workers):
        segment = batches[index * share : (index + 1) * share]
        if not segment:
            continue
        before = batches[index * share - 1][-1] if index else None
        jobs.append((_segment_batches, (segment, before, day, actor)))
    return _run_in_processes(rt, jobs, progress, sum(len(b) for b in batches))


def _segment_batches(
    rt: Runtime,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    segment: list[list[str]],
    after: str | None,
    day: date,
    actor: str,
) -> Iterator[EvaluationSummary]:
    """A worker's share of :func:`evaluate_all`: its batches in order."""
    for keys in segment:
        with rt.unit_of_work() as session:
            plan = _bulk_batch(session, pack, evaluator, matcher, keys, after, day, actor)
        after = keys[-1]
        yield plan.summary


def _run_in_processes(
    rt: Runtime,
    jobs: Sequence[tuple[Callable[..., Iterator[EvaluationSummary]], tuple[Any, ...]]],
    progress: Callable[[int, int], None] | None,
    expected: int,
) -> EvaluationSummary:
    """Run each job — ``function(rt, pack, evaluator, matcher, *args)`` yielding a summary
    per committed batch — the first here and each other in a process of its own
    (spawned: the pack's zen engine holds the GIL, so threads would not help), and add
    up what they report.

    The caller takes a share rather than wait: one process fewer to hold an interpreter,
    the models and the engine (~60 MB), which counts when an import's rules run beside
    the importer, and no slower (as many processes evaluate).  It reads what the others
    said between its own batches.  If its own share fails, the others are stopped (what
    each committed stays; what it had not reached stays queued)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    # a fixed clock (tests, benchmarks) must hold in the workers too
    fixed = clock.fixed()
    processes: dict[int, Any] = {}
    for index, (function, args) in enumerate(jobs[1:], start=1):
        process = context.Process(
            target=_worker_main,
            args=(index, rt.config, function, args, fixed, messages),
            daemon=True,
        )
        process.start()
        processes[index] = process
    total = EvaluationSummary()
    running, failures = set(processes), []

    def counted(summary: EvaluationSummary) -> None:
        total.add(summary)
        if progress is not None:
            progress(total.subjects, max(expected, total.subjects))

    def heard(index: int, kind: str, payload: Any) -> None:
        if kind == "batch":
            counted(EvaluationSummary(**payload))
            return
        running.discard(index)
        if kind == "done":
            log.info("rules worker %d done; its peak RSS %d MB", index, payload // 1024)
        else:
            failures.append(payload)

    try:
        if jobs:
            function, args = jobs[0]
            pack, evaluator, matcher = _resolve(rt)
            for summary in function(rt, pack, evaluator, matcher, *args):
                counted(summary)
                with contextlib.suppress(queue.Empty):
                    while True:
                        heard(*messages.get_nowait())
        while running:
            try:
                heard(*messages.get(timeout=1.0))
            except queue.Empty:
                # a worker that died without a word (killed, failed to start) ends too
                for index in sorted(running):
                    code = processes[index].exitcode
                    if code is not None and messages.empty():
                        running.discard(index)
                        failures.append(f"worker {index} exited with code {code}")
    except BaseException:
        for process in processes.values():
            process.terminate()
        raise
    finally:
        for process in processes.values():
            process.join(timeout=60)
    if failures:
        raise RuntimeError(f"a rules worker failed (batches it committed stay): {failures[0]}")
    return total


def _peak_rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _worker_main(
    index: int,
    config: Any,
    function: Callable[..., Iterator[EvaluationSummary]],
    args: tuple[Any, ...],
    fixed: Any,
    messages: Any,
) -> None:
    """A worker process of :func:`_run_in_processes`."""
    import traceback

    from registry.runtime import Runtime

    if fixed is not None:
        clock.set_clock(fixed)
    rt = Runtime(config)
    try:
        pack, evaluator, matcher = _resolve(rt)
        for summary in function(rt, pack, evaluator, matcher, *args):
            messages.put((index, "batch", summary.as_dict()))
        messages.put((index, "done", _peak_rss_kb()))
    except BaseException:
        messages.put((index, "error", traceback.format_exc(limit=5)))
    finally:
        rt.dispose()


# --- preview (dry run) ---------------------------------------------------------------


@dataclass(frozen=True)
class PreviewItem:
    """An entry change a candidate pack would make."""

    action: str  #: propose | activate | refresh | withdraw | remove
    uscc: str
    list_type: str
    rule_id: str | None
    authority_uscc: str | None
    basis_ids: tuple[int, ...]
    entry_id: int | None = None


@dataclass
class PreviewReport:
    """The diff between what a (candidate) pack would decide on live data and the
    registry's current state.  Nothing was written to produce it."""

    pack_name: str
    pack_version: str
    current_version: str
    as_of: date
    summary: EvaluationSummary = field(default_factory=EvaluationSummary)
    items: list[PreviewItem] = field(default_factory=list)
    #: penalties whose severity, disclosure window, repair date or regime would change
    penalties_changed: int = 0
    severity_changed: int = 0
    disclosure_changed: int = 0
    measures_gained: Counter[str] = field(default_factory=Counter)
    measures_lost: Counter[str] = field(default_factory=Counter)
    measures_pending: Counter[str] = field(default_factory=Counter)
    #: grade changes, counted by "before→after" (before "-": not graded yet)
    grade_moves: Counter[str] = field(default_factory=Counter)
    #: the first grade changes, as (code, before, after, grading row)
    grade_items: list[tuple[str, str | None, str, str]] = field(default_factory=list)

    def by(self, attribute: str) -> dict[str, Counter[str]]:
        """Counts of actions per list type (``"list_type"``) or authority."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for item in self.items:
            out[getattr(item, attribute) or "-"][item.action] += 1
        return dict(sorted(out.items()))

    def of(self, action: str) -> list[PreviewItem]:
        return [item for item in self.items if item.action == action]

    @property
    def changes_nothing(self) -> bool:
        return not (
            self.items
            or self.penalties_changed
            or self.summary.alerts_opened
            or self.measures_gained
            or self.measures_lost
            or self.grade_moves
        )

    def as_dict(self) -> dict[str, Any]:
        return audit.to_jsonable(
            {
                "pack": {"name": self.pack_name, "version": self.pack_version},
                "current_version": self.current_version,
                "as_of": self.as_of,
                "subjects": self.summary.subjects,
                "items": [asdict(item) for item in self.items],
                "by_list": self.by("list_type"),
                "by_authority": self.by("authority_uscc"),
                "penalties_changed": self.penalties_changed,
                "penalties_restamped": self.summary.penalties_updated,
                "severity_changed": self.severity_changed,
                "disclosure_changed": self.disclosure_changed,
                "alerts_opened": self.summary.alerts_opened,
                "measures_gained": dict(self.measures_gained),
                "measures_lost": dict(self.measures_lost),
                "measures_pending": dict(self.measures_pending),
                "grades_changed": dict(self.grade_moves),
                "grade_items": [list(item) for item in self.grade_items],
            }
        )

    def render(self, max_rows: int = 500) -> str:
        """A human-readable report: the entry changes as a table, then the totals."""
        same = self.pack_version == self.current_version
        lines = [
            f"Dry run: pack {self.pack_name} ({self.pack_version[:12]}"
            + (", the active pack" if same else f", active {self.current_version[:12]}")
            + f") as of {self.as_of.isoformat()}, {self.summary.subjects} subject(s); "
            "nothing was written.",
        ]
        if self.items:
            header = ("action", "list", "rule", "subject", "authority", "basis")
            table = [header] + [
                (
                    i.action,
                    i.list_type,
                    i.rule_id or "-",
                    i.uscc,
                    i.authority_uscc or "-",
                    ",".join(map(str, i.basis_ids)) or "-",
                )
                for i in self.items[:max_rows]
            ]
            widths = [max(len(row[c]) for row in table) for c in range(len(header))]
            lines.append("")
            for row in table:
                lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
            if len(self.items) > max_rows:
                lines.append(f"... and {len(self.items) - max_rows} more")
        else:
            lines.append("No list entry would change.")
        lines.append("")
        for title, attribute in (("By list", "list_type"), ("By authority", "authority_uscc")):
            counts = self.by(attribute)
            if counts:
                lines.append(f"{title}:")
                for name, actions in counts.items():
                    lines.append(f"  {name}: " + ", ".join(f"{n} {a}" for a, n in actions.items()))
        for title, counter in (
            ("Measures gained (entities)", self.measures_gained),
            ("Measures lost (entities)", self.measures_lost),
            ("Measures pending confirmation (entities)", self.measures_pending),
        ):
            if counter:
                lines.append(
                    f"{title}: " + ", ".join(f"{m} {n}" for m, n in sorted(counter.items()))
                )
        if self.grade_moves:
            lines.append(
                "Grade changes (entities): "
                + ", ".join(f"{move} {n}" for move, n in sorted(self.grade_moves.items()))
            )
        elif self.summary.graded:
            lines.append("No grade would change.")
        lines.append(
            f"Penalties whose severity, disclosure or repair data would change: "
            f"{self.penalties_changed} (severity {self.severity_changed}, disclosure end "
            f"{self.disclosure_changed}; {self.summary.penalties_updated} would be stamped "
            f"with pack {self.pack_version[:12]}); alerts that would open: "
            f"{self.summary.alerts_opened}"
        )
        return "\n".join(line.rstrip() for line in lines)


def _measure_diff(
    report: PreviewReport, current: RulePack, candidate: RulePack, plan: BatchPlan, day: date
) -> None:
    actions_by_entry = {a.entry.id: a for a in plan.actions if a.entry is not None}
    new_by_subject: dict[str, list[EntryAction]] = defaultdict(list)
    for a in plan.actions:
        if a.action in ("propose", "activate"):
            new_by_subject[a.subject_key].append(a)
    for key in set(plan.entries) | set(new_by_subject):
        now: set[str] = set()
        then: set[str] = set()
        for entry in plan.entries.get(key, ()):
            if not binds_on(entry, day):
                continue
            now.update(m.id for m in current.measures_for(entry.list_type))
            action = actions_by_entry.get(entry.id)
            if action is None or action.action not in ("remove", "withdraw"):
                then.update(m.id for m in candidate.measures_for(entry.list_type))
        pending: set[str] = set()
        for a in new_by_subject.get(key, ()):
            ids = {m.id for m in candidate.measures_for(a.list_type)}
            if a.action == "activate":
                then |= ids
            else:
                pending |= ids
        report.measures_gained.update(then - now)
        report.measures_lost.update(now - then)
        report.measures_pending.update(pending - then)


def preview(
    rt: Runtime,
    candidate_pack: RulePack | None = None,
    as_of: date | None = None,
    subject_keys: Iterable[str] | None = None,
    batch: int = BATCH,
) -> PreviewReport:
    """Dry run: what ``candidate_pack`` (default: the active pack) would change if it ran
    now against live data — entries proposed, activated, refreshed, withdrawn or removed,
    measures gained or lost, penalties whose severity or disclosure would change, alerts
    that would open — per list and per authority.  Reads only: nothing is written, no
    write lock is taken."""
    current = rt.pack
    pack = candidate_pack or current
    evaluator, matcher = _engine(pack, rt.evaluator if pack is current else None)
    day = as_of or clock.today()
    report = PreviewReport(pack.name, pack.version, current.version, day)

    def run(session: Session, subjects: Subjects) -> None:
        plan = _evaluate_batch(
            session, pack, evaluator, matcher, subjects, day, RULES_ACTOR, apply=False
        )
        report.summary.add(plan.summary)
        for change in plan.penalty_changes:
            report.penalties_changed += change.before._replace(
                pack_version=None
            ) != change.after._replace(pack_version=None)
            report.severity_changed += change.before.severity != change.after.severity
            report.disclosure_changed += (
                change.before.disclosure_until != change.after.disclosure_until
            )
        for a in plan.actions:
            report.items.append(
                PreviewItem(
                    a.action,
                    a.subject_key,
                    a.list_type,
                    a.rule_id,
                    a.authority_uscc,
                    a.basis_ids,
                    a.entry.id if a.entry is not None else None,
                )
            )
        _measure_diff(report, current, pack, plan, day)
        for move in plan.grade_changes:
            if not move.changes_grade:
                continue
            report.grade_moves[f"{move.before or '-'}→{move.after}"] += 1
            if len(report.grade_items) < 500:
                report.grade_items.append(
                    (move.uscc, move.before, move.after, move.outcome.rule_id)
                )

    with rt.sessions() as session:
        if subject_keys is not None:
            keys = sorted(set(subject_keys))
            for start in range(0, len(keys), batch):
                try:
                    run(session, Subjects.of(keys[start : start + batch]))
                finally:
                    session.rollback()
            return report
        after: str | None = None
        while True:
            try:
                keys = subject_page(session, after, batch)
                if keys:
                    run(session, Subjects.in_range(keys, after, keys[-1]))
            finally:
                session.rollback()
            if not keys:
                return report
            after = keys[-1]
