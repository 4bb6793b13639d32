"""What the rules decided: decisions with their basis and trace, alerts, credit grades,
the stored packs and their measures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.core.models import (
    BY_ID,
    Base,
    BigId,
    JsonDoc,
    Timestamps,
    UTCDateTime,
    subject_primary_key,
    utc_now,
)


class Decision(Base):
    """What the rules engine decided, with the pack version, the rule and the records that
    satisfied it: the source of every ``because``."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    rule_title: Mapped[str] = mapped_column(String(200))
    pack_version: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(40), comment="propose|activate|alert|withdraw")
    list_type: Mapped[str | None] = mapped_column(String(40))
    list_entry_id: Mapped[int | None] = mapped_column(BigId, index=True)
    basis_penalty_ids: Mapped[list[int]] = mapped_column(JsonDoc, default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    trace: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    __table_args__ = (subject_primary_key(),)
    __mapper_args__ = BY_ID


class Alert(Timestamps, Base):
    """A record that needs a second look, e.g. ``criminal-transfer-check`` (以罚代刑)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    penalty_id: Mapped[int] = mapped_column(BigId)
    decision_number: Mapped[str] = mapped_column(String(200))
    authority_uscc: Mapped[str] = mapped_column(String(18), index=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    pack_version: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", comment="open|resolved")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        subject_primary_key(),
        UniqueConstraint("uscc", "kind", "penalty_id"),
    )
    __mapper_args__ = BY_ID


class CreditGrade(Base):
    """A credit grade A–D (信用分类监管) with its explanation, kept with history."""

    __tablename__ = "credit_grades"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18))
    grade: Mapped[str] = mapped_column(String(2))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    pack_version: Mapped[str] = mapped_column(String(64))
    explanation: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)

    __table_args__ = (
        subject_primary_key(),
        UniqueConstraint("uscc", "since"),
    )
    __mapper_args__ = BY_ID


# --- packs and measures --------------------------------------------------------------


class RulePackRecord(Base):
    """Each rule pack version ever used, so stored decisions can be explained later."""

    __tablename__ = "rule_packs"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    content: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Measure(Base):
    """A joint-punishment (or incentive) measure of a pack version."""

    __tablename__ = "measures"

    pack_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), default="punishment")
    scenarios: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    list_types: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    binds: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
