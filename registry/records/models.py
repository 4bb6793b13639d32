"""Parties, penalty records with their versions, the dirty-entity queue a write fills, and
import batches."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    insert,
    inspect,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.core.models import (
    BY_ID,
    Base,
    BigId,
    JsonDoc,
    Money,
    Timestamps,
    UTCDateTime,
    subject_primary_key,
    utc_now,
)

# --- parties -------------------------------------------------------------------------


class Entity(Timestamps, Base):
    """A party with a unified social credit code (法人及非法人组织, 个体工商户)."""

    __tablename__ = "entities"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), comment="current name")
    party_type: Mapped[str] = mapped_column(String(24), default="organisation")
    division_code: Mapped[str] = mapped_column(String(6), comment="positions 3-8 of the code")
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    name_pinyin: Mapped[str | None] = mapped_column(
        String(800), comment="name in toneless pinyin, lower case, for search"
    )
    name_initials: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_entities_name", "name"),)


class EntityName(Base):
    """Name history: every name a code was seen with, and when."""

    __tablename__ = "entity_names"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("entities.uscc"))
    name: Mapped[str] = mapped_column(String(200))
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        subject_primary_key(),
        UniqueConstraint("uscc", "name"),
    )
    __mapper_args__ = BY_ID


class Person(Timestamps, Base):
    """A natural person, known only by the keyed hash of the ID number (never the number)."""

    __tablename__ = "persons"

    person_key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="HMAC-SHA256")
    id_type: Mapped[str | None] = mapped_column(String(40))
    id_masked: Mapped[str] = mapped_column(String(40), comment="e.g. 110105********002X")
    name: Mapped[str | None] = mapped_column(String(100))


class PersonLink(Timestamps, Base):
    """A person's role at an entity (legal representative, principal, …), so measures
    that bind people (DOMAIN.md §5) can be found by a person check."""

    __tablename__ = "person_links"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    # Looked up through the (uscc, person_key, role) unique index, whose leading column
    # it is.
    uscc: Mapped[str] = mapped_column(String(18))
    person_key: Mapped[str] = mapped_column(
        String(64), ForeignKey("persons.person_key"), index=True
    )
    role: Mapped[str] = mapped_column(String(40), comment="legal_representative, principal, …")
    source_penalty_id: Mapped[int | None] = mapped_column(BigId)
    since_on: Mapped[date | None] = mapped_column(Date)
    until_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        subject_primary_key(),
        UniqueConstraint("uscc", "person_key", "role"),
    )
    __mapper_args__ = BY_ID


# --- penalties -----------------------------------------------------------------------


class Penalty(Timestamps, Base):
    """An administrative penalty decision (行政处罚信息) in the national layout, plus our
    extensions and the state the registry derives (severity, disclosure window)."""

    __tablename__ = "penalties"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    subject_key: Mapped[str] = mapped_column(
        String(80), comment="USCC, or P:<person key> for a party without a code"
    )
    # Looked up through ix_penalties_disclosure, whose leading column it is.
    uscc: Mapped[str | None] = mapped_column(String(18))
    party_name: Mapped[str] = mapped_column(String(200))
    party_type: Mapped[str] = mapped_column(String(24))
    registration_number: Mapped[str | None] = mapped_column(String(40), comment="工商注册号")
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    legal_representative_id_type: Mapped[str | None] = mapped_column(String(40))
    legal_representative_id_masked: Mapped[str | None] = mapped_column(String(40))
    legal_representative_key: Mapped[str | None] = mapped_column(String(64))
    id_type: Mapped[str | None] = mapped_column(String(40))
    id_masked: Mapped[str | None] = mapped_column(String(40))
    person_key: Mapped[str | None] = mapped_column(String(64), index=True)
    decision_number: Mapped[str] = mapped_column(String(200), comment="行政处罚决定书文号")
    violation_type: Mapped[str] = mapped_column(String(500))
    facts: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JsonDoc, comment="处罚类别, 2021 names")
    categories_original: Mapped[str | None] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    fine_wan: Mapped[Decimal | None] = mapped_column(Money)
    confiscated_wan: Mapped[Decimal | None] = mapped_column(Money)
    licence_affected: Mapped[str | None] = mapped_column(String(500))
    decided_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    disclosure_deadline: Mapped[date | None] = mapped_column(Date, comment="公示截止期")
    authority: Mapped[str] = mapped_column(String(200))
    authority_uscc: Mapped[str] = mapped_column(String(18))
    source_unit: Mapped[str | None] = mapped_column(String(200))
    source_unit_uscc: Mapped[str | None] = mapped_column(String(18))
    remarks: Mapped[str | None] = mapped_column(Text)
    business_volume_wan: Mapped[Decimal | None] = mapped_column(Money)
    illegal_gains_wan: Mapped[Decimal | None] = mapped_column(Money)
    transferred_to_police: Mapped[bool] = mapped_column(Boolean, default=False)
    transferred_on: Mapped[date | None] = mapped_column(Date)
    aggravated: Mapped[bool] = mapped_column(Boolean, default=False)

    status: Mapped[str] = mapped_column(String(16), default="active", comment="active | revoked")
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64), comment="of the normalised record")
    import_batch_id: Mapped[int | None] = mapped_column(BigId)

    # Derived by the rules (recomputed when the record or the pack changes).
    severity: Mapped[str | None] = mapped_column(String(16), comment="minor | general | serious")
    pack_version: Mapped[str | None] = mapped_column(String(64))
    disclosure_regime: Mapped[str | None] = mapped_column(String(40))
    disclosure_until: Mapped[date | None] = mapped_column(
        Date, comment="last day of public disclosure; null = never disclosed"
    )
    repair_allowed_from: Mapped[date | None] = mapped_column(Date)
    repairable: Mapped[bool | None] = mapped_column(Boolean)
    repaired_on: Mapped[date | None] = mapped_column(Date, comment="credit repair approved")

    __table_args__ = (
        subject_primary_key("subject_key"),
        Index("ix_penalties_subject_key_decided_on", "subject_key", "decided_on"),
        Index("ix_penalties_disclosure", "uscc", "status", "disclosure_until"),
    )
    __mapper_args__ = BY_ID


class PenaltyVersion(Base):
    """Every earlier version of a penalty record, as it was, for history and audit."""

    __tablename__ = "penalty_versions"

    id: Mapped[int] = mapped_column(BigId, autoincrement=True)
    penalty_id: Mapped[int] = mapped_column(BigId)
    subject_key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    replaced_by: Mapped[str] = mapped_column(String(200))
    import_batch_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        subject_primary_key("subject_key"),
        UniqueConstraint("subject_key", "penalty_id", "version"),
    )
    __mapper_args__ = BY_ID


# --- ingest, queues, operations ------------------------------------------------------


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500), comment="file name or api")
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    authority_uscc: Mapped[str | None] = mapped_column(String(18))
    actor: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejection_reasons: Mapped[dict[str, int]] = mapped_column(JsonDoc, default=dict)
    #: What the rules run after the import did (registry.evaluation.history.rules_summary).
    rules_summary: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportReport(Base):
    """The rejection report of an import batch, kept as produced (CSV text) so the
    dashboard and ``GET /api/v1/imports/<id>/report`` can serve it later."""

    __tablename__ = "import_reports"

    batch_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(ImportBatch.id, ondelete="CASCADE"), primary_key=True
    )
    report: Mapped[str] = mapped_column(Text, comment="the report as produced (CSV, BOM kept)")
    row_count: Mapped[int] = mapped_column(Integer, default=0, comment="rows reported")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DirtyEntity(Base):
    """Subjects whose facts changed and whose rules must run again."""

    __tablename__ = "dirty_entities"

    subject_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DecisionNumber(Base):
    """The key of a penalty record, (authority USCC, decision number), unique here rather
    than on ``penalties``: on Citus a unique constraint of ``penalties`` must contain its
    distribution column (the subject), and a decision number is unique per authority
    whoever it names.  Written in the same transaction as the record it points to (the
    import's set-based upsert; any other insert of a :class:`Penalty` through the ORM, by
    the hook in :mod:`registry.records.keys`)."""

    __tablename__ = "decision_numbers"

    authority_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    decision_number: Mapped[str] = mapped_column(String(200), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(80), comment="the record's subject key")
    penalty_id: Mapped[int] = mapped_column(BigId)


@event.listens_for(Penalty, "after_insert")
def _register_decision_number(mapper: Any, connection: Connection, target: Penalty) -> None:
    """A record written through the ORM (not the import's SQL) claims its key too."""
    connection.execute(
        insert(DecisionNumber.__table__).values(
            authority_uscc=target.authority_uscc,
            decision_number=target.decision_number,
            subject_key=target.subject_key,
            penalty_id=target.id,
        )
    )


@event.listens_for(Penalty, "after_update")
def _follow_decision_number(mapper: Any, connection: Connection, target: Penalty) -> None:
    """A record whose subject was corrected is found under its new subject."""
    if not inspect(target).attrs.subject_key.history.has_changes():
        return
    connection.execute(
        update(DecisionNumber.__table__)
        .where(
            DecisionNumber.authority_uscc == target.authority_uscc,
            DecisionNumber.decision_number == target.decision_number,
            DecisionNumber.subject_key != target.subject_key,
        )
        .values(subject_key=target.subject_key)
    )


def on_penalty(row: Any) -> Any:
    """Join condition from a per-subject table that points at a penalty (``penalty_id``)
    and keeps the subject key in ``uscc`` (objections, alerts, transfers): the penalty's id
    and its distribution column, so that on Citus the join stays on one shard — by id
    alone it is a join across shards, which Citus refuses."""
    return and_(Penalty.id == row.penalty_id, Penalty.subject_key == row.uscc)
