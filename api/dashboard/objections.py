"""Objections to answer (``/dashboard/objections``): the open ones, nearest deadline
first, each with its answer form — corrected (a new version of the record with the
corrected fields), revoked or rejected with reasons — through
:func:`registry.intake.objections.answer_objection`, as the API answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.common.context import db, runtime
from api.common.csrf import csrf_failure, csrf_token
from api.dashboard.common import (
    OUTCOME_LABELS,
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
from registry.intake.models import Objection
from registry.intake.objections import OPEN, answer_objection
from registry.lists.models import ListEntry, on_entry
from registry.records.models import Penalty, on_penalty
from registry.records.schema import RECORD_FIELDS

PER_PAGE = 20
#: The fields an officer may correct from the dashboard (the rest of the record stays).
CORRECTABLE = (
    ("violation_type", "违法行为类型"),
    ("content", "处罚内容"),
    ("fine_wan", "罚款金额（万元）"),
    ("basis", "处罚依据"),
)
#: Never carried over into a corrected record: state and the registry's bookkeeping.
NOT_CARRIED = {"status", "revoked_on", "revoked_reason"}


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def corrected_record(penalty: Penalty, changes: dict[str, str]) -> dict[str, Any]:
    """The penalty as a record of the shared schema, with ``changes`` applied."""
    record = {
        name: _plain(getattr(penalty, name))
        for name in RECORD_FIELDS
        if name not in NOT_CARRIED and getattr(penalty, name, None) is not None
    }
    for name, value in changes.items():
        text = value.strip()
        if text:
            record[name] = text
    return record


def _items(session: Session, authority: str | None, pages_total: int) -> Any:
    where = [Objection.status == OPEN]
    if authority is not None:
        where.append(Objection.authority_uscc == authority)
    total = int(
        session.execute(select(func.count()).select_from(Objection).where(*where)).scalar_one()
    )
    pages = pages_of(total, pages_total)
    rows = session.execute(
        select(Objection, Penalty, ListEntry)
        .outerjoin(Penalty, on_penalty(Objection))
        .outerjoin(ListEntry, on_entry(Objection))
        .where(*where)
        .order_by(Objection.due_on, Objection.id)
        .offset(pages.offset)
        .limit(pages.per_page)
    ).all()
    return rows, pages


@blp.get("/objections")
@login_required
def objections(principal: Principal):
    session = db()
    rows, pages = _items(session, scope_of(principal), PER_PAGE)
    names = authority_names(session, [o.authority_uscc for o, _, _ in rows])
    return render_template(
        "dashboard/objections.html",
        me=principal,
        active="objections",
        csrf=csrf_token(),
        rows=rows,
        pages=pages,
        names=names,
        titles=list_titles(),
        outcomes=OUTCOME_LABELS,
        correctable=CORRECTABLE,
        decide=can_decide(principal),
        today=clock.today(),
    )


@blp.post("/objections/<int:objection_id>/answer")
@login_required
def objection_answer(principal: Principal, objection_id: int):
    failed = csrf_failure()
    if failed:
        return failed
    form = request.form
    outcome = form.get("outcome", "")
    rt = runtime()

    def operation(session: Session) -> Any:
        record = None
        if outcome == "corrected":
            objection = session.get(Objection, objection_id)
            penalty = (
                session.get(Penalty, objection.penalty_id)
                if objection is not None and objection.penalty_id is not None
                else None
            )
            changes = {name: form.get(name, "") for name, _ in CORRECTABLE}
            # another authority's objection: answer_objection refuses it below
            mine = objection is not None and objection.authority_uscc == principal.authority_uscc
            if penalty is not None and mine:
                if not any(v.strip() for v in changes.values()):
                    raise Invalid("更正须至少填写一项更正后的内容")
                record = corrected_record(penalty, changes)
        return answer_objection(
            session,
            rt.config,
            rt.pack,
            objection_id,
            principal.authority_uscc,
            principal.actor,
            outcome,
            form.get("answer"),
            record,
        )

    label = OUTCOME_LABELS.get(outcome, outcome)
    return act(
        operation,
        f"异议 {objection_id} 已答复：{label}。",
        url_for("web.dashboard.objections"),
        dirty=lambda done: done.dirty,
    )
