"""The public lookup without a ping before each checkout: a dropped connection is
replaced and the lookup answered; connections go back to the pool transactional."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from registry.core.db import is_postgres
from tests.web.factories import WebFactory


@pytest.fixture
def known(session):
    f = WebFactory(session, seed=3)
    entity = f.entity("深圳市华鑫科技有限公司")
    f.penalty(entity.uscc, authority_uscc=f.authority_code())
    session.commit()
    return entity.uscc


def test_lookup_survives_a_dropped_connection(client, rt, session, known):
    if not is_postgres(session):
        pytest.skip("server-side connection drop is PostgreSQL's")
    first = client.get(f"/api/v1/public/entities/{known}")
    assert first.status_code == 200
    session.close()
    # The server drops the app's pooled connections (as a restart would).
    other = create_engine(rt.engine.url, poolclass=NullPool)
    with other.connect() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = 'credit-registry'"
            )
        ).scalar_one()
    other.dispose()
    assert dropped >= 1
    again = client.get(f"/api/v1/public/entities/{known}")
    assert again.status_code == 200
    assert again.json == first.json


def test_connections_return_to_the_pool_transactional(client, rt, session, known):
    assert client.get(f"/api/v1/public/entities/{known}").status_code == 200
    raw = rt.engine.raw_connection()
    try:
        if is_postgres(session):
            assert raw.driver_connection.autocommit is False
        # A write after a lookup still commits or rolls back as one unit.
        with rt.unit_of_work() as s:
            s.execute(text("UPDATE entities SET name = 'x' WHERE uscc = :u"), {"u": known})
            s.rollback()
    finally:
        raw.close()
    assert client.get(f"/api/v1/public/entities/{known}").json["name"] == "深圳市华鑫科技有限公司"
