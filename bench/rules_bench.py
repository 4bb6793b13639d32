"""Full and incremental rules evaluation on PostgreSQL.

    python bench/rules_bench.py                       # 500,000 penalties, ~250,000 entities
    python bench/rules_bench.py --records 20000       # a quick run
    python bench/rules_bench.py --profile /tmp/rules.prof

Creates a fresh database ``bench_<random>`` on the server, migrates it
(``registry.core.migrate.upgrade``), bulk-loads synthetic penalties
(``registry.records.demo.generate``) and their legal representatives with ``COPY``, then measures:

- full: ``registry.evaluation.runs.evaluate_all`` over every subject — entities/s, total time,
  and where the time goes (fact queries, engine and planning, writes, the rest:
  transactions, locks, paging);
- incremental: ``registry.evaluation.runs.evaluate_now`` for one entity, p50/p99 over N runs,
  both with nothing to change and right after a new penalty for the entity.

Targets: full < 2 minutes for 500,000 penalties; incremental < 20 ms.  Drops the database
at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import create_database, drop_database  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
TODAY = date(2026, 11, 29)
SECRET = "bench-secret"  # noqa: S105 - keys the person hash of synthetic data

#: What a synthetic record carries that the load leaves out: the ID number (the registry
#: keeps only its keyed hash and masked form), the disclosure deadline and the remarks.
NOT_LOADED = frozenset({"legal_representative_id_number", "disclosure_deadline", "remarks"})


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    return value


def load(url: str, records: int, seed: int) -> tuple[int, int, float]:
    """COPY ``records`` synthetic penalties (and their legal representatives) into the
    database; returns (penalties, persons, seconds)."""
    import psycopg2

    from registry.core.codes import mask_id_number, person_key
    from registry.core.keys import derive
    from registry.records import demo

    id_key = derive(SECRET, "id-hash")

    started = time.perf_counter()
    now = datetime.now(UTC).isoformat()
    persons: dict[str, tuple[str, str]] = {}
    penalties = io.StringIO()
    writer = csv.writer(penalties)
    count = 0
    keys: dict[str, str] = {}
    for rec in demo.generate(records, seed=seed, today=TODAY):
        number = rec["legal_representative_id_number"]
        key = keys.get(number)
        if key is None:
            key = keys[number] = person_key(number, id_key)
            persons[key] = (mask_id_number(number) or "", rec["legal_representative"])
        row = {field: value for field, value in rec.items() if field not in NOT_LOADED}
        row.update(
            subject_key=rec["uscc"],
            legal_representative_id_masked=persons[key][0],
            legal_representative_key=key,
            categories=json.dumps(rec["categories"], ensure_ascii=False),
            status="active",
            version=1,
            content_hash=hashlib.sha256(rec["decision_number"].encode()).hexdigest(),
            created_at=now,
            updated_at=now,
        )
        columns = list(row)  # the same fields, in the same order, for every record
        writer.writerow([_cell(value) for value in row.values()])
        count += 1
    people = io.StringIO()
    person_writer = csv.writer(people)
    for key, (masked, name) in persons.items():
        person_writer.writerow([key, "身份证", masked, name, now, now])
    generated = time.perf_counter() - started

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            penalties.seek(0)
            cur.copy_expert(
                f"COPY penalties ({', '.join(columns)}) FROM STDIN (FORMAT csv)",
                penalties,
            )
            people.seek(0)
            cur.copy_expert(
                "COPY persons (person_key, id_type, id_masked, name, created_at, updated_at) "
                "FROM STDIN (FORMAT csv)",
                people,
            )
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE penalties")
            cur.execute("VACUUM ANALYZE persons")
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    print(f"generated {count} records in {generated:.1f} s; loaded with COPY in {seconds:.1f} s")
    return count, len(persons), seconds


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def incremental(rt: Any, runs: int, seed: int) -> dict[str, tuple[float, float]]:
    """p50/p99 (ms) of evaluating one entity: unchanged, and after a new penalty."""
    from registry.evaluation.runs import evaluate_now

    rng = random.Random(seed)
    with rt.sessions() as session:
        keys = (
            session.execute(
                text("SELECT subject_key FROM penalties TABLESAMPLE SYSTEM (5) LIMIT 5000")
            )
            .scalars()
            .all()
        )
        template = session.execute(
            text(
                "SELECT authority, authority_uscc FROM penalties "
                "WHERE violation_type LIKE '%专利%' LIMIT 1"
            )
        ).one()
    picked = rng.sample(keys, min(runs, len(keys)))
    unchanged = []
    for key in picked:
        started = time.perf_counter()
        evaluate_now(rt, [key], actor="bench")
        unchanged.append((time.perf_counter() - started) * 1000)
    changed = []
    for number, key in enumerate(picked):
        with rt.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO penalties (subject_key, uscc, party_name, party_type, "
                    "decision_number, violation_type, facts, basis, categories, content, "
                    "fine_wan, decided_on, authority, authority_uscc, status, version, "
                    "content_hash, transferred_to_police, aggravated, created_at, updated_at) "
                    "VALUES (:k, :k, '基准主体', 'organisation', :n, '假冒专利', '-', '-', "
                    "'[\"罚款\"]', '-', 3, :d, :a, :au, 'active', 1, :h, false, false, "
                    "now(), now())"
                ),
                {
                    "k": key,
                    "n": f"基准增量〔2026〕{number}号",
                    "d": TODAY,
                    "a": template.authority,
                    "au": template.authority_uscc,
                    "h": hashlib.sha256(f"{key}/{number}".encode()).hexdigest(),
                },
            )
        started = time.perf_counter()
        evaluate_now(rt, [key], actor="bench")
        changed.append((time.perf_counter() - started) * 1000)
    return {
        "unchanged": (_percentile(unchanged, 0.5), _percentile(unchanged, 0.99)),
        "after a new penalty": (_percentile(changed, 0.5), _percentile(changed, 0.99)),
    }


def counts(rt: Any) -> dict[str, int]:
    out = {}
    with rt.sessions() as session:
        for name, sql in (
            ("subjects", "SELECT count(DISTINCT subject_key) FROM penalties"),
            ("proposed", "SELECT count(*) FROM list_entries WHERE status = 'proposed'"),
            ("active", "SELECT count(*) FROM list_entries WHERE status = 'active'"),
            ("decisions", "SELECT count(*) FROM decisions"),
            ("alerts", "SELECT count(*) FROM alerts"),
            ("audit entries", "SELECT count(*) FROM audit_log"),
            ("person links", "SELECT count(*) FROM person_links"),
        ):
            out[name] = int(session.execute(text(sql)).scalar_one())
    return out


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run the measurements; print them and return them for ``--json-out``."""
    from registry.core import clock, migrate
    from registry.core.config import load_config
    from registry.core.runtime import Runtime
    from registry.evaluation.runs import evaluate_all

    clock.set_clock(TODAY)
    rt = Runtime(
        load_config(
            ROOT / "config.yaml",
            overrides={
                "database": {"url": url},
                "security": {"secret_key": SECRET, "development": True},
            },
            environ={},
        )
    )
    migrate.upgrade(rt.engine)
    penalties, persons, _ = load(url, args.records, args.seed)
    print(
        f"{penalties} penalties, {persons} persons; evaluating everything "
        f"(batch {args.batch}, {args.workers} worker process(es))"
    )
    rt.evaluator  # noqa: B018 - compile the pack before the clock starts

    def progress(done: int, total: int) -> None:
        if args.verbose:
            print(f"  {done}/{total} subjects", file=sys.stderr)

    started = time.perf_counter()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        summary = profiler.runcall(
            evaluate_all, rt, batch=args.batch, progress=progress, workers=args.workers
        )
        profiler.dump_stats(args.profile)
    else:
        summary = evaluate_all(rt, batch=args.batch, progress=progress, workers=args.workers)
    seconds = time.perf_counter() - started
    other = seconds - summary.facts_s - summary.engine_s - summary.writes_s
    print(f"full run: {summary.describe()}")
    print(
        f"full run: {seconds:.1f} s, {summary.subjects / seconds:,.0f} entities/s, "
        f"{summary.penalties / seconds:,.0f} penalties/s"
    )
    busy = "summed over workers; " if args.workers > 1 else ""
    print(
        f"  {busy}fact queries {summary.facts_s:.1f} s · engine and planning "
        f"{summary.engine_s:.1f} s · writes {summary.writes_s:.1f} s"
        + (f" · transactions, locks, paging {other:.1f} s" if args.workers == 1 else "")
    )
    rows = counts(rt)
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    figures: dict[str, Any] = {
        "penalties": penalties,
        "subjects": summary.subjects,
        "workers": args.workers,
        "full_seconds": round(seconds, 2),
        "entities_per_s": round(summary.subjects / seconds, 1),
        "penalties_per_s": round(summary.penalties / seconds, 1),
        "rows": rows,
        "incremental_ms": {},
    }
    for label, (p50, p99) in incremental(rt, args.runs, args.seed).items():
        print(f"incremental, one entity, {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        figures["incremental_ms"][label] = {"p50": round(p50, 2), "p99": round(p99, 2)}
    rt.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=5000, help="subjects per transaction")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes for the full run"
    )
    parser.add_argument("--runs", type=int, default=200, help="incremental runs")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--profile", help="write a cProfile of the full run here")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--json-out", help="also write the figures as JSON to this path")
    args = parser.parse_args()

    server, name, url = create_database(args.server, "bench", 4)
    print(f"database {name}")
    try:
        figures = run(url, args)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    finally:
        if not args.keep:
            drop_database(server, name)
        server.dispose()


if __name__ == "__main__":
    main()
