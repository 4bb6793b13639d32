"""The storage seam: engines, sessions and the few places SQLite and PostgreSQL differ.

Everything engine-specific (connection set-up, locks, bulk paths) is decided here or
asks :func:`is_postgres`, so the rest of the code base is written once.
"""

from __future__ import annotations

import contextlib
import hashlib
import weakref
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from registry.core import clock
from registry.core.config import Config


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message says which one (without a password)."""


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _postgres_session(config: Config) -> dict[str, Any]:
    """libpq connection parameters every PostgreSQL connection of the registry gets."""
    timeout = config.database.statement_timeout_ms
    return {
        "connect_timeout": config.database.connect_timeout_s,
        "options": f"-c statement_timeout={timeout} -c timezone=UTC",
        "application_name": "credit-registry",
    }


def libpq_conninfo(config: Config) -> str:
    """PostgreSQL: the libpq connection string for the configured database — the URL's
    host, port, database, user, password and query parameters (``sslmode`` …) with the
    session settings the engine's connections get — for code that talks to libpq
    directly (the public lookup's short path, :mod:`api.public.fastpath`)."""
    from psycopg.conninfo import make_conninfo

    url = make_url(config.database_url)
    params: dict[str, Any] = {k: v for k, v in url.query.items() if isinstance(v, str) and v}
    params.update(url.translate_connect_args(username="user", database="dbname"))
    params.update(_postgres_session(config))
    return make_conninfo(**{k: str(v) for k, v in params.items()})


def make_engine(config: Config) -> Engine:
    """Create the engine for the configured database (no connection is made yet)."""
    url = config.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=config.database.echo,
            hide_parameters=True,  # no statement's values in errors or logs (see below)
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Autocommit at the driver level; SQLAlchemy's events below issue BEGIN
            # IMMEDIATE so writers queue on the lock instead of failing mid-transaction.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN so they queue on busy_timeout instead
            # of failing when a read transaction would have to upgrade; readers stay
            # deferred so they never block anyone (WAL).
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    engine = create_engine(
        url,
        echo=config.database.echo,
        # A statement's values never reach an error message or a log line (a filer's
        # contact, a name, a key): the SQL and the driver's reason are enough to act on.
        hide_parameters=True,
        pool_size=config.database.pool_size,
        max_overflow=config.database.pool_size,
        # No ping before each checkout (a round trip per request): a connection the
        # server dropped fails its first statement, SQLAlchemy then invalidates the pool's
        # older connections, and the next checkout connects afresh (the public lookup
        # retries once; other requests answer 503 once).
        pool_pre_ping=False,
        pool_timeout=config.database.connect_timeout_s,
        connect_args=_postgres_session(config),
    )

    @event.listens_for(engine, "connect")
    def _citus_sequential(dbapi_conn: Any, _record: Any) -> None:
        # A Citus coordinator: a transaction that writes shards and then a reference
        # table another table refers to (``persons`` ← ``person_links``), or reads what
        # it wrote over several connections, is refused unless its multi-shard writes go
        # over one connection per node.  The registry's transactions do both (an import
        # batch, a batch of the rules), so every connection writes that way.  One
        # catalogue probe per new connection; nothing on plain PostgreSQL.
        cur = dbapi_conn.cursor()
        try:
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
            if cur.fetchone() is not None:
                cur.execute("SET citus.multi_shard_modify_mode TO 'sequential'")
        finally:
            cur.close()
        dbapi_conn.commit()

    @event.listens_for(engine, "checkin")
    def _transactions_again(dbapi_conn: Any, _record: Any) -> None:
        # A connection lent to read_outside_transaction goes back to the pool as it came.
        if dbapi_conn is not None and dbapi_conn.autocommit:
            dbapi_conn.autocommit = False

    return engine


def read_outside_transaction(session: Session) -> None:
    """PostgreSQL: let a fresh session's reads run without a transaction (each statement
    its own snapshot), saving the BEGIN and ROLLBACK round trips — for a read done in
    one statement.  psycopg2's ``autocommit`` is a client-side switch (SQLAlchemy's
    isolation-level option would cost a round trip each way); the pool switches it
    back at check-in.  Nothing on SQLite."""
    if not is_postgres(session):
        return
    connection = session.connection().connection.driver_connection
    if connection is not None and connection.status == _STATUS_READY:
        connection.autocommit = True


_STATUS_READY = 1  # psycopg2.extensions.STATUS_READY: no transaction open


def is_postgres(bind: Engine | Session | Any) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


_CITUS: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def is_citus(bind: Engine | Session | Any) -> bool:
    """Whether the database is a Citus coordinator (the ``citus`` extension is there):
    the few statements Citus plans differently take their Citus form then
    (docs/scaling.md).  Asked once per engine."""
    if not is_postgres(bind):
        return False
    found_bind = bind.get_bind() if isinstance(bind, Session) else bind
    engine: Engine = found_bind if isinstance(found_bind, Engine) else found_bind.engine
    known = _CITUS.get(engine)
    if known is None:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
            known = _CITUS[engine] = found.first() is not None
    return known


def make_session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions for reading, or (``write=True``) for a unit of work that writes: on
    SQLite those take the database write lock when their transaction begins."""
    bind = engine.execution_options(sqlite_immediate=True) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception.  Domain functions
    called inside only flush; this is the one place that commits."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def sqlite_file(engine: Engine) -> Path | None:
    """The file of an SQLite database (None for PostgreSQL or an in-memory one)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def ensure_sqlite_folder(engine: Engine) -> None:
    """Create the folder of an SQLite database file (``init`` only: other commands never
    create a database where there is none)."""
    path = sqlite_file(engine)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` with a one-line reason if the database is down."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot reach the database {safe_url(str(engine.url))}: {reason}"
        ) from exc


def _lock_id(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def try_job_lock(session: Session, name: str, holder: str, lease: timedelta) -> bool:
    """Take the named job lock for this transaction, or return False if another process
    holds it.  PostgreSQL: a transaction-level advisory lock (released at commit or
    rollback, also when the holder dies).  SQLite: a lease row in ``job_locks`` (the
    write lock SQLite takes for BEGIN IMMEDIATE makes the check-and-set atomic)."""
    if is_postgres(session):
        return bool(
            session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_id(name)}
            ).scalar()
        )
    from registry.core.models import JobLock

    now = clock.now()
    row = session.execute(select(JobLock).where(JobLock.name == name)).scalar_one_or_none()
    if row is None:
        session.add(JobLock(name=name, holder=holder, locked_until=now + lease))
        session.flush()
        return True
    if row.locked_until is not None and row.locked_until > now and row.holder != holder:
        return False
    row.holder = holder
    row.locked_until = now + lease
    session.flush()
    return True


def release_job_lock(session: Session, name: str, holder: str) -> None:
    """Release a SQLite lease early (PostgreSQL's advisory lock ends with the transaction)."""
    if is_postgres(session):
        return
    from registry.core.models import JobLock

    row = session.get(JobLock, name)
    if row is not None and row.holder == holder:
        row.locked_until = None
        row.last_run_at = clock.now()
        session.flush()


@event.listens_for(Session, "do_orm_execute")
def _citus_row_locks(state: Any) -> Any:
    """Citus locks rows (``SELECT … FOR UPDATE``) only within one shard; the registry's
    operations lock rows by id (an entry to confirm, a record to revoke, an alert to
    resolve) or by date (the sweep), across shards.  On a Citus coordinator such a
    statement takes a transaction-level advisory lock per distributed table it reads
    instead — on the coordinator, which every registry process goes through — and then
    reads without ``FOR UPDATE``.  Coarser than row locks (two such operations on the
    same table queue behind each other), and as safe: the read that follows the lock
    sees every change committed before it (docs/scaling.md).  Nothing changes elsewhere."""
    statement = state.statement
    if not state.is_select or getattr(statement, "_for_update_arg", None) is None:
        return None
    if not is_citus(state.session):
        return None
    from registry.core.citus import placement

    tables = sorted(
        {
            t.name
            for t in statement.get_final_froms()
            if isinstance(t, Table) and placement(t).kind in ("distributed", "separate")
        }
    )
    if not tables:
        return None
    for name in tables:
        state.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"credit-registry:rows:{name}"},
        )
    unlocked = statement._clone()
    unlocked._for_update_arg = None
    return state.invoke_statement(statement=unlocked)
