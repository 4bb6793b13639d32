"""Every benchmark in one go, and one table: each figure, its reference measured in the
same run (PostgreSQL COPY, pgbench), the ratio and the target.

    python bench/run_all.py                      # the sizes of the issues (takes ~20-30 min)
    python bench/run_all.py --quick              # small sizes, a few minutes: a smoke run
    python bench/run_all.py --markdown out.md    # also write the table as Markdown

Runs ``import_bench.py``, ``rules_bench.py``, ``rules_engine_bench.py`` and
``api_bench.py`` one after another (never at once: they would measure each other), each
in its own process with ``--json-out``, then prints the table.  A benchmark that fails
is reported in the table as failed, with its exit status; the others still run.  The
exit status is non-zero if any benchmark failed (not if a target is missed: a missed
target is a finding, shown in the table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    reference: str
    ratio: str
    target: str


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: Callable[[argparse.Namespace], list[str]]
    rows: Callable[[dict[str, Any]], list[Row]]


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _import_rows(f: dict[str, Any]) -> list[Row]:
    label = f"import {f['rows']:,} rows (CSV, PostgreSQL)"
    raw = f"COPY into bare text table: {_rate(f['raw_copy_rows_per_s'])} rows/s"
    met = "met" if f["ratio_import"] >= f.get("target_ratio", 0.25) else "missed"
    # The command's processes together (sampled), or the sum of their own peaks.
    rss = max(f["peak_rss_mb"], f.get("tree_rss_mb", 0.0))
    return [
        Row(
            label,
            f"{_rate(f['import_rows_per_s'])} rows/s, peak RSS {rss:.0f} MB "
            f"(PSS {f.get('tree_pss_mb', 0.0):.0f} MB), all its processes",
            raw,
            f"{f['ratio_import']:.1%}",
            f"≥ 25 % of COPY — {met}; RSS < 300 MB — " + ("met" if rss < 300 else "missed"),
        ),
        Row(
            f"{label} + rules for the entities it touched",
            f"{_rate(f['import_and_rules_rows_per_s'])} rows/s",
            raw,
            f"{f['ratio_import_and_rules']:.1%}",
            "—",
        ),
        Row(
            "COPY into the penalties table with its indexes (what indexes cost)",
            f"{_rate(f['penalties_copy_rows_per_s'])} rows/s",
            raw,
            f"{f['ratio_penalties_copy']:.1%}",
            "—",
        ),
        *(
            [
                Row(
                    "ceiling: every written table bulk-loaded and indexed, plus reading and "
                    f"validating, spread over {f['cores']} cores",
                    f"{f['storage_floor_cpu_s'] + f['read_validate_cpu_s']:.1f} s CPU",
                    raw,
                    f"{f['ceiling_ratio']:.1%}",
                    "the best any importer could reach here",
                )
            ]
            if f.get("ceiling_ratio")
            else []
        ),
    ]


def _rules_rows(f: dict[str, Any]) -> list[Row]:
    inc = f["incremental_ms"]
    return [
        Row(
            f"full evaluation, {f['penalties']:,} penalties / {f['subjects']:,} entities, "
            f"{f['workers']} process(es)",
            f"{f['full_seconds']:.1f} s ({_rate(f['entities_per_s'])} entities/s)",
            "—",
            "—",
            "< 120 s for 500k penalties — "
            + (
                ("met" if f["full_seconds"] < 120 else "missed")
                if f["penalties"] >= 500_000
                else "n/a (smaller run)"
            ),
        ),
        *[
            Row(
                f"incremental evaluation of one entity, {label}",
                f"p50 {v['p50']:.1f} ms, p99 {v['p99']:.1f} ms",
                "—",
                "—",
                "< 20 ms — " + ("met" if v["p99"] < 20 else "missed"),
            )
            for label, v in inc.items()
        ],
    ]


def _engine_rows(f: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"rules engine alone: {label}",
            f"{_rate(v['per_s'])}/s ({v['us_each']:.1f} µs each)",
            "—",
            "—",
            "—",
        )
        for label, v in f["rates"].items()
    ]


def _api_rows(f: dict[str, Any]) -> list[Row]:
    pg, batch = f["postgres"], f["batch"]
    servers = f.get("servers") or {"gunicorn": f}
    rows = []
    for name, run in servers.items():
        app, floor, ratio = run["app"], run.get("bare_flask"), run["ratio"]
        if name == "gunicorn":
            settings = f"{f['workers']}×{f['threads']} {f['gunicorn_worker_class']}"
        else:
            settings = f"{f['workers']} workers × {f.get('granian_threads', 1)} thread(s)"
        rows.append(
            Row(
                f"public lookup, {f['records']:,} records ({name} {settings}, "
                f"{f['connections']} connections)",
                f"{_rate(app['rate'])} req/s, p50 {app['p50_ms']:.1f} ms, "
                f"p99 {app['p99_ms']:.1f} ms",
                f"pgbench, same SQL: {_rate(pg['rate'])} tx/s"
                + (" (median; ratio = median of rounds side by side)" if run.get("rounds") else ""),
                f"{ratio:.1%}",
                "≥ 30 % — "
                + ("met" if ratio >= 0.30 else "missed")
                + "; p99 < 50 ms — "
                + ("met" if app["p99_ms"] < 50 else "missed"),
            )
        )
        if floor:
            rows.append(
                Row(
                    f"bare Flask on the same {name} settings, fixed body, no database",
                    f"{_rate(floor['rate'])} req/s, p99 {floor['p99_ms']:.1f} ms",
                    f"pgbench: {_rate(pg['rate'])} tx/s",
                    f"{floor['rate'] / pg['rate']:.1%}",
                    "the server and framework's own ceiling",
                )
            )
    rows.append(
        Row(
            "batch check of 1,000 codes",
            f"median {batch['median_ms']:.0f} ms, worst {batch['max_ms']:.0f} ms",
            "—",
            "—",
            "< 200 ms — " + ("met" if batch["median_ms"] < 200 else "missed"),
        )
    )
    return rows


BENCHES = [
    Bench(
        "import",
        "import_bench.py",
        lambda a: ["--rows", str(20_000 if a.quick else 200_000), "--server", a.server],
        _import_rows,
    ),
    Bench(
        "rules",
        "rules_bench.py",
        lambda a: [
            "--records",
            str(20_000 if a.quick else 500_000),
            "--runs",
            str(50 if a.quick else 200),
            "--server",
            a.server,
        ],
        _rules_rows,
    ),
    Bench(
        "rules-engine",
        "rules_engine_bench.py",
        lambda a: [
            "--penalties",
            str(5_000 if a.quick else 50_000),
            "--entities",
            str(5_000 if a.quick else 50_000),
        ],
        _engine_rows,
    ),
    Bench(
        "api",
        "api_bench.py",
        lambda a: [
            "--records",
            str(50_000 if a.quick else 1_000_000),
            "--duration",
            "5",
            "--rounds",
            str(1 if a.quick else 6),
            "--server",
            a.server,
        ],
        _api_rows,
    ),
]


def _machine() -> str:
    cpus = os.cpu_count() or 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kb = int(handle.readline().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "? GiB"
    return f"{platform.machine()}, {cpus} vCPU, {memory}, Python {platform.python_version()}"


def markdown(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| benchmark | figure | reference (same run) | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.benchmark} | {r.figure} | {r.reference} | {r.ratio} | {r.target} |" for r in rows
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--server", default=os.environ.get("REGISTRY_BENCH_SERVER", DEFAULT_SERVER))
    parser.add_argument(
        "--only", action="append", choices=[b.name for b in BENCHES], help="run just these"
    )
    parser.add_argument("--markdown", help="also write the table as Markdown to this path")
    args = parser.parse_args(argv)

    rows: list[Row] = []
    failed = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for bench in BENCHES:
            if args.only and bench.name not in args.only:
                continue
            out = Path(tmp) / f"{bench.name}.json"
            command = [sys.executable, str(HERE / bench.script), *bench.args(args)]
            command += ["--json-out", str(out)]
            print(f"== {bench.name}: {' '.join(command[1:])}", flush=True)
            t0 = time.perf_counter()
            result = subprocess.run(command, check=False)
            print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
            if result.returncode != 0 or not out.exists():
                failed.append(bench.name)
                rows.append(Row(bench.name, f"FAILED (exit {result.returncode})", "—", "—", "—"))
                continue
            rows.extend(bench.rows(json.loads(out.read_text(encoding="utf-8"))))

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"Run {when} on {_machine()}; {'quick sizes' if args.quick else 'full sizes'}; "
        f"{time.perf_counter() - started:.0f} s in all."
    )
    table = markdown(rows, header)
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
