"""Test fixtures.  How they are meant to be used:

- Every test that takes ``rt`` (a :class:`registry.core.runtime.Runtime`), ``session``,
  ``app``/``client`` or ``invoke`` runs once per database backend: SQLite (a file in a
  temporary directory) and PostgreSQL.  The schema is built once per backend with the
  Alembic migrations — never ``create_all`` — and every table is emptied after each
  test, so tests are isolated even though the code under test commits for real.
- PostgreSQL: set ``REGISTRY_TEST_POSTGRES_URL`` to a server URL (e.g.
  ``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``).  The run creates a fresh
  database ``crtest_<random>`` there and drops it at the end.  Without the variable the
  PostgreSQL half is skipped — unless ``REGISTRY_TEST_REQUIRE_POSTGRES=1`` (CI), where an
  unreachable server fails the run instead.
- Tests that only make sense on one engine use ``@pytest.mark.postgres_only``.
- ``today`` fixes the registry clock to 2026-11-29 (the sample data's "today");
  ``registry.core.clock.advance``/``set_clock`` move it.  Nothing sleeps to wait for time.
- Pure tests (no fixtures from here) run once.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry.core import clock
from registry.core.config import Config, load_config
from registry.core.keys import derive
from registry.core.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if not SHARED.exists():  # CI lays shared/ beside the clone
    SHARED = Path(os.environ.get("REGISTRY_SHARED_DIR", ROOT.parent / "shared"))
SAMPLE_TODAY = date(2026, 11, 29)
#: The test suite runs in development mode (``security.development``), so a short secret
#: is accepted; tests of the production refusal (tests/security/test_keys.py) turn it off.
TEST_SECRET = "test-secret-key"
#: The ID-number hash key the test configuration derives: person keys in test data.
TEST_ID_KEY = derive(TEST_SECRET, "id-hash")
#: The environment of every CLI run and child process of the tests.
DEVELOPMENT_ENV = {
    "REGISTRY_DEVELOPMENT": "1",
    "REGISTRY_SECRET_KEY": TEST_SECRET,
    "REGISTRY_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
}

PG_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL", "")
PG_REQUIRED = os.environ.get("REGISTRY_TEST_REQUIRE_POSTGRES", "") in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    if PG_REQUIRED and not PG_URL:
        raise pytest.UsageError(
            "REGISTRY_TEST_REQUIRE_POSTGRES is set but REGISTRY_TEST_POSTGRES_URL is not"
        )


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


def _server_engine(url: str):
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set REGISTRY_TEST_POSTGRES_URL)")
    name = f"crtest_{os.getpid()}_{secrets.token_hex(3)}"
    server = _server_engine(PG_URL)
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        server.dispose()
        where = make_url(PG_URL).render_as_string(hide_password=True)
        message = f"PostgreSQL at {where} is unreachable: {exc}"
        if PG_REQUIRED:
            pytest.exit(message, returncode=3)
        pytest.skip(message)
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with server.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        server.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """The database URL of the backend under test, with the schema migrated to head."""
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'registry.sqlite3'}"
    rt = Runtime(make_config(url))
    from registry.core import migrate

    migrate.upgrade(rt.engine)
    rt.dispose()
    return url


def make_config(url: str, **sections: dict) -> Config:
    """Test configuration: the shipped config.yaml, this database, a test secret, in
    development mode."""
    overrides = {
        "database": {"url": url},
        "security": {"secret_key": TEST_SECRET, "development": True},
        # The tests' webhook receivers listen on 127.0.0.1 (tests/security/test_webhooks.py
        # turns this off to show the default refuses internal addresses).
        "webhooks": {"allow_private_addresses": True},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(ROOT / "config.yaml", overrides=overrides, environ={})


def bypass_audit_guard(conn) -> None:
    """On PostgreSQL, let this transaction rewrite ``audit_log`` despite the trigger that
    refuses it (migration 0007): as the database's superuser can, and as the tests'
    table cleanup and the tests of ``audit verify`` on a tampered trail must.  Triggers
    do not fire for a session in replica mode (superuser only).  No-op on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))


def _empty_all_tables(rt: Runtime) -> None:
    from registry.schema import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "postgresql":
            bypass_audit_guard(conn)  # TRUNCATE of audit_log is refused otherwise
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def today() -> Iterator[date]:
    """Fix the registry clock to the sample data's today, 2026-11-29."""
    clock.set_clock(SAMPLE_TODAY)
    yield SAMPLE_TODAY
    clock.set_clock(None)


@pytest.fixture
def rt(database_url: str, today: date) -> Iterator[Runtime]:
    """A runtime on the backend under test; all tables emptied after the test."""
    runtime = Runtime(make_config(database_url))
    try:
        yield runtime
    finally:
        _empty_all_tables(runtime)
        runtime.dispose()


@pytest.fixture
def session(rt: Runtime):
    """A plain session for assertions and setup (commit yourself when setting up)."""
    s = rt.sessions()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def app(rt: Runtime):
    from api import create_app

    application = create_app(runtime=rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


class Invoke:
    """Run the real CLI (the same entry point as the console script) against the
    backend under test; returns click's Result."""

    def __init__(self, url: str) -> None:
        self.env = {
            "REGISTRY_DATABASE_URL": url,
            **DEVELOPMENT_ENV,
            "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
        }

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None):
        from cli import cli

        runner = CliRunner()
        return runner.invoke(
            cli, list(args), env={**self.env, **(env or {})}, input=input, catch_exceptions=False
        )


@pytest.fixture
def invoke(rt: Runtime, database_url: str) -> Invoke:
    return Invoke(database_url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres_only") and "backend" in getattr(
            item, "fixturenames", ()
        ):
            callspec = getattr(item, "callspec", None)
            if callspec is not None and callspec.params.get("backend") == "sqlite":
                item.add_marker(pytest.mark.skip(reason="PostgreSQL only"))


# --- the browser, shared by every browser test (Playwright's sync API allows one) ---

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk "
            "(apt-get install -y chromium fonts-noto-cjk) to run the browser tests"
        )
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


# --- real servers (gunicorn, granian) started by the tests -----------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(server: str, port: int, workers: int = 1) -> list[str]:
    """The command line that serves the application with ``server`` (gunicorn, granian)."""
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                f"127.0.0.1:{port}", "api:create_app()"]  # fmt: skip
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory", "--workers",
            str(workers), "--port", str(port), "--no-access-log", "api:create_app"]  # fmt: skip


def start_server(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """Start ``command`` in a session of its own (standard error piped, as text) and wait
    up to 30 s for ``/healthz`` on ``port`` to answer 200; AssertionError with the end of
    its standard error if it exits or does not answer by then."""
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                stop_server(proc)
                assert proc.stderr is not None
                raise AssertionError(
                    f"{command[2]} did not start: {proc.stderr.read()[-2000:]}"
                ) from None
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the server's process group; SIGKILL if it is not gone in 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:  # the whole group has exited already
        proc.wait()
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
