"""PostgreSQL stops under load: the API answers 503 in the error shape, no request hangs
past its timeout, and it recovers by itself when the database returns.

The shared server (port 5432) is never touched: the test starts a private cluster
(``initdb`` + ``pg_ctl`` of the installed PostgreSQL, in a temporary directory on a free
port; as root it runs them as the ``postgres`` user), serves the API on it with
``credit-registry serve`` (a real process), loads it from threads with public lookups,
sanctions checks and readiness probes, and stops the cluster with ``pg_ctl stop -m
immediate`` (a crash, as far as clients can tell) — then starts it again.

Skipped when the PostgreSQL server binaries are not installed, except in CI
(``REGISTRY_TEST_REQUIRE_POSTGRES=1``), where that is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_REQUIRED
from tests.reliability.conftest import (
    create_database,
    free_port,
    make_token,
    run_cli,
    start_server,
    write_demo_file,
)

pytestmark = [pytest.mark.slow]

CONNECT_TIMEOUT_S = 2
#: The longest any request may take while the database is down or coming back: the
#: connect timeout (twice: pool pre-ping and the new connection) plus slack for a
#: loaded two-core machine.
HANG_LIMIT_S = 3 * CONNECT_TIMEOUT_S + 4
CLIENT_TIMEOUT_S = 30


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary directory."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="crpg_"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
            "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    bindir = _bin_dir()
    if bindir is None or not (bindir / "initdb").exists():
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if PG_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    c = PrivateCluster(bindir)
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.destroy()


@dataclass
class Outcome:
    path: str
    started: float
    seconds: float
    status: int | None
    body: bytes = b""
    error: str | None = None


@dataclass
class Load:
    base: str
    paths: list[tuple[str, dict[str, str]]]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def worker(self, offset: int) -> None:
        i = offset
        while not self.stop.is_set():
            path, headers = self.paths[i % len(self.paths)]
            i += 1
            started = time.monotonic()
            request = urllib.request.Request(self.base + path, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_S) as resp:  # noqa: S310
                    outcome = Outcome(path, started, 0, resp.status, resp.read())
            except urllib.error.HTTPError as exc:
                outcome = Outcome(path, started, 0, exc.code, exc.read())
            except OSError as exc:
                outcome = Outcome(path, started, 0, None, error=repr(exc))
            outcome.seconds = time.monotonic() - started
            self.outcomes.append(outcome)
            time.sleep(0.01)


def test_database_stop_gives_503_then_recovers(cluster, tmp_path):
    url = create_database(cluster.url)
    data = write_demo_file(tmp_path / "p.csv", 40)
    done = run_cli(url, "import", str(data))
    assert done.returncode == 0, done.stderr
    department = make_token(url, "department", "市财政局政府采购处")
    admin = make_token(url, "admin", "运维监控")
    engine = create_engine(url)
    with engine.connect() as conn:
        codes = list(
            conn.execute(text("SELECT uscc FROM entities ORDER BY uscc LIMIT 5")).scalars()
        )
    engine.dispose()
    assert codes
    auth = {"Authorization": f"Bearer {department}"}
    paths = [(f"/api/v1/public/entities/{c}", {}) for c in codes]
    paths += [(f"/api/v1/sanctions/{c}", auth) for c in codes]
    paths.append(("/readyz", {}))
    # The scrape needs an admin token; verified before the outage, it still opens the
    # figures while the database cannot be asked (registry_database_up 0).
    paths.append(("/metrics", {"Authorization": f"Bearer {admin}"}))

    server = start_server(
        url,
        env={
            "REGISTRY_DATABASE_CONNECT_TIMEOUT_S": str(CONNECT_TIMEOUT_S),
            "REGISTRY_DATABASE_STATEMENT_TIMEOUT_MS": "5000",
            "REGISTRY_PUBLIC_RATE_LIMIT": "100000/minute",
        },
        log=tmp_path / "serve.log",
    )
    load = Load(server.base, paths)
    threads = [threading.Thread(target=load.worker, args=(n,), daemon=True) for n in range(4)]
    try:
        for t in threads:
            t.start()

        # Some answered requests first (a loaded machine may take more than a second or
        # two for the server's first answers), then the outage.
        # The scrape among them: its token is verified before the outage.
        def warm() -> bool:
            answered = [o for o in load.outcomes if o.status == 200]
            return len(answered) >= 5 and any(o.path == "/metrics" for o in answered)

        warm_until = time.monotonic() + 60
        while time.monotonic() < warm_until and not warm():
            time.sleep(0.2)
        down_at = time.monotonic()
        cluster.stop("immediate")
        time.sleep(5)
        up_at = time.monotonic()
        cluster.start()
        recovered_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            recent = [o for o in load.outcomes[-20:] if o.started > up_at]
            if len(recent) >= 10 and all(o.status == 200 for o in recent):
                recovered_at = recent[0].started
                break
            time.sleep(0.2)
        load.stop.set()
        for t in threads:
            t.join(timeout=CLIENT_TIMEOUT_S + 5)
    finally:
        load.stop.set()
        server.stop()

    before = [o for o in load.outcomes if o.started + o.seconds < down_at]
    outage = [o for o in load.outcomes if down_at + 0.5 < o.started < up_at]
    assert before, "no request before the outage"
    unhealthy = {(o.path, o.status, o.body[:200]) for o in before if o.status != 200}
    assert not unhealthy, f"the API was not healthy before: {unhealthy}"
    assert len(outage) >= 10, f"only {len(outage)} requests during the outage"

    # Every answer is 200 or a 503 in the error shape: never a 500, a dropped
    # connection or a hang.
    log = (tmp_path / "serve.log").read_text(errors="replace")
    for o in load.outcomes:
        assert o.status != 500, f"{o.path}: 500; server log:\n{log[-4000:]}"
        assert o.error is None, f"{o.path}: no answer: {o.error}"
        assert o.status in (200, 503), f"{o.path}: {o.status} {o.body[:300]!r}"
        assert o.seconds < HANG_LIMIT_S, f"{o.path} took {o.seconds:.1f}s"
        if o.path == "/metrics":
            continue
        if o.status == 503:
            body = json.loads(o.body)
            assert set(body) == {"error"}
            assert body["error"]["code"] == "unavailable"
            assert body["error"]["message"]
            assert "details" in body["error"]
    scrapes = [o for o in outage if o.path == "/metrics"]
    assert scrapes, "no scrape during the outage"
    for o in scrapes:
        assert o.status == 200, (o.status, o.body[:300])
        assert b"registry_database_up 0.0" in o.body
    outage = [o for o in outage if o.path != "/metrics"]
    assert all(o.status == 503 for o in outage), {o.status for o in outage}
    assert recovered_at is not None, "the API did not recover after the database came back"
    assert recovered_at - up_at < 20
