"""Credit repair (信用修复): ending a penalty's public disclosure, or a list entry, early.

A party applies once the minimum period has passed — for a penalty
``repair_allowed_from`` (set by the rules from the disclosure regime and field rules),
for a list entry ``early_removal_from`` (set when it became active).  The deciding
authority must answer by ``due_on`` (the pack's ``repair_deadline_days``, default 21
calendar days ≈ 15 working days); the sweep flags applications it has not answered in
time as ``overdue``.  On approval a penalty leaves public disclosure that very day
(``repaired_on``: the record stays in the registry for departments), and a list entry is
removed that day with reason ``repaired``.

States: ``pending`` → ``approved`` | ``rejected``; ``pending`` → ``overdue`` (still
decidable) → ``approved`` | ``rejected``.  Operations flush; the caller commits.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.errors import Conflict, Forbidden, Invalid, TooEarly
from registry.core.models import Change
from registry.core.rows import columns, get_row, record_change
from registry.lists.entries import binds_on, end_entry, get_entry
from registry.lists.models import ListEntry, Repair
from registry.records.disclosure import is_disclosed
from registry.records.models import Penalty

if TYPE_CHECKING:
    from rules import RulePack

TARGET_TYPES: tuple[str, ...] = ("penalty", "list_entry")
#: Statuses of an application still waiting for the authority.
OPEN_STATUSES: tuple[str, ...] = ("pending", "overdue")
#: 15 working days, counted as three calendar weeks unless the pack says otherwise.
DEFAULT_DEADLINE_DAYS = 21


def deadline_days(pack: RulePack | None) -> int:
    """Days the authority has to decide an application (pack ``repair_deadline_days``)."""
    value = getattr(pack, "repair_deadline_days", None)
    return int(value) if value else DEFAULT_DEADLINE_DAYS


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


_STATE = ("status", "target_type", "target_id", "applied_on", "due_on", "decided_on", "decided_by")


def _state(repair: Repair) -> dict[str, Any]:
    return columns(repair, _STATE)


def _audit(
    session: Session, repair: Repair, actor: str, action: str, before: dict[str, Any] | None
) -> None:
    after = _state(repair)
    if repair.reason:
        after["reason"] = repair.reason
    record_change(session, actor, f"repair.{action}", "repair", repair, before=before, after=after)


def _penalty(session: Session, penalty_id: int) -> Penalty:
    return get_row(
        session, Penalty, penalty_id, f"行政处罚记录 {penalty_id} 不存在", "penalty_id", lock=True
    )


def _check_penalty_repairable(penalty: Penalty, today: date) -> None:
    """Raise unless the penalty's disclosure can be repaired today."""
    ref = {"target_type": "penalty", "target_id": penalty.id}
    if penalty.status == "revoked":
        raise Conflict(f"行政处罚记录 {penalty.id} 已撤销，不再公示，无需修复", details=ref)
    if penalty.repaired_on is not None and penalty.repaired_on <= today:
        raise Conflict(
            f"行政处罚记录 {penalty.id} 已于 {penalty.repaired_on} 完成信用修复",
            details={**ref, "repaired_on": _iso(penalty.repaired_on)},
        )
    if penalty.disclosure_until is None:
        raise Conflict(f"行政处罚记录 {penalty.id} 不予公示，无需信用修复", details=ref)
    if not is_disclosed(penalty, today):
        raise Conflict(
            f"行政处罚记录 {penalty.id} 当前不在公示期内（公示至 {penalty.disclosure_until}）",
            details={**ref, "disclosure_until": _iso(penalty.disclosure_until)},
        )
    if penalty.repairable is False:
        raise Conflict(
            f"行政处罚记录 {penalty.id} 属于不得提前修复的领域，公示期满前不能修复",
            details={**ref, "disclosure_until": _iso(penalty.disclosure_until)},
        )
    allowed = penalty.repair_allowed_from
    if allowed is None:
        raise Conflict(
            f"行政处罚记录 {penalty.id} 尚未确定最短公示期，暂不能申请信用修复", details=ref
        )
    if today < allowed:
        raise TooEarly(
            f"行政处罚记录 {penalty.id} 的最短公示期未满，自 {allowed} 起可申请信用修复",
            details={**ref, "allowed_from": allowed.isoformat()},
        )


def _check_entry_repairable(entry: ListEntry, today: date) -> None:
    """Raise unless the list entry can be ended early by repair today."""
    ref = {"target_type": "list_entry", "target_id": entry.id}
    if entry.status != "active" or not binds_on(entry, today):
        raise Conflict(
            f"名单条目 {entry.id} 当前未生效（状态 {entry.status}），无需信用修复",
            details={**ref, "status": entry.status},
        )
    allowed = entry.early_removal_from
    if allowed is not None and today < allowed:
        raise TooEarly(
            f"名单条目 {entry.id} 列入未满最短期限，自 {allowed} 起可申请提前移出",
            details={**ref, "allowed_from": allowed.isoformat()},
        )


def _entry_authority(session: Session, entry: ListEntry) -> str | None:
    if entry.authority_uscc:
        return entry.authority_uscc
    ids = list(entry.basis_penalty_ids or [])
    if not ids:
        return None
    return session.execute(
        select(Penalty.authority_uscc).where(Penalty.id.in_(ids)).order_by(Penalty.id).limit(1)
    ).scalar_one_or_none()


def _check_actor(
    actor_authority_uscc: str | None, authority: str | None, target_type: str, target_id: int
) -> None:
    """Forbidden unless the actor is the target's authority (None: not checked).  Says
    nothing about the target: not its authority, dates or state."""
    if actor_authority_uscc is not None and actor_authority_uscc != authority:
        what = "行政处罚记录" if target_type == "penalty" else "名单条目"
        raise Forbidden(
            f"{what} {target_id} 不由本机关决定，不能受理其信用修复申请",
            details={"target_type": target_type, "target_id": target_id},
        )


def apply_repair(
    session: Session,
    pack: RulePack | None,
    target_type: str,
    target_id: int,
    applicant: str | None,
    statement: str,
    *,
    actor_authority_uscc: str | None = None,
) -> Repair:
    """File a credit-repair application for a penalty's disclosure or a list entry.

    ``actor_authority_uscc``: the authority filing it (a regulator's), which must be the
    target's deciding authority — checked right after the target is found and before
    anything about it is, so another authority learns nothing but :class:`Forbidden`
    (no dates, no state, no authority); None: not checked (the CLI, an administrator).
    Refused with :class:`TooEarly` (``details.allowed_from``) before the minimum period,
    with :class:`Conflict` where the target cannot be repaired (not disclosed, not active,
    not repairable by law, already repaired, an application already open) and with
    :class:`Invalid` for a bad target type or an empty statement."""
    if target_type not in TARGET_TYPES:
        raise Invalid(
            f"无效的修复对象类型“{target_type}”（可选：penalty、list_entry）",
            details={"target_type": target_type},
        )
    text = (statement or "").strip()
    if not text:
        raise Invalid("必须填写修复申请说明（statement）", details={"field": "statement"})
    today = clock.today()
    authority: str | None
    if target_type == "penalty":
        penalty = _penalty(session, target_id)
        _check_actor(actor_authority_uscc, penalty.authority_uscc, target_type, target_id)
        _check_penalty_repairable(penalty, today)
        subject, authority = penalty.subject_key, penalty.authority_uscc
    else:
        entry = get_entry(session, target_id)
        authority = _entry_authority(session, entry)
        _check_actor(actor_authority_uscc, authority, target_type, target_id)
        _check_entry_repairable(entry, today)
        subject = entry.uscc
        if authority is None:
            raise Conflict(
                f"名单条目 {entry.id} 没有作出决定的机关，无法受理修复申请",
                details={"target_type": target_type, "target_id": target_id},
            )
    open_one = session.execute(
        select(Repair.id).where(
            Repair.uscc == subject,
            Repair.target_type == target_type,
            Repair.target_id == target_id,
            Repair.status.in_(OPEN_STATUSES),
        )
    ).scalar_one_or_none()
    if open_one is not None:
        raise Conflict(
            f"该对象已有待处理的修复申请 {open_one}",
            details={"repair_id": open_one, "target_type": target_type, "target_id": target_id},
        )
    repair = Repair(
        uscc=subject,
        target_type=target_type,
        target_id=target_id,
        authority_uscc=authority,
        status="pending",
        applied_on=today,
        due_on=today + timedelta(days=deadline_days(pack)),
        applicant=(applicant or "").strip() or None,
        statement=text,
    )
    session.add(repair)
    session.flush()
    _audit(session, repair, repair.applicant or "applicant", "applied", None)
    session.flush()
    return repair


def get_repair(session: Session, repair_id: int, *, lock: bool = False) -> Repair:
    """The application with this id, or :class:`NotFound`."""
    return get_row(
        session, Repair, repair_id, f"信用修复申请 {repair_id} 不存在", "repair_id", lock=lock
    )


def _decidable(session: Session, repair_id: int, actor_authority_uscc: str | None) -> Repair:
    repair = get_repair(session, repair_id, lock=True)
    if actor_authority_uscc != repair.authority_uscc:
        raise Forbidden(
            f"信用修复申请 {repair_id} 由其他机关处理", details={"repair_id": repair_id}
        )
    if repair.status not in OPEN_STATUSES:
        raise Conflict(
            f"信用修复申请 {repair_id} 已处理（{repair.status}）",
            details={"repair_id": repair_id, "status": repair.status},
        )
    return repair


def _decided(
    session: Session,
    repair: Repair,
    status: str,
    on: date,
    actor: str,
    reason: str | None,
    before: dict[str, Any],
) -> Repair:
    repair.status = status
    repair.decided_on = on
    repair.decided_by = actor
    repair.reason = reason
    session.flush()
    _audit(session, repair, actor, status, before)
    session.flush()
    return repair


def approve_repair(
    session: Session,
    pack: RulePack | None,
    repair_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    reason: str | None = None,
) -> Repair:
    """Approve an application (only the target's authority).  A penalty leaves public
    disclosure today (``repaired_on``); a list entry is removed today (``repaired``).
    The conditions are checked again: a target that changed meanwhile is a Conflict."""
    repair = _decidable(session, repair_id, actor_authority_uscc)
    today = clock.today()
    before = _state(repair)
    if repair.target_type == "penalty":
        penalty = _penalty(session, repair.target_id)
        _check_penalty_repairable(penalty, today)
        penalty.repaired_on = today
        session.add(
            Change(
                uscc=penalty.subject_key, kind="penalty", object_id=penalty.id, action="repaired"
            )
        )
        record_change(
            session,
            actor,
            "penalty.repaired",
            "penalty",
            penalty,
            uscc=penalty.subject_key,
            before={"repaired_on": None},
            after={"repaired_on": today, "repair_id": repair.id},
        )
    else:
        entry = get_entry(session, repair.target_id)
        _check_entry_repairable(entry, today)
        end_entry(
            session,
            pack,
            entry,
            ended_on=today,
            actor=actor,
            reason_code="repaired",
            note=f"信用修复申请 {repair.id}",
        )
    note = (reason or "").strip() or None
    return _decided(session, repair, "approved", today, actor, note, before)


def reject_repair(
    session: Session,
    pack: RulePack | None,
    repair_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    reason: str,
) -> Repair:
    """Reject an application (only the target's authority); the reason is required."""
    text = (reason or "").strip()
    if not text:
        raise Invalid("必须填写不予修复的理由（reason）", details={"field": "reason"})
    repair = _decidable(session, repair_id, actor_authority_uscc)
    return _decided(session, repair, "rejected", clock.today(), actor, text, _state(repair))


def list_repairs(session: Session, authority_uscc: str, status: str | None = None) -> list[Repair]:
    """The authority's applications (optionally of one status), oldest first."""
    query = select(Repair).where(Repair.authority_uscc == authority_uscc)
    if status is not None:
        query = query.where(Repair.status == status)
    return list(session.execute(query.order_by(Repair.applied_on, Repair.id)).scalars())


def overdue_repairs(
    session: Session, authority_uscc: str | None, as_of: date | None = None
) -> list[Repair]:
    """Open applications past their deadline on ``as_of`` (default today), derived from
    the dates (whether or not the sweep has flagged them), oldest deadline first.
    ``authority_uscc`` None: every authority's."""
    day = as_of or clock.today()
    query = select(Repair).where(
        Repair.status.in_(OPEN_STATUSES), Repair.due_on.is_not(None), Repair.due_on < day
    )
    if authority_uscc is not None:
        query = query.where(Repair.authority_uscc == authority_uscc)
    return list(session.execute(query.order_by(Repair.due_on, Repair.id)).scalars())
