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
    description="Departments: webhooks on list changes, signed and retried.",
)

ROLES = ("department", "admin")


@blp.route("")
class Subscriptions(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, SubscriptionListSchema)
    @documents_errors(blp, 503)
    def get(self) -> dict[str, Any]:
        """The token's subscriptions"""
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
        """Subscribe a URL to list changes

        Empty `codes`: every code; empty `list_types`: every list.  The answer
        carries the signing `secret` — the only time it is shown.  Each delivery is a
        JSON POST with `X-Registry-Timestamp: <Unix seconds>`, `X-Registry-Signature:
        sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`,
        `X-Registry-Delivery` and `X-Registry-Event`; refuse a timestamp more than 300
        seconds from your clock (replays).  The host must resolve to public addresses
        (https outside development); it is checked again at each delivery.  A non-2xx
        answer or a timeout is retried with exponential backoff."""
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
        """One of the token's subscriptions"""
        return get_subscription(db(), subscription_id, auth.current_principal().token_id)

    @auth.required(blp, *ROLES)
    @blp.response(200, SubscriptionSchema)
    @documents_errors(blp, 404, 503)
    def delete(self, subscription_id: int) -> Any:
        """Cancel a subscription (pending deliveries are dropped)"""
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
        """The delivery log: each delivery's status, attempts and last answer"""
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
