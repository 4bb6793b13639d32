"""The operator dashboard (/dashboard): the registry's state at a glance.

Behind a login with an admin or regulator API token: the form verifies the token with
:func:`registry.core.tokens.resolve_token` and keeps only the token's id in Flask's signed
session cookie (HttpOnly, SameSite=Lax, Secure per configuration); every request looks
the token up again, so a revoked or expired token ends its sessions at once.  Both forms carry a
CSRF token kept in the session.  Regulators see their own authority's figures, admins
see everything.  Charts are inline SVG drawn on the server (no script).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session

from api.common.context import db
from api.common.csrf import csrf_failure, csrf_token
from api.dashboard.common import STATUS_LABELS
from api.dashboard.data import dashboard_data
from registry.core import clock
from registry.core.errors import DomainError
from registry.core.models import ApiToken
from registry.core.tokens import Principal, principal_of, resolve_token

blp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

DASHBOARD_ROLES = ("admin", "regulator")
SESSION_KEY = "dashboard_token_id"
SESSION_SINCE = "dashboard_since"
#: A dashboard login lasts a working day.
SESSION_MAX_AGE_S = 8 * 3600


def current_principal(session_db: Session) -> Principal | None:
    """The signed-in dashboard user, looked up afresh (revoked or expired tokens end at
    once)."""
    token_id = session.get(SESSION_KEY)
    since = session.get(SESSION_SINCE, 0)
    if not isinstance(token_id, int) or time.time() - float(since) > SESSION_MAX_AGE_S:
        return None
    principal = principal_of(session_db.get(ApiToken, token_id))
    if principal is None or principal.role not in DASHBOARD_ROLES:
        return None
    return principal


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        principal = current_principal(db())
        if principal is None:
            session.pop(SESSION_KEY, None)
            return redirect(url_for("web.dashboard.login", next=request.full_path.rstrip("?")))
        return view(principal, *args, **kwargs)

    return wrapped


@blp.after_request
def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.app_template_filter("status_label")
def status_label(value: str) -> str:
    return STATUS_LABELS.get(value, value)


@blp.app_template_filter("amount")
def amount(value: Any) -> str:
    """An amount in 万元 without trailing zeros (``6.000000`` → ``6 万元``)."""
    if value in (None, ""):
        return "—"
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return f"{value} 万元"
    return f"{number:f} 万元"


def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard (no open redirect)."""
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return url_for("web.dashboard.index")


@blp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        failed = csrf_failure()
        if failed:
            return failed
        secret = (request.form.get("token") or "").strip()
        principal = resolve_token(db(), secret) if secret else None
        if principal is None:
            error, status = "令牌无效、已过期或已被撤销。", 401
        elif principal.role not in DASHBOARD_ROLES:
            error, status = "只有管理员和监管部门的令牌可以登录运行看板。", 403
        else:
            session.clear()  # a fresh session: no fixation, a new CSRF token
            session[SESSION_KEY] = principal.token_id
            session[SESSION_SINCE] = int(time.time())
            csrf_token()
            return redirect(_safe_next(request.form.get("next")), code=303)
    return (
        render_template(
            "dashboard/login.html",
            error=error,
            csrf=csrf_token(),
            next=request.values.get("next", ""),
        ),
        status,
    )


@blp.post("/logout")
def logout():
    failed = csrf_failure()
    if failed:
        return failed
    session.clear()
    return redirect(url_for("web.dashboard.login"), code=303)


@blp.errorhandler(DomainError)
def _refused(exc: DomainError) -> Any:
    """A refusal on a dashboard page (another authority's item, a missing one) is a page."""
    titles = {403: "无权查看", 404: "未找到"}
    page = render_template(
        "error.html",
        status=exc.status,
        title=titles.get(exc.status, "无法处理"),
        message=exc.message,
    )
    return page, exc.status


@blp.get("")
@blp.get("/")
@login_required
def index(principal: Principal):
    from api.dashboard.common import alert_titles, authority_names, rule_titles
    from api.dashboard.intake import dashboard_intake
    from registry.records.reports import batch_file_name

    session_db = db()
    data = dashboard_data(session_db, principal, clock.today())
    intake = dashboard_intake(session_db, principal, clock.today())
    codes = [b.authority_uscc for b in data["recent_batches"] if b.authority_uscc]
    return render_template(
        "dashboard/index.html",
        me=principal,
        d=data,
        intake=intake,
        csrf=csrf_token(),
        active="index",
        alert_kinds=alert_titles(),
        rule_titles=rule_titles(),
        names=authority_names(session_db, [*codes, principal.authority_uscc]),
        file_name=batch_file_name,
    )
