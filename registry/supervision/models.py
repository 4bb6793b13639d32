"""Case transfers to the police, double-random inspection tasks, and quality commitments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
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
)


class CaseTransfer(Timestamps, Base):
    """A penalty case transferred to the police (行政执法与刑事司法衔接)."""

    __tablename__ = "case_transfers"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    penalty_id: Mapped[int] = mapped_column(BigId)
    police_unit: Mapped[str | None] = mapped_column(String(200))
    transferred_on: Mapped[date | None] = mapped_column(Date)
    case_number: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(Text)
    not_transferred_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    # Added in 0002 (supervision): when the outcome was learnt and who entered it.
    outcome_on: Mapped[date | None] = mapped_column(Date, comment="outcome known on")
    outcome_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        subject_primary_key(),
        Index("ix_case_transfers_penalty_id", "penalty_id"),
    )
    __mapper_args__ = BY_ID


# --- supervision ---------------------------------------------------------------------
# Double-random inspections (双随机、一公开), quality commitments (质量承诺); case
# transfers above.  Documented in docs/inspections.md.


class InspectionTask(Timestamps, Base):
    """A random-inspection task (双随机抽查任务) of one authority: the scope it draws from,
    the sample ratio per credit grade, and — once drawn — the seed and the fingerprints
    that let anyone re-run the draw (docs/inspections.md)."""

    __tablename__ = "inspection_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    authority_uscc: Mapped[str] = mapped_column(String(18), index=True)
    authority_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    ratios: Mapped[dict[str, str]] = mapped_column(
        JsonDoc, default=dict, comment="grade -> decimal ratio as text"
    )
    ungraded_as: Mapped[str] = mapped_column(String(2), comment="grade of an ungraded entity")
    inspectors_per_entity: Mapped[int] = mapped_column(Integer, default=2)
    seed_sha256: Mapped[str | None] = mapped_column(
        String(64), comment="SHA-256 of the seed, committed before the draw (optional)"
    )
    status: Mapped[str] = mapped_column(String(16), default="planned", comment="planned | drawn")
    created_by: Mapped[str] = mapped_column(String(200))
    seed: Mapped[str | None] = mapped_column(String(200))
    drawn_on: Mapped[date | None] = mapped_column(Date)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    drawn_by: Mapped[str | None] = mapped_column(String(200))
    population_count: Mapped[int | None] = mapped_column(Integer)
    population_sha256: Mapped[str | None] = mapped_column(String(64))
    strata: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDoc)
    draw_sha256: Mapped[str | None] = mapped_column(String(64), comment="of the canonical draw")
    published_on: Mapped[date | None] = mapped_column(Date, comment="first published")


class Inspector(Base):
    """An inspector (执法检查人员) in a task's pool, with the region of their office."""

    __tablename__ = "inspection_inspectors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("inspection_tasks.id"))
    code: Mapped[str] = mapped_column(String(40), comment="执法证号, stable across tasks")
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(6), comment="division code prefix of the office")

    __table_args__ = (UniqueConstraint("task_id", "code"),)


class InspectionAssignment(Timestamps, Base):
    """One drawn entity of a task, its inspectors, and the result once entered."""

    __tablename__ = "inspection_assignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18))
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("inspection_tasks.id"))
    grade: Mapped[str] = mapped_column(String(2), comment="credit grade at the draw")
    position: Mapped[int] = mapped_column(Integer, comment="order in the draw, from 1")
    rank: Mapped[str] = mapped_column(String(64), comment="HMAC-SHA256 draw rank, hex")
    inspector_codes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    outcome: Mapped[str | None] = mapped_column(String(24))
    findings: Mapped[str | None] = mapped_column(Text)
    inspected_on: Mapped[date | None] = mapped_column(Date)
    entered_by: Mapped[str | None] = mapped_column(String(200))
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_on: Mapped[date | None] = mapped_column(Date, comment="result published on")

    __table_args__ = (
        UniqueConstraint("uscc", "task_id"),
        Index("ix_inspection_assignments_task_id_position", "task_id", "position"),
    )


class QualityCommitment(Timestamps, Base):
    """An entity's public quality commitment (质量承诺): the products and the standard,
    stricter than the national or industry one, it commits to."""

    __tablename__ = "quality_commitments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    products: Mapped[str] = mapped_column(String(500))
    standard: Mapped[str | None] = mapped_column(String(300), comment="企业产品质量标准")
    statement: Mapped[str] = mapped_column(Text)
    made_on: Mapped[date] = mapped_column(Date)
    authority_uscc: Mapped[str | None] = mapped_column(String(18), comment="recording authority")
    recorded_by: Mapped[str] = mapped_column(String(200))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
