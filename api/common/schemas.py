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
from registry.records.schema import RESTORE_ONLY_FIELDS as RESTORE_ONLY_FIELDS
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


class AsOf(fields.Date):
    """The day an answer is for (``as_of``): ``YYYY-MM-DD``, and empty (``as_of=``) or
    absent means today — a form that leaves the field blank gets today's answer, not a
    422.  Loads to ``None`` for today; the views turn that into ``clock.today()``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("description", "查询日期 YYYY-MM-DD；不填或留空为今天")
        super().__init__(**kwargs)

    def deserialize(self, value: Any, attr: Any = None, data: Any = None, **kwargs: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return super().deserialize(value, attr, data, **kwargs)


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
            raise ValidationError("不能包含 NUL 字符")
        return text


def nullable(field: fields.Field) -> fields.Field:
    """Mark an output field nullable (documents ``nullable: true``)."""
    field.allow_none = True
    return field


# --- errors and paging -------------------------------------------------------------------


class ErrorBodySchema(Schema):
    code = Str(
        required=True,
        metadata={"description": "稳定的英文错误代码，供程序判断，如 not_found、invalid"},
    )
    message = Str(required=True, metadata={"description": "给人看的中文说明"})
    details = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={
            "description": "按字段列出的问题：字段名 → 中文说明列表（可为空对象）；"
            "嵌套字段与列表项以点号连接，如 codes.3"
        },
    )
    context = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "与错误有关的事实，供程序使用（如 penalty_id、limit、"
            "allowed_from、check）；没有时省略"
        },
    )


class ErrorSchema(Schema):
    """The one error shape: ``{"error": {"code", "message", "details"[, "context"]}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "code": "malformed_code",
        "message": "统一社会信用代码应为18位，实际为5位",
        "details": {"uscc": ["统一社会信用代码应为18位，实际为5位"]},
        "context": {"check": "length"},
    },
    401: {"code": "unauthorized", "message": "API 令牌无效、已过期或已被吊销", "details": {}},
    403: {
        "code": "forbidden",
        "message": "协同部门的令牌无权进行此操作（需要：监管部门）",
        "details": {},
        "context": {"role": "department", "allowed": ["regulator"]},
    },
    404: {"code": "not_found", "message": "名单条目 7 不存在", "details": {}},
    409: {"code": "conflict", "message": "名单条目 7 的状态为 active，不能确认", "details": {}},
    413: {
        "code": "too_large",
        "message": "一次最多核查 1000 个代码，本次提交了 1200 个",
        "details": {"codes": ["最多 1000 个"]},
        "context": {"limit": 1000, "given": 1200},
    },
    415: {
        "code": "unsupported_media_type",
        "message": "请求内容类型不受支持，请以 application/json 提交",
        "details": {},
    },
    422: {
        "code": "invalid",
        "message": "请求内容未通过校验，详见 details",
        "details": {"decision_number": ["必填项缺失"], "decided_on": ["日期无效"]},
    },
    429: {"code": "rate_limited", "message": "请求过于频繁，请稍后再试", "details": {}},
    503: {"code": "unavailable", "message": "数据库暂时不可用，请稍后再试", "details": {}},
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
# (RESTORE_ONLY_FIELDS, imported above from registry.records.schema)


def penalty_record_schema() -> PenaltyRecordSchema:
    """The shared record schema as the API takes it."""
    return PenaltyRecordSchema(exclude=RESTORE_ONLY_FIELDS)


# --- documentation and paging helpers --------------------------------------------------

ERROR_DESCRIPTIONS = {
    400: "请求格式错误（如代码格式错误：context.check 指明未通过的检查）",
    401: "缺少 API 令牌，或令牌无效、已过期、已吊销",
    403: "令牌的角色或所属机关无权进行此操作",
    404: "对象不存在",
    409: "对象当前的状态不允许此操作",
    413: "内容过大（上传文件大小或代码个数）",
    415: "请求内容类型不受支持",
    422: "内容未通过校验，details 按字段列出问题",
    429: "请求过于频繁；Retry-After 说明何时可以再试",
    503: "数据库暂时不可用",
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
