"""Public complaints and reports (举报投诉): filed without an account, routed to the
authority of the entity's region, never published (registry.intake.complaints).

- ``public_blp`` (``/api/v1/public/complaints``): file one (``api.public_filing_rate_limit``)
  and follow its status by receipt — the status alone, the receipt posted in the body
  of ``/status``, never in a URL;
- ``blp`` (``/api/v1/complaints``): regulators list the complaints routed to their
  authority and move them on; administrators see every complaint, the queue of
  unroutable ones (``unrouted=true``), and route them.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db, runtime
from api.common.errors import Forbidden
from api.common.limiter import guard_filing_blueprint
from api.common.schemas import documents_errors, page_window
from api.intake.schemas import (
    COMPLAINT_FILE_EXAMPLE,
    EXAMPLE_COMPLAINT_RECEIPT,
    ComplaintArgsSchema,
    ComplaintFiledSchema,
    ComplaintFileSchema,
    ComplaintPageSchema,
    ComplaintRouteSchema,
    ComplaintSchema,
    ComplaintStatusChangeSchema,
    ComplaintStatusSchema,
    ReceiptSchema,
)
from registry.core.rows import page_of
from registry.intake.complaints import (
    file_complaint,
    find_by_receipt,
    get_complaint,
    reporter_view,
    route_complaint,
    set_status,
)
from registry.intake.models import Complaint

public_blp = Blueprint(
    "public_complaints",
    __name__,
    url_prefix="/api/v1/public/complaints",
    description="公众（无需账号）：举报涉嫌侵权或假冒商品，凭回执查询状态。",
)
blp = Blueprint(
    "complaints",
    __name__,
    url_prefix="/api/v1/complaints",
    description="监管部门：分派给本机关的举报；管理员：全部举报及分派。",
)

STATUS_EXAMPLE = {"status": "accepted", "filed_on": "2026-11-27", "status_on": "2026-11-28"}


_rate_limited = guard_filing_blueprint(public_blp)


@public_blp.route("")
class FileComplaint(MethodView):
    @public_blp.arguments(ComplaintFileSchema, example=COMPLAINT_FILE_EXAMPLE)
    @public_blp.response(
        201,
        ComplaintFiledSchema,
        example={
            "status": "received",
            "filed_on": "2026-11-27",
            "status_on": None,
            "receipt": EXAMPLE_COMPLAINT_RECEIPT,
        },
    )
    @documents_errors(public_blp, 422, 503)
    @_rate_limited
    def post(self, body: dict[str, Any]) -> Any:
        """举报涉嫌侵权或假冒商品

        `uscc` 必须是有效的代码（无论登记簿中是否有其记录）；`kind` 为 counterfeit（假冒）、
        trademark（商标）、patent（专利）、copyright（著作权）、quality（质量）或
        other（其他）之一。答复带有 `receipt` 回执——只出示这一次。"""
        session = db()
        filed = file_complaint(session, runtime().config, **body)
        answer = reporter_view(filed.complaint)
        session.commit()
        return {**answer, "receipt": filed.receipt}, 201


@public_blp.route("/status")
class ComplaintStatus(MethodView):
    @public_blp.arguments(ReceiptSchema, example={"receipt": EXAMPLE_COMPLAINT_RECEIPT})
    @public_blp.response(200, ComplaintStatusSchema, example=STATUS_EXAMPLE)
    @documents_errors(public_blp, 404, 422, 503)
    @_rate_limited
    def post(self, body: dict[str, str]) -> dict[str, Any]:
        """凭回执查询举报的处理状态（仅状态）

        回执放在请求体中（`{"receipt": "JB-…"}`），绝不放在 URL 中。未知或填错的回执答复 404。"""
        return reporter_view(find_by_receipt(db(), body["receipt"], runtime().keys))


def _scope(complaint: Complaint) -> Complaint:
    principal = auth.current_principal()
    if principal.role == "regulator" and complaint.authority_uscc != principal.authority_uscc:
        raise Forbidden("该举报不由本机关处理", details={"complaint_id": complaint.id})
    return complaint


@blp.route("")
class Complaints(MethodView):
    @auth.required(blp, "regulator", "admin")
    @blp.arguments(ComplaintArgsSchema, location="query")
    @blp.response(200, ComplaintPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """分派给本机关的举报（管理员：全部，或 `unrouted=true` 未分派的）

        最早的在前，分页；可按 `status` 筛选。"""
        principal = auth.current_principal()
        page, per_page = page_window(args)
        where = []
        if principal.role == "regulator":
            where.append(Complaint.authority_uscc == principal.authority_uscc)
        elif args.get("unrouted"):
            where.append(Complaint.authority_uscc.is_(None))
        if args.get("status"):
            where.append(Complaint.status == args["status"])
        rows, total = page_of(
            db(), Complaint, where, [Complaint.filed_on, Complaint.id], page=page, per_page=per_page
        )
        return {"items": rows, "page": page, "per_page": per_page, "total": total}


@blp.route("/<id:complaint_id>")
class ComplaintOne(MethodView):
    @auth.required(blp, "regulator", "admin")
    @blp.response(200, ComplaintSchema)
    @documents_errors(blp, 404, 503)
    def get(self, complaint_id: int) -> Complaint:
        """一件举报（监管部门只能查看本机关的）"""
        return _scope(get_complaint(db(), complaint_id))


@blp.route("/<id:complaint_id>/status")
class ComplaintStatusChange(MethodView):
    @auth.required(blp, "regulator")
    @blp.arguments(
        ComplaintStatusChangeSchema,
        example={"status": "closed", "note": "经现场检查，查获涉嫌假冒商品，已立案调查。"},
    )
    @blp.response(200, ComplaintSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], complaint_id: int) -> Complaint:
        """推进举报的处理：受理、调查、办结（办结须附说明）

        只有被分派的机关可以推进（否则 403）；只能向前推进（否则 409）。"""
        principal = auth.current_principal()
        session = db()
        complaint = set_status(
            session,
            complaint_id,
            principal.authority_uscc,
            principal.actor,
            body["status"],
            body.get("note"),
        )
        session.commit()
        return complaint


@blp.route("/<id:complaint_id>/route")
class ComplaintRoute(MethodView):
    @auth.required(blp, "admin")
    @blp.arguments(ComplaintRouteSchema)
    @blp.response(200, ComplaintSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], complaint_id: int) -> Complaint:
        """管理员：把举报分派给一个机关"""
        principal = auth.current_principal()
        session = db()
        complaint = route_complaint(session, complaint_id, body["authority_uscc"], principal.actor)
        session.commit()
        return complaint
