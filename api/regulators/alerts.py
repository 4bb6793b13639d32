"""Regulators: alerts of their authority (e.g. `criminal-transfer-check`, 以罚代刑),
each with the record and the threshold it reached; resolved by recording the transfer
to the police or the reason the case is not transferred."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db
from api.common.schemas import documents_errors, page_window
from api.regulators.schemas import (
    AlertArgsSchema,
    AlertPageSchema,
    AlertSchema,
    ResolveRequestSchema,
)
from registry.supervision.alerts import list_alerts, resolve_alert

blp = Blueprint(
    "alerts",
    __name__,
    url_prefix="/api/v1/alerts",
    description="监管部门：本机关处罚记录上的预警（如以罚代刑）。",
)


@blp.route("")
class Alerts(MethodView):
    @auth.required(blp, "regulator")
    @blp.arguments(AlertArgsSchema, location="query")
    @blp.response(200, AlertPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关的预警（默认：未处理的），最早的在前"""
        principal = auth.current_principal()
        assert principal.authority_uscc is not None  # auth.require checks regulators
        page, per_page = page_window(args)
        items, total = list_alerts(
            db(),
            principal.authority_uscc,
            status=args.get("status"),
            kind=args.get("kind"),
            page=page,
            per_page=per_page,
        )
        return {"items": items, "page": page, "per_page": per_page, "total": total}


@blp.route("/<id:alert_id>/resolve")
class Resolve(MethodView):
    @auth.required(blp, "regulator")
    @blp.arguments(
        ResolveRequestSchema,
        examples={
            "transferred": {
                "value": {
                    "transfer": {
                        "police_unit": "深圳市公安局南山分局",
                        "transferred_on": "2026-11-20",
                        "case_number": "深南公刑〔2026〕88号",
                    }
                }
            },
            "not transferred": {"value": {"reason": "经核实违法经营额未达立案追诉标准"}},
        },
    )
    @blp.response(200, AlertSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], alert_id: int) -> dict[str, Any]:
        """处理预警：记录移送，或说明不移送的理由"""
        principal = auth.current_principal()
        session = db()
        view = resolve_alert(
            session,
            alert_id,
            principal.authority_uscc,
            principal.actor,
            transfer=body["transfer"],
            reason=body["reason"],
        )
        session.commit()
        return view
