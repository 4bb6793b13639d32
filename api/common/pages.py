"""The page blueprint (``web``) every server-rendered page hangs on: its templates
and static files, the security headers of every response, template filters, and the
page shown when the database is down.
"""

from __future__ import annotations

from datetime import date
from math import ceil
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
)
from markupsafe import Markup, escape
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import TooManyRequests

from api.common.context import db, runtime
from registry.core.db import DatabaseUnavailable
from registry.records.search import analyse_query, split_match
from rules.model import LIST_GROUPS

#: The templates and static files of every page, in ``api/templates`` and ``api/static``.
SITE_ROOT = Path(__file__).resolve().parents[1]

blp = Blueprint(
    "web",
    __name__,
    template_folder=str(SITE_ROOT / "templates"),
    static_folder=str(SITE_ROOT / "static"),
    static_url_path="/static",
)

#: No inline script or style anywhere, nothing from another origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

SEVERITY_LABELS = {"minor": "轻微", "general": "一般", "serious": "严重"}
PARTY_TYPE_LABELS = {
    "organisation": "法人及非法人组织",
    "natural_person": "自然人",
    "individual_business": "个体工商户",
}


# --- application-wide hooks ----------------------------------------------------------


@blp.after_app_request
def _security_headers(response: Response) -> Response:
    """The security headers on every response (a view may set a stricter one first)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@blp.app_template_filter("cn_date")
def cn_date(value: str | date | None) -> str:
    """``2026-11-29`` → ``2026年11月29日``; empty for no date."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return f"{day.year}年{day.month}月{day.day}日"


@blp.app_template_filter("wan")
def wan(value: str | None) -> str:
    """An amount in 万元 for people, or a dash."""
    return "—" if value in (None, "") else f"{value} 万元"


@blp.app_template_filter("percent")
def percent(value: Any) -> str:
    """A ratio as people read it: ``0.2`` → ``20%``, ``0.035`` → ``3.5%``."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(str(value)) * 100
    except (InvalidOperation, ValueError):
        return str(value)
    text = format(number.normalize(), "f")
    return f"{text}%"


@blp.app_template_filter("region_name")
def region_name(division: Any) -> str:
    """A division code or prefix (``31``, ``4403``, ``440305``) by its name (上海市)."""
    from registry.core.codes import region_of

    code = str(division).strip()
    if not code.isdigit() or len(code) > 6:
        return code
    try:
        label = region_of(code.ljust(6, "0")).label
    except Exception:  # an unknown division is shown as its code
        label = None
    return label or f"行政区划代码 {code}"


@blp.app_template_filter("severity_label")
def severity_label(value: str | None) -> str:
    return SEVERITY_LABELS.get(value or "", value or "—")


@blp.app_template_filter("party_type_label")
def party_type_label(value: str | None) -> str:
    return PARTY_TYPE_LABELS.get(value or "", value or "—")


@blp.app_template_global("list_kind")
def list_kind(list_type: str) -> str:
    """``dishonesty`` or ``incentive`` (a red list), from the pack."""
    return runtime().pack.list_kind(list_type)


@blp.app_template_global("list_group")
def list_group(list_type: str) -> str:
    """``serious``, ``abnormal`` or ``incentive``: the list's public group (pack ``group:``)."""
    spec = runtime().pack.lists.get(list_type)
    return spec.group if spec is not None else "serious"


@blp.app_template_global("data_updated_at")
def data_updated_at() -> str:
    """数据更新时间 of every page, in China time: read at most every 30 seconds per
    application (it is only a hint of freshness, and pages must not cost a query more for
    it).  An empty change feed is not remembered, so the first change shows at once."""
    import time

    from registry.core import clock
    from registry.disclosure.views import data_updated_at as newest_change

    seen = current_app.extensions.setdefault("data_updated_at", {"at": None, "read": -1.0})
    if seen["at"] is None or time.monotonic() - seen["read"] > 30:
        seen["at"] = newest_change(db())
        seen["read"] = time.monotonic()
    at = seen["at"]
    if at is None:
        return "暂无数据"
    local = at.astimezone(clock.CHINA)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@blp.app_template_global("highlight")
def highlight(name: str, q: str) -> Markup:
    """``name`` with the part matching the query in ``<mark>``; every piece escaped."""
    query = analyse_query(q)
    out = Markup("")
    for text, matched in split_match(name, query):
        out += Markup("<mark>{}</mark>").format(text) if matched else escape(text)
    return out


@blp.app_context_processor
def _page_globals() -> dict[str, Any]:
    return {"site_title": "信用信息公示查询", "list_groups": LIST_GROUPS}


@blp.errorhandler(OperationalError)
@blp.errorhandler(DatabaseUnavailable)
def _database_down(_exc: Exception):
    return render_template(
        "error.html", status=503, title="服务暂不可用", message="数据库暂时无法访问，请稍后再试。"
    ), 503


@blp.errorhandler(TooManyRequests)
def _too_many_requests(exc: TooManyRequests):
    """Over the public limit on a page: a page saying when to come back (the API's
    JSON shape is for the API)."""
    retry = getattr(exc, "retry_after", None)
    wait = f"请 {retry} 秒后再试" if isinstance(retry, int) else "请稍后再试"
    page = render_template(
        "error.html",
        status=429,
        title="访问过于频繁",
        message=f"为保障公示服务稳定，同一网络在短时间内的访问次数有限，{wait}。",
    )
    headers = {"Retry-After": str(retry)} if retry is not None else {}
    return page, 429, headers


# --- pages ---------------------------------------------------------------------------


def page_links(page: int, per_page: int, total: int) -> dict[str, Any]:
    last = max(1, ceil(total / per_page))
    page = min(max(1, page), last)
    window = range(max(1, page - 3), min(last, page + 3) + 1)
    return {
        "page": page,
        "last": last,
        "window": list(window),
        "total": total,
        "first": (page - 1) * per_page + 1,
    }


def int_arg(name: str, default: int = 1) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except (TypeError, ValueError):
        return default


def not_found_page(title: str, message: str):
    return render_template("error.html", status=404, title=title, message=message), 404
