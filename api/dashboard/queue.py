"""The queue of proposed list entries (``/dashboard/queue``): filter by list, proposal
dates and region; confirm or reject the ticked rows, or every row the filter matches,
with one reason — through :mod:`registry.lists.bulk`, the API's bulk decision, so each
entry is decided and audited as a single decision is, all or nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from api.common.context import db, runtime
from api.common.csrf import csrf_failure, csrf_token
from api.common.writes import run_rules
from api.dashboard.common import (
    authority_names,
    can_decide,
    known_authorities,
    list_titles,
    pages_of,
    refusal_text,
    rule_titles,
    scope_of,
)
from api.dashboard.views import blp, login_required
from registry.core import clock
from registry.core.codes import region_of
from registry.core.errors import DomainError, Invalid
from registry.core.tokens import Principal
from registry.lists.bulk import (
    DECISION_LABELS,
    REGION,
    BulkRefused,
    EntryFilter,
    check_filter,
    decide_filter,
    decide_ids,
    proposed_query,
)
from registry.lists.models import ListEntry
from registry.records.models import Entity

PER_PAGE = 50
FILTER_KEYS = ("list", "from", "to", "region", "authority")


def _day(value: str | None, name: str, problems: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems[name] = "日期应为 YYYY-MM-DD"
        return None


def _filter_of(principal: Principal, values: Any) -> tuple[EntryFilter, dict[str, str]]:
    """The filter a form or a URL names, scoped to what the user may see."""
    problems: dict[str, str] = {}
    region = (values.get("region") or "").strip() or None
    if region is not None and not REGION.match(region):
        problems["region"] = "地区应为行政区划代码的前 2、4 或 6 位数字，如 44 或 4403"
        region = None
    authority = scope_of(principal)
    if authority is None:
        authority = (values.get("authority") or "").strip() or None
    entry_filter = EntryFilter(
        authority_uscc=authority,
        list_type=(values.get("list") or "").strip() or None,
        proposed_from=_day(values.get("from"), "from", problems),
        proposed_to=_day(values.get("to"), "to", problems),
        region=region,
    )
    try:
        check_filter(entry_filter)
    except Invalid as exc:
        problems["to"] = exc.message
        entry_filter = EntryFilter(authority, entry_filter.list_type, region=region)
    return entry_filter, problems


def _filter_args(values: Any) -> dict[str, str]:
    return {k: values.get(k) for k in FILTER_KEYS if values.get(k)}


def _region_name(uscc: str) -> str:
    if len(uscc) != 18 or not uscc[2:8].isdigit():
        return "—"
    region = region_of(uscc[2:8])
    return "".join(x for x in (region.province, region.city, region.county) if x) or uscc[2:8]


def _queue_page(principal: Principal, values: Any, *, status: int = 200, failures: Any = ()):
    session = db()
    entry_filter, problems = _filter_of(principal, values)
    inner = proposed_query(entry_filter).order_by(None).with_only_columns(ListEntry.id)
    total = int(session.execute(select(func.count()).select_from(inner.subquery())).scalar_one())
    pages = pages_of(total, PER_PAGE)
    rows = session.execute(
        proposed_query(entry_filter)
        .add_columns(Entity.name)
        .outerjoin(Entity, Entity.uscc == ListEntry.uscc)
        .offset(pages.offset)
        .limit(PER_PAGE)
    ).all()
    names = authority_names(session, [e.authority_uscc for e, _ in rows])
    items = [
        {
            "entry": entry,
            "name": name,
            "region": _region_name(entry.uscc),
            "authority": names.get(entry.authority_uscc or "", entry.authority_uscc or "—"),
        }
        for entry, name in rows
    ]
    return (
        render_template(
            "dashboard/queue.html",
            me=principal,
            active="queue",
            csrf=csrf_token(),
            items=items,
            total=total,
            pages=pages,
            titles=list_titles(),
            rules=rule_titles(),
            authorities=known_authorities(session) if scope_of(principal) is None else {},
            decide=can_decide(principal),
            limit=runtime().config.lists.bulk_limit,
            values=values,
            args=_filter_args(values),
            problems=problems,
            failures=failures,
            today=clock.today(),
        ),
        status,
    )


@blp.get("/queue")
@login_required
def queue(principal: Principal):
    return _queue_page(principal, request.args)


@blp.post("/queue/decide")
@login_required
def queue_decide(principal: Principal):
    failed = csrf_failure()
    if failed:
        return failed
    form = request.form
    decision = form.get("decision", "")
    back = url_for("web.dashboard.queue", **_filter_args(form))
    if decision not in DECISION_LABELS:
        flash("请选择“确认列入”或“不予列入”", "error")
        return redirect(back, code=303)
    if not can_decide(principal):
        flash("管理员只能查看；拟列入条目由作出决定的机关确认或不予列入。", "error")
        return redirect(back, code=303)
    rt = runtime()
    session = db()
    entry_filter, problems = _filter_of(principal, form)
    reason = (form.get("reason") or "").strip() or None
    try:
        if problems:
            raise Invalid("筛选条件无效：" + "；".join(problems.values()))
        if form.get("scope") == "all":
            expected = form.get("expected_count", "")
            result = decide_filter(
                session,
                rt.pack,
                decision,
                entry_filter,
                principal.authority_uscc,
                principal.actor,
                reason,
                limit=rt.config.lists.bulk_limit,
                expected_count=int(expected) if expected.isdigit() else None,
            )
        else:
            # "本页全部": the entries the page showed (as it showed them; one decided
            # since is refused by the operation, and with it the whole call)
            picked = "page_ids" if form.get("scope") == "page" else "ids"
            ids = [int(i) for i in form.getlist(picked) if i.isdigit()]
            if not ids:
                raise Invalid("请勾选要处理的条目，或选择“本页全部”或“全部符合筛选条件的条目”")
            result = decide_ids(
                session,
                rt.pack,
                decision,
                ids,
                principal.authority_uscc,
                principal.actor,
                reason,
                limit=rt.config.lists.bulk_limit,
            )
    except BulkRefused as exc:
        session.rollback()
        flash(exc.message, "error")
        return _queue_page(principal, form, status=409, failures=exc.failures)
    except DomainError as exc:
        session.rollback()
        flash(refusal_text(exc), "error")
        return redirect(back, code=303)
    count = len(result.entries)
    session.commit()
    run_rules(result.subject_keys)
    flash(f"已{DECISION_LABELS[decision]} {count} 个名单条目。", "ok")
    return redirect(back, code=303)
