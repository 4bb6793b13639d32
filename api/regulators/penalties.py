"""Regulators: penalty records of their own authority — write one, list, revoke.

A record goes through the one record schema (:class:`registry.records.schema.PenaltyRecordSchema`)
and the one write path (:func:`registry.records.penalties.upsert_penalties`), keyed by
(authority, decision number): the same POST again is an idempotent update — 201 when
the record was created, 200 when it was updated or unchanged.  A regulator may write
and revoke only its own authority's records (403 otherwise).  After the write commits,
the rules run for the subjects it touched (they are queued as well, so the scheduler
catches up if that fails).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api.common import auth
from api.common.context import db, runtime
from api.common.errors import ApiError, Forbidden, NotFound
from api.common.schemas import documents_errors, page_window, penalty_record_schema
from api.common.writes import run_rules
from api.regulators.schemas import (
    PENALTY_EXAMPLE_IN,
    PenaltyArgsSchema,
    PenaltyPageSchema,
    PenaltySchema,
    PenaltyWriteSchema,
    ReasonRequiredSchema,
)
from registry.records.disclosure import revoke_penalty
from registry.records.models import Penalty
from registry.records.penalties import upsert_penalties

blp = Blueprint(
    "penalties",
    __name__,
    url_prefix="/api/v1/penalties",
    description="监管部门：本机关的行政处罚信息。",
)

ROLES = ("regulator",)


def _own(penalty: Penalty | None, penalty_id: int) -> Penalty:
    principal = auth.current_principal()
    if penalty is None:
        raise NotFound(f"行政处罚记录 {penalty_id} 不存在", details={"penalty_id": penalty_id})
    if penalty.authority_uscc != principal.authority_uscc:
        raise Forbidden(
            f"行政处罚记录 {penalty_id} 属于其他处罚机关",
            details={"penalty_id": penalty_id},
        )
    return penalty


def _mark_objections(session: Any, penalties: list[Penalty]) -> None:
    """Set ``under_objection`` on each record (an open objection, registry.intake.objections)."""
    from registry.intake.objections import under_objection

    objected, _ = under_objection(session, penalty_ids=[p.id for p in penalties])
    for penalty in penalties:
        penalty.under_objection = penalty.id in objected  # type: ignore[attr-defined]


@blp.route("")
class Penalties(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(PenaltyArgsSchema, location="query")
    @blp.response(200, PenaltyPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关的处罚记录

        可按 `uscc`、`decision_number` 和 `status` 筛选；决定日期最新的在前，分页（`page`、
        `per_page`）。"""
        principal = auth.current_principal()
        page, per_page = page_window(args)
        where = [Penalty.authority_uscc == principal.authority_uscc]
        if args.get("uscc"):
            where.append(Penalty.uscc == args.get("uscc").strip().upper())
        if args.get("decision_number"):
            where.append(Penalty.decision_number == args.get("decision_number").strip())
        if args.get("status"):
            where.append(Penalty.status == args.get("status"))
        session = db()
        total = session.execute(
            select(func.count()).select_from(Penalty).where(*where)
        ).scalar_one()
        items = session.execute(
            select(Penalty)
            .where(*where)
            .order_by(Penalty.decided_on.desc(), Penalty.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).scalars()
        items = list(items)
        _mark_objections(session, items)
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    @auth.required(blp, *ROLES)
    @blp.arguments(penalty_record_schema(), example=PENALTY_EXAMPLE_IN)
    @blp.response(201, PenaltyWriteSchema, description="created")
    @blp.alt_response(
        200, schema=PenaltyWriteSchema, description="updated or unchanged", success=True
    )
    @documents_errors(blp, 400, 422, 503)
    def post(self, record: dict[str, Any]) -> Any:
        """写入一条处罚记录（幂等）

        以（`authority_uscc`、`decision_number`）为键：新键创建记录（201）；
        同一键再次提交则更新，内容相同时不变（200）——绝不重复。`authority_uscc`
        必须是令牌所属机关（否则 403）。"""
        principal = auth.current_principal()
        if record["authority_uscc"] != principal.authority_uscc:
            raise Forbidden(
                f"处罚机关 {record['authority_uscc']} 不是本令牌所属机关，不能写入其记录",
                details={
                    "authority_uscc": record["authority_uscc"],
                    "token_authority": principal.authority_uscc,
                },
            )
        rt = runtime()
        session = db()
        result = upsert_penalties(session, [record], principal.actor, None, id_key=rt.keys.id_hash)
        if result.rejected:
            _idx, field_name, reason = result.rejected[0]
            raise ApiError(reason, details={field_name: [reason]}, status=422, code="invalid")
        penalty = session.execute(
            select(Penalty).where(
                Penalty.authority_uscc == record["authority_uscc"],
                Penalty.decision_number == record["decision_number"],
            )
        ).scalar_one()
        session.commit()
        run_rules(result.dirty)
        session.refresh(penalty)
        if result.created:
            return {"result": "created", "penalty": penalty}, 201
        outcome = "updated" if result.updated else "unchanged"
        return {"result": outcome, "penalty": penalty}, 200


@blp.route("/<id:penalty_id>")
class PenaltyOne(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, PenaltySchema)
    @documents_errors(blp, 404, 503)
    def get(self, penalty_id: int) -> Penalty:
        """本机关的一条处罚记录"""
        penalty = _own(db().get(Penalty, penalty_id), penalty_id)
        _mark_objections(db(), [penalty])
        return penalty


@blp.route("/<id:penalty_id>/revoke")
class PenaltyRevoke(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ReasonRequiredSchema, example={"reason": "经行政复议撤销原处罚决定"})
    @blp.response(200, PenaltySchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], penalty_id: int) -> Penalty:
        """撤销一条处罚记录

        记录立即停止公示；记录及其历史保留；
        该主体的规则重新运行（仅以被撤销记录为依据的名单条目随之移出）。
        只有记录所属机关可以撤销（否则 403）。"""
        principal = auth.current_principal()
        session = db()
        penalty = revoke_penalty(
            session, penalty_id, principal.authority_uscc, principal.actor, body["reason"]
        )
        session.commit()
        run_rules([penalty.subject_key])
        session.refresh(penalty)
        return penalty
