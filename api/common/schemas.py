"""HTTP schemas of the JSON API (marshmallow), one module for every blueprint.

Request bodies reject unknown fields (marshmallow's default ``RAISE``); query strings
ignore them.  Response schemas document exactly what is dumped: dates as ISO 8601
strings, amounts in 万元 as decimal strings, every field that can be empty marked
nullable — schemathesis checks the answers against this document.

The penalty record itself is :class:`registry.records.schema.PenaltyRecordSchema`, the one
record schema of every door; the API takes it without the fields only a restored full
export may carry (state, keyed hashes), see :data:`RESTORE_ONLY_FIELDS`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from registry.records.parsing import format_amount
from registry.records.schema import PenaltyRecordSchema

# --- examples --------------------------------------------------------------------------

EXAMPLE_USCC = "914403054JURQ2830R"
EXAMPLE_AUTHORITY = "11440305FQEFLCR611"
EXAMPLE_DAY = "2026-11-29"

# --- fields ------------------------------------------------------------------------------


class IsoDate(fields.Date):
    """A date dumped as ``YYYY-MM-DD`` from a ``date`` or an ISO string."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value[:10]
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat() if isinstance(value, date) else str(value)


class IsoDateTime(fields.DateTime):
    """A timestamp dumped as ISO 8601 from a ``datetime`` or an ISO string."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return value.isoformat()


class AmountOut(fields.String):
    """An amount in 万元, dumped as a decimal string (never a float)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return format_amount(value)
        return str(value)


class Str(fields.String):
    """Text without NUL characters (PostgreSQL cannot store them; no record needs them)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        return text


def nullable(field: fields.Field) -> fields.Field:
    """Mark an output field nullable (documents ``nullable: true``)."""
    field.allow_none = True
    return field


# --- errors and paging -------------------------------------------------------------------


class ErrorBodySchema(Schema):
    code = Str(required=True, metadata={"description": "machine code, e.g. not_found, invalid"})
    message = Str(required=True, metadata={"description": "for people"})
    details = fields.Raw(
        required=True,
        metadata={"description": "field-level problems or context (an object; may be empty)"},
    )


class ErrorSchema(Schema):
    """The one error shape: ``{"error": {"code", "message", "details"}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"code": "bad_request", "message": "统一社会信用代码应为18位，实际为5位", "details": {}},
    401: {"code": "unauthorized", "message": "missing bearer token", "details": {}},
    403: {"code": "forbidden", "message": "this token's role may not do this", "details": {}},
    404: {"code": "not_found", "message": "not found", "details": {}},
    409: {"code": "conflict", "message": "名单条目 7 的状态为 active", "details": {}},
    413: {"code": "too_large", "message": "at most 1000 codes in one call", "details": {}},
    422: {
        "code": "invalid",
        "message": "Unprocessable Entity",
        "details": {"json": {"decision_number": ["必填项缺失"]}},
    },
    429: {"code": "rate_limited", "message": "120 per 1 minute", "details": {}},
    503: {"code": "unavailable", "message": "the database is unavailable", "details": {}},
}


class PageArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=100_000), metadata={"example": 1}
    )
    per_page = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "page size (capped by api.max_page_size)", "example": 20},
    )


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


# --- penalties -----------------------------------------------------------------------

#: Fields a record may carry only when a full export is restored (CLI import): the API
#: never sets state or keyed hashes directly — revocation has its own path.
RESTORE_ONLY_FIELDS: tuple[str, ...] = (
    "status",
    "revoked_on",
    "revoked_reason",
    "person_key",
    "id_masked",
    "legal_representative_key",
    "legal_representative_id_masked",
)


def penalty_record_schema() -> PenaltyRecordSchema:
    """The shared record schema as the API takes it."""
    return PenaltyRecordSchema(exclude=RESTORE_ONLY_FIELDS)


# --- documentation and paging helpers --------------------------------------------------

ERROR_DESCRIPTIONS = {
    400: "malformed request (e.g. a malformed code: details.check names the failed check)",
    404: "unknown resource",
    409: "the resource's state does not allow it",
    413: "too large (upload size or number of codes)",
    422: "invalid input, with field-level details",
    429: "rate limited; Retry-After says when to come back",
    503: "the database is unavailable",
}


def documents_errors(blp: Any, *statuses: int) -> Any:
    """Document error answers of a view in the one error shape, with examples."""

    def decorator(func: Any) -> Any:
        for status in statuses:
            func = blp.alt_response(
                status,
                schema=ErrorSchema,
                description=ERROR_DESCRIPTIONS.get(status, "error"),
                example={"error": ERROR_EXAMPLES[status]},
            )(func)
        return func

    return decorator


def page_window(args: dict[str, Any]) -> tuple[int, int]:
    """``(page, per_page)`` from paging arguments, per_page capped by api.max_page_size."""
    from flask import current_app

    cap = current_app.extensions["registry"].config.api.max_page_size
    return int(args.get("page") or 1), min(int(args.get("per_page") or 20), cap)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_amount(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def json_answer(data: Any, status: int = 200) -> Any:
    """A JSON response written straight from plain data (dates ISO 8601, amounts as
    decimal strings), for large answers whose shape the domain function already gives
    exactly as documented (batch checks: marshmallow would spend most of the time).
    The documented schema still describes it and the schemathesis run checks it."""
    from flask import current_app

    body = json.dumps(data, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json")
