"""Fixtures of the reliability tests: real processes against real databases.

- ``fresh_pg`` (callable): a new, migrated PostgreSQL database on the configured server
  (``REGISTRY_TEST_POSTGRES_URL``) per call, all dropped at the end of the test;
  skipped without a server (a failure in CI, see ``tests/conftest.py``);
- ``cli(url, *args)``: run ``credit-registry`` as a child process (the console entry
  point, ``cli.main``) on that database; ``cli_process`` starts one without
  waiting;
- ``server(url)``: ``credit-registry serve`` as a child process on a free port, waited
  for until ``/healthz`` answers; stopped at the end of the test;
- ``make_token(url, role, name, authority)``: an API token.

Child processes use the real clock (the machine's today), the shipped config.yaml and
the test secret.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import DEVELOPMENT_ENV, PG_URL, ROOT

ENTRY = "from cli import main; main()"


def child_env(url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REGISTRY_") or k.startswith("REGISTRY_TEST_")
    }
    env.update(
        {
            "REGISTRY_DATABASE_URL": url,
            **DEVELOPMENT_ENV,
            "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            **extra,
        }
    )
    return env


def run_cli(
    url: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        env=child_env(url, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def start_cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        env=child_env(url, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


def _pg_server() -> str:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set REGISTRY_TEST_POSTGRES_URL)")
    return PG_URL


def create_database(server_url: str, prefix: str = "crrel") -> str:
    """Create a database named ``<prefix>_<random>`` and migrate it; return its URL."""
    from registry.core import migrate
    from registry.core.runtime import Runtime
    from tests.conftest import make_config

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    rt = Runtime(make_config(url))
    try:
        migrate.upgrade(rt.engine)
    finally:
        rt.dispose()
    return url


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        server.dispose()


@pytest.fixture
def fresh_pg() -> Iterator[Callable[[], str]]:
    server_url = _pg_server()
    made: list[str] = []

    def make() -> str:
        url = create_database(server_url)
        made.append(url)
        return url

    yield make
    for url in made:
        drop_database(server_url, url)


@dataclass
class Server:
    """A ``credit-registry serve`` child process."""

    process: subprocess.Popen[str]
    base: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(
    url: str, env: dict[str, str] | None = None, wait: float = 30, log: Path | None = None
) -> Server:
    """Start ``credit-registry serve``; its standard error goes to ``log`` if given."""
    port = free_port()
    errors = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "serve", "--no-scheduler", "--port", str(port)],
        env=child_env(url, **(env or {})),
        stdout=subprocess.DEVNULL,
        stderr=errors,
        text=True,
        cwd=ROOT,
    )
    if log:
        errors.close()
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"credit-registry serve exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("credit-registry serve did not come up")


@pytest.fixture
def server() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(url: str, env: dict[str, str] | None = None) -> Server:
        s = start_server(url, env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def make_token(url: str, role: str, name: str, authority: str | None = None) -> str:
    """An API token, made as ``credit-registry token create`` makes it (hash stored,
    audited), in this process to save a child process per token."""
    from registry.core.runtime import Runtime
    from registry.core.tokens import create_token
    from tests.conftest import make_config

    rt = Runtime(make_config(url))
    try:
        with rt.unit_of_work() as session:
            return create_token(session, role=role, name=name, authority=authority, actor="test")
    finally:
        rt.dispose()


def write_demo_file(path: Path, records: int, seed: int = 2026) -> Path:
    from registry.records import demo

    demo.write_file(path, records, "csv", seed=seed)
    return path
