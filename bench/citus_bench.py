"""The cost of distribution: the same work on a 3-node Citus cluster and on one server,
in the same run, on this machine.

    python bench/citus_bench.py                   # 3,000 records, 1,000 lookups
    python bench/citus_bench.py --records 20000 --lookups 3000

Starts private PostgreSQL 15 servers on free ports (tests/cluster/pgnodes.py: a Citus
coordinator with two workers, and one ordinary server), makes the schema on both
(``credit-registry init`` / ``init --citus``), then on each, one after the other:

- import: the same synthetic GB18030 file (``registry.records.demo``) through
  ``credit-registry import`` (validation, the set-based upsert, the rules on the touched
  subjects), rows/s;
- lookup: ``registry.disclosure.profile.public_profile`` in-process on random known codes
  (p50/p99 ms);
- re-evaluation: ``credit-registry evaluate --all`` (every subject through the rules), s.

The same work on a scratch database first warms the process (so neither side pays
for loading modules or compiling the rule pack).

Prints a table with the cluster/one-server ratio of each figure and one JSON line; stops
and removes the servers.  Needs Citus installed (../shared/citus/install.sh, as root).
On two shared cores all nodes compete for the same CPUs: the figure is what distribution
costs (network hops, two-phase commit), not what more machines buy (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import peak_rss_kb  # noqa: E402

from registry.core.config import load_config  # noqa: E402
from registry.core.runtime import Runtime  # noqa: E402
from tests.cluster.pgnodes import Nodes, citus_available  # noqa: E402

ENV = {"REGISTRY_DEVELOPMENT": "1", "REGISTRY_SECRET_KEY": "bench-secret-key"}


def _cli(url: str, *args: str) -> float:
    """Run ``credit-registry`` in-process against ``url``; seconds it took."""
    from click.testing import CliRunner

    from cli import cli

    env = {**ENV, "REGISTRY_DATABASE_URL": url, "REGISTRY_CONFIG": str(ROOT / "config.yaml")}
    started = time.perf_counter()
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"credit-registry {' '.join(args)} failed: {result.output}")
    return elapsed


def _lookups(url: str, n: int, seed: int) -> tuple[float, float]:
    from registry.disclosure.profile import public_profile

    config = load_config(
        ROOT / "config.yaml",
        overrides={
            "database": {"url": url},
            "security": {"secret_key": ENV["REGISTRY_SECRET_KEY"], "development": True},
        },
        environ={},
    )
    rt = Runtime(config)
    try:
        with rt.engine.connect() as conn:
            codes = [r[0] for r in conn.execute(text("SELECT uscc FROM entities ORDER BY uscc"))]
        picks = random.Random(seed).choices(codes, k=n)
        times = []
        with rt.sessions() as session:
            for _ in range(20):  # warm the statement cache and the connection
                public_profile(session, picks[0], pack=rt.pack)
            for code in picks:
                started = time.perf_counter()
                public_profile(session, code, pack=rt.pack)
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.99) - 1]
    finally:
        rt.dispose()


def measure(url: str, file: Path, records: int, lookups: int) -> dict[str, float]:
    imported = _cli(url, "import", str(file))
    p50, p99 = _lookups(url, lookups, seed=19)
    evaluated = _cli(url, "evaluate", "--all")
    return {
        "import_rows_per_s": round(records / imported, 1),
        "lookup_p50_ms": round(p50, 3),
        "lookup_p99_ms": round(p99, 3),
        "evaluate_all_s": round(evaluated, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--lookups", type=int, default=1000)
    args = parser.parse_args()
    why = citus_available()
    if why is not None:
        raise SystemExit(f"cannot start a Citus cluster: {why}")
    os.environ.update(ENV)
    from registry.records import demo

    nodes = Nodes.create()
    try:
        coordinator, _workers = nodes.citus_cluster(2)
        single = nodes.node("single", citus=False)
        _cli(coordinator.url, "init", "--citus")
        _cli(single.url, "init")
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "bench.csv"
            demo.write_file(file, args.records, "csv", seed=2026)
            # Warm this process first (modules, the compiled pack, name spellings) on a
            # scratch database, so neither side pays for it.
            warm = Path(tmp) / "warm.csv"
            demo.write_file(warm, 200, "csv", seed=7)
            single.psql("CREATE DATABASE warm", database="postgres")
            warm_url = single.url.rsplit("/", 1)[0] + "/warm"
            _cli(warm_url, "init")
            measure(warm_url, warm, 200, 50)
            one = measure(single.url, file, args.records, args.lookups)
            spread = measure(coordinator.url, file, args.records, args.lookups)
        engine = create_engine(coordinator.url)
        with engine.connect() as conn:
            shards = conn.execute(
                text(
                    "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'penalties'::regclass"
                )
            ).scalar_one()
        engine.dispose()
    finally:
        nodes.close()
    print(
        f"records {args.records}, lookups {args.lookups}, penalties in {shards} shards "
        "on 2 workers; one server = plain PostgreSQL 15 on the same machine"
    )
    print(f"{'figure':<20}{'one server':>14}{'cluster':>14}{'cluster / one':>16}")
    for key in one:
        ratio = spread[key] / one[key] if one[key] else float("nan")
        print(f"{key:<20}{one[key]:>14}{spread[key]:>14}{ratio:>16.2f}")
    print(
        json.dumps(
            {"single": one, "cluster": spread, "shards": shards, "peak_rss_kb": peak_rss_kb()}
        )
    )


if __name__ == "__main__":
    main()
