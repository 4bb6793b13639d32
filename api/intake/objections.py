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
from registry.records.models import Penalty

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

        Name the record by the entity's `uscc` and one of `decision_number` (as on the
        decision document), `penalty_id` or `list_entry_id` (as the public page shows
        them), and say why.  The answer carries the `receipt` — shown only this once —
        and the day the authority must answer by."""
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

        The receipt goes in the body (`{"receipt": "YY-…"}`), never in a URL.  Status,
        deadline and — once answered — the outcome and the authority's answer.  An
        unknown or mistyped receipt is 404.  Counted against the public read limit, not
        the filing limit."""
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

        Filter by `status` (open, answered) and `overdue=true` (open past the deadline);
        earliest deadline first, paginated."""
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
            .outerjoin(Penalty, Penalty.id == Objection.penalty_id)
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

        `corrected` with the whole corrected `record` (same `authority_uscc` and
        `decision_number`): written as a new version, the rules run again; `revoked`:
        the penalty is revoked (or the list entry removed) and the rules run again;
        `rejected`: the record stays, `answer` gives the reasons.  Only the deciding
        authority (403); an objection is answered once (409)."""
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
