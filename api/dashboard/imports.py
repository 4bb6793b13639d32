"""Imports and their rejection reports (``/dashboard/imports``): each batch by the
uploaded file's name, its counts, and its kept report to download — the same text
``GET /api/v1/imports/<id>/report`` serves (registry.records.reports)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from api.common.context import db
from api.common.csrf import csrf_token
from api.common.downloads import report_response
from api.dashboard.common import STATUS_LABELS, authority_names, pages_of, scope_of
from api.dashboard.views import blp, login_required
from registry.core import clock
from registry.core.tokens import Principal
from registry.records.models import ImportBatch
from registry.records.reports import batch_file_name, has_report, report_of

PER_PAGE = 30


@blp.get("/imports")
@login_required
def imports(principal: Principal):
    session = db()
    authority = scope_of(principal)
    where = [] if authority is None else [ImportBatch.authority_uscc == authority]
    total = int(
        session.execute(select(func.count()).select_from(ImportBatch).where(*where)).scalar_one()
    )
    pages = pages_of(total, PER_PAGE)
    batches = list(
        session.execute(
            select(ImportBatch)
            .where(*where)
            .order_by(ImportBatch.started_at.desc(), ImportBatch.id.desc())
            .offset(pages.offset)
            .limit(pages.per_page)
        ).scalars()
    )
    rows = [
        {
            "batch": b,
            "file": batch_file_name(b.source),
            "started": b.started_at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M"),
        }
        for b in batches
    ]
    return render_template(
        "dashboard/imports.html",
        me=principal,
        active="imports",
        csrf=csrf_token(),
        rows=rows,
        pages=pages,
        kept=has_report(session, [b.id for b in batches]),
        names=authority_names(session, [b.authority_uscc for b in batches]),
        statuses=STATUS_LABELS,
        admin=authority is None,
    )


@blp.get("/imports/<int:batch_id>/report")
@login_required
def import_report(principal: Principal, batch_id: int):
    kept = report_of(db(), batch_id, scope_of(principal))
    return report_response(kept)
