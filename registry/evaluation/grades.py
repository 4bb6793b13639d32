"""Credit grades (信用分类监管, DOMAIN.md §6): stored with history, read as of a day.

The grade of every entity is computed by the pack's ``grading`` table in the same
evaluation pass as its lists (:mod:`registry.evaluation`): same facts, same transaction.
Here the outcomes become rows of :class:`~registry.evaluation.models.CreditGrade`:

- one **open** row per entity (``until`` null) holds its current grade since a day;
- when the grade changes, the open row is closed (``until`` = the day before) and a new
  row opens today — a grade that does not change opens nothing, so the history is the
  list of changes; when only the reason changes (another grading row, same grade) the
  open row's explanation is brought up to date;
- a second change on the same day rewrites that day's row (and a change back to the
  grade held until yesterday reopens yesterday's row), so ``(uscc, since)`` stays unique.

The explanation is the grading row (id, title, condition) and the facts it tested, with
the pack version.  Every change is audited (one entry per change, or one per batch for
bulk runs).  Natural persons (subject keys ``P:…``) are not graded: grades are for codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from registry.core import audit
from registry.evaluation.models import CreditGrade

if TYPE_CHECKING:
    from registry.evaluation.facts import Subjects
    from rules import GradeOutcome, RulePack

#: Up to this many grade changes in a transaction get an audit entry each.
_AUDIT_EACH_UP_TO = 50


@dataclass(frozen=True)
class StoredGrade:
    """An entity's open grade row."""

    id: int
    uscc: str
    grade: str
    since: date
    rule_id: str | None


@dataclass(frozen=True)
class GradeChange:
    """What an evaluation does to an entity's grade: a new grade (``before`` differs from
    ``after``) or only a new reason (same grade, another grading row)."""

    uscc: str
    before: str | None
    after: str
    outcome: GradeOutcome
    stored: StoredGrade | None

    @property
    def changes_grade(self) -> bool:
        return self.before != self.after


def gradable(key: str) -> bool:
    """Only codes are graded (not natural persons known by ``P:<key>``)."""
    return not key.startswith("P:")


def open_grades(session: Session, subjects: Subjects) -> dict[str, StoredGrade]:
    """The open grade row of each subject that has one."""
    rows = session.execute(
        select(
            CreditGrade.id,
            CreditGrade.uscc,
            CreditGrade.grade,
            CreditGrade.since,
            CreditGrade.explanation,
        ).where(subjects.condition(CreditGrade.uscc), CreditGrade.until.is_(None))
    )
    out: dict[str, StoredGrade] = {}
    for row in rows:
        if subjects.holds(row.uscc):
            rule_id = (row.explanation or {}).get("rule_id")
            out[row.uscc] = StoredGrade(row.id, row.uscc, row.grade, row.since, rule_id)
    return out


def plan_grades(
    outcomes: Iterable[GradeOutcome], stored: Mapping[str, StoredGrade]
) -> list[GradeChange]:
    """The changes the outcomes make to the stored grades (unchanged ones left out)."""
    changes = []
    for outcome in outcomes:
        key = outcome.uscc
        if key is None or not gradable(key):
            continue
        current = stored.get(key)
        if (
            current is not None
            and current.grade == outcome.grade
            and current.rule_id == outcome.rule_id
        ):
            continue
        changes.append(
            GradeChange(
                uscc=key,
                before=None if current is None else current.grade,
                after=outcome.grade,
                outcome=outcome,
                stored=current,
            )
        )
    return changes


def _explanation(change: GradeChange, pack: RulePack, as_of: date) -> dict[str, Any]:
    return {
        **change.outcome.explanation(),
        "pack_version": pack.version,
        "as_of": as_of.isoformat(),
        "previous_grade": change.before,
    }


def apply_grades(
    session: Session,
    pack: RulePack,
    changes: Sequence[GradeChange],
    today: date,
    as_of: date,
    actor: str,
) -> list[audit.AuditEvent]:
    """Write the grade changes (module docstring); returns their audit events."""
    if not changes:
        return []
    table = CreditGrade.__table__
    yesterday = today - timedelta(days=1)
    inserts: list[dict[str, Any]] = []
    closes: list[dict[str, Any]] = []
    rewrites: list[dict[str, Any]] = []
    same_day = [c for c in changes if c.changes_grade and c.stored and c.stored.since >= today]
    reopen: dict[str, int] = {}
    if same_day:
        # a change back to yesterday's grade: reopen yesterday's row
        for row in session.execute(
            select(table.c.id, table.c.uscc, table.c.grade).where(
                table.c.uscc.in_([c.uscc for c in same_day]), table.c.until == yesterday
            )
        ):
            for c in same_day:
                if c.uscc == row.uscc and c.after == row.grade:
                    reopen[row.uscc] = row.id
    for c in changes:
        explanation = _explanation(c, pack, as_of)
        if c.stored is None:
            inserts.append(
                {
                    "uscc": c.uscc,
                    "grade": c.after,
                    "since": today,
                    "until": None,
                    "pack_version": pack.version,
                    "explanation": explanation,
                }
            )
        elif not c.changes_grade or c.stored.since >= today:
            if c.uscc in reopen:
                session.execute(delete(table).where(table.c.id == c.stored.id))
                session.execute(
                    update(table)
                    .where(table.c.id == reopen[c.uscc])
                    .values(until=None, explanation=explanation, pack_version=pack.version)
                )
                continue
            rewrites.append(
                {
                    "gid": c.stored.id,
                    "v_grade": c.after,
                    "v_explanation": explanation,
                    "v_version": pack.version,
                }
            )
        else:
            closes.append({"gid": c.stored.id, "v_until": yesterday})
            inserts.append(
                {
                    "uscc": c.uscc,
                    "grade": c.after,
                    "since": today,
                    "until": None,
                    "pack_version": pack.version,
                    "explanation": explanation,
                }
            )
    if closes:
        session.execute(
            update(table).where(table.c.id == bindparam("gid")).values(until=bindparam("v_until")),
            closes,
            execution_options={"synchronize_session": False},
        )
    if rewrites:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("gid"))
            .values(
                grade=bindparam("v_grade"),
                explanation=bindparam("v_explanation"),
                pack_version=bindparam("v_version"),
            ),
            rewrites,
            execution_options={"synchronize_session": False},
        )
    if inserts:
        session.execute(insert(table), inserts)
    return _audit(changes, pack, actor)


def _audit(changes: Sequence[GradeChange], pack: RulePack, actor: str) -> list[audit.AuditEvent]:
    if len(changes) <= _AUDIT_EACH_UP_TO:
        return [
            audit.AuditEvent(
                actor=actor,
                action="credit_grade.changed" if c.changes_grade else "credit_grade.explained",
                object_type="credit_grade",
                uscc=c.uscc,
                before=None if c.stored is None else {"grade": c.before},
                after={
                    "grade": c.after,
                    "rule_id": c.outcome.rule_id,
                    "facts": dict(c.outcome.facts),
                    "pack_version": pack.version,
                },
            )
            for c in changes
        ]
    return [
        audit.AuditEvent(
            actor=actor,
            action="credit_grades.changed",
            object_type="credit_grade",
            after={
                "count": len(changes),
                "pack_version": pack.version,
                # [code, grade before, grade after, grading row]
                "grades": [[c.uscc, c.before, c.after, c.outcome.rule_id] for c in changes],
            },
        )
    ]


# --- reading -------------------------------------------------------------------------


def grades_on(session: Session, codes: Sequence[str], day: date) -> dict[str, CreditGrade]:
    """The grade row in force for each code on ``day`` (past days from the history)."""
    distinct = sorted({code for code in codes if gradable(code)})
    if not distinct:
        return {}
    rows = session.execute(
        select(CreditGrade).where(
            CreditGrade.uscc.in_(distinct),
            CreditGrade.since <= day,
            or_(CreditGrade.until.is_(None), CreditGrade.until >= day),
        )
    ).scalars()
    return {row.uscc: row for row in rows}


def grade_history(session: Session, uscc: str) -> list[CreditGrade]:
    """Every grade row of a code, oldest first."""
    return list(
        session.execute(
            select(CreditGrade).where(CreditGrade.uscc == uscc).order_by(CreditGrade.since)
        ).scalars()
    )


def grade_view(row: CreditGrade | None, pack: RulePack, *, explain: bool) -> dict[str, Any] | None:
    """A grade for an answer: grade, title, since/until and (for departments) why."""
    if row is None:
        return None
    view: dict[str, Any] = {
        "grade": row.grade,
        "title": pack.grading.title(row.grade) if pack.grading else row.grade,
        "since": row.since,
        "until": row.until,
    }
    if explain:
        explanation = dict(row.explanation or {})
        view["explanation"] = {
            "rule_id": explanation.get("rule_id"),
            "rule_title": explanation.get("rule_title"),
            "when": explanation.get("when"),
            "facts": explanation.get("facts") or {},
            "pack_version": row.pack_version,
        }
    return view


__all__ = [
    "GradeChange",
    "StoredGrade",
    "apply_grades",
    "grade_history",
    "grade_view",
    "grades_on",
    "open_grades",
    "plan_grades",
]
