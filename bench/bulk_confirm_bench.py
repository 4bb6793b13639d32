"""Bulk confirmation of proposed list entries against a plain SQL UPDATE of as many rows,
and against confirming them one by one through the API — in one run, on PostgreSQL.

    python bench/bulk_confirm_bench.py                 # 5,000 entries per method
    python bench/bulk_confirm_bench.py --rows 2000 --one-by-one 100

Creates a fresh database ``bulkbench_<random>`` on the server (``--server``), migrates it,
and inserts ``--rows`` proposed ``samr_serious`` entries of one authority for each method
(each method decides its own rows).  Then measures:

- **bulk (registry)**: :func:`registry.lists.bulk.decide_ids` in one unit of work — each
  entry through ``confirm_entry`` (row lock, checks, dated event, change-feed row, audit
  entry) — and the commit;
- **bulk (API)**: ``POST /api/v1/list-entries/confirm`` with the ids (the Flask app in
  process, no network), which also runs the rules for the decided subjects;
- **plain UPDATE**: one ``UPDATE list_entries SET status='active', since, until, …
  WHERE id = ANY(:ids)`` and its commit — the floor: no checks, no events, no audit;
- **one by one (API)**: ``POST /api/v1/list-entries/<id>/confirm`` for ``--one-by-one``
  entries, each with its own transaction and rules run.

Prints rows/s of each and the ratios; drops the database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import drop_database, peak_rss_kb  # noqa: E402

#: Synthetic data only: the development secret will do (registry.core.keys).
DEVELOPMENT = {"security": {"development": True}}
DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _proposals(rt, authority: str, n: int, rng: random.Random) -> list[int]:
    from registry.core import clock
    from registry.lists.models import ListEntry
    from registry.records.demo import make_uscc

    today = clock.today()
    rows = [
        {
            "uscc": make_uscc(rng, "440305", "9", "1"),
            "list_type": "samr_serious",
            "status": "proposed",
            "rule_id": "heavy-penalty",
            "pack_version": "bench",
            "authority_uscc": authority,
            "basis_penalty_ids": [],
            "proposed_on": today,
        }
        for _ in range(n)
    ]
    with rt.unit_of_work() as session:
        return [
            int(i)
            for i in session.execute(insert(ListEntry).returning(ListEntry.id), rows).scalars()
        ]


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:10.0f} rows/s  ({n} in {seconds:6.2f} s)"


def run(args: argparse.Namespace) -> None:
    from api import create_app
    from registry.core import clock, migrate
    from registry.core.config import load_config
    from registry.core.runtime import Runtime
    from registry.core.tokens import create_token
    from registry.lists.bulk import decide_ids
    from registry.records.demo import make_uscc

    server = create_engine(args.server, isolation_level="AUTOCOMMIT")
    name = f"bulkbench_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    rt = Runtime(
        load_config(
            overrides={
                "database": {"url": url},
                "lists": {"bulk_limit": max(5000, args.rows)},
                **DEVELOPMENT,
            },
            environ={},
        )
    )
    try:
        migrate.upgrade(rt.engine)
        rng = random.Random(2026)
        authority = make_uscc(rng, "440305", "1", "1")
        with rt.unit_of_work() as session:
            secret = create_token(
                session, role="regulator", name="bench", authority=authority, actor="bench"
            )
        bulk_ids = _proposals(rt, authority, args.rows, rng)
        api_ids = _proposals(rt, authority, args.rows, rng)
        sql_ids = _proposals(rt, authority, args.rows, rng)
        one_ids = _proposals(rt, authority, args.one_by_one, rng)
        print(f"database {name}: {3 * args.rows + args.one_by_one} proposed entries")

        start = time.perf_counter()
        with rt.unit_of_work() as session:
            decide_ids(
                session,
                rt.pack,
                "confirm",
                bulk_ids,
                authority,
                "bench",
                "告知期满",
                limit=args.rows,
            )
        bulk_s = time.perf_counter() - start

        app = create_app(runtime=rt)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        start = time.perf_counter()
        answer = client.post(
            "/api/v1/list-entries/confirm",
            json={"ids": api_ids, "reason": "告知期满"},
            headers=headers,
        )
        api_s = time.perf_counter() - start
        assert answer.status_code == 200, answer.get_json()

        today = clock.today()
        until = today.replace(year=today.year + 3)
        start = time.perf_counter()
        with rt.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE list_entries SET status = 'active', since = :today, until = :until, "
                    "early_removal_from = :early, confirmed_by = 'bench', updated_at = now() "
                    "WHERE id = ANY(:ids) AND status = 'proposed'"
                ),
                {
                    "today": today,
                    "until": until,
                    "early": today + timedelta(days=365),
                    "ids": sql_ids,
                },
            )
        sql_s = time.perf_counter() - start

        start = time.perf_counter()
        for entry_id in one_ids:
            one = client.post(
                f"/api/v1/list-entries/{entry_id}/confirm",
                json={"reason": "告知期满"},
                headers=headers,
            )
            assert one.status_code == 200, one.get_json()
        one_s = time.perf_counter() - start

        print(f"bulk (registry op)   {_rate(args.rows, bulk_s)}")
        print(f"bulk (API + rules)   {_rate(args.rows, api_s)}")
        print(f"plain SQL UPDATE     {_rate(args.rows, sql_s)}")
        print(f"one by one (API)     {_rate(args.one_by_one, one_s)}")
        print(
            f"bulk/UPDATE = {sql_s / bulk_s:.1%} of the UPDATE's rate; "
            f"bulk API/one-by-one API = {(args.rows / api_s) / (args.one_by_one / one_s):.1f}×"
        )
        print(f"peak RSS {peak_rss_kb() / 1024:.0f} MB")
    finally:
        rt.dispose()
        if not args.keep:
            drop_database(server, name)
        server.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--rows", type=int, default=5000, help="entries per bulk method")
    parser.add_argument("--one-by-one", type=int, default=200, help="entries confirmed one by one")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
