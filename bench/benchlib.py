"""What the benchmarks share: their scratch databases and their memory figure.

The benchmarks run as scripts (``python bench/x.py``), so this module is imported as
``benchlib`` from their own folder."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine


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
