"""Operations endpoints tell nothing to strangers; the audit trail cannot be rewritten.

``GET /metrics`` needs an administrator's token (401 without, 403 with another role)
unless ``ops.metrics_public: true`` says the scrape endpoint is on a private network.
On PostgreSQL the application's own connection cannot ``UPDATE`` or ``DELETE`` audit
rows: a trigger refuses, so even a compromised application cannot quietly rewrite the
trail it writes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def test_metrics_need_an_admin_token(client, admin, department):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401, anonymous.get_data(as_text=True)[:200]
    assert "registry_" not in anonymous.get_data(as_text=True)
    assert client.get("/metrics", headers=department.headers).status_code in (401, 403)
    allowed = client.get("/metrics", headers=admin.headers)
    assert allowed.status_code == 200
    assert "registry_database_up" in allowed.get_data(as_text=True)


def test_metrics_public_when_configured(make_client):
    client = make_client(ops={"metrics_public": True})
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert "registry_database_up" in answer.get_data(as_text=True)


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log"],
    ids=["update", "delete"],
)
def test_audit_rows_cannot_be_rewritten_on_postgresql(rt, admin, statement):
    with rt.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() >= 1
    conn = rt.engine.connect()
    try:
        with pytest.raises(DBAPIError):
            conn.execute(text(statement))
    finally:
        conn.rollback()
        conn.close()
    with rt.engine.connect() as conn:
        actors = set(conn.execute(text("SELECT actor FROM audit_log")).scalars())
    assert actors
    assert "nobody" not in actors
