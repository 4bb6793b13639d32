"""Complaints to route and close (``/dashboard/complaints``).

A regulator sees the open complaints routed to its authority and moves each on —
accepted, investigating, closed with what was done — through
:func:`registry.intake.complaints.set_status`; an administrator sees every open
complaint, the unrouted ones first, and routes (or re-routes) one to an authority
chosen by name, through :func:`registry.intake.complaints.route_complaint`."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.common.context import db
from api.common.csrf import csrf_failure, csrf_token
from api.dashboard.common import (
    act,
    authority_names,
    can_decide,
    known_authorities,
    pages_of,
    scope_of,
)
from api.dashboard.views import blp, login_required
from registry.core.tokens import Principal
from registry.intake.complaints import (
    KIND_LABELS,
    NEXT,
    STATUS_LABELS,
    route_complaint,
    set_status,
)
from registry.intake.models import Complaint

PER_PAGE = 20
#: The step a regulator takes, as a button says it.
STEP_LABELS = {"accepted": "受理", "investigating": "开始调查", "closed": "办结"}


@blp.get("/complaints")
@login_required
def complaints(principal: Principal):
    session = db()
    authority = scope_of(principal)
    where = [Complaint.status != "closed"]
    if authority is not None:
        where.append(Complaint.authority_uscc == authority)
    total = int(
        session.execute(select(func.count()).select_from(Complaint).where(*where)).scalar_one()
    )
    pages = pages_of(total, PER_PAGE)
    rows = list(
        session.execute(
            select(Complaint)
            .where(*where)
            .order_by(Complaint.authority_uscc.is_not(None), Complaint.filed_on, Complaint.id)
            .offset(pages.offset)
            .limit(pages.per_page)
        ).scalars()
    )
    admin = principal.role == "admin"
    return render_template(
        "dashboard/complaints.html",
        me=principal,
        active="complaints",
        csrf=csrf_token(),
        rows=rows,
        pages=pages,
        names=authority_names(session, [c.authority_uscc for c in rows]),
        authorities=known_authorities(session) if admin else {},
        admin=admin,
        decide=can_decide(principal),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        steps=NEXT,
        step_labels=STEP_LABELS,
    )


@blp.post("/complaints/<int:complaint_id>/status")
@login_required
def complaint_status(principal: Principal, complaint_id: int):
    failed = csrf_failure()
    if failed:
        return failed
    status = request.form.get("status", "")

    def operation(session: Session) -> Any:
        return set_status(
            session,
            complaint_id,
            principal.authority_uscc if principal.role == "regulator" else None,
            principal.actor,
            status,
            request.form.get("note"),
        )

    return act(
        operation,
        f"举报 {complaint_id} 已{STEP_LABELS.get(status, status)}。",
        url_for("web.dashboard.complaints"),
    )


@blp.post("/complaints/<int:complaint_id>/route")
@login_required
def complaint_route(principal: Principal, complaint_id: int):
    failed = csrf_failure()
    if failed:
        return failed
    back = url_for("web.dashboard.complaints")
    if principal.role != "admin":
        from flask import flash, redirect

        flash("只有管理员可以分派举报。", "error")
        return redirect(back, code=303)
    authority = (request.form.get("authority_uscc") or "").strip()

    def operation(session: Session) -> Any:
        return route_complaint(session, complaint_id, authority, principal.actor)

    name = authority_names(db(), [authority]).get(authority, authority)
    return act(operation, f"举报 {complaint_id} 已分派给{name}。", back)
