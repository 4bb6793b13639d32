"""``bench/import_bench.py`` still runs, end to end, and its figures hang together: the
closing notes quote it, and nothing else would notice it broken until someone needs it.

A small run (3,000 rows, the load alone) on the test server, in a database of its own
that it drops.  Not a speed test: the figures are checked for coherence only (every row
created, the ratios being the rates' ratios, a ceiling reported, memory counted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_import_bench_runs_and_its_figures_agree(tmp_path):
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set REGISTRY_TEST_POSTGRES_URL)")
    out = tmp_path / "import.json"
    before = _bench_databases()

    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "import_bench.py"),
            "--rows",
            "3000",
            "--load-only",
            "--server",
            PG_URL,
            "--json-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["created"] == 3000
    assert figures["import_rows_per_s"] / figures["raw_copy_rows_per_s"] == pytest.approx(
        figures["ratio_import"]
    )
    assert figures["ceiling_ratio"] > 0
    assert figures["storage_floor_cpu_s"] > 0
    assert figures["read_validate_cpu_s"] > 0
    assert figures["peak_rss_mb"] >= figures["importer_rss_mb"] > 0
    # the command's processes sampled together: PSS shares what RSS counts per process
    assert figures["tree_rss_mb"] >= figures["tree_pss_mb"] > 0
    assert "all processes:" in done.stdout
    assert "ceiling:" in done.stdout
    assert "target:" in done.stdout
    assert _bench_databases() == before, "the benchmark left its database behind"


def _bench_databases() -> set[str]:
    server = create_engine(PG_URL)
    try:
        with server.connect() as conn:
            return set(
                conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'")
                ).scalars()
            )
    finally:
        server.dispose()
