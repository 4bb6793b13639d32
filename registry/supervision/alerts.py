"""Alerts for the deciding authority, e.g. ``criminal-transfer-check`` (以罚代刑).

The rules raise an alert when a penalty with no transfer to the police recorded reaches
a prosecution threshold.  The authority resolves it in one of two ways, both kept as a
:class:`~registry.supervision.models.CaseTransfer` row: by recording the transfer (police unit,
date, case number), or by recording why the case is not transferred.  The penalty
record itself is not touched (its content belongs to the authority's record, written
through the one write path).  Operations flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.errors import Conflict, Forbidden, Invalid
from registry.core.rows import change_event, get_row
from registry.evaluation.models import Alert
from registry.records.models import Penalty, on_penalty
from registry.supervision.models import CaseTransfer

STATUSES: tuple[str, ...] = ("open", "resolved")


def _penalty_summary(penalty: Penalty | None) -> dict[str, Any] | None:
    if penalty is None:
        return None
    return {
        "id": penalty.id,
        "party_name": penalty.party_name,
        "violation_type": penalty.violation_type,
        "decided_on": penalty.decided_on,
        "fine_wan": penalty.fine_wan,
        "business_volume_wan": penalty.business_volume_wan,
        "illegal_gains_wan": penalty.illegal_gains_wan,
        "transferred_to_police": penalty.transferred_to_police,
        "status": penalty.status,
    }


def alert_view(alert: Alert, penalty: Penalty | None) -> dict[str, Any]:
    """An alert with the record and the threshold it reached."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "uscc": alert.uscc,
        "decision_number": alert.decision_number,
        "penalty_id": alert.penalty_id,
        "authority_uscc": alert.authority_uscc,
        "rule_id": alert.rule_id,
        "pack_version": alert.pack_version,
        "threshold": alert.threshold or {},
        "status": alert.status,
        "resolution": alert.resolution,
        "resolved_at": alert.resolved_at,
        "resolved_by": alert.resolved_by,
        "created_at": alert.created_at,
        "penalty": _penalty_summary(penalty),
    }


def list_alerts(
    session: Session,
    authority_uscc: str,
    *,
    status: str | None = "open",
    kind: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[dict[str, Any]], int]:
    """The authority's alerts (default: the open ones), oldest first, with their
    records; and the total."""
    where = [Alert.authority_uscc == authority_uscc]
    if status is not None:
        where.append(Alert.status == status)
    if kind is not None:
        where.append(Alert.kind == kind)
    total = session.execute(select(func.count()).select_from(Alert).where(*where)).scalar_one()
    rows = session.execute(
        select(Alert, Penalty)
        .outerjoin(Penalty, on_penalty(Alert))
        .where(*where)
        .order_by(Alert.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [alert_view(a, p) for a, p in rows], int(total)


def transferred_resolution(record: CaseTransfer) -> str:
    """An alert's resolution text for a transfer to the police."""
    return "transferred: " + "; ".join(
        x for x in (record.police_unit, record.case_number, str(record.transferred_on)) if x
    )


def close_alert(alert: Alert, resolution: str, actor: str) -> None:
    """Mark an open alert resolved now by ``actor``."""
    alert.status = "resolved"
    alert.resolution = resolution[:2000]
    alert.resolved_at = clock.now()
    alert.resolved_by = actor


def resolved_event(alert: Alert, actor: str, record: CaseTransfer) -> audit.AuditEvent:
    """The audit entry of :func:`close_alert` with ``record`` (flushed: it has its id)."""
    after = {"status": "resolved", "resolution": alert.resolution, "transfer": record.id}
    return change_event(
        actor, "alert.resolved", "alert", alert, before={"status": "open"}, after=after
    )


def resolve_alert(
    session: Session,
    alert_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    *,
    transfer: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Resolve an open alert of the caller's authority by recording the transfer to the
    police (``transfer``: ``police_unit``, ``transferred_on``, ``case_number``, optionally
    ``outcome``) or the
    reason it is not transferred (``reason``) — exactly one of the two.

    Raises NotFound, Forbidden (another authority's alert), Conflict (already
    resolved), Invalid (neither or both given, a transfer dated in the future)."""
    text = (reason or "").strip() or None
    if (transfer is None) == (text is None):
        raise Invalid(
            "须填写移送信息（transfer）或不移送的理由（reason），二者择一",
            details={"transfer": ["与 reason 二选一"], "reason": ["与 transfer 二选一"]},
        )
    alert = get_row(session, Alert, alert_id, f"预警 {alert_id} 不存在", "alert_id", lock=True)
    if actor_authority_uscc != alert.authority_uscc:
        raise Forbidden(
            f"预警 {alert_id} 属于其他机关，只有该机关可以处理", details={"alert_id": alert_id}
        )
    if alert.status != "open":
        raise Conflict(
            f"预警 {alert_id} 已处理", details={"alert_id": alert_id, "status": alert.status}
        )
    today = clock.today()
    if transfer is not None:
        on: date | None = transfer.get("transferred_on")
        if on is not None and on > today:
            raise Invalid("移送日期不能晚于今天", details={"transferred_on": [f"不晚于 {today}"]})
        record = CaseTransfer(
            uscc=alert.uscc,
            penalty_id=alert.penalty_id,
            police_unit=(transfer.get("police_unit") or "").strip() or None,
            transferred_on=on or today,
            case_number=(transfer.get("case_number") or "").strip() or None,
            outcome=(transfer.get("outcome") or "").strip() or None,
            recorded_by=actor,
        )
        if record.outcome:
            record.outcome_on, record.outcome_by = today, actor
        resolution = transferred_resolution(record)
    else:
        record = CaseTransfer(
            uscc=alert.uscc,
            penalty_id=alert.penalty_id,
            not_transferred_reason=text,
            recorded_by=actor,
        )
        resolution = f"not transferred: {text}"
    session.add(record)
    close_alert(alert, resolution, actor)
    session.flush()
    audit.record_one(session, resolved_event(alert, actor, record))
    penalty = session.get(Penalty, alert.penalty_id)
    return alert_view(alert, penalty)
