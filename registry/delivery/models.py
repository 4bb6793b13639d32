"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.core.models import ApiToken, Base, BigId, JsonDoc, Timestamps, UTCDateTime, utc_now


class Subscription(Timestamps, Base):
    """A department's webhook on list changes for given codes or lists."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(BigId, ForeignKey(ApiToken.id))
    url: Mapped[str] = mapped_column(String(1000))
    codes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    list_types: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(BigId, ForeignKey("subscriptions.id"), index=True)
    change_id: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
