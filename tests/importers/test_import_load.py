"""The fast load path of an import (each test on SQLite and on PostgreSQL): a file of
changed records is written as updates across batches, a file mixing new and changed
records keeps both apart, and an import leaves the database connections and the
interpreter as it found them — the batches' relaxed settings end with their batch."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

import importers.run as run
from importers.run import import_file
from registry.records import demo
from tests.importers.dbhelp import counts

BATCH = 25


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({k: demo._json(v) for k, v in rec.items()}, ensure_ascii=False))
            fh.write("\n")
    return path


def _records(n: int, seed: int = 11) -> list[dict[str, Any]]:
    return list(demo.generate(n, seed=seed, today=date(2025, 6, 30)))


def test_a_file_of_changed_records_updates_every_one_across_batches(rt, tmp_path):
    records = _records(60)
    first = import_file(rt, _write(tmp_path / "first.jsonl", records), batch_size=BATCH)
    assert (first.created, first.updated, first.rejected) == (60, 0, 0)

    for rec in records:
        rec["facts"] = rec["facts"] + "（已更正）"
    again = import_file(rt, _write(tmp_path / "again.jsonl", records), batch_size=BATCH)

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 60, 0, 0)
    with rt.sessions() as s:
        versions = s.execute(text("SELECT version, count(*) FROM penalties GROUP BY version"))
        assert dict(versions.all()) == {2: 60}
        assert s.execute(text("SELECT count(*) FROM penalty_versions")).scalar_one() == 60
        feed = s.execute(
            text("SELECT action, count(*) FROM changes WHERE kind = 'penalty' GROUP BY action")
        ).all()
        assert dict(feed) == {"created": 60, "updated": 60}
        facts = s.execute(text("SELECT facts FROM penalties")).scalars().all()
        assert all(f.endswith("（已更正）") for f in facts)


def test_new_and_changed_records_in_one_batch_are_told_apart(rt, tmp_path):
    records = _records(40, seed=12)
    import_file(rt, _write(tmp_path / "old.jsonl", records[:20]), batch_size=BATCH)
    before = counts(rt)
    feed = "SELECT count(*) FROM changes WHERE kind = 'penalty'"
    with rt.sessions() as s:
        feed_before = s.execute(text(feed)).scalar_one()

    changed = [dict(rec, facts=rec["facts"] + "（复核）") for rec in records[:10]]
    mixed = changed + records[10:20] + records[20:]  # changed, unchanged, new
    summary = import_file(rt, _write(tmp_path / "mixed.jsonl", mixed), batch_size=BATCH)

    assert (summary.created, summary.updated, summary.unchanged) == (20, 10, 10)
    after = counts(rt)
    assert after["penalties"] == before["penalties"] + 20
    assert after["penalty_versions"] == before["penalty_versions"] + 10
    with rt.sessions() as s:
        assert s.execute(text(feed)).scalar_one() == feed_before + 30


def test_an_import_leaves_connections_and_interpreter_as_it_found_them(rt, tmp_path):
    interval = sys.getswitchinterval()
    seen: list[float] = []

    def settings() -> tuple[str, ...]:
        if rt.engine.dialect.name != "postgresql":
            return ()
        with rt.unit_of_work() as s:
            return tuple(
                s.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("synchronous_commit", "jit")
            )

    server = settings()
    summary = import_file(
        rt,
        _write(tmp_path / "some.jsonl", _records(80, seed=13)),
        batch_size=BATCH,
        progress=lambda _fraction: seen.append(sys.getswitchinterval()),
    )

    assert summary.created == 80
    # While reading and writing overlapped, the writer got the GIL back promptly...
    assert seen
    assert max(seen) <= run.HANDOVER_SECONDS
    # ...and afterwards the interpreter and every pooled connection are as before:
    # later writes on them commit synchronously, as the server is configured.
    assert sys.getswitchinterval() == interval
    for _ in range(3):
        assert settings() == server
