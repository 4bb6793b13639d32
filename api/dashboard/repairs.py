"""Credit-repair applications to decide (``/dashboard/repairs``): approve (the record
leaves disclosure, or the entry is removed, today) or reject with reasons — through
:func:`registry.lists.repairs.approve_repair` / ``reject_repair``, as the API decides."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.common.context import db, runtime
from api.common.csrf import csrf_failure, csrf_token
from api.dashboard.common import (
    REPAIR_TARGETS,
    STATUS_LABELS,
    act,
    authority_names,
    can_decide,
    list_titles,
    pages_of,
    scope_of,
)
from api.dashboard.views import blp, login_required
from registry.core import clock
from registry.core.errors import Invalid
from registry.core.tokens import Principal
from registry.lists.models import ListEntry, Repair
from registry.lists.repairs import OPEN_STATUSES, approve_repair, reject_repair
from registry.records.models import Entity, Penalty

PER_PAGE = 20


@blp.get("/repairs")
@login_required
def repairs(principal: Principal):
    session = db()
    authority = scope_of(principal)
    where = [Repair.status.in_(OPEN_STATUSES)]
    if authority is not None:
        where.append(Repair.authority_uscc == authority)
    total = int(
        session.execute(select(func.count()).select_from(Repair).where(*where)).scalar_one()
    )
    pages = pages_of(total, PER_PAGE)
    rows = session.execute(
        select(Repair, Entity.name)
        .outerjoin(Entity, Entity.uscc == Repair.uscc)
        .where(*where)
        .order_by(Repair.due_on.is_(None), Repair.due_on, Repair.id)
        .offset(pages.offset)
        .limit(pages.per_page)
    ).all()
    penalty_ids = [r.target_id for r, _ in rows if r.target_type == "penalty"]
    entry_ids = [r.target_id for r, _ in rows if r.target_type == "list_entry"]
    penalties = {
        p.id: p
        for p in session.execute(select(Penalty).where(Penalty.id.in_(penalty_ids))).scalars()
    }
    entries = {
        e.id: e
        for e in session.execute(select(ListEntry).where(ListEntry.id.in_(entry_ids))).scalars()
    }
    return render_template(
        "dashboard/repairs.html",
        me=principal,
        active="repairs",
        csrf=csrf_token(),
        rows=rows,
        pages=pages,
        penalties=penalties,
        entries=entries,
        titles=list_titles(),
        targets=REPAIR_TARGETS,
        statuses=STATUS_LABELS,
        names=authority_names(session, [r.authority_uscc for r, _ in rows]),
        decide=can_decide(principal),
        today=clock.today(),
    )


@blp.post("/repairs/<int:repair_id>/decide")
@login_required
def repair_decide(principal: Principal, repair_id: int):
    failed = csrf_failure()
    if failed:
        return failed
    decision = request.form.get("decision", "")
    reason = request.form.get("reason") or ""
    pack = runtime().pack

    def operation(session: Session) -> Any:
        if decision == "approve":
            return approve_repair(
                session, pack, repair_id, principal.authority_uscc, principal.actor, reason
            )
        if decision == "reject":
            return reject_repair(
                session, pack, repair_id, principal.authority_uscc, principal.actor, reason
            )
        raise Invalid("请选择“批准修复”或“不予修复”")

    label = "批准修复" if decision == "approve" else "不予修复"
    return act(
        operation,
        f"信用修复申请 {repair_id}：{label}。",
        url_for("web.dashboard.repairs"),
        dirty=lambda repair: [repair.uscc],
    )
