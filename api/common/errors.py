"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain exceptions carry their status; this table maps them.  Every message is Chinese
(:mod:`api.common.messages` translates what the frameworks say), ``code`` is a stable
English word, ``details`` is always ``{field: [messages]}`` and ``context`` carries the
facts a client may act on (ids, limits, dates).  Under /api (and the operations paths)
the answer is JSON whatever the client accepts; a browser asking for a page gets an HTML
error page.  No stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from api.common.messages import (
    GENERIC,
    STATUS_MESSAGES,
    field_messages,
    is_chinese,
    translate,
)
from registry.core.db import DatabaseUnavailable
from registry.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

log = logging.getLogger("api")


class ApiError(DomainError):
    """An HTTP-level error (malformed request, size limits…) with an explicit status and
    code; domain failures use registry.core.errors, re-exported here for the views."""

    def __init__(
        self,
        message: str,
        details: Any = None,
        *,
        status: int | None = None,
        code: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details, context=context)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


__all__ = ["ApiError", "Conflict", "Forbidden", "Invalid", "NotFound", "Unauthorized"]


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}

#: Paths answered in JSON whatever the client accepts; every other path is a page.
JSON_PREFIXES = ("/api/", "/metrics", "/healthz", "/readyz")

#: Titles of the HTML error page by status.
PAGE_TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    405: "请求方式不受支持",
    413: "提交的内容过大",
    415: "提交的内容类型不受支持",
    422: "提交的内容有误",
    429: "访问过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def error_body(
    status: int, code: str, message: str, details: Any = None, context: Any = None
) -> dict[str, Any]:
    """The one error shape: ``message`` in Chinese, ``code`` a stable English word,
    ``details`` always ``{field: [messages]}`` (translated), ``context`` the facts a client
    may act on (ids, limits, dates, the failed check) when there are any."""
    body: dict[str, Any] = {
        "code": code,
        "message": translate_message(message, status),
        "details": field_messages(details or {}),
    }
    if context:
        body["context"] = context
    return {"error": body}


def translate_message(message: str | None, status: int) -> str:
    """The error's message for a person: our own Chinese text, a translated framework
    sentence, or the status's message."""
    text = (message or "").strip()
    if text and is_chinese(text):
        return text
    translated = translate(text) if text else GENERIC
    return STATUS_MESSAGES.get(status, translated) if translated == GENERIC else translated


def split_details(details: Any) -> tuple[Any, dict[str, Any]]:
    """A domain error's ``details`` as (field messages, context): lists and mappings are
    field messages (``{"reason": ["必须填写"]}``, webargs' ``{"json": {…}}``); a scalar is a
    fact about the error (``{"penalty_id": 7}``, ``{"check": "length"}``) and goes to
    ``context``."""
    if not isinstance(details, dict):
        return ({"_schema": list(details)} if isinstance(details, list) else {}), {}
    fields: dict[str, Any] = {}
    context: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, dict | list | tuple):
            fields[key] = value
        else:
            context[key] = value
    return fields, context


def error_response(
    status: int, code: str, message: str, details: Any = None, context: Any = None
) -> Response:
    resp = jsonify(error_body(status, code, message, details, context))
    resp.status_code = status
    return resp


def wants_page() -> bool:
    """A browser asking for a page (not the JSON API): answer errors as HTML."""
    if request.path.startswith(JSON_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "text/html"


def error_page(status: int, message: str) -> Response:
    from flask import render_template

    html = render_template(
        "error.html",
        status=status,
        title=PAGE_TITLES.get(status, "出错了"),
        message=translate_message(message, status),
    )
    return Response(html, status=status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        fields, context = split_details(exc.details)
        context.update(getattr(exc, "context", None) or {})
        if wants_page():
            return error_page(exc.status, exc.message)
        return error_response(exc.status, exc.code, exc.message, fields, context)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        details = data.get("messages", {}) if isinstance(data, dict) else {}
        # Werkzeug's and the limiter's descriptions are English sentences: the status
        # says it in Chinese; our own aborts carry Chinese descriptions and keep them.
        description = exc.description if is_chinese(exc.description or "") else ""
        message = description or _status_message(status)
        if wants_page():
            resp = error_page(status, message)
        else:
            resp = error_response(status, HTTP_CODES.get(status, "error"), message, details)
        if status == 405 and exc.get_response().headers.get("Allow"):
            resp.headers["Allow"] = exc.get_response().headers["Allow"]
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            resp.headers["Retry-After"] = str(retry)
        return resp

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(OperationalError)
    def _db_down(exc: Exception):
        if isinstance(exc, DBAPIError) and not getattr(exc, "connection_invalidated", True):
            log.exception("database error on %s %s", request.method, request.path)
        if wants_page():
            return error_page(503, STATUS_MESSAGES[503])
        return error_response(503, "unavailable", STATUS_MESSAGES[503])

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if app.testing and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise exc
        log.exception("unexpected error on %s %s", request.method, request.path)
        if wants_page():
            return error_page(500, STATUS_MESSAGES[500])
        return error_response(500, "internal", STATUS_MESSAGES[500])


def _status_message(status: int) -> str:
    if status == 413:
        from flask import current_app

        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            return f"请求内容过大：上限为 {limit // (1024 * 1024)} MB"
    return STATUS_MESSAGES.get(status, STATUS_MESSAGES[400])
