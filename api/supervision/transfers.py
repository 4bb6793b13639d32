"""Regulators: case transfers to the police (行政执法与刑事司法衔接) for their own
penalty records, and the report of records over a prosecution threshold that have no
transfer recorded (以罚代刑 risk)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db
from api.common.schemas import PageArgsSchema, documents_errors, page_window
from api.supervision.schemas import (
    OutcomeRequestSchema,
    TransferListSchema,
    TransferOutSchema,
    TransferRequestSchema,
    UntransferredSchema,
)
from registry.supervision.models import CaseTransfer
from registry.supervision.transfers import (
    record_outcome,
    record_transfer,
    transfer_view,
    transfers_of,
    untransferred,
)

blp = Blueprint(
    "transfers",
    __name__,
    url_prefix="/api/v1",
    description="监管部门：本机关案件移送公安机关的记录及其处理结果。",
)

ROLES = ("regulator",)


def _principal() -> Any:
    principal = auth.current_principal()
    assert principal.authority_uscc is not None  # auth.require checks regulators
    return principal


def _act(operation: Callable[..., CaseTransfer], target_id: int, **fields: Any) -> dict[str, Any]:
    """Record ``operation`` on ``target_id`` for the caller's authority, commit; the
    transfer record as answered."""
    principal = _principal()
    session = db()
    row = operation(session, target_id, principal.authority_uscc, principal.actor, **fields)
    session.commit()
    return transfer_view(row)


@blp.route("/penalties/<id:penalty_id>/transfers")
class PenaltyTransfers(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, TransferListSchema)
    @documents_errors(blp, 404, 503)
    def get(self, penalty_id: int) -> dict[str, Any]:
        """本机关一条处罚记录的移送记录

        移送记录，以及处理预警时给出的不移送理由。"""
        rows = transfers_of(db(), penalty_id, _principal().authority_uscc)
        return {"items": [transfer_view(r) for r in rows]}

    @auth.required(blp, *ROLES)
    @blp.arguments(
        TransferRequestSchema,
        example={
            "police_unit": "深圳市公安局南山分局",
            "transferred_on": "2026-11-20",
            "case_number": "深南公刑〔2026〕88号",
        },
    )
    @blp.response(201, TransferOutSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], penalty_id: int) -> dict[str, Any]:
        """登记案件移送公安机关

        同时处理该处罚未结的 `criminal-transfer-check`（以罚代刑）预警。
        每条处罚只能移送一次（再次移送 409）；只有记录所属机关可以登记（否则 403）。"""
        return _act(
            record_transfer,
            penalty_id,
            police_unit=body["police_unit"],
            transferred_on=body["transferred_on"],
            case_number=body["case_number"],
            outcome=body["outcome"],
        )


@blp.route("/transfers/<id:transfer_id>/outcome")
class TransferOutcome(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        OutcomeRequestSchema, example={"outcome": "公安机关已立案侦查", "outcome_on": "2026-11-27"}
    )
    @blp.response(200, TransferOutSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], transfer_id: int) -> dict[str, Any]:
        """登记移送案件的处理结果"""
        return _act(
            record_outcome, transfer_id, outcome=body["outcome"], outcome_on=body["outcome_on"]
        )


@blp.route("/reports/untransferred")
class Untransferred(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, UntransferredSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Records over a prosecution threshold with no transfer recorded (以罚代刑 risk)

        规则对其发出 `criminal-transfer-check`（以罚代刑，DOMAIN.md §4 的标准）预警、
        未撤销且未移送的本机关处罚——无论预警仍未处理，还是已附不移送理由关闭（理由一并列出）。"""
        page, per_page = page_window(args)
        return untransferred(db(), _principal().authority_uscc, page=page, per_page=per_page)
