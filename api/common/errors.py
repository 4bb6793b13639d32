"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain exceptions carry their status; this table maps them.  HTML is never returned
for an error under /api, and no stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

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
    ) -> None:
        super().__init__(message, details)
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
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, details: Any = None):
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details if details is not None else {},
        }
    }
    resp = jsonify(body)
    resp.status_code = status
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        details = getattr(exc, "data", None) or {}
        if isinstance(details, dict) and "messages" in details:
            details = details["messages"]
        resp = error_response(
            status, HTTP_CODES.get(status, "error"), exc.description or exc.name, details
        )
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
        return error_response(503, "unavailable", "the database is unavailable; try again shortly")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if app.testing and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise exc
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; it has been logged")
