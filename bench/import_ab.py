"""Before/after driver for the import: one file into a fresh database with whatever code
is on ``PYTHONPATH``; prints total, pinyin-pass and rules seconds as JSON.

    git archive <old-commit> | tar -x -C /tmp/old
    (cd /tmp/old && PYTHONPATH=/tmp/old python /path/to/bench/import_ab.py FILE)
    PYTHONPATH=. python bench/import_ab.py FILE

It times ``fill_entity_pinyin`` and ``evaluate_dirty`` by wrapping them, so it works on
trees older than the import summary's phase timings.  Run old and new alternately: on a
shared machine only alternating runs are comparable.
"""

from __future__ import annotations

import json
import os
import sys
import time

from benchlib import create_database, drop_database, peak_rss_kb
from sqlalchemy import create_engine

SERVER = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)

#: Synthetic data only: the development secret will do (registry.core.keys).
DEVELOPMENT = {"security": {"development": True}}


def main(path: str) -> None:
    server, name, url = create_database(SERVER, "ab", 3)
    try:
        import importers.run as run
        from registry import evaluation
        from registry.core import migrate
        from registry.core.config import load_config
        from registry.core.runtime import Runtime

        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        spent = {"pinyin": 0.0, "rules": 0.0}

        def wrap(module: object, attr: str, key: str) -> None:
            original = getattr(module, attr)

            def timed(*args: object, **kwargs: object) -> object:
                start = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[key] += time.perf_counter() - start

            setattr(module, attr, timed)

        wrap(run, "fill_entity_pinyin", "pinyin")
        wrap(evaluation, "evaluate_dirty", "rules")
        rt = Runtime(load_config(overrides={"database": {"url": url}, **DEVELOPMENT}, environ={}))
        start = time.perf_counter()
        summary = run.import_file(rt, path, actor="bench")
        total = time.perf_counter() - start
        rt.dispose()
        print(
            json.dumps(
                {
                    "tree": run.__file__,
                    "rows": summary.rows,
                    "created": summary.created,
                    "total_s": total,
                    **{f"{k}_s": v for k, v in spent.items()},
                    "import_only_s": total - spent["rules"],
                    "peak_rss_mb": peak_rss_kb() / 1024,
                }
            )
        )
    finally:
        drop_database(server, name)
        server.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
