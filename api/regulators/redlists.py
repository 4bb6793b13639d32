"""Regulators: red lists their authority names (守信激励名单 by designation, e.g.
海关高级认证企业, 纳税信用A级纳税人).  Entries are removed with the regulators' ``remove``
of ``/api/v1/list-entries/<id>/remove`` like any entry of their authority."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.common import auth
from api.common.context import db, runtime
from api.common.schemas import EXAMPLE_USCC, Str, documents_errors
from api.regulators.schemas import ListEntrySchema
from registry.lists.redlists import MAX_BASIS, add_named_entry

blp = Blueprint(
    "red-lists",
    __name__,
    url_prefix="/api/v1/red-lists",
    description="监管部门：把主体列入规则包中的红名单（守信激励名单）。",
)

ROLES = ("regulator",)


class NamedEntryRequestSchema(Schema):
    uscc = Str(required=True, validate=validate.Length(min=1, max=40))
    basis = Str(
        required=True,
        validate=validate.Length(min=1, max=MAX_BASIS),
        metadata={"description": "the naming decision, e.g. certificate or notice number"},
    )
    since = fields.Date(load_default=None, metadata={"description": "default today"})
    until = fields.Date(
        load_default=None, metadata={"description": "last day; default since + the list's term"}
    )
    name = Str(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "the entity's name (registers an entity the registry lacks)"},
    )


class NamedEntryResponseSchema(Schema):
    outcome = Str(required=True, metadata={"description": "added | updated | unchanged"})
    entry = fields.Nested(ListEntrySchema, required=True)


@blp.route("/<string:list_type>/entries")
class NamedEntries(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        NamedEntryRequestSchema,
        example={
            "uscc": EXAMPLE_USCC,
            "basis": "海关高级认证企业证书 AEOCN4403000001",
            "since": "2026-01-01",
            "until": "2028-12-31",
        },
    )
    @blp.response(
        201,
        NamedEntryResponseSchema,
        example={
            "outcome": "added",
            "entry": {
                "id": 9,
                "uscc": EXAMPLE_USCC,
                "list_type": "customs_aeo",
                "status": "active",
                "rule_id": None,
                "pack_version": "d2e81c59…",
                "authority_uscc": "11440305FQEFLCR611",
                "basis_penalty_ids": [],
                "proposed_on": "2026-11-29",
                "since": "2026-01-01",
                "until": "2028-12-31",
                "early_removal_from": "2026-01-01",
                "confirmed_by": "token:3",
                "ended_on": None,
                "ended_by": None,
                "end_reason": None,
                "note": "海关高级认证企业证书 AEOCN4403000001",
            },
        },
    )
    @documents_errors(blp, 422, 503)
    def post(self, body: dict[str, Any], list_type: str) -> Any:
        """Name an entity to a red list (认定守信激励对象)

        用于没有规则自动填充的激励名单（如 `customs_aeo`、`tax_a`）；
        条目以令牌所属机关的名义自 `since` 至 `until` 有效。
        同样的条目再次提交不作改变（`unchanged`）；
        日期或依据不同则更新有效的条目（`updated`）。"""
        principal = auth.current_principal()
        session = db()
        entry, outcome = add_named_entry(
            session,
            runtime().pack,
            list_type,
            body["uscc"],
            authority_uscc=principal.authority_uscc,
            actor=principal.actor,
            basis=body["basis"],
            since=body["since"],
            until=body["until"],
            name=body["name"],
        )
        session.commit()
        return {"outcome": outcome, "entry": entry}
