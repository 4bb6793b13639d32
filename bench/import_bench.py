"""Import throughput against PostgreSQL's own COPY, on the same rows.

    python bench/import_bench.py                     # 200,000 rows
    python bench/import_bench.py --rows 1000000 --profile /tmp/import.prof

Generates N synthetic records (``registry.demo``, GB18030 CSV with the national Chinese
headers), creates a fresh database ``bench_<random>`` on the server, and measures:

- ours: ``credit-registry import`` end to end (read, decode, validate every row, COPY to
  staging, set-based upsert, versions, entities, persons, change feed, dirty queue,
  audit), in a child process so its peak RSS is its own;
- raw: ``COPY … FROM STDIN (FORMAT csv, ENCODING 'GB18030')`` of the same file into a bare
  table of text columns — the floor no importer can beat.

Prints rows/s for both, the ratio, and the importer's peak RSS; drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _child(url: str, path: str, batch_size: int, profile: str | None) -> None:
    """Run the import alone in this process and report time and peak RSS as JSON."""
    from registry.config import load_config
    from registry.runtime import Runtime

    rt = Runtime(load_config(overrides={"database": {"url": url}}, environ={}))
    from importers.run import import_file

    start = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        summary = profiler.runcall(import_file, rt, path, batch_size=batch_size, actor="bench")
        profiler.dump_stats(profile)
    else:
        summary = import_file(rt, path, batch_size=batch_size, actor="bench")
    seconds = time.perf_counter() - start
    rt.dispose()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "created": summary.created,
                "rejected": summary.rejected,
                "fatal": summary.fatal,
                "timings": summary.timings,
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def _raw_copy(url: str, path: Path) -> float:
    import psycopg2

    with open(path, encoding="gb18030") as fh:
        columns = len(fh.readline().split(","))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cols = ", ".join(f"c{i} text" for i in range(columns))
            cur.execute(f"CREATE TABLE raw_copy ({cols})")
            conn.commit()
            start = time.perf_counter()
            with open(path, "rb") as fh:
                cur.copy_expert(
                    "COPY raw_copy FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GB18030')",
                    fh,
                )
            conn.commit()
            return time.perf_counter() - start
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--profile", help="write a cProfile of the import here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.batch_size, args.profile)
        return

    from registry import demo, migrate

    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    path = workdir / "penalties.csv"
    t = time.perf_counter()
    demo.write_file(path, args.rows, "csv", seed=2026)
    print(
        f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB GB18030 CSV) "
        f"in {time.perf_counter() - t:.1f}s"
    )

    name = f"bench_{secrets.token_hex(4)}"
    server = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()

        command = [sys.executable, __file__, "--child", url, str(path)]
        command += ["--batch-size", str(args.batch_size)]
        if args.profile:
            command += ["--profile", args.profile]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"import failed:\n{done.stdout}\n{done.stderr}")
        ours = json.loads(done.stdout.strip().splitlines()[-1])
        raw_seconds = _raw_copy(url, path)
    finally:
        if not args.keep:
            with server.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                    ),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        server.dispose()
        path.unlink(missing_ok=True)
        workdir.rmdir()

    n = args.rows
    ours_rate = n / ours["seconds"]
    raw_rate = n / raw_seconds
    print(
        f"ours:     {ours['seconds']:7.1f}s  {ours_rate:10,.0f} rows/s  "
        f"(created {ours['created']:,}, rejected {ours['rejected']:,})"
    )
    print(f"raw COPY: {raw_seconds:7.1f}s  {raw_rate:10,.0f} rows/s")
    print(f"ratio:    {ours_rate / raw_rate:7.1%} of raw COPY throughput")
    print(f"peak RSS: {ours['maxrss_kb'] / 1024:7.0f} MB (importer process)")
    print(f"phases:   {ours['timings']}")
    if args.keep:
        print(f"database kept: {url}")


if __name__ == "__main__":
    main()
