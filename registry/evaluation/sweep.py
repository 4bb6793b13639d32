"""The sweep: what time does to records and entries, materialised.

Answers never depend on the sweep: queries derive state from dates
(:func:`registry.records.disclosure.disclosed_on`,
:func:`registry.lists.entries.in_force_on`).  :func:`sweep` only *materialises* what fell
due — list entries past their term are marked removed with the day they really ended,
penalties that left disclosure get a change-feed row, long-held abnormal-operations
entries are handed to the rules again (which is why the sweep lives above the rules),
overdue repair applications are flagged — so the feed, subscribers and the audit trail
learn of it.  It is idempotent, and one sweep after any downtime brings everything up to
date with the dates things should have happened on.

Operations flush and never commit; the caller's unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from registry.core import audit, clock
from registry.core.db import is_citus
from registry.core.models import Change
from registry.lists.entries import end_entry, in_force_on
from registry.lists.models import ListEntry, Repair
from registry.records.models import Penalty

if TYPE_CHECKING:
    from rules import RulePack
from registry.lists.held import held_cutoff
from registry.records.disclosure import queue_dirty

SWEEP_ACTOR = "system:sweep"
#: Change-feed action of a penalty whose disclosure window ran out.
DISCLOSURE_ENDED = "disclosure_ended"


# --- the sweep -----------------------------------------------------------------------


@dataclass
class SweepResult:
    """What one sweep materialised (ids), for the job log and the tests."""

    as_of: date
    entries_ended: list[int] = field(default_factory=list)
    disclosures_ended: list[int] = field(default_factory=list)
    reevaluated: list[str] = field(default_factory=list)
    repairs_overdue: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "entries_ended": len(self.entries_ended),
            "disclosures_ended": len(self.disclosures_ended),
            "reevaluated": len(self.reevaluated),
            "repairs_overdue": len(self.repairs_overdue),
        }


def sweep(session: Session, pack: RulePack, as_of: date | None = None) -> SweepResult:
    """Materialise every time-driven change that fell due on or before ``as_of``
    (default today).  Idempotent: a second sweep for the same day changes nothing."""
    day = as_of or clock.today()
    result = SweepResult(as_of=day)
    result.entries_ended = _end_terms(session, pack, day)
    result.disclosures_ended = _end_disclosures(session, day)
    result.reevaluated = _reevaluate_long_held(session, pack, day)
    result.repairs_overdue = _flag_overdue_repairs(session, day)
    session.flush()
    return result


def _end_terms(session: Session, pack: RulePack, day: date) -> list[int]:
    """Active entries whose term ended before ``day``: removed, as of the day after
    ``until`` (the day they really stopped binding), reason ``term_ended``."""
    entries = (
        session.execute(
            select(ListEntry)
            .where(
                ListEntry.status == "active",
                ListEntry.until.is_not(None),
                ListEntry.until < day,
            )
            .order_by(ListEntry.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for entry in entries:
        assert entry.until is not None
        end_entry(
            session,
            pack,
            entry,
            ended_on=entry.until + timedelta(days=1),
            actor=SWEEP_ACTOR,
            reason_code="term_ended",
        )
    return [e.id for e in entries]


def _told(session: Session, ids: list[int]) -> set[int]:
    """Of these penalties, those whose latest change is already ``disclosure_ended``."""
    told: set[int] = set()
    for start in range(0, len(ids), 10000):
        chunk = ids[start : start + 10000]
        ended = func.max(Change.id).filter(Change.action == DISCLOSURE_ENDED)
        other = func.max(Change.id).filter(Change.action != DISCLOSURE_ENDED)
        rows = session.execute(
            select(Change.object_id, ended, other)
            .where(Change.kind == "penalty", Change.object_id.in_(chunk))
            .group_by(Change.object_id)
        ).all()
        told.update(
            int(pid) for pid, e, o in rows if pid is not None and e is not None and e > (o or 0)
        )
    return told


def _end_disclosures(session: Session, day: date) -> list[int]:
    """Penalties whose disclosure window ran out before ``day`` get one change-feed row
    (``disclosure_ended``) and an audit entry.  Already told: the latest change of the
    penalty is that row.  Revoked and repaired penalties were told when that happened."""
    later = aliased(Change)
    told_since_last_change = (
        select(later.id)
        .where(
            later.uscc == Penalty.subject_key,
            later.kind == "penalty",
            later.object_id == Penalty.id,
            later.action == DISCLOSURE_ENDED,
            later.id
            > func.coalesce(
                select(func.max(Change.id))
                .where(
                    Change.uscc == Penalty.subject_key,
                    Change.kind == "penalty",
                    Change.object_id == Penalty.id,
                    Change.action != DISCLOSURE_ENDED,
                )
                .scalar_subquery(),
                0,
            ),
        )
        .exists()
    )
    ran_out = [
        Penalty.status == "active",
        Penalty.disclosure_until.is_not(None),
        Penalty.disclosure_until < day,
        or_(Penalty.repaired_on.is_(None), Penalty.repaired_on > Penalty.disclosure_until),
    ]
    columns = (Penalty.id, Penalty.subject_key, Penalty.disclosure_until)
    if is_citus(session):
        # Citus: the feed is on the coordinator, the records on the workers — no
        # correlated subquery between them; the same test in two steps.
        found = session.execute(select(*columns).where(*ran_out).order_by(Penalty.id)).all()
        told = _told(session, [r[0] for r in found])
        rows = [r for r in found if r[0] not in told]
    else:
        rows = list(
            session.execute(
                select(*columns).where(*ran_out, ~told_since_last_change).order_by(Penalty.id)
            ).all()
        )
    # The query leaves out NULL dates; this only narrows the column's type to date.
    ended = [(pid, key, until) for pid, key, until in rows if until is not None]
    if not ended:
        return []
    now = clock.now()
    session.execute(
        insert(Change),
        [
            {
                "uscc": key,
                "kind": "penalty",
                "object_id": pid,
                "action": DISCLOSURE_ENDED,
                "at": now,
            }
            for pid, key, _ in ended
        ],
    )
    audit.record(
        session,
        [
            audit.AuditEvent(
                actor=SWEEP_ACTOR,
                action="penalty.disclosure_ended",
                object_type="penalty",
                object_id=pid,
                uscc=key,
                after={"disclosure_until": until, "ended_on": until + timedelta(days=1)},
            )
            for pid, key, until in ended
        ],
    )
    return [pid for pid, _, _ in ended]


def _reevaluate_long_held(session: Session, pack: RulePack, day: date) -> list[str]:
    """Subjects holding an entry long enough for a ``list_held`` aggregate (the
    abnormal-operations three-year rule) and not yet carrying an entry on a list those
    rules act on since then: handed to the rules as of ``day``."""
    from rules.windows import add_months

    candidates: dict[str, date] = {}
    targets: set[str] = set()
    for aggregate in pack.aggregates.values():
        if aggregate.kind != "list_held" or aggregate.list_type is None:
            continue
        months = aggregate.months or 0
        users = [r for r in pack.rules if _uses(r, aggregate.name)]
        # A pack deciding with a zen model may use any aggregate: every list is a target.
        targets |= {r.list_type for r in users} if users else set(pack.lists)
        held = session.execute(
            select(ListEntry.uscc, ListEntry.since).where(
                ListEntry.list_type == aggregate.list_type,
                in_force_on(day),
                ListEntry.since <= held_cutoff(day, months),
            )
        ).all()
        for key, since in held:
            if since is None:  # excluded by the query; narrows the column's type
                continue
            crossed = add_months(since, months)
            candidates[key] = min(crossed, candidates.get(key, crossed))
    if not candidates:
        return []
    done: set[str] = set()
    keys = sorted(candidates)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        entries = session.execute(
            select(ListEntry.uscc, ListEntry.proposed_on, ListEntry.since).where(
                ListEntry.uscc.in_(chunk),
                ListEntry.list_type.in_(sorted(targets)),
                ListEntry.status.in_(("proposed", "active", "rejected")),
            )
        ).all()
        for key, proposed_on, since in entries:
            on = proposed_on or since
            if on is not None and on >= candidates[key]:
                done.add(key)
    due = [k for k in keys if k not in done]
    if not due:
        return []
    try:
        from registry.evaluation.runs import evaluate_subjects
    except ImportError:  # pragma: no cover - queued for the evaluate job instead
        queue_dirty(session, due)
        return due
    evaluate_subjects(session, pack, due, as_of=day, actor=SWEEP_ACTOR)
    return due


def _uses(rule: Any, name: str) -> bool:
    if name in rule.references:
        return True
    return rule.expression is not None and name in rule.expression


def _flag_overdue_repairs(session: Session, day: date) -> list[int]:
    """Pending repair applications past their decision deadline become ``overdue``
    (still decidable; the authority sees them in :func:`registry.lists.repairs.overdue_repairs`)."""
    repairs = (
        session.execute(
            select(Repair)
            .where(Repair.status == "pending", Repair.due_on.is_not(None), Repair.due_on < day)
            .order_by(Repair.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    events = []
    for repair in repairs:
        repair.status = "overdue"
        events.append(
            audit.AuditEvent(
                actor=SWEEP_ACTOR,
                action="repair.overdue",
                object_type="repair",
                object_id=repair.id,
                uscc=repair.uscc,
                before={"status": "pending"},
                after={"status": "overdue", "due_on": repair.due_on},
            )
        )
    if events:
        session.flush()
        audit.record(session, events)
    return [r.id for r in repairs]
