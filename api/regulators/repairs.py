"""Regulators: credit repair (信用修复) applications for their authority's records and
list entries — file one received from the party, approve or reject it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db, runtime
from api.common.errors import Forbidden
from api.common.schemas import documents_errors, page_window
from api.regulators.schemas import (
    ReasonOptionalSchema,
    ReasonRequiredSchema,
    RepairArgsSchema,
    RepairPageSchema,
    RepairRequestSchema,
    RepairSchema,
)
from registry.core.rows import page_of
from registry.lists.models import Repair
from registry.lists.repairs import apply_repair, approve_repair, get_repair, reject_repair

blp = Blueprint(
    "repairs",
    __name__,
    url_prefix="/api/v1/repairs",
    description="监管部门：处罚公示或名单条目的信用修复。",
)

ROLES = ("regulator",)


@blp.route("")
class Repairs(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(RepairArgsSchema, location="query")
    @blp.response(200, RepairPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关收到的信用修复申请（可按状态筛选），最早的在前"""
        principal = auth.current_principal()
        page, per_page = page_window(args)
        where = [Repair.authority_uscc == principal.authority_uscc]
        if args.get("status"):
            where.append(Repair.status == args.get("status"))
        rows, total = page_of(
            db(), Repair, where, [Repair.applied_on, Repair.id], page=page, per_page=per_page
        )
        return {"items": rows, "page": page, "per_page": per_page, "total": total}

    @auth.required(blp, *ROLES)
    @blp.arguments(
        RepairRequestSchema,
        example={
            "target_type": "penalty",
            "target_id": 12,
            "applicant": "深圳市华鑫科技有限公司",
            "statement": "已履行行政处罚决定，并完成信用承诺和培训。",
        },
    )
    @blp.response(201, RepairSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any]) -> Repair:
        """登记当事人提交的信用修复申请

        未满最短期限时拒绝（`too_early`，`details.allowed_from` 给出可申请的日期），
        对象不可修复时 409。只能针对令牌所属机关的记录和条目：
        其他机关的对象在任何检查之前即答复 403，答复不透露其日期或状态。"""
        principal = auth.current_principal()
        session = db()
        repair = apply_repair(
            session,
            runtime().pack,
            body["target_type"],
            body["target_id"],
            body["applicant"],
            body["statement"],
            actor_authority_uscc=principal.authority_uscc,
        )
        session.commit()
        return repair


@blp.route("/<id:repair_id>")
class RepairOne(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, RepairSchema)
    @documents_errors(blp, 404, 503)
    def get(self, repair_id: int) -> Repair:
        """本机关的一个信用修复申请"""
        principal = auth.current_principal()
        repair = get_repair(db(), repair_id)
        if repair.authority_uscc != principal.authority_uscc:
            raise Forbidden("该修复申请由其他机关处理", details={"repair_id": repair_id})
        return repair


@blp.route("/<id:repair_id>/approve")
class Approve(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ReasonOptionalSchema)
    @blp.response(200, RepairSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], repair_id: int) -> Repair:
        """批准修复：处罚记录自今天起不再公示，或名单条目自今天起移出"""
        return auth.act_for_authority(approve_repair, repair_id, body["reason"])


@blp.route("/<id:repair_id>/reject")
class Reject(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ReasonRequiredSchema)
    @blp.response(200, RepairSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], repair_id: int) -> Repair:
        """驳回修复申请（须说明理由）"""
        return auth.act_for_authority(reject_repair, repair_id, body["reason"])
