"""Objections (异议申诉): filed by the public without an account, answered by the
deciding authority (registry.intake.objections holds the rules of the workflow).

- ``public_blp`` (``/api/v1/public/objections``): file one (rate-limited like every
  public filing, ``api.public_filing_rate_limit``), and follow it by receipt — posted
  in the body of ``/status``, never in a URL;
- ``blp`` (``/api/v1/objections``): the deciding authority's regulators list their
  objections and answer them — ``corrected`` (a new version of the record through the
  normal write path; the rules run again), ``revoked`` or ``rejected`` with reasons.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api.common import auth
from api.common.context import db, runtime
from api.common.limiter import guard_filing_blueprint
from api.common.schemas import documents_errors, page_window
from api.intake.schemas import (
    EXAMPLE_OBJECTION_RECEIPT,
    OBJECTION_FILE_EXAMPLE,
    OBJECTION_STATUS_EXAMPLE,
    ObjectionAnswerSchema,
    ObjectionArgsSchema,
    ObjectionFiledSchema,
    ObjectionFileSchema,
    ObjectionPageSchema,
    ObjectionSchema,
    ObjectionStatusSchema,
    ReceiptSchema,
)
from registry.core import clock
from registry.intake.models import Objection
from registry.intake.objections import (
    answer_objection,
    file_objection,
    filer_view,
    find_by_receipt,
    get_objection,
    is_overdue,
)
from registry.records.models import Penalty, on_penalty

public_blp = Blueprint(
    "public_objections",
    __name__,
    url_prefix="/api/v1/public/objections",
    description="公众（无需账号）：对记载本人的处罚记录提出异议（异议申诉），凭回执查询。",
)
blp = Blueprint(
    "objections",
    __name__,
    url_prefix="/api/v1/objections",
    description="监管部门：对本机关记录的异议及答复。",
)

ROLES = ("regulator",)


_rate_limited = guard_filing_blueprint(public_blp)


@public_blp.route("")
class FileObjection(MethodView):
    @public_blp.arguments(ObjectionFileSchema, example=OBJECTION_FILE_EXAMPLE)
    @public_blp.response(
        201,
        ObjectionFiledSchema,
        example={**OBJECTION_STATUS_EXAMPLE, "receipt": EXAMPLE_OBJECTION_RECEIPT},
    )
    @documents_errors(public_blp, 404, 409, 422, 503)
    @_rate_limited
    def post(self, body: dict[str, Any]) -> Any:
        """对处罚记录提出异议

        用主体的 `uscc` 加上 `decision_number`（决定书上的文号）、`penalty_id` 或
        `list_entry_id`（公示页面上显示的编号）之一指明记录，并说明理由。答复带有 `receipt`
        回执——只出示这一次——以及机关须答复的截止日。"""
        rt = runtime()
        session = db()
        filed = file_objection(session, rt.config, rt.pack, **body)
        answer = filer_view(session, filed.objection)
        session.commit()
        return {**answer, "receipt": filed.receipt}, 201


@public_blp.route("/status")
class ObjectionStatus(MethodView):
    @public_blp.arguments(ReceiptSchema, example={"receipt": EXAMPLE_OBJECTION_RECEIPT})
    @public_blp.response(200, ObjectionStatusSchema, example=OBJECTION_STATUS_EXAMPLE)
    @documents_errors(public_blp, 404, 422, 503)
    @_rate_limited
    def post(self, body: dict[str, str]) -> dict[str, Any]:
        """凭回执查询异议的处理状态

        回执放在请求体中（`{"receipt": "YY-…"}`），绝不放在 URL 中。答复状态、截止日，
        答复后还有结果和机关的答复。未知或填错的回执答复 404。计入公众查询的限额，
        而不是提交的限额。"""
        session = db()
        return filer_view(session, find_by_receipt(session, body["receipt"], runtime().keys))


def _items(rows: list[tuple[Objection, str | None]]) -> list[dict[str, Any]]:
    today = clock.today()
    out = []
    for objection, number in rows:
        item = {c.key: getattr(objection, c.key) for c in Objection.__table__.columns}
        item["decision_number"] = number
        item["overdue"] = objection.status == "open" and objection.due_on < today
        out.append(item)
    return out


def _one(objection: Objection) -> dict[str, Any]:
    number = None
    if objection.penalty_id is not None:
        number = (
            db()
            .execute(select(Penalty.decision_number).where(Penalty.id == objection.penalty_id))
            .scalar_one_or_none()
        )
    return _items([(objection, number)])[0]


@blp.route("")
class Objections(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ObjectionArgsSchema, location="query")
    @blp.response(200, ObjectionPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关收到的异议

        可按 `status`（open 待答复、answered 已答复）和 `overdue=true`（逾期未答复）筛选；
        截止日最早的在前，分页。"""
        principal = auth.current_principal()
        page, per_page = page_window(args)
        where = [Objection.authority_uscc == principal.authority_uscc]
        if args.get("status"):
            where.append(Objection.status == args["status"])
        if args.get("overdue") is True:
            where.append(is_overdue(clock.today()))
        elif args.get("overdue") is False:
            where.append(~is_overdue(clock.today()))
        session = db()
        total = session.execute(
            select(func.count()).select_from(Objection).where(*where)
        ).scalar_one()
        rows = session.execute(
            select(Objection, Penalty.decision_number)
            .outerjoin(Penalty, on_penalty(Objection))
            .where(*where)
            .order_by(Objection.due_on, Objection.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        return {
            "items": _items([(o, n) for o, n in rows]),
            "page": page,
            "per_page": per_page,
            "total": total,
        }


def _mine(objection_id: int) -> Objection:
    from registry.intake.objections import check_authority

    objection = get_objection(db(), objection_id)
    check_authority(objection, auth.current_principal().authority_uscc)
    return objection


@blp.route("/<id:objection_id>")
class ObjectionOne(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, ObjectionSchema)
    @documents_errors(blp, 404, 503)
    def get(self, objection_id: int) -> dict[str, Any]:
        """本机关收到的一个异议"""
        return _one(_mine(objection_id))


@blp.route("/<id:objection_id>/answer")
class Answer(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        ObjectionAnswerSchema,
        example={"outcome": "rejected", "answer": "经复核，处罚决定认定事实清楚，维持原记录。"},
    )
    @blp.response(200, ObjectionSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], objection_id: int) -> dict[str, Any]:
        """答复异议

        `corrected`（更正）须附完整的更正后 `record`（`authority_uscc` 和 `decision_number`
        不变）：作为新版本写入，规则重新运行；`revoked`（撤销）：撤销处罚（或移出名单条目），
        规则重新运行；`rejected`（驳回）：记录不变，`answer` 说明理由。
        只有作出决定的机关可以答复（否则 403）；异议只能答复一次（409）。"""
        from api.common.writes import run_rules

        principal = auth.current_principal()
        rt = runtime()
        session = db()
        done = answer_objection(
            session,
            rt.config,
            rt.pack,
            objection_id,
            principal.authority_uscc,
            principal.actor,
            body["outcome"],
            body.get("answer"),
            body.get("record"),
        )
        session.commit()
        run_rules(done.dirty)
        return _one(done.objection)
