"""Read replicas with a real streaming standby (``pg_basebackup -R``): public reads go to
it, writes and the writer's own reads to the primary, and a replica that is down or
lags is skipped — every answer stays correct."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, event

from api.common.writers import PREFIX
from registry.core.runtime import Runtime
from tests.cluster.conftest import Servers
from tests.cluster.pgnodes import wait_for
from tests.cluster.test_cluster import _import, _rows, _sample, _token
from tests.conftest import make_config

pytestmark = [pytest.mark.citus, pytest.mark.slow]


#: The Redis of this machine (and CI's): the API workers' shared memory of writers.
REDIS = "redis://127.0.0.1:6379"


@contextmanager
def app_with_replica(
    servers: Servers, max_lag: int = 5, writers: str = "memory://"
) -> Iterator[Any]:
    """An API app (one worker, as far as the registry can tell) reading the standby."""
    from api import create_app

    rt = Runtime(
        make_config(
            servers.single_url,
            database={
                "replica_urls": [servers.replica.url],
                "max_replica_lag": max_lag,
                "writers_storage": writers,
            },
        )
    )
    try:
        app = create_app(runtime=rt)
        app.config["TESTING"] = True
        yield app.test_client()
    finally:
        rt.dispose()


@contextmanager
def ports() -> Iterator[list[int]]:
    """The port of every database connection a statement of the answer went to (not the
    replicas' health checks)."""
    seen: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.strip() != "SELECT 1" and "pg_is_in_recovery" not in statement:
            seen.append(conn.engine.url.port)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@contextmanager
def replay_paused(servers: Servers) -> Iterator[None]:
    """The standby stops replaying while the block runs: whatever the primary writes
    meanwhile, it lacks."""
    _rows(servers.replica.url, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        _rows(servers.replica.url, "SELECT pg_wal_replay_resume()")


def _revoke(client: Any, penalty_id: int, headers: dict) -> None:
    revoked = client.post(
        f"/api/v1/penalties/{penalty_id}/revoke",
        json={"reason": "经行政复议撤销原处罚决定"},
        headers=headers,
    )
    assert revoked.status_code == 200, revoked.get_json()


def _replayed(servers: Servers) -> bool:
    primary = _rows(servers.single_url, "SELECT pg_current_wal_insert_lsn()::text")[0][0]
    replayed = _rows(
        servers.replica.url, f"SELECT pg_last_wal_replay_lsn() >= '{primary}'::pg_lsn"
    )[0][0]
    return bool(replayed)


def test_public_reads_go_to_the_replica_and_see_writes_once_replayed(
    cluster: Servers, shared_dir: Path
):
    _import(cluster.single_url, _sample(shared_dir))
    assert wait_for(lambda: _replayed(cluster), 30)
    code = _rows(cluster.single_url, "SELECT uscc FROM list_entries ORDER BY uscc LIMIT 1")[0][0]
    with app_with_replica(cluster) as client:
        for path in (
            f"/api/v1/public/entities/{code}",
            "/api/v1/public/search?q=%E5%85%AC%E5%8F%B8",
            "/api/v1/public/changes",
            f"/entities/{code}",
        ):
            with ports() as seen:
                answer = client.get(path)
            assert answer.status_code == 200, path
            assert seen, path
            assert set(seen) == {cluster.replica.port}, path

        # A write on the primary: visible on the replica's answer once replayed.
        before = client.get(f"/api/v1/public/entities/{code}").get_json()
        _rows(
            cluster.single_url,
            f"UPDATE entities SET name = '改名后的公司' WHERE uscc = '{code}'",
        )
        assert wait_for(lambda: _replayed(cluster), 30)
        after = client.get(f"/api/v1/public/entities/{code}").get_json()
        assert before["name"] != "改名后的公司"
        assert after["name"] == "改名后的公司"


def _a_revocable_record(servers: Servers, shared_dir: Path) -> tuple[int, str, str, dict]:
    """A disclosed record's id, code and decision number, and its authority's token."""
    _import(servers.single_url, _sample(shared_dir))
    penalty_id, code = _rows(
        servers.single_url,
        "SELECT id, uscc FROM penalties WHERE uscc IS NOT NULL AND status = 'active' "
        "AND disclosure_until >= '2026-11-29' AND decided_on <= '2026-11-29' ORDER BY id LIMIT 1",
    )[0]
    authority, number = _rows(
        servers.single_url,
        f"SELECT authority_uscc, decision_number FROM penalties WHERE id = {penalty_id}",
    )[0]
    secret = _token(servers.single_url, "regulator", authority=authority)
    return penalty_id, code, number, {"Authorization": f"Bearer {secret}"}


def test_every_worker_knows_a_token_wrote_when_they_share_redis(cluster: Servers, shared_dir: Path):
    """Behind a load balancer the token's next read may reach another worker: with
    ``database.writers_storage`` in Redis that worker, too, reads the primary; a worker
    with a memory of its own does not know and reads the replica (still behind)."""
    penalty_id, code, number, headers = _a_revocable_record(cluster, shared_dir)
    path = f"/api/v1/public/entities/{code}"
    assert wait_for(lambda: _replayed(cluster), 30)
    with (
        app_with_replica(cluster, writers=REDIS) as first,
        app_with_replica(cluster, writers=REDIS) as second,
        app_with_replica(cluster) as alone,
        replay_paused(cluster),
    ):
        _revoke(first, penalty_id, headers)
        # Remembered in Redis, under the token's hash (not because Redis is away,
        # which would also send reads to the primary).
        token_hash = hashlib.sha256(headers["Authorization"][7:].encode()).hexdigest()
        assert redis.Redis.from_url(REDIS).exists(PREFIX + token_hash) == 1
        with ports() as seen:
            mine = second.get(path, headers=headers)
        assert set(seen) == {cluster.single.port}
        assert number not in [p["decision_number"] for p in mine.get_json()["penalties"]]
        with ports() as seen:
            stale = alone.get(path, headers=headers)
        assert set(seen) == {cluster.replica.port}
        assert number in [p["decision_number"] for p in stale.get_json()["penalties"]]


def test_a_token_that_just_wrote_reads_the_primary(cluster: Servers, shared_dir: Path):
    penalty_id, code, number, headers = _a_revocable_record(cluster, shared_dir)
    assert wait_for(lambda: _replayed(cluster), 30)
    with app_with_replica(cluster) as client, replay_paused(cluster):
        _revoke(client, penalty_id, headers)
        with ports() as seen:
            mine = client.get(f"/api/v1/public/entities/{code}", headers=headers)
        assert set(seen) == {cluster.single.port}
        assert number not in [p["decision_number"] for p in mine.get_json()["penalties"]]
        # The replica, still behind, shows it to everyone else.
        other = client.get(f"/api/v1/public/entities/{code}").get_json()
        assert number in [p["decision_number"] for p in other["penalties"]]


def test_a_lagging_or_stopped_replica_is_skipped_and_answers_stay_correct(
    cluster: Servers, shared_dir: Path
):
    _import(cluster.single_url, _sample(shared_dir))
    assert wait_for(lambda: _replayed(cluster), 30)
    code = _rows(cluster.single_url, "SELECT uscc FROM list_entries ORDER BY uscc LIMIT 1")[0][0]
    path = f"/api/v1/public/entities/{code}"
    with app_with_replica(cluster, max_lag=1) as client:
        # Lagging: replay paused while the primary writes.
        with replay_paused(cluster):
            _rows(
                cluster.single_url, f"UPDATE entities SET name = '滞后测试' WHERE uscc = '{code}'"
            )
            wait_for(lambda: False, 2.5)  # past max_replica_lag and the next check
            with ports() as seen:
                answer = client.get(path)
            assert answer.get_json()["name"] == "滞后测试"
            assert set(seen) == {cluster.single.port}
        # Stopped: every answer still right, from the primary.
        cluster.replica.stop()
        try:
            for url in (
                path,
                "/api/v1/public/search?q=%E6%BB%9E%E5%90%8E",
                "/api/v1/public/changes",
            ):
                answer = client.get(url)
                assert answer.status_code == 200, (url, answer.get_json())
            assert client.get(path).get_json()["name"] == "滞后测试"
        finally:
            cluster.replica.start()
