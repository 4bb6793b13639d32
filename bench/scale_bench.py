"""How cost grows with the registry's size: public lookups and an import on top of N records.

    python bench/scale_bench.py --records 1000000
    python bench/scale_bench.py --records 10000000 --lookups 2000      # long: ~1 h here

Creates a fresh database ``bench_scale_<random>`` on the server, migrates it to head and
fills it *directly* (not through the importer, which is measured separately): the valid
codes are made in Python and COPYed into ``entities`` (one entity per two records), the
penalty records are generated in SQL with ``INSERT … SELECT … generate_series`` (two
per entity, ~90 % inside their disclosure window), then ANALYZE.  On that database:

- lookup: ``registry.disclosure.profile.public_profile`` called in-process on random known codes
  (p50/p99/mean), then the same codes over HTTP ``GET /api/v1/public/entities/<uscc>``
  against a real threaded WSGI server in this process (rate limit lifted);
- import: a fixed 50,000-row synthetic file (``registry.records.demo``, GB18030 CSV) imported
  with ``importers.run.import_file`` on top of the N records (rows/s end to end).

Prints one JSON object with the figures; drops the database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

#: Synthetic data only: the development secret will do (registry.core.keys).
DEVELOPMENT = {"security": {"development": True}}

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import create_database, drop_database  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
TODAY = date(2026, 11, 29)
_BODY_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_DIVISIONS = ("110105", "310115", "440305", "330106", "320506", "510104", "420102", "610102")
_AUTHORITIES = 40


def _codes(n: int, *, salt: int = 0) -> Iterator[str]:
    """``n`` distinct valid USCCs: the body (positions 9-16) counts in base 31."""
    from registry.core.codes import body_check_character, uscc_check_character

    base = len(_BODY_ALPHABET)
    for i in range(n):
        k, digits = i + salt, []
        for _ in range(8):
            k, r = divmod(k, base)
            digits.append(_BODY_ALPHABET[r])
        body8 = "".join(reversed(digits))
        first17 = "91" + _DIVISIONS[i % len(_DIVISIONS)] + body8 + body_check_character(body8)
        yield first17 + uscc_check_character(first17)


class _RowStream(io.RawIOBase):
    """A readable stream over generated CSV lines, so COPY never needs the whole table."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        while len(self._buffer) < len(b):
            chunk = "".join(line for _, line in zip(range(2000), self._lines, strict=False))
            if not chunk:
                break
            self._buffer += chunk.encode()
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def fill(url: str, records: int, sample: int) -> tuple[list[str], float]:
    """Load ``records`` penalties on ``records // 2`` entities; return sampled codes and
    the seconds it took."""
    import random

    entities = max(1, records // 2)
    rng = random.Random(2026)
    wanted = set(rng.sample(range(entities), min(sample, entities)))
    picked: list[str] = []

    def entity_lines() -> Iterator[str]:
        for i, code in enumerate(_codes(entities)):
            if i in wanted:
                picked.append(code)
            # The pinyin spellings the search index wants, as index_entity_name makes
            # them (checked below for one name), so the import's pinyin step has
            # nothing of ours to fill.
            yield (
                f"{code},规模测试企业{i}有限公司,organisation,{code[2:8]},{code[2:4]},"
                f"guimoceshiqiye{i}youxiangongsi,gmcsqy{i}yxgs,{stamp},{stamp}\n"
            )

    from registry.records.search import index_entity_name

    assert index_entity_name("规模测试企业7有限公司") == (
        "guimoceshiqiye7youxiangongsi",
        "gmcsqy7yxgs",
    )
    stamp = "2026-11-29 00:00:00+00"
    started = time.perf_counter()
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.copy_expert(
            "COPY entities (uscc, name, party_type, division_code, province_code,"
            " name_pinyin, name_initials, created_at, updated_at) "
            "FROM STDIN (FORMAT csv)",
            _RowStream(entity_lines()),
        )
        authorities = list(_codes(_AUTHORITIES, salt=31**7))
        cur.execute("CREATE TEMP TABLE bench_auth (n int, uscc text)")
        cur.executemany("INSERT INTO bench_auth VALUES (%s, %s)", list(enumerate(authorities)))
        # Two records per entity: decided 0-1,459 days before today, disclosed for three
        # years, so ~3/4 are inside their window; the rest have left public view.
        cur.execute(
            """
            INSERT INTO penalties (
              subject_key, uscc, party_name, party_type, decision_number, violation_type,
              facts, basis, categories, content, fine_wan, decided_on, authority,
              authority_uscc, transferred_to_police, aggravated, status, version,
              content_hash, severity, disclosure_until, created_at, updated_at)
            SELECT e.uscc, e.uscc, e.name, 'organisation',
                   '规模罚字〔' || k || '〕' || row_number() OVER (), '违反市场监督管理规定',
                   '经查，当事人存在违法行为。', '《中华人民共和国行政处罚法》',
                   '["罚款"]'::jsonb, '罚款人民币一万元', 1.0,
                   d.decided, '规模测试局' || a.n, a.uscc, false, false, 'active', 1,
                   md5(e.uscc || k), 'general', d.decided + 1095, now(), now()
            FROM entities e
            CROSS JOIN generate_series(1, 2) AS k
            CROSS JOIN LATERAL (
              SELECT DATE '2026-11-29' - ((hashtext(e.uscc || k) & 1023)
                     + (hashtext(e.uscc) & 511)) AS decided) d
            JOIN bench_auth a ON a.n = (hashtext(e.uscc || 'a' || k) & 65535) %% %(na)s
            """,
            {"na": _AUTHORITIES},
        )
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return picked, time.perf_counter() - started


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "mean_ms": round(1000 * statistics.fmean(ordered), 3),
    }


def measure_lookups(url: str, codes: list[str]) -> dict[str, dict[str, float]]:
    import logging

    from werkzeug.serving import make_server

    from api import create_app
    from registry.core import clock
    from registry.core.config import load_config
    from registry.core.runtime import Runtime
    from registry.disclosure.profile import public_profile

    clock.set_clock(TODAY)
    rt = Runtime(
        load_config(
            overrides={
                "database": {"url": url},
                **DEVELOPMENT,
                "api": {"public_rate_limit": "100000000/minute"},
                "scheduler": {"in_serve": False},
            },
            environ={},
        )
    )
    found = 0
    samples = []
    with rt.sessions() as session:
        for code in codes[:50]:  # warm the statement cache and the buffer pool a little
            public_profile(session, code, pack=rt.pack)
        for code in codes:
            t = time.perf_counter()
            profile = public_profile(session, code, pack=rt.pack)
            samples.append(time.perf_counter() - t)
            found += int(profile is not None and bool(profile["penalties"]))
            session.rollback()
    in_process = {**_quantiles(samples), "with_penalties": found, "n": len(codes)}

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    samples = []
    try:
        for code in codes:
            t = time.perf_counter()
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/public/entities/{code}", timeout=30
            ) as resp:
                resp.read()
                assert resp.status == 200, resp.status
            samples.append(time.perf_counter() - t)
    finally:
        server.shutdown()
    rt.dispose()
    return {"in_process": in_process, "http": {**_quantiles(samples), "n": len(codes)}}


def measure_import(url: str, rows: int) -> dict[str, float]:
    from importers.run import import_file
    from registry.core import clock
    from registry.core.config import load_config
    from registry.core.runtime import Runtime
    from registry.records import demo

    clock.set_clock(TODAY)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "on-top.csv"
        demo.write_file(path, rows, "csv", seed=777)
        rt = Runtime(load_config(overrides={"database": {"url": url}, **DEVELOPMENT}, environ={}))
        started = time.perf_counter()
        summary = import_file(rt, path, actor="bench")
        seconds = time.perf_counter() - started
        rt.dispose()
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "created": summary.created,
        "rejected": summary.rejected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--server", default=os.environ.get("REGISTRY_BENCH_SERVER", DEFAULT_SERVER))
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()

    from registry.core import migrate
    from registry.core.config import load_config
    from registry.core.runtime import Runtime

    server, name, url = create_database(args.server, "bench_scale", 3)
    result: dict[str, object] = {"records": args.records, "database": name}
    try:
        rt = Runtime(load_config(overrides={"database": {"url": url}, **DEVELOPMENT}, environ={}))
        migrate.upgrade(rt.engine)
        rt.dispose()
        codes, seconds = fill(url, args.records, args.lookups)
        result["fill_seconds"] = round(seconds, 1)
        with server.connect() as conn:
            result["database_mb"] = round(
                conn.execute(text("SELECT pg_database_size(:n)"), {"n": name}).scalar() / 2**20
            )
        print(json.dumps(result), file=sys.stderr, flush=True)
        result["lookup"] = measure_lookups(url, codes)
        print(json.dumps(result), file=sys.stderr, flush=True)
        result["import"] = measure_import(url, args.import_rows)
    finally:
        if not args.keep:
            drop_database(server, name)
        server.dispose()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
