"""Regulators: confirm or reject many proposed list entries at once, with one reason.

`POST /api/v1/list-entries/confirm` and `/reject` take either `ids` or a `filter` over
the token's authority's proposals (list type, proposal dates, region), all or nothing
per call (:mod:`registry.lists.bulk`): each entry goes through the single decision's
operation and audit; when one cannot be decided nothing is written and the 409 names
every failing id.  After the decisions, the rules run for the subjects as after any
other write.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.common import auth
from api.common.context import db, runtime
from api.common.schemas import IsoDate, Str, documents_errors
from api.common.writes import run_rules
from registry.lists.bulk import EntryFilter, decide_filter, decide_ids

blp = Blueprint(
    "list-entries-bulk",
    __name__,
    url_prefix="/api/v1/list-entries",
    description="监管部门：用同一理由批量确认或驳回本机关的拟列入条目，要么全部成功，要么全部不写入。",
)


# --- shapes --------------------------------------------------------------------------


class EntryFilterSchema(Schema):
    list_type = Str(validate=validate.Length(min=1, max=40), metadata={"example": "samr_serious"})
    proposed_from = IsoDate(metadata={"description": "proposed on or after"})
    proposed_to = IsoDate(metadata={"description": "proposed on or before"})
    region = Str(
        validate=validate.Regexp(
            r"^(\d{2}|\d{4}|\d{6})$", error="应为行政区划代码的前 2、4 或 6 位"
        ),
        metadata={
            "description": "leading digits of the subject's division code",
            "example": "4403",
        },
    )


class BulkConfirmSchema(Schema):
    ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        validate=validate.Length(min=1),
        metadata={"description": "entries to decide (or `filter`, not both)"},
    )
    filter = fields.Nested(EntryFilterSchema, metadata={"description": "or: every match"})
    expected_count = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "with `filter`: refuse unless it matches exactly this many"},
    )
    reason = Str(load_default=None, validate=validate.Length(max=5000))

    @validates_schema
    def _one_selection(self, data: dict[str, Any], **_: Any) -> None:
        if ("ids" in data) == ("filter" in data):
            raise ValidationError("须给出 ids 或 filter 之一", "ids")
        if "expected_count" in data and "filter" not in data:
            raise ValidationError("expected_count 只能与 filter 一起使用", "expected_count")


class BulkRejectSchema(BulkConfirmSchema):
    reason = Str(required=True, validate=validate.Length(min=1, max=5000))


class BulkItemSchema(Schema):
    id = fields.Integer(required=True)
    uscc = Str(required=True)
    list_type = Str(required=True)
    status = Str(required=True, metadata={"description": "active (confirmed) | rejected"})
    since = IsoDate(allow_none=True)
    until = IsoDate(allow_none=True)


class BulkAnswerSchema(Schema):
    decision = Str(required=True, metadata={"description": "confirm | reject"})
    count = fields.Integer(required=True)
    items = fields.List(fields.Nested(BulkItemSchema), required=True)


# --- views ---------------------------------------------------------------------------


def _decide(decision: str, body: dict[str, Any]) -> dict[str, Any]:
    principal = auth.current_principal()
    session = db()
    rt = runtime()
    limit = rt.config.lists.bulk_limit
    if "ids" in body:
        result = decide_ids(
            session,
            rt.pack,
            decision,
            body["ids"],
            principal.authority_uscc,
            principal.actor,
            body["reason"],
            limit=limit,
        )
    else:
        wanted = body["filter"]
        result = decide_filter(
            session,
            rt.pack,
            decision,
            EntryFilter(
                authority_uscc=principal.authority_uscc or "",
                list_type=wanted.get("list_type"),
                proposed_from=wanted.get("proposed_from"),
                proposed_to=wanted.get("proposed_to"),
                region=wanted.get("region"),
            ),
            principal.authority_uscc,
            principal.actor,
            body["reason"],
            limit=limit,
            expected_count=body.get("expected_count"),
        )
    items = [
        {
            "id": e.id,
            "uscc": e.uscc,
            "list_type": e.list_type,
            "status": e.status,
            "since": e.since,
            "until": e.until,
        }
        for e in result.entries
    ]
    session.commit()
    run_rules(result.subject_keys)
    return {"decision": decision, "count": len(items), "items": items}


@blp.route("/confirm")
class BulkConfirm(MethodView):
    @auth.required(blp, "regulator")
    @blp.arguments(
        BulkConfirmSchema,
        example={
            "filter": {"list_type": "samr_serious"},
            "expected_count": 2561,
            "reason": "告知期满未陈述申辩",
        },
    )
    @blp.response(200, BulkAnswerSchema)
    @documents_errors(blp, 409, 422, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Confirm many proposed entries (列入决定), all or nothing

        按 `ids`，或按 `filter`（本机关与之匹配的全部拟列入条目，最多 `lists.bulk_limit` 个；
        给出 `expected_count` 时，若筛选结果的数量已变化则拒绝本次调用）。每个条目的确认、
        日期和审计与 `POST /list-entries/{id}/confirm` 相同；只要有一个不能确认，就什么也
        不写入，409 的 `context.failures` 列出每个编号及其原因。"""
        return _decide("confirm", body)


@blp.route("/reject")
class BulkReject(MethodView):
    @auth.required(blp, "regulator")
    @blp.arguments(
        BulkRejectSchema, example={"ids": [101, 102], "reason": "听证后认定不符合列入条件"}
    )
    @blp.response(200, BulkAnswerSchema)
    @documents_errors(blp, 409, 422, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Reject many proposed entries (不予列入) with one reason, all or nothing

        与批量确认相同；必须填写理由。"""
        return _decide("reject", body)
