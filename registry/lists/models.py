"""List entries with their dated events, and credit repair applications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Index,
    String,
    Text,
    and_,
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

# --- lists, decisions, alerts --------------------------------------------------------


class ListEntry(Timestamps, Base):
    """An entity's entry on a list (名单): proposed → active → removed, or rejected."""

    __tablename__ = "list_entries"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), comment="subject key of the listed party")
    list_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), comment="proposed|active|removed|rejected")
    rule_id: Mapped[str | None] = mapped_column(String(80), comment="null: entered by hand/file")
    pack_version: Mapped[str | None] = mapped_column(String(64))
    authority_uscc: Mapped[str | None] = mapped_column(String(18), comment="deciding authority")
    basis_penalty_ids: Mapped[list[int]] = mapped_column(JsonDoc, default=list)
    proposed_on: Mapped[date | None] = mapped_column(Date)
    since: Mapped[date | None] = mapped_column(Date, comment="first day active")
    until: Mapped[date | None] = mapped_column(Date, comment="last day of the term; null = open")
    early_removal_from: Mapped[date | None] = mapped_column(Date)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    ended_on: Mapped[date | None] = mapped_column(Date, comment="removed or rejected on")
    ended_by: Mapped[str | None] = mapped_column(String(200))
    end_reason: Mapped[str | None] = mapped_column(
        String(40), comment="term_ended|repaired|basis_revoked|corrected|rejected|manual"
    )
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        subject_primary_key(),
        Index("ix_list_entries_uscc_list_type_status", "uscc", "list_type", "status"),
        Index("ix_list_entries_list_type_status", "list_type", "status"),
    )
    __mapper_args__ = BY_ID


class ListEntryEvent(Base):
    """The dated history of a list entry: each state change, who made it and why."""

    __tablename__ = "list_entry_events"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    list_entry_id: Mapped[int] = mapped_column(BigId, index=True)
    uscc: Mapped[str] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(24), comment="proposed|confirmed|rejected|removed|…")
    on_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (subject_primary_key(),)
    __mapper_args__ = BY_ID


class Repair(Timestamps, Base):
    """A credit-repair application (信用修复) for a penalty's disclosure or a list entry."""

    __tablename__ = "repairs"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(16), comment="penalty | list_entry")
    target_id: Mapped[int] = mapped_column(BigId)
    authority_uscc: Mapped[str] = mapped_column(String(18), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    applied_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date, comment="the authority must decide by")
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    applicant: Mapped[str | None] = mapped_column(String(200))
    statement: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text, comment="of the decision")

    __table_args__ = (subject_primary_key(),)
    __mapper_args__ = BY_ID


def on_entry(row: Any) -> Any:
    """Join condition from a per-subject table that points at a list entry
    (``list_entry_id``) and keeps the subject key in ``uscc``: the entry's id and its
    distribution column (see :func:`registry.records.models.on_penalty`)."""
    return and_(ListEntry.id == row.list_entry_id, ListEntry.uscc == row.uscc)
