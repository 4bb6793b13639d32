"""Alembic environment: the URL comes from the registry's own configuration layers
(config.yaml, REGISTRY_DATABASE_URL), or from a connection handed in by ``init``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from registry.core.config import load_config
from registry.schema import Base

target_metadata = Base.metadata


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave PostgreSQL-only trigram indexes (migration 0005) out of the drift check:
    the models cannot declare them for one engine only."""
    return not (type_ == "index" and reflected and compare_to is None and name.endswith("_trgm"))


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url") or load_config().database_url
    engine = engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - offline SQL generation is not used
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
