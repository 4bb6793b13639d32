"""CSRF protection of the server-rendered forms (dashboard, filing forms): a token
kept in the signed session, checked on every POST.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import render_template, request, session

CSRF_KEY = "csrf_token"


# --- CSRF and the session ------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_failure() -> Any:
    """None when the form's CSRF token matches the session's, else the 400 page."""
    sent = request.form.get(CSRF_KEY, "")
    expected = session.get(CSRF_KEY, "")
    if expected and sent and hmac.compare_digest(sent, expected):
        return None
    page = render_template(
        "error.html",
        status=400,
        title="表单已失效",
        message="表单已过期或来源不明（CSRF 校验失败），请返回登录页刷新后重试。",
    )
    return page, 400
