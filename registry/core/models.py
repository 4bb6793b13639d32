"""The base of the data model (SQLAlchemy 2.0, typed) and the global tables.

Design notes (they hold for every package's models)
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

Here: the declarative base with its naming convention, the column types, and the tables
that are global rather than per entity (audit chain, change feed, tokens, job locks).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from registry.core import clock

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


def utc_now() -> datetime:
    return clock.now()


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)


class Change(Base):
    """The change feed: one row per change of disclosed data, ``id`` is the cursor."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(24), comment="penalty | list_entry | entity")
    object_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ApiToken(Base):
    """An API token; only the SHA-256 of the secret is stored.  Refused (401) once
    revoked or past ``expires_at`` (``credit-registry token list | revoke``)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), comment="regulator | department | admin")
    authority_uscc: Mapped[str | None] = mapped_column(String(18))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12), comment="first characters, to recognise it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="refused from this moment on; null: does not expire"
    )


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
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class AuditEntry(Base):
    """The append-only audit trail.  Each row's ``hash`` covers its content and the
    previous row's hash, so any edit or deletion breaks the chain (``audit verify``)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(80), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def subject_primary_key(column: str = "uscc") -> PrimaryKeyConstraint:
    """The primary key of a table distributed by ``column`` on Citus: ``(id, column)``.
    Citus wants the distribution column in every key (docs/scaling.md); ``id`` first
    keeps a lookup by id one index probe on a single server, as before.  On PostgreSQL
    migration 0012 builds it; on SQLite, which auto-increments only a lone ``INTEGER
    PRIMARY KEY``, the table keeps ``id`` alone.  The ORM's identity is ``id`` on both
    (:data:`BY_ID`): ids come from one sequence and stay unique on their own."""
    return PrimaryKeyConstraint("id", column)


#: ``__mapper_args__`` of a table keyed by :func:`subject_primary_key`: rows are known to
#: the session by ``id`` (``session.get(Model, id)`` as before).
BY_ID: dict[str, Any] = {"primary_key": ["id"]}
