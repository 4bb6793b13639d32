"""Case transfer to the police (行政执法与刑事司法衔接, policy section 七).

A regulator records that one of its penalty cases went to a police unit (when, under
which case number) and later what became of it (立案, 不予立案, 判决 …).  Recording a
transfer resolves the open ``criminal-transfer-check`` alert of that penalty, the same
way as resolving the alert with a transfer (:func:`registry.supervision.alerts.resolve_alert`).

The report :func:`untransferred` lists, per authority, the records that reached a
prosecution threshold (the rules raised ``criminal-transfer-check`` for them, DOMAIN.md
§4) and have no transfer recorded — the "以罚代刑" risk, including those closed with a
reason for not transferring, so the reasons can be reviewed.  Operations flush; the
caller commits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.errors import Conflict, Forbidden, Invalid
from registry.core.rows import change_event, columns, get_row, record_change
from registry.evaluation.models import Alert
from registry.records.models import Penalty, on_penalty
from registry.supervision.alerts import close_alert, resolved_event, transferred_resolution
from registry.supervision.models import CaseTransfer

ALERT_KIND = "criminal-transfer-check"


_VIEW = (
    "id",
    "penalty_id",
    "uscc",
    "police_unit",
    "transferred_on",
    "case_number",
    "outcome",
    "outcome_on",
    "not_transferred_reason",
    "recorded_by",
    "created_at",
)


def transfer_view(row: CaseTransfer) -> dict[str, Any]:
    return columns(row, _VIEW)


def _own_penalty(session: Session, penalty_id: int, authority_uscc: str) -> Penalty:
    penalty = get_row(
        session, Penalty, penalty_id, f"行政处罚记录 {penalty_id} 不存在", "penalty_id"
    )
    if penalty.authority_uscc != authority_uscc:
        raise Forbidden(
            f"行政处罚记录 {penalty_id} 属于其他处罚机关", details={"penalty_id": penalty_id}
        )
    return penalty


def _check_day(value: date | None, field: str) -> None:
    if value is not None and value > clock.today():
        raise Invalid("日期不能晚于今天", details={field: [f"不晚于 {clock.today().isoformat()}"]})


def is_transferred(session: Session, penalty_id: int) -> bool:
    return bool(
        session.execute(
            select(
                exists().where(
                    CaseTransfer.penalty_id == penalty_id, CaseTransfer.police_unit.is_not(None)
                )
            )
        ).scalar()
    )


def record_transfer(
    session: Session,
    penalty_id: int,
    authority_uscc: str,
    actor: str,
    *,
    police_unit: str,
    transferred_on: date | None = None,
    case_number: str | None = None,
    outcome: str | None = None,
) -> CaseTransfer:
    """Record the transfer of one of the authority's cases to a police unit, and resolve
    its open transfer alert.  One transfer per penalty (409 for a second)."""
    penalty = _own_penalty(session, penalty_id, authority_uscc)
    _check_day(transferred_on, "transferred_on")
    if is_transferred(session, penalty.id):
        raise Conflict(f"行政处罚记录 {penalty_id} 已记录移送", details={"penalty_id": penalty_id})
    row = CaseTransfer(
        uscc=penalty.subject_key,
        penalty_id=penalty.id,
        police_unit=police_unit.strip(),
        transferred_on=transferred_on or clock.today(),
        case_number=(case_number or "").strip() or None,
        outcome=(outcome or "").strip() or None,
        outcome_on=clock.today() if (outcome or "").strip() else None,
        outcome_by=actor if (outcome or "").strip() else None,
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    resolution = transferred_resolution(row)
    alerts = session.execute(
        select(Alert)
        .where(Alert.penalty_id == penalty.id, Alert.kind == ALERT_KIND, Alert.status == "open")
        .with_for_update()
    ).scalars()
    events = [
        change_event(
            actor, "case_transfer.recorded", "case_transfer", row, after=transfer_view(row)
        )
    ]
    for alert in alerts:
        close_alert(alert, resolution, actor)
        events.append(resolved_event(alert, actor, row))
    session.flush()
    audit.record(session, events)
    return row


def record_outcome(
    session: Session,
    transfer_id: int,
    authority_uscc: str,
    actor: str,
    *,
    outcome: str,
    outcome_on: date | None = None,
) -> CaseTransfer:
    """Record what became of a transferred case (e.g. 公安机关已立案侦查)."""
    missing = f"移送记录 {transfer_id} 不存在"
    row = get_row(session, CaseTransfer, transfer_id, missing, "transfer_id", lock=True)
    owner = session.execute(
        select(Penalty.authority_uscc).where(Penalty.id == row.penalty_id)
    ).scalar_one_or_none()
    if owner != authority_uscc:  # not even which penalty it is about
        raise Forbidden(
            f"移送记录 {transfer_id} 属于其他处罚机关", details={"transfer_id": transfer_id}
        )
    if row.police_unit is None:
        raise Conflict(
            f"记录 {transfer_id} 是不移送的理由，没有移送结果可填",
            details={"transfer_id": transfer_id},
        )
    _check_day(outcome_on, "outcome_on")
    before = transfer_view(row)
    row.outcome = outcome.strip()
    row.outcome_on = outcome_on or clock.today()
    row.outcome_by = actor
    session.flush()
    after = transfer_view(row)
    record_change(
        session, actor, "case_transfer.outcome", "case_transfer", row, before=before, after=after
    )
    return row


def transfers_of(session: Session, penalty_id: int, authority_uscc: str) -> list[CaseTransfer]:
    """The transfer records (transfers and reasons for not transferring) of a penalty."""
    _own_penalty(session, penalty_id, authority_uscc)
    return list(
        session.execute(
            select(CaseTransfer)
            .where(CaseTransfer.penalty_id == penalty_id)
            .order_by(CaseTransfer.id)
        ).scalars()
    )


def _untransferred_where(authority_uscc: str) -> list[Any]:
    transferred = exists().where(
        CaseTransfer.penalty_id == Alert.penalty_id,
        CaseTransfer.uscc == Alert.uscc,  # the same shard on Citus
        CaseTransfer.police_unit.is_not(None),
    )
    return [
        Alert.authority_uscc == authority_uscc,
        Alert.kind == ALERT_KIND,
        Penalty.status != "revoked",
        Penalty.transferred_to_police.is_not(True),
        ~transferred,
    ]


def untransferred_count(session: Session, authority_uscc: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Alert)
            .join(Penalty, on_penalty(Alert))
            .where(*_untransferred_where(authority_uscc))
        ).scalar_one()
    )


def untransferred(
    session: Session, authority_uscc: str, *, page: int = 1, per_page: int = 20
) -> dict[str, Any]:
    """The authority's records over a prosecution threshold with no transfer recorded,
    oldest decision first, each with the threshold reached and — when the alert was
    closed without a transfer — the reason given."""
    where = _untransferred_where(authority_uscc)
    total = untransferred_count(session, authority_uscc)
    rows = session.execute(
        select(Alert, Penalty)
        .join(Penalty, on_penalty(Alert))
        .where(*where)
        .order_by(Penalty.decided_on, Penalty.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    reasons: dict[int, str | None] = {}
    ids = [p.id for _, p in rows]
    if ids:
        for penalty_id, reason in session.execute(
            select(CaseTransfer.penalty_id, CaseTransfer.not_transferred_reason)
            .where(
                CaseTransfer.penalty_id.in_(ids), CaseTransfer.not_transferred_reason.is_not(None)
            )
            .order_by(CaseTransfer.id)
        ):
            reasons[penalty_id] = reason
    declined = int(
        session.execute(
            select(func.count())
            .select_from(Alert)
            .join(Penalty, on_penalty(Alert))
            .where(*where, Alert.status == "resolved")
        ).scalar_one()
    )
    items = [
        {
            "penalty_id": p.id,
            "uscc": p.uscc,
            "party_name": p.party_name,
            "decision_number": p.decision_number,
            "violation_type": p.violation_type,
            "decided_on": p.decided_on,
            "business_volume_wan": p.business_volume_wan,
            "illegal_gains_wan": p.illegal_gains_wan,
            "threshold": a.threshold or {},
            "alert_id": a.id,
            "alert_status": a.status,
            "not_transferred_reason": reasons.get(p.id),
        }
        for a, p in rows
    ]
    return {
        "authority_uscc": authority_uscc,
        "total": total,
        "open": total - declined,
        "declined": declined,
        "page": page,
        "per_page": per_page,
        "items": items,
    }
