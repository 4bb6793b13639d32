"""Objections, complaints and departments' feedback on measures."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.core.models import (
    BY_ID,
    Base,
    BigId,
    Timestamps,
    UTCDateTime,
    subject_primary_key,
    utc_now,
)

# --- intake ----------------------------------------------------------------------------


class Objection(Timestamps, Base):
    """An objection (异议申诉) to a penalty record or a list entry, filed by anyone named
    in it without an account, answered by the deciding authority within a deadline."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    # Unique through ``receipts`` (written with the objection): a unique constraint here
    # would have to contain ``uscc`` on Citus, and say nothing about other subjects.
    receipt_hash: Mapped[str] = mapped_column(
        String(64),
        comment="HMAC-SHA256 of the receipt (receipt key); the receipt is never stored",
    )
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    penalty_id: Mapped[int | None] = mapped_column(BigId)
    list_entry_id: Mapped[int | None] = mapped_column(BigId)
    authority_uscc: Mapped[str] = mapped_column(String(18), index=True)
    contact: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", comment="open | answered")
    filed_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(16), comment="corrected|revoked|rejected")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    corrected_version: Mapped[int | None] = mapped_column(
        Integer, comment="the penalty's version after a correction"
    )

    __table_args__ = (subject_primary_key(),)
    __mapper_args__ = BY_ID


class Complaint(Timestamps, Base):
    """A public complaint or report (举报投诉) of suspected infringement or counterfeit
    goods against a code, routed to the authority of the entity's region; never published."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_hash: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        comment="HMAC-SHA256 of the receipt (receipt key); the receipt is never stored",
    )
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(
        String(16), comment="counterfeit|trademark|patent|copyright|quality|other"
    )
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    authority_uscc: Mapped[str | None] = mapped_column(
        String(18), index=True, comment="null: unroutable, in the administrators' queue"
    )
    routed_by: Mapped[str] = mapped_column(String(16), comment="table | regulators | admin | none")
    status: Mapped[str] = mapped_column(
        String(16), default="received", comment="received|accepted|investigating|closed"
    )
    filed_on: Mapped[date] = mapped_column(Date)
    status_on: Mapped[date | None] = mapped_column(Date, comment="day of the last status change")
    status_note: Mapped[str | None] = mapped_column(Text)
    handled_by: Mapped[str | None] = mapped_column(String(200))


class MeasureFeedback(Base):
    """What a department did under a measure (反馈)."""

    __tablename__ = "measure_feedback"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    measure_id: Mapped[str] = mapped_column(String(60))
    list_entry_id: Mapped[int | None] = mapped_column(BigId)
    token_id: Mapped[int] = mapped_column(BigId)
    department: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    acted_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    __table_args__ = (subject_primary_key(),)
    __mapper_args__ = BY_ID


class Receipt(Base):
    """The receipt hashes of objections, unique here (an objection lives with its subject:
    on Citus a unique constraint of ``objections`` would have to contain ``uscc``).  A
    lookup by receipt finds the subject and the objection's id here, then the objection
    on its subject's shard.  Written in the same transaction as the objection."""

    __tablename__ = "receipts"

    receipt_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), comment="objection")
    uscc: Mapped[str] = mapped_column(String(80), comment="subject key of the filing")
    object_id: Mapped[int] = mapped_column(BigId)
