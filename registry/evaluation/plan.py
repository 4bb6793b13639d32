"""Planning: what the engine's decisions mean for the stored penalties and entries.

Pure of writes: from the rows and entries read for a batch and the engine's outcomes, the
:class:`BatchPlan` says which penalties get new derived columns, which alerts open, and
which entries are proposed, activated, refreshed, withdrawn or removed (the rules of
:mod:`registry.evaluation.batch`'s docstring).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from registry.core import clock
from registry.evaluation import grades
from registry.evaluation.facts import (
    KeywordMatcher,
    PenaltyRow,
    Subjects,
    penalty_facts,
)
from registry.evaluation.models import Alert
from registry.lists.models import ListEntry
from rules import RulePack
from rules.windows import add_months

if TYPE_CHECKING:
    from rules import Evaluator
    from rules.evaluate import Decision as RuleDecision

OPEN_STATUSES = ("proposed", "active")
ENDED_STATUSES = ("rejected", "removed")
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
        """What the run did, in one Chinese sentence (the CLI prints it)."""
        text = (
            f"评估 {self.subjects} 个主体（{self.evaluated} 个经主体规则判断，"
            f"{self.skipped} 个不可能触发规则）；处罚记录 {self.penalties} 条，"
            f"其中更新 {self.penalties_updated} 条；名单条目拟列入 {self.proposed}，"
            f"生效 {self.activated}，刷新 {self.refreshed}，撤回 {self.withdrawn}，"
            f"移出 {self.removed}；新预警 {self.alerts_opened}"
        )
        if self.graded:
            text += f"；评定信用等级 {self.graded} 个，其中等级变化 {self.grades_changed} 个"
        return text

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
    ``lists.binds_on`` read it like a :class:`~registry.lists.models.ListEntry`."""

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


def evaluate_penalties(
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


def new_alerts(
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


# --- stage 2: entities ---------------------------------------------------------------


def load_entries(session: Session, subjects: Subjects) -> dict[str, list[EntryState]]:
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


def party_type(rows: Sequence[PenaltyRow], key: str, as_of: date) -> str:
    counted = [row for row in rows if row.counts_on(as_of)] or list(rows)
    if counted:
        return max(counted, key=lambda r: (r.decided_on, r.id)).party_type
    return "natural_person" if key.startswith("P:") else "organisation"


def plan_entries(
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
        e.status in OPEN_STATUSES and pack.list_kind(e.list_type) != "incentive" for e in entries
    )
    for decision in decisions:
        if blocked and pack.list_kind(decision.list_type) == "incentive":
            continue
        by_list[decision.list_type].append(decision)
    open_entries: dict[str, EntryState] = {}
    for entry in entries:
        if entry.status in OPEN_STATUSES:
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
    earlier = [e for e in entries if e.list_type == list_type and e.status in ENDED_STATUSES]
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


def facts_after(
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
