"""Regulators: list entries (名单) their authority decides — proposals to confirm or
reject, active entries to remove.  Every decision carries a reason in the body."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api.common import auth
from api.common.context import db, runtime
from api.common.schemas import documents_errors, page_window
from api.common.writes import run_rules
from api.regulators.schemas import (
    ListEntryArgsSchema,
    ListEntryPageSchema,
    ListEntrySchema,
    ReasonOptionalSchema,
    ReasonRequiredSchema,
    RemoveRequestSchema,
)
from registry.lists.entries import (
    check_authority,
    confirm_entry,
    get_entry,
    reject_entry,
    remove_entry,
)
from registry.lists.models import ListEntry

blp = Blueprint(
    "list-entries",
    __name__,
    url_prefix="/api/v1/list-entries",
    description="监管部门：本机关的名单条目（拟列入 → 生效 → 移出），确认或驳回。",
)

ROLES = ("regulator",)


@blp.route("")
class ListEntries(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ListEntryArgsSchema, location="query")
    @blp.response(200, ListEntryPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关的名单条目（默认：拟列入的）

        最早的在前，按提出的先后处理拟列入条目。"""
        principal = auth.current_principal()
        page, per_page = page_window(args)
        where = [ListEntry.authority_uscc == principal.authority_uscc]
        where.append(ListEntry.status == args["status"])
        if args.get("uscc"):
            where.append(ListEntry.uscc == args.get("uscc").strip().upper())
        if args.get("list_type"):
            where.append(ListEntry.list_type == args.get("list_type"))
        session = db()
        total = session.execute(
            select(func.count()).select_from(ListEntry).where(*where)
        ).scalar_one()
        items = session.execute(
            select(ListEntry)
            .where(*where)
            .order_by(ListEntry.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).scalars()
        return {"items": list(items), "page": page, "per_page": per_page, "total": total}


@blp.route("/<id:entry_id>")
class ListEntryOne(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, ListEntrySchema)
    @documents_errors(blp, 404, 503)
    def get(self, entry_id: int) -> ListEntry:
        """本机关的一个名单条目"""
        principal = auth.current_principal()
        entry = get_entry(db(), entry_id, lock=False)
        check_authority(entry, principal.authority_uscc)
        return entry


@blp.route("/<id:entry_id>/confirm")
class Confirm(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ReasonOptionalSchema, example={"reason": "当事人未在期限内提出陈述申辩"})
    @blp.response(200, ListEntrySchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], entry_id: int) -> ListEntry:
        """Confirm a proposed entry (列入决定)

        自今天起生效，期限为该名单的期限；措施自今天起约束。"""
        entry = auth.act_for_authority(confirm_entry, entry_id, body["reason"])
        run_rules([entry.uscc])  # the grade (D) and red lists follow at once
        return entry


@blp.route("/<id:entry_id>/reject")
class Reject(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(ReasonRequiredSchema, example={"reason": "听证后认定不符合列入条件"})
    @blp.response(200, ListEntrySchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], entry_id: int) -> ListEntry:
        """Reject a proposed entry (不予列入); the reason is required"""
        entry = auth.act_for_authority(reject_entry, entry_id, body["reason"])
        run_rules([entry.uscc])  # a pending proposal no longer holds back red lists
        return entry


@blp.route("/<id:entry_id>/remove")
class Remove(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        RemoveRequestSchema, example={"reason_code": "corrected", "reason": "已补报年度报告"}
    )
    @blp.response(200, ListEntrySchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], entry_id: int) -> ListEntry:
        """Remove an active entry (移出名单)

        `reason_code`：term_ended（期满）、repaired（已修复）、basis_revoked（依据被撤销）、
        corrected（已更正）或 manual（手工移出，此时须填写 `reason`）。"""
        principal = auth.current_principal()
        session = db()
        entry = remove_entry(
            session,
            runtime().pack,
            entry_id,
            principal.authority_uscc,
            principal.actor,
            body["reason_code"],
            body["reason"],
        )
        session.commit()
        run_rules([entry.uscc])
        return entry
