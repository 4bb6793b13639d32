"""The data model of the whole registry (SQLAlchemy 2.0, typed).

Design notes
- Every table holding per-entity data carries the subject's key in its keys: ``uscc``
  for entities, ``subject_key`` for penalties (the USCC, or ``P:`` plus the person key
  for a natural person or an individual business without a code), so the schema can be
  distributed by that column on Citus (docs/scaling.md).
- Money is ``Numeric(18, 6)`` in 万元; dates that have legal meaning are ``Date``
  (``*_on``), instants are UTC-aware timestamps (``*_at``) on both engines.
- State that changes with time is kept with its dates (list entry events, penalty
  versions, disclosure dates), so answers "as of" a past or future day come from data.
- Personal ID numbers are never stored: a natural person is known by a keyed hash
  (``person_key``) and a masked number for display.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from registry import clock

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")
Money = Numeric(18, 6)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is UTC-aware in Python on both engines (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sqlite.DATETIME())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model here is mapped to one Table (no mapping to joins or selects), so its
        # ``__table__`` can be passed to insert()/update()/delete(); SQLAlchemy types it
        # as the wider FromClause.  For the type checker only: nothing changes at runtime.
        __table__: ClassVar[Table]


def _now() -> datetime:
    return clock.now()


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now, onupdate=_now)


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

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("entities.uscc"))
    name: Mapped[str] = mapped_column(String(200))
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("uscc", "name"),)


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

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
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

    __table_args__ = (UniqueConstraint("uscc", "person_key", "role"),)


# --- penalties -----------------------------------------------------------------------


class Penalty(Timestamps, Base):
    """An administrative penalty decision (行政处罚信息) in the national layout, plus our
    extensions and the state the registry derives (severity, disclosure window)."""

    __tablename__ = "penalties"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
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
        UniqueConstraint("authority_uscc", "decision_number"),
        Index("ix_penalties_subject_key_decided_on", "subject_key", "decided_on"),
        Index("ix_penalties_disclosure", "uscc", "status", "disclosure_until"),
    )


class PenaltyVersion(Base):
    """Every earlier version of a penalty record, as it was, for history and audit."""

    __tablename__ = "penalty_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    penalty_id: Mapped[int] = mapped_column(BigId, ForeignKey("penalties.id"))
    subject_key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    replaced_by: Mapped[str] = mapped_column(String(200))
    import_batch_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (UniqueConstraint("penalty_id", "version"),)


# --- lists, decisions, alerts --------------------------------------------------------


class ListEntry(Timestamps, Base):
    """An entity's entry on a list (名单): proposed → active → removed, or rejected."""

    __tablename__ = "list_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
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
        Index("ix_list_entries_uscc_list_type_status", "uscc", "list_type", "status"),
        Index("ix_list_entries_list_type_status", "list_type", "status"),
    )


class ListEntryEvent(Base):
    """The dated history of a list entry: each state change, who made it and why."""

    __tablename__ = "list_entry_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("list_entries.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(24), comment="proposed|confirmed|rejected|removed|…")
    on_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class Decision(Base):
    """What the rules engine decided, with the pack version, the rule and the records that
    satisfied it: the source of every ``because``."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
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
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class Alert(Timestamps, Base):
    """A record that needs a second look, e.g. ``criminal-transfer-check`` (以罚代刑)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    penalty_id: Mapped[int] = mapped_column(BigId, ForeignKey("penalties.id"))
    decision_number: Mapped[str] = mapped_column(String(200))
    authority_uscc: Mapped[str] = mapped_column(String(18), index=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    pack_version: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", comment="open|resolved")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("uscc", "kind", "penalty_id"),)


class CaseTransfer(Timestamps, Base):
    """A penalty case transferred to the police (行政执法与刑事司法衔接)."""

    __tablename__ = "case_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    penalty_id: Mapped[int] = mapped_column(BigId, ForeignKey("penalties.id"))
    police_unit: Mapped[str | None] = mapped_column(String(200))
    transferred_on: Mapped[date | None] = mapped_column(Date)
    case_number: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(Text)
    not_transferred_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    # Added in 0002 (supervision): when the outcome was learnt and who entered it.
    outcome_on: Mapped[date | None] = mapped_column(Date, comment="outcome known on")
    outcome_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_case_transfers_penalty_id", "penalty_id"),)


class Repair(Timestamps, Base):
    """A credit-repair application (信用修复) for a penalty's disclosure or a list entry."""

    __tablename__ = "repairs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
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


# --- intake ----------------------------------------------------------------------------


class Objection(Timestamps, Base):
    """An objection (异议申诉) to a penalty record or a list entry, filed by anyone named
    in it without an account, answered by the deciding authority within a deadline."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_hash: Mapped[str] = mapped_column(
        String(64), unique=True, comment="SHA-256 of the receipt; the receipt is never stored"
    )
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    penalty_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("penalties.id"))
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


class Complaint(Timestamps, Base):
    """A public complaint or report (举报投诉) of suspected infringement or counterfeit
    goods against a code, routed to the authority of the entity's region; never published."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_hash: Mapped[str] = mapped_column(
        String(64), unique=True, comment="SHA-256 of the receipt; the receipt is never stored"
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


class CreditGrade(Base):
    """A credit grade A–D (信用分类监管) with its explanation, kept with history."""

    __tablename__ = "credit_grades"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18))
    grade: Mapped[str] = mapped_column(String(2))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    pack_version: Mapped[str] = mapped_column(String(64))
    explanation: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)

    __table_args__ = (UniqueConstraint("uscc", "since"),)


# --- packs and measures --------------------------------------------------------------


class RulePackRecord(Base):
    """Each rule pack version ever used, so stored decisions can be explained later."""

    __tablename__ = "rule_packs"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    content: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


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


class MeasureFeedback(Base):
    """What a department did under a measure (反馈)."""

    __tablename__ = "measure_feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    measure_id: Mapped[str] = mapped_column(String(60))
    list_entry_id: Mapped[int | None] = mapped_column(BigId)
    token_id: Mapped[int] = mapped_column(BigId)
    department: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    acted_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


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
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DirtyEntity(Base):
    """Subjects whose facts changed and whose rules must run again."""

    __tablename__ = "dirty_entities"

    subject_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class Change(Base):
    """The change feed: one row per change of disclosed data, ``id`` is the cursor."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(24), comment="penalty | list_entry | entity")
    object_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class ApiToken(Base):
    """An API token; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), comment="regulator | department | admin")
    authority_uscc: Mapped[str | None] = mapped_column(String(18))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12), comment="first characters, to recognise it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Subscription(Timestamps, Base):
    """A department's webhook on list changes for given codes or lists."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_tokens.id"))
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
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobLock(Base):
    """Lease rows that keep two schedulers from running one job at once on SQLite."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobRun(Base):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(80), index=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class AuditEntry(Base):
    """The append-only audit trail.  Each row's ``hash`` covers its content and the
    previous row's hash, so any edit or deletion breaks the chain (``audit verify``)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(80), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


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
