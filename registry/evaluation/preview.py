"""A dry run against a candidate pack (``evaluate --dry-run``): the diff of entries
and measures it would make, nothing written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.evaluation.facts import (
    Subjects,
    subject_page,
)
from registry.lists.entries import binds_on
from rules import RulePack

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
from registry.evaluation.batch import engine_for, evaluate_batch
from registry.evaluation.plan import BatchPlan, EntryAction, EvaluationSummary
from registry.evaluation.runs import BATCH, RULES_ACTOR

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
    evaluator, matcher = engine_for(pack, rt.evaluator if pack is current else None)
    day = as_of or clock.today()
    report = PreviewReport(pack.name, pack.version, current.version, day)

    def run(session: Session, subjects: Subjects) -> None:
        plan = evaluate_batch(
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
