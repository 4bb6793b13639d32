"""Alerts to resolve (``/dashboard/alerts``), e.g. 涉嫌犯罪案件移送审查提示: record the
transfer to the police, or why the case is not transferred — through
:func:`registry.supervision.alerts.resolve_alert`, as the API resolves them."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.common.context import db
from api.common.csrf import csrf_failure, csrf_token
from api.dashboard.common import (
    act,
    alert_titles,
    authority_names,
    can_decide,
    pages_of,
    scope_of,
)
from api.dashboard.views import blp, login_required
from registry.core import clock
from registry.core.errors import Invalid
from registry.core.tokens import Principal
from registry.evaluation.models import Alert
from registry.records.models import Penalty, on_penalty
from registry.supervision.alerts import resolve_alert

PER_PAGE = 20
#: Threshold fields as the alert's explanation names them.
AMOUNT_LABELS = {
    "business_volume_wan": "非法经营额",
    "illegal_gains_wan": "违法所得",
    "fine_wan": "罚款",
}


@blp.get("/alerts")
@login_required
def alerts(principal: Principal):
    session = db()
    authority = scope_of(principal)
    where = [Alert.status == "open"]
    if authority is not None:
        where.append(Alert.authority_uscc == authority)
    total = int(session.execute(select(func.count()).select_from(Alert).where(*where)).scalar_one())
    pages = pages_of(total, PER_PAGE)
    rows = session.execute(
        select(Alert, Penalty)
        .outerjoin(Penalty, on_penalty(Alert))
        .where(*where)
        .order_by(Alert.id)
        .offset(pages.offset)
        .limit(pages.per_page)
    ).all()
    return render_template(
        "dashboard/alerts.html",
        me=principal,
        active="alerts",
        csrf=csrf_token(),
        rows=rows,
        pages=pages,
        kinds=alert_titles(),
        amounts=AMOUNT_LABELS,
        names=authority_names(session, [a.authority_uscc for a, _ in rows]),
        decide=can_decide(principal),
        today=clock.today(),
    )


@blp.post("/alerts/<int:alert_id>/resolve")
@login_required
def alert_resolve(principal: Principal, alert_id: int):
    failed = csrf_failure()
    if failed:
        return failed
    form = request.form
    how = form.get("how", "")

    def operation(session: Session) -> Any:
        if how == "transfer":
            on = (form.get("transferred_on") or "").strip()
            try:
                day = date.fromisoformat(on) if on else None
            except ValueError:
                raise Invalid("移送日期应为 YYYY-MM-DD") from None
            if not (form.get("police_unit") or "").strip():
                raise Invalid("请填写接受移送的公安机关")
            transfer = {
                "police_unit": form.get("police_unit"),
                "transferred_on": day,
                "case_number": form.get("case_number"),
            }
            return resolve_alert(
                session, alert_id, principal.authority_uscc, principal.actor, transfer=transfer
            )
        if how == "reason":
            return resolve_alert(
                session,
                alert_id,
                principal.authority_uscc,
                principal.actor,
                reason=form.get("reason") or "",
            )
        raise Invalid("请选择“已移送公安机关”或“不移送”")

    done = "已记录移送" if how == "transfer" else "已记录不移送的理由"
    return act(operation, f"预警 {alert_id} 已处理：{done}。", url_for("web.dashboard.alerts"))
