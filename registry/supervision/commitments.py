"""Quality commitments (质量承诺, policy section 十三): an entity's public promise to make
named products to a standard stricter than the national or industry one.

A regulator (for its authority) or an administrator records the commitment; it is shown
on the entity's public page beside the published results of the random inspections
that check it is kept ("对企业履行承诺情况开展'双随机'执法检查").  A commitment is
withdrawn, never deleted.  Operations flush; the caller commits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.errors import Conflict, Forbidden, Invalid
from registry.core.rows import columns, get_row, record_change
from registry.records.models import Entity
from registry.supervision.models import QualityCommitment

_SNAPSHOT = (
    "uscc",
    "products",
    "standard",
    "statement",
    "made_on",
    "withdrawn_on",
    "withdrawn_reason",
)


def _snapshot(c: QualityCommitment) -> dict[str, Any]:
    return columns(c, _SNAPSHOT)


def record_commitment(
    session: Session,
    authority_uscc: str | None,
    actor: str,
    *,
    uscc: str,
    products: str,
    statement: str,
    made_on: date,
    standard: str | None = None,
) -> QualityCommitment:
    """Record a commitment of a registered entity (``authority_uscc`` None: an admin)."""
    try:
        code = validate_uscc(uscc)
    except CodeError as exc:
        raise Invalid(exc.message, details={"uscc": [exc.message]}) from None
    if session.get(Entity, code) is None:
        raise Invalid(f"{code} 不是本库登记的主体", details={"uscc": ["未登记的主体"]})
    if made_on > clock.today():
        raise Invalid(
            "承诺日期不能晚于今天",
            details={"made_on": [f"不晚于 {clock.today().isoformat()}"]},
        )
    row = QualityCommitment(
        uscc=code,
        products=products.strip(),
        standard=(standard or "").strip() or None,
        statement=statement.strip(),
        made_on=made_on,
        authority_uscc=authority_uscc,
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    record_change(
        session, actor, "commitment.recorded", "quality_commitment", row, after=_snapshot(row)
    )
    return row


def withdraw_commitment(
    session: Session, commitment_id: int, authority_uscc: str | None, actor: str, reason: str
) -> QualityCommitment:
    """Withdraw a commitment from today; only its recording authority (or an admin)."""
    missing = f"质量承诺 {commitment_id} 不存在"
    row = get_row(session, QualityCommitment, commitment_id, missing, "commitment_id", lock=True)
    if authority_uscc is not None and row.authority_uscc != authority_uscc:
        raise Forbidden(
            f"质量承诺 {commitment_id} 由其他机关登记，只有该机关可以撤回",
            details={"commitment_id": commitment_id},
        )
    if row.withdrawn_on is not None:
        raise Conflict(
            f"质量承诺 {commitment_id} 已于 {row.withdrawn_on.isoformat()} 撤回",
            details={"commitment_id": commitment_id},
        )
    before = _snapshot(row)
    row.withdrawn_on = clock.today()
    row.withdrawn_by = actor
    row.withdrawn_reason = reason.strip()
    session.flush()
    after = _snapshot(row)
    record_change(
        session,
        actor,
        "commitment.withdrawn",
        "quality_commitment",
        row,
        before=before,
        after=after,
    )
    return row


def commitments_in_force(session: Session, uscc: str, day: date) -> list[QualityCommitment]:
    """The entity's commitments made by ``day`` and not withdrawn by then, newest first."""
    return list(
        session.execute(
            select(QualityCommitment)
            .where(
                QualityCommitment.uscc == uscc,
                QualityCommitment.made_on <= day,
                or_(QualityCommitment.withdrawn_on.is_(None), QualityCommitment.withdrawn_on > day),
            )
            .order_by(QualityCommitment.made_on.desc(), QualityCommitment.id.desc())
        ).scalars()
    )


def entity_supervision(session: Session, uscc: str, day: date) -> dict[str, Any]:
    """The public supervision section of an entity's page: its quality commitments and
    the published results of random inspections of it."""
    from registry.supervision.inspections import published_results_for

    return {
        "commitments": [
            {
                "id": c.id,
                "products": c.products,
                "standard": c.standard,
                "statement": c.statement,
                "made_on": c.made_on,
            }
            for c in commitments_in_force(session, uscc, day)
        ],
        "inspections": published_results_for(session, uscc),
    }
