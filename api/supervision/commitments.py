"""Quality commitments (质量承诺): recorded by a regulator for its authority, or by an
administrator; public on the entity's page and at
``/api/v1/public/entities/<uscc>/supervision``."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db
from api.common.schemas import EXAMPLE_USCC, documents_errors, page_window
from api.supervision.schemas import (
    CommitmentArgsSchema,
    CommitmentPageSchema,
    CommitmentRequestSchema,
    CommitmentSchema,
    WithdrawRequestSchema,
)
from registry.core.rows import page_of
from registry.supervision.commitments import record_commitment, withdraw_commitment
from registry.supervision.models import QualityCommitment

blp = Blueprint(
    "commitments",
    __name__,
    url_prefix="/api/v1/commitments",
    description="监管部门和管理员：主体的质量承诺。",
)

ROLES = ("regulator", "admin")


def _scope() -> str | None:
    """The caller's authority (a regulator), or None for an administrator (all)."""
    principal = auth.current_principal()
    return principal.authority_uscc if principal.role == "regulator" else None


@blp.route("")
class Commitments(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(CommitmentArgsSchema, location="query")
    @blp.response(200, CommitmentPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关登记的质量承诺（管理员：全部），最新的在前"""
        page, per_page = page_window(args)
        where = []
        authority = _scope()
        if authority is not None:
            where.append(QualityCommitment.authority_uscc == authority)
        if args.get("uscc"):
            where.append(QualityCommitment.uscc == args["uscc"].strip().upper())
        order = [QualityCommitment.id.desc()]
        rows, total = page_of(db(), QualityCommitment, where, order, page=page, per_page=per_page)
        return {"items": rows, "page": page, "per_page": per_page, "total": total}

    @auth.required(blp, *ROLES)
    @blp.arguments(
        CommitmentRequestSchema,
        example={
            "uscc": EXAMPLE_USCC,
            "products": "速冻水饺、汤圆",
            "standard": "Q/HX 001-2026（严于 GB 19295-2021）",
            "statement": "本企业承诺按严于国家标准的企业标准组织生产，接受社会监督。",
            "made_on": "2026-11-01",
        },
    )
    @blp.response(201, CommitmentSchema)
    @documents_errors(blp, 422, 503)
    def post(self, body: dict[str, Any]) -> QualityCommitment:
        """登记主体公开作出的质量承诺"""
        principal = auth.current_principal()
        session = db()
        row = record_commitment(session, _scope(), principal.actor, **body)
        session.commit()
        return row


@blp.route("/<id:commitment_id>/withdraw")
class Withdraw(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(WithdrawRequestSchema, example={"reason": "企业申请撤回承诺"})
    @blp.response(200, CommitmentSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], commitment_id: int) -> QualityCommitment:
        """自今天起撤回质量承诺（登记机关或管理员）"""
        principal = auth.current_principal()
        session = db()
        row = withdraw_commitment(session, commitment_id, _scope(), principal.actor, body["reason"])
        session.commit()
        return row
