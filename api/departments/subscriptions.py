"""Departments: webhooks on list changes for given codes or lists, and their delivery
log.  Deliveries are signed (`X-Registry-Signature: sha256=<HMAC-SHA256 of the raw
body>`, with the secret shown once at creation) and retried with exponential backoff
(:mod:`registry.delivery.webhooks`)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db, runtime
from api.common.schemas import EXAMPLE_USCC, documents_errors, page_window
from api.departments.schemas import (
    DeliveryArgsSchema,
    DeliveryPageSchema,
    SubscriptionCreatedSchema,
    SubscriptionListSchema,
    SubscriptionRequestSchema,
    SubscriptionSchema,
)
from registry.delivery.webhooks import (
    REPLAY_WINDOW_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    cancel_subscription,
    create_subscription,
    get_subscription,
    list_deliveries,
    list_subscriptions,
)

blp = Blueprint(
    "subscriptions",
    __name__,
    url_prefix="/api/v1/subscriptions",
    description="协同部门：名单变更的推送订阅（签名、失败重试）。",
)

ROLES = ("department", "admin")


@blp.route("")
class Subscriptions(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, SubscriptionListSchema)
    @documents_errors(blp, 503)
    def get(self) -> dict[str, Any]:
        """本令牌的订阅"""
        principal = auth.current_principal()
        return {"items": list_subscriptions(db(), principal.token_id)}

    @auth.required(blp, *ROLES)
    @blp.arguments(
        SubscriptionRequestSchema,
        example={
            "url": "https://procurement.example.gov.cn/hooks/credit",
            "codes": [EXAMPLE_USCC],
            "list_types": ["samr_serious"],
        },
    )
    @blp.response(201, SubscriptionCreatedSchema)
    @documents_errors(blp, 422, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """订阅名单变更（推送到一个 URL）

        `codes` 为空：全部代码；`list_types` 为空：全部名单。答复中带有签名用的
        `secret`——只在此时出示一次。每次推送是一个 JSON POST，带请求头
        `X-Registry-Timestamp: <Unix 秒>`、`X-Registry-Signature: sha256=<十六进制的
        HMAC-SHA256(secret, "<timestamp>.<原始请求体>")>`、
        `X-Registry-Delivery` 和 `X-Registry-Event`；时间戳与您的时钟相差超过 300 秒的请求
        应拒收（防重放）。主机名须解析为公网地址（开发模式之外须用 https），每次推送前都再
        检查一次。答复不是 2xx 或超时则按指数退避重试。"""
        principal = auth.current_principal()
        rt = runtime()
        session = db()
        sub, secret = create_subscription(
            session,
            rt.pack,
            token_id=principal.token_id,
            actor=principal.actor,
            url=body["url"],
            codes=body["codes"],
            list_types=body["list_types"],
            webhook_key=rt.keys.webhook,
            allow_private=rt.config.webhooks.allow_private_addresses,
            require_https=not rt.config.security.development,
        )
        session.commit()
        return {
            "id": sub.id,
            "url": sub.url,
            "codes": sub.codes,
            "list_types": sub.list_types,
            "active": sub.active,
            "created_at": sub.created_at,
            "secret": secret,
            "signature_header": SIGNATURE_HEADER,
            "signature_scheme": 'sha256=hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))',
            "timestamp_header": TIMESTAMP_HEADER,
            "replay_window_seconds": REPLAY_WINDOW_S,
        }


@blp.route("/<id:subscription_id>")
class SubscriptionOne(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, SubscriptionSchema)
    @documents_errors(blp, 404, 503)
    def get(self, subscription_id: int) -> Any:
        """本令牌的一个订阅"""
        return get_subscription(db(), subscription_id, auth.current_principal().token_id)

    @auth.required(blp, *ROLES)
    @blp.response(200, SubscriptionSchema)
    @documents_errors(blp, 404, 503)
    def delete(self, subscription_id: int) -> Any:
        """取消订阅（尚未送达的推送一并取消）"""
        principal = auth.current_principal()
        session = db()
        sub = cancel_subscription(session, subscription_id, principal.token_id, principal.actor)
        session.commit()
        return sub


@blp.route("/<id:subscription_id>/deliveries")
class Deliveries(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(DeliveryArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    @documents_errors(blp, 404, 422, 503)
    def get(self, args: dict[str, Any], subscription_id: int) -> dict[str, Any]:
        """推送记录：每次推送的状态、尝试次数和最后一次答复"""
        principal = auth.current_principal()
        page, per_page = page_window(args)
        items, total = list_deliveries(
            db(),
            subscription_id,
            principal.token_id,
            status=args.get("status"),
            page=page,
            per_page=per_page,
        )
        return {"items": items, "page": page, "per_page": per_page, "total": total}
