"""One set of private PostgreSQL 15 servers for every test here (tests/cluster/pgnodes.py):

- ``cluster``: a Citus coordinator and two workers, schema made by ``credit-registry init
  --citus``;
- ``single``: one ordinary server (no Citus) beside it, for answers that must be the same,
  with ``replica``: its streaming standby (``pg_basebackup -R``).

Skipped when Citus or the PostgreSQL 15 binaries are missing — unless
``REGISTRY_TEST_REQUIRE_CITUS=1`` (``.ci/run`` sets it), where that is a failure.  Tests
empty the databases they wrote (:func:`empty`) rather than start servers again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from tests.cluster.pgnodes import Node, Nodes, citus_available
from tests.conftest import ROOT, Invoke

REQUIRED = os.environ.get("REGISTRY_TEST_REQUIRE_CITUS", "") in ("1", "true", "yes")


@dataclass
class Servers:
    nodes: Nodes
    coordinator: Node
    workers: list[Node]
    single: Node
    replica: Node

    @property
    def cluster_url(self) -> str:
        return self.coordinator.url

    @property
    def single_url(self) -> str:
        return self.single.url


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    why = citus_available()
    if why is not None:
        if REQUIRED:
            pytest.fail(f"REGISTRY_TEST_REQUIRE_CITUS=1 but no Citus cluster can start: {why}")
        pytest.skip(f"no Citus cluster here: {why}")
    nodes = Nodes.create()
    try:
        coordinator, workers = nodes.citus_cluster(2)
        single = nodes.node("single", citus=False)
        for url in (coordinator.url, single.url):
            result = Invoke(url)("init", *(["--citus"] if url == coordinator.url else []))
            assert result.exit_code == 0, result.output
        replica = nodes.standby(single)
        yield Servers(nodes, coordinator, workers, single, replica)
    finally:
        nodes.close()


def empty(url: str) -> None:
    """Empty every table of the registry's schema (as the suite's own cleanup does)."""
    from registry.schema import Base

    names = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "audit_log"]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        # The audit trail refuses TRUNCATE but in replica mode — in which Citus does not
        # propagate statements to the shards, so the other tables are emptied above.
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE audit_log RESTART IDENTITY"))
    finally:
        engine.dispose()


@pytest.fixture
def cluster(servers: Servers, today) -> Iterator[Servers]:  # type: ignore[no-untyped-def]
    """The servers, every table of both databases emptied after the test."""
    try:
        yield servers
    finally:
        empty(servers.cluster_url)
        empty(servers.single_url)


def cli_env(url: str) -> dict[str, str]:
    """The environment of a ``credit-registry`` process against ``url``."""
    from tests.conftest import DEVELOPMENT_ENV

    return {
        **os.environ,
        "REGISTRY_DATABASE_URL": url,
        "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
        **DEVELOPMENT_ENV,
    }
