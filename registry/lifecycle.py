"""What time and withdrawal do to records: disclosure on a day, revocation, the sweep.

Disclosure on a day (the one definition every public answer uses)
-----------------------------------------------------------------
A penalty is **publicly disclosed on day D** iff

    (status = active, or status = revoked and D < revoked_on)   # revoked: gone from that day
    and disclosure_until is not None                             # minor penalties: never
    and decided_on <= D <= disclosure_until                      # the window the rules set
    and (repaired_on is None or D < repaired_on)                 # credit repair: gone that day

:func:`is_disclosed` is the Python form and :func:`disclosed_on` the SQL form (a
condition on :class:`~registry.models.Penalty` for any query: public profile, search,
exports).  For today both agree with "active, inside its window, not repaired".

Answers never depend on the sweep: queries derive state from these dates and from
:func:`registry.lists.in_force_on`.  :func:`sweep` only *materialises* what fell due — list
entries past their term are marked removed with the day they really ended, penalties that
left disclosure get a change-feed row, long-held abnormal-operations entries are handed to
the rules again, overdue repair applications are flagged — so the feed, subscribers and
the audit trail learn of it.  It is idempotent, and one sweep after any downtime brings
everything up to date with the dates things should have happened on.

Operations flush and never commit; the caller's unit of work commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from registry import audit, clock
from registry.db import is_postgres
from registry.errors import Conflict, Forbidden, Invalid, NotFound
from registry.lists import end_entry, in_force_on
from registry.models import Change, DirtyEntity, ListEntry, Penalty, PenaltyVersion, Repair

if TYPE_CHECKING:
    from registry.runtime import Runtime
    from rules import RulePack

log = logging.getLogger(__name__)

SWEEP_ACTOR = "system:sweep"
#: Change-feed action of a penalty whose disclosure window ran out.
DISCLOSURE_ENDED = "disclosure_ended"


# --- disclosure on a day -------------------------------------------------------------


def is_disclosed(penalty: Penalty, day: date) -> bool:
    """True when ``penalty`` is publicly disclosed on ``day`` (module docstring)."""
    if penalty.status == "revoked":
        if penalty.revoked_on is None or day >= penalty.revoked_on:
            return False
    elif penalty.status != "active":
        return False
    return (
        penalty.disclosure_until is not None
        and penalty.decided_on <= day <= penalty.disclosure_until
        and (penalty.repaired_on is None or day < penalty.repaired_on)
    )


def disclosed_on(day: date) -> ColumnElement[bool]:
    """SQL condition on :class:`Penalty`: publicly disclosed on ``day``.

    ``select(Penalty).where(disclosed_on(today))`` — the SQL twin of :func:`is_disclosed`,
    for the public queries and exports."""
    return and_(
        or_(
            Penalty.status == "active",
            and_(
                Penalty.status == "revoked",
                Penalty.revoked_on.is_not(None),
                Penalty.revoked_on > day,
            ),
        ),
        Penalty.disclosure_until.is_not(None),
        Penalty.decided_on <= day,
        Penalty.disclosure_until >= day,
        or_(Penalty.repaired_on.is_(None), Penalty.repaired_on > day),
    )


def disclosure_ends_on(penalty: Penalty) -> date | None:
    """The first day ``penalty`` is no longer disclosed (None: never disclosed, or not
    decided yet by the rules)."""
    ends = []
    if penalty.disclosure_until is not None:
        ends.append(penalty.disclosure_until + timedelta(days=1))
    if penalty.repaired_on is not None:
        ends.append(penalty.repaired_on)
    if penalty.status == "revoked" and penalty.revoked_on is not None:
        ends.append(penalty.revoked_on)
    if penalty.disclosure_until is None:
        return None
    return min(ends)


# --- revocation ----------------------------------------------------------------------


def penalty_state(penalty: Penalty) -> dict[str, Any]:
    """The record as stored (every column but the surrogate keys), JSON-able, for
    ``penalty_versions`` and audit entries."""
    skip = {"id", "created_at", "updated_at"}
    data = {
        column.key: getattr(penalty, column.key)
        for column in Penalty.__table__.columns
        if column.key not in skip
    }
    return audit.to_jsonable(data)


def queue_dirty(session: Session, subject_keys: Iterable[str]) -> None:
    """Queue subjects for the rules (``dirty_entities``), once each."""
    keys = sorted(set(subject_keys))
    if not keys:
        return
    now = clock.now()
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(DirtyEntity).on_conflict_do_nothing(index_elements=["subject_key"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(DirtyEntity).on_conflict_do_nothing(index_elements=["subject_key"])
    session.execute(stmt, [{"subject_key": k, "queued_at": now} for k in keys])


def revoke_penalty(
    session: Session,
    penalty_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    reason: str,
) -> Penalty:
    """Withdraw a penalty record (撤销, e.g. annulled on administrative review or in court).

    Only the penalty's own authority may revoke it.  From today it is no longer
    disclosed; the record and its history stay (the previous state in
    ``penalty_versions``, an audit entry); the change feed learns of it and the subject is
    queued for the rules.  After the caller commits, run the rules
    (:func:`after_revocation`) so entries whose whole basis is revoked are removed.
    Raises NotFound, Forbidden, Conflict (already revoked), Invalid (no reason)."""
    text = (reason or "").strip()
    if not text:
        raise Invalid("必须填写撤销理由（reason）", details={"field": "reason"})
    penalty = session.execute(
        select(Penalty).where(Penalty.id == penalty_id).with_for_update()
    ).scalar_one_or_none()
    if penalty is None:
        raise NotFound(f"行政处罚记录 {penalty_id} 不存在", details={"penalty_id": penalty_id})
    if actor_authority_uscc != penalty.authority_uscc:
        raise Forbidden(
            f"行政处罚记录 {penalty_id} 属于处罚机关 {penalty.authority_uscc}，只有该机关可以撤销",
            details={"penalty_id": penalty_id, "authority_uscc": penalty.authority_uscc},
        )
    if penalty.status == "revoked":
        raise Conflict(
            f"行政处罚记录 {penalty_id} 已于 {penalty.revoked_on} 撤销",
            details={
                "penalty_id": penalty_id,
                "revoked_on": None
                if penalty.revoked_on is None
                else penalty.revoked_on.isoformat(),
            },
        )
    before = penalty_state(penalty)
    session.add(
        PenaltyVersion(
            penalty_id=penalty.id,
            subject_key=penalty.subject_key,
            version=penalty.version,
            data=before,
            replaced_by=actor,
        )
    )
    penalty.status = "revoked"
    penalty.revoked_on = clock.today()
    penalty.revoked_reason = text
    penalty.version = penalty.version + 1
    session.add(
        Change(uscc=penalty.subject_key, kind="penalty", object_id=penalty.id, action="revoked")
    )
    session.flush()
    queue_dirty(session, [penalty.subject_key])
    audit.record_one(
        session,
        audit.AuditEvent(
            actor=actor,
            action="penalty.revoked",
            object_type="penalty",
            object_id=penalty.id,
            uscc=penalty.subject_key,
            before={"status": before["status"], "version": before["version"]},
            after={
                "status": "revoked",
                "version": penalty.version,
                "revoked_on": penalty.revoked_on,
                "reason": text,
            },
        ),
    )
    session.flush()
    return penalty


def after_revocation(rt: Runtime, subject_keys: Iterable[str]) -> None:
    """After the revocation is committed: run the rules for the subjects now (they are
    queued dirty as well, so the scheduler catches up if this fails)."""
    keys = sorted(set(subject_keys))
    try:
        from registry.evaluation import after_write
    except ImportError:  # pragma: no cover - the scheduler's evaluate job drains the queue
        log.warning("registry.evaluation not available; %d subject(s) left queued", len(keys))
        return
    after_write(rt, keys)


def revoke_penalty_now(
    rt: Runtime, penalty_id: int, actor_authority_uscc: str | None, actor: str, reason: str
) -> Penalty:
    """:func:`revoke_penalty` in its own unit of work, then the rules re-run
    (:func:`after_revocation`): one call for a door that has no transaction of its own."""
    with rt.unit_of_work() as session:
        penalty = revoke_penalty(session, penalty_id, actor_authority_uscc, actor, reason)
    after_revocation(rt, [penalty.subject_key])
    return penalty


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
    rows = session.execute(
        select(Penalty.id, Penalty.subject_key, Penalty.disclosure_until)
        .where(
            Penalty.status == "active",
            Penalty.disclosure_until.is_not(None),
            Penalty.disclosure_until < day,
            or_(Penalty.repaired_on.is_(None), Penalty.repaired_on > Penalty.disclosure_until),
            ~told_since_last_change,
        )
        .order_by(Penalty.id)
    ).all()
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


def held_cutoff(day: date, months: int) -> date:
    """The latest ``since`` for which an entry has been held ``months`` months on ``day``
    (calendar months, the day clamped to the month's end, as the rules count them)."""
    from rules.windows import add_months

    cutoff = add_months(day, -months)
    while add_months(cutoff + timedelta(days=1), months) <= day:
        cutoff += timedelta(days=1)
    return cutoff


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
        from registry.evaluation import evaluate_subjects
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
    (still decidable; the authority sees them in :func:`registry.repairs.overdue_repairs`)."""
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
