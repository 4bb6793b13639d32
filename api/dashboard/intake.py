"""The intake queues on the dashboard: open and overdue objections, complaints to
route.
"""

from __future__ import annotations

from typing import Any

# --- the operator dashboard ----------------------------------------------------------------


def dashboard_intake(session_db: Any, principal: Any, today: Any) -> dict[str, Any]:
    """The dashboard's intake panel: overdue objections of the regulator's authority
    (administrators: of every authority) and open complaints (administrators: the
    queue of unroutable ones)."""
    from sqlalchemy import func, select

    from registry.intake.complaints import open_counts
    from registry.intake.models import Objection
    from registry.intake.objections import OPEN, overdue_objections
    from registry.records.models import Penalty

    authority = principal.authority_uscc if principal.role == "regulator" else None
    overdue = overdue_objections(session_db, authority, today, limit=20)
    numbers = dict(
        session_db.execute(
            select(Penalty.id, Penalty.decision_number).where(
                Penalty.id.in_([o.penalty_id for o in overdue if o.penalty_id is not None])
            )
        ).all()
    )
    open_query = select(func.count()).select_from(Objection).where(Objection.status == OPEN)
    if authority is not None:
        open_query = open_query.where(Objection.authority_uscc == authority)
    complaints = open_counts(session_db, authority)
    return {
        "open_objections": int(session_db.execute(open_query).scalar_one()),
        "overdue": [(o, numbers.get(o.penalty_id)) for o in overdue],
        "complaints": sum(complaints.values()),
        "complaints_label": "未分派的举报" if authority is None else "待办结的举报",
    }
