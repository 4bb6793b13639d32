"""What time and withdrawal do to records: disclosure on a day, revocation, the sweep.

Disclosure on a day (the one definition every public answer uses)
-----------------------------------------------------------------
A penalty is **publicly disclosed on day D** iff

    status = active                                              # revoked: void, for every day
    and repaired_on is None                                      # repaired: gone, for every day
    and disclosure_until is not None                             # minor penalties: never
    and decided_on <= D <= disclosure_until                      # the window the rules set

A revoked decision is void: it leaves public disclosure for every date, including the
days before its revocation (an ``as_of`` in the past does not bring it back), and so does
a repaired record.  Departments and the deciding authority keep the dated history
(``status``, ``revoked_on``, ``repaired_on`` on their own answers), labelled revoked.

:func:`is_disclosed` is the Python form and :func:`disclosed_on` the SQL form (a
condition on :class:`~registry.records.models.Penalty` for any query: public profile, search,
exports).  For today both agree with "active, inside its window, not repaired".

Answers never depend on the sweep: queries derive state from these dates and from
:func:`registry.lists.entries.in_force_on`.  :func:`sweep` only *materialises* what fell due — list
entries past their term are marked removed with the day they really ended, penalties that
left disclosure get a change-feed row, long-held abnormal-operations entries are handed to
the rules again, overdue repair applications are flagged — so the feed, subscribers and
the audit trail learn of it.  It is idempotent, and one sweep after any downtime brings
everything up to date with the dates things should have happened on.

Operations flush and never commit; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.db import is_postgres
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound
from registry.core.models import Change
from registry.records.models import DirtyEntity, Penalty, PenaltyVersion

if TYPE_CHECKING:
    pass


# --- disclosure on a day -------------------------------------------------------------


def is_disclosed(penalty: Penalty, day: date) -> bool:
    """True when ``penalty`` is publicly disclosed on ``day`` (module docstring)."""
    return (
        penalty.status == "active"
        and penalty.repaired_on is None
        and penalty.disclosure_until is not None
        and penalty.decided_on <= day <= penalty.disclosure_until
    )


def disclosed_on(day: date) -> ColumnElement[bool]:
    """SQL condition on :class:`Penalty`: publicly disclosed on ``day``.

    ``select(Penalty).where(disclosed_on(today))`` — the SQL twin of :func:`is_disclosed`,
    for the public queries and exports."""
    return and_(
        Penalty.status == "active",
        Penalty.repaired_on.is_(None),
        Penalty.disclosure_until.is_not(None),
        Penalty.decided_on <= day,
        Penalty.disclosure_until >= day,
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
            f"行政处罚记录 {penalty_id} 属于其他处罚机关，只有该机关可以撤销",
            details={"penalty_id": penalty_id},
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
