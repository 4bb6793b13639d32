"""Import throughput against PostgreSQL's own COPY, on the same rows.

    python bench/import_bench.py                     # 200,000 rows
    python bench/import_bench.py --rows 1000000 --profile /tmp/import.prof

Generates N synthetic records (``registry.records.demo``, GB18030 CSV with the national Chinese
headers), creates a fresh database ``bench_<random>`` on the server, and measures:

- ours: ``credit-registry import`` end to end (read, decode, validate every row, COPY to
  staging, set-based upsert, versions, entities, persons, change feed, dirty queue,
  audit), in a child process so its peak RSS is its own (a large file is read in a
  second process of the import's, whose peak RSS is added and CPU counted with it);
- raw: ``COPY … FROM STDIN (FORMAT csv, ENCODING 'GB18030')`` of the same file into a bare
  table of text columns — the floor no importer can beat;
- penalties COPY: the rows our import wrote, ``COPY``'d into an empty copy of the
  ``penalties`` table with its indexes (``LIKE penalties INCLUDING ALL``) — what storing
  the records alone costs, before any of the tables that follow from them;
- the floor: what no importer of these records can do without, on this machine —
  storing them by the cheapest means PostgreSQL has (every table the import wrote,
  ``COPY … (FORMAT binary)`` into unindexed copies, then each of its indexes built with
  ``CREATE INDEX``, one backend, CPU read from ``/proc``), and reading and validating the
  file in Python (the reader and the shared record validation, nothing written).  With
  the machine's cores that gives the best ratio any importer doing both could reach, had
  it no other cost and used every core all the time.

Prints rows/s for the import alone (read, validate, write everything, search spellings)
and for the import with the rule evaluation it runs before returning, both beside raw
COPY with the ratio, the phases, the importer's peak RSS and the summed RSS and PSS of
all the command's processes (sampled: the importer with its reading process or its rule
workers), and the CPU seconds spent by the importer and by its PostgreSQL backends (read
from ``/proc`` when the server runs on this machine) — on a shared machine the CPU
figures move less than the wall clock.
``--load-only`` skips the rule evaluation (measured by ``bench/rules_bench.py``), so the
peak RSS is the load phase's.  Drops the database.  ``--json-out PATH`` also writes the
figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import create_database, drop_database, peak_rss_kb
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

#: Synthetic data only: the development secret will do (registry.core.keys).
DEVELOPMENT = {"security": {"development": True}}

DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 on): state,
    parent, …, user and system CPU ticks at [11] and [12]."""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process on this machine has used so far."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """Summed RSS and PSS (kB) of a process and all its descendants, now.  PSS shares
    each page among the processes mapping it (the interpreter, the libraries), so its
    sum is what the processes take together; the RSS sum counts shared pages once per
    process."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry))[1])
        except OSError:
            continue  # ended meanwhile
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
                for line in rollup:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue  # ended meanwhile
    return rss, pss


class _TreeMemory(threading.Thread):
    """Samples the summed memory of a process tree every 0.1 s and keeps the peaks: the
    command's processes together (importer, reading process, rule workers), which the
    per-process peaks cannot show when several run at once."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.rss_kb = self.pss_kb = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            rss, pss = _tree_memory_kb(self.root)
            self.rss_kb = max(self.rss_kb, rss)
            self.pss_kb = max(self.pss_kb, pss)


def _backend_cpu_seconds(url: str) -> float | None:
    """CPU seconds used so far by the server processes connected to this database, or
    None when they cannot be read (server on another machine, or another user's)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            me = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            pids = [pid for pid in pids if pid != me]
    finally:
        engine.dispose()
    try:
        total = sum(_process_cpu_seconds(pid) for pid in pids)
    except OSError:
        return None
    return total if pids else None


def _child(url: str, path: str, batch_size: int, profile: str | None, load_only: bool) -> None:
    """Run the import alone in this process and report time and peak RSS as JSON."""
    from registry.core.config import load_config
    from registry.core.runtime import Runtime

    rt = Runtime(load_config(overrides={"database": {"url": url}, **DEVELOPMENT}, environ={}))
    from importers.run import import_file

    if load_only:
        from registry import evaluation

        evaluation.evaluate_dirty = lambda *args, **kwargs: None  # type: ignore[assignment]
    cpu_before = os.times()

    start = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        summary = profiler.runcall(import_file, rt, path, batch_size=batch_size, actor="bench")
        profiler.dump_stats(profile)
    else:
        summary = import_file(rt, path, batch_size=batch_size, actor="bench")
    seconds = time.perf_counter() - start
    cpu = os.times()
    # Before dispose: the pool's connections are the import's backends.
    backend_cpu = _backend_cpu_seconds(url)
    rt.dispose()
    maxrss_kb = peak_rss_kb()
    # The reading process of a large file (the only child), as the kernel kept it when
    # it was waited for: an upper bound (its count starts from this process's size
    # when it was started, before it became a fresh interpreter).
    reader_maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    read_validate_cpu = _read_and_validate_cpu(path)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "created": summary.created,
                "rejected": summary.rejected,
                "fatal": summary.fatal,
                "timings": summary.timings,
                "maxrss_kb": maxrss_kb,
                "reader_maxrss_kb": reader_maxrss_kb,
                "importer_cpu_s": cpu.user + cpu.system - cpu_before.user - cpu_before.system,
                "reader_cpu_s": cpu.children_user
                + cpu.children_system
                - cpu_before.children_user
                - cpu_before.children_system,
                "postgres_cpu_s": backend_cpu,
                "read_validate_cpu_s": read_validate_cpu,
            }
        )
    )


def _read_and_validate_cpu(path: str) -> float:
    """CPU seconds to read the file and validate every row, writing nothing: the part
    of an import no faster database could take away.  Measured after the import (the
    peak RSS reported is the import's; this pass keeps one row at a time)."""
    from importers.readers import Rejected, open_penalty_file
    from registry.records.schema import validate_record

    started = time.process_time()
    with open_penalty_file(path, None) as penalty_file:
        for _, raw in penalty_file:
            if not isinstance(raw, Rejected):
                validate_record(raw)
    return time.process_time() - started


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


def _penalties_copy(url: str) -> tuple[int, float]:
    """COPY the imported penalties into an empty copy of the table with its indexes."""
    import io

    import psycopg2

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE penalties_ref (LIKE penalties INCLUDING ALL)")
            conn.commit()
            buffer = io.BytesIO()
            cur.copy_expert("COPY penalties TO STDOUT", buffer)
            cur.execute("SELECT count(*) FROM penalties")
            rows = cur.fetchone()[0]
            buffer.seek(0)
            start = time.perf_counter()
            cur.copy_expert("COPY penalties_ref FROM STDIN", buffer)
            conn.commit()
            return rows, time.perf_counter() - start
    finally:
        conn.close()


#: The tables an import writes (``audit_log`` and ``import_batches`` get a few rows).
WRITTEN_TABLES = (
    "penalties",
    "entities",
    "entity_names",
    "persons",
    "person_links",
    "changes",
    "dirty_entities",
)


def _storage_floor(url: str) -> dict[str, float | None]:
    """Store what the import stored, the cheapest way PostgreSQL can: each written
    table's rows ``COPY``'d in binary into an unindexed copy, then the table's indexes
    built on it (``CREATE INDEX``, one sorted build each — not kept up row by row).  One
    backend, no parallel workers, so its CPU (from ``/proc``, when the server is on this
    machine) is the whole cost.  Returns wall and CPU seconds."""
    import psycopg2

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SET max_parallel_maintenance_workers = 0")
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            dumps = {}
            for table in WRITTEN_TABLES:
                buffer = tempfile.TemporaryFile()  # noqa: SIM115 — closed below
                cur.copy_expert(f"COPY {table} TO STDOUT (FORMAT binary)", buffer)
                buffer.seek(0)
                dumps[table] = buffer
                cur.execute(f"CREATE TABLE floor_{table} (LIKE {table})")
            cur.execute(
                "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ANY(%s) ORDER BY 2, 3",
                (list(WRITTEN_TABLES),),
            )
            builds = []
            for schema, table, index, definition in cur.fetchall():
                head, _, tail = definition.partition(f" ON {schema}.{table} ")
                if not tail:
                    raise SystemExit(f"cannot read the definition of index {index}")
                head = head.replace(f"INDEX {index}", f"INDEX floor_{index}", 1)
                builds.append(f"{head} ON floor_{table} {tail}")
            conn.commit()
            try:
                cpu_before = _process_cpu_seconds(pid)
            except OSError:
                cpu_before = None
            start = time.perf_counter()
            for table, buffer in dumps.items():
                cur.copy_expert(f"COPY floor_{table} FROM STDIN (FORMAT binary)", buffer)
            for statement in builds:
                cur.execute(statement)
            conn.commit()
            seconds = time.perf_counter() - start
            cpu = None if cpu_before is None else _process_cpu_seconds(pid) - cpu_before
            for table in WRITTEN_TABLES:
                cur.execute(f"DROP TABLE floor_{table}")
                dumps[table].close()
            conn.commit()
            return {"seconds": seconds, "cpu_s": cpu, "indexes": len(builds)}
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--profile", help="write a cProfile of the import here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--load-only", action="store_true", help="skip the rule evaluation after the load"
    )
    parser.add_argument("--json-out", help="also write the figures as JSON to this path")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.batch_size, args.profile, args.load_only)
        return

    from registry.core import migrate
    from registry.records import demo

    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    path = workdir / "penalties.csv"
    t = time.perf_counter()
    demo.write_file(path, args.rows, "csv", seed=2026)
    print(
        f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB GB18030 CSV) "
        f"in {time.perf_counter() - t:.1f}s"
    )

    server, name, url = create_database(args.server, "bench", 4)
    try:
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()

        command = [sys.executable, __file__, "--child", url, str(path)]
        command += ["--batch-size", str(args.batch_size)]
        if args.profile:
            command += ["--profile", args.profile]
        if args.load_only:
            command += ["--load-only"]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree = _TreeMemory(child.pid)
        tree.start()
        stdout, stderr = child.communicate()
        tree.stopped.set()
        tree.join()
        if child.returncode != 0:
            sys.exit(f"import failed:\n{stdout}\n{stderr}")
        ours = json.loads(stdout.strip().splitlines()[-1])
        raw_seconds = _raw_copy(url, path)
        ref_rows, ref_seconds = _penalties_copy(url)
        floor = _storage_floor(url)
    finally:
        if not args.keep:
            drop_database(server, name)
        server.dispose()
        path.unlink(missing_ok=True)
        workdir.rmdir()

    n = args.rows
    timings = ours["timings"]
    import_seconds = ours["seconds"] - timings.get("rules", 0.0)
    import_rate = n / import_seconds
    total_rate = n / ours["seconds"]
    raw_rate = n / raw_seconds
    ref_rate = ref_rows / ref_seconds
    print(
        f"import:         {import_seconds:7.1f}s  {import_rate:10,.0f} rows/s  "
        f"{import_rate / raw_rate:6.1%} of raw COPY  (created {ours['created']:,}, "
        f"rejected {ours['rejected']:,})"
    )
    if not args.load_only:
        print(
            f"import + rules: {ours['seconds']:7.1f}s  {total_rate:10,.0f} rows/s  "
            f"{total_rate / raw_rate:6.1%} of raw COPY  (what `credit-registry import` takes)"
        )
    print(f"raw COPY:       {raw_seconds:7.1f}s  {raw_rate:10,.0f} rows/s  (bare text table)")
    print(
        f"penalties COPY: {ref_seconds:7.1f}s  {ref_rate:10,.0f} rows/s  "
        f"{ref_rate / raw_rate:6.1%} of raw COPY  (the penalties table and its indexes alone)"
    )
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    print(f"phases:         {phases}  (write = time spent writing batches)")
    rss_mb = ours["maxrss_kb"] / 1024
    reader_mb = ours["reader_maxrss_kb"] / 1024
    print(
        f"peak RSS:       {rss_mb + reader_mb:7.0f} MB (importer {rss_mb:.0f} MB + its largest "
        f"child {reader_mb:.0f} MB — the reading process"
        + ("" if args.load_only else ", or a rule worker")
        + " — each at its own peak)"
    )
    tree_rss_mb, tree_pss_mb = tree.rss_kb / 1024, tree.pss_kb / 1024
    print(
        f"all processes:  {tree_rss_mb:7.0f} MB RSS, {tree_pss_mb:.0f} MB PSS at their peak "
        "(the command's processes together, sampled every 0.1 s"
        + (")" if args.load_only else ": during the rules, the importer and its rule workers)")
    )
    backend = ours.get("postgres_cpu_s")
    python_cpu = ours["importer_cpu_s"] + ours["reader_cpu_s"]
    print(
        f"CPU:            importer {python_cpu:.1f}s ({python_cpu / n * 1e6:.0f} µs/row; "
        f"reading process {ours['reader_cpu_s']:.1f}s), PostgreSQL backends "
        + (f"{backend:.1f}s ({backend / n * 1e6:.0f} µs/row)" if backend else "unknown")
        + (" — load phase only" if args.load_only else " — load and rules")
    )
    cores = len(os.sched_getaffinity(0))
    storage_cpu = floor["cpu_s"]
    validate_cpu = ours["read_validate_cpu_s"]
    print(
        f"storage floor:  {floor['seconds']:7.1f}s  {n / floor['seconds']:10,.0f} rows/s  "
        f"{n / floor['seconds'] / raw_rate:6.1%} of raw COPY  (every table the import wrote, "
        f"binary COPY unindexed, then its {floor['indexes']} indexes built"
        + (f"; {storage_cpu:.1f}s CPU, {storage_cpu / n * 1e6:.0f} µs/row)" if storage_cpu else ")")
    )
    print(
        f"read+validate:  {validate_cpu:7.1f}s CPU  ({validate_cpu / n * 1e6:.0f} µs/row: "
        "the reader and the shared record validation, nothing written)"
    )
    best = None
    if storage_cpu:
        floor_cpu = storage_cpu + validate_cpu
        best = n / (floor_cpu / cores) / raw_rate
        budget = cores * n / (0.25 * raw_rate)
        print(
            f"ceiling:        {floor_cpu:.1f}s CPU of floor on {cores} cores → at best "
            f"{best:.1%} of raw COPY for any importer that stores and validates these rows "
            f"(25 % allows {budget:.1f}s CPU: {budget / n * 1e6:.0f} µs/row, "
            f"floor {floor_cpu / n * 1e6:.0f})"
        )
    verdict = "met" if import_rate >= 0.25 * raw_rate else "NOT met"
    share = ""
    if best:
        share = f"; the import runs at {import_rate / raw_rate / best:.0%} of the ceiling"
    print(f"target:         import ≥ 25% of raw COPY — {verdict}{share}")
    if args.json_out:
        figures = {
            "benchmark": "import",
            "rows": n,
            "batch_size": args.batch_size,
            "import_seconds": import_seconds,
            "import_rows_per_s": import_rate,
            "import_and_rules_seconds": ours["seconds"],
            "import_and_rules_rows_per_s": total_rate,
            "raw_copy_seconds": raw_seconds,
            "raw_copy_rows_per_s": raw_rate,
            "ratio_import": import_rate / raw_rate,
            "ratio_import_and_rules": total_rate / raw_rate,
            "penalties_copy_rows_per_s": ref_rate,
            "ratio_penalties_copy": ref_rate / raw_rate,
            "phases_s": timings,
            "peak_rss_mb": rss_mb + reader_mb,
            "importer_rss_mb": rss_mb,
            "reader_rss_mb": reader_mb,
            "tree_rss_mb": tree_rss_mb,
            "tree_pss_mb": tree_pss_mb,
            "load_only": args.load_only,
            "importer_cpu_s": python_cpu,
            "reader_cpu_s": ours["reader_cpu_s"],
            "postgres_cpu_s": backend,
            "created": ours["created"],
            "rejected": ours["rejected"],
            "target_ratio": 0.25,
            "storage_floor_seconds": floor["seconds"],
            "storage_floor_cpu_s": storage_cpu,
            "read_validate_cpu_s": validate_cpu,
            "cores": cores,
            "ceiling_ratio": best,
        }
        Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n")
    if args.keep:
        print(f"database kept: {url}")


if __name__ == "__main__":
    main()
