"""What the benchmarks share: their scratch databases and their memory figure.

The benchmarks run as scripts (``python bench/x.py``), so this module is imported as
``benchlib`` from their own folder."""

from __future__ import annotations

import secrets

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url


def create_database(server_url: str, prefix: str, random_bytes: int) -> tuple[Engine, str, str]:
    """A fresh scratch database ``<prefix>_<random hex>`` on the server at ``server_url``:
    the server's AUTOCOMMIT engine (for :func:`drop_database`), the name, and its URL."""
    name = f"{prefix}_{secrets.token_hex(random_bytes)}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return server, name, url


def drop_database(server: Engine, name: str) -> None:
    """Drop a benchmark's scratch database, closing any connection still open to it."""
    with server.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def peak_rss_kb() -> int:
    """This process's own peak RSS (VmHWM).  Not ``ru_maxrss``: Linux carries the forking
    parent's peak over ``exec``, so a child would report the benchmark driver's size."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
