"""``kill -9`` of a running import on PostgreSQL leaves whole batches only, and running
the same file again completes it: the full export then equals a clean import's.

Each run imports the same file (``credit-registry import``, a child process, batches of
``BATCH`` records) into a fresh database and kills it with SIGKILL at a seeded random
point: once a random number of records is visible (so the kill lands mid-file, between
or inside batch transactions), or after the last batch (during the rule run).  Then:

- the records present are a union of whole batches of the file (every batch entirely
  present or entirely absent), each at version 1, and ``audit verify`` passes;
- running the file again exits 0, reports exactly the missing records as accepted and
  the present ones as unchanged, and closes its import batch as completed;
- ``export --scope full`` equals the clean import's, record for record.

What "equal" means: the exports are compared without the fields that legitimately
differ between two databases or two runs — surrogate ids (``id``, ``history`` ids,
``import_batch_id``) and timestamps (``created_at``, ``updated_at``).  Everything else —
every record field, subject key, content hash, version, status, severity and disclosure
date computed by the rules — must be identical.
"""

from __future__ import annotations

import json
import random
import re
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from importers.readers import Rejected, open_penalty_file
from tests.reliability.conftest import run_cli, start_cli, write_demo_file

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

RECORDS = 1200
BATCH = 100
PARTIAL = 2
MAX_RANDOM_RUNS = 8
SEED = 8
VARYING = ("id", "history", "import_batch_id", "created_at", "updated_at")
COUNTS = re.compile(r"新增 (\d+)，更新 (\d+)，未变 (\d+)，拒收 (\d+)")


def _keys_in_file_order(path: Path) -> list[tuple[str, str]]:
    keys = []
    with open_penalty_file(path) as pf:
        for _line, raw in pf:
            assert not isinstance(raw, Rejected), raw
            keys.append((raw["authority_uscc"], raw["decision_number"]))
    return keys


def _export(url: str, out: Path) -> list[dict]:
    done = run_cli(url, "export", "--scope", "full", "--out", str(out))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for record in records:
        for name in VARYING:
            record.pop(name, None)
    return sorted(records, key=lambda r: (r["authority_uscc"], r["decision_number"]))


def _assert_same(got: list[dict], expected: list[dict], where: str) -> None:
    assert len(got) == len(expected), f"{where}: {len(got)} records, expected {len(expected)}"
    for mine, theirs in zip(got, expected, strict=True):
        differing = {k: (mine.get(k), theirs.get(k)) for k in theirs if mine.get(k) != theirs[k]}
        assert not differing, (
            f"{where}: {theirs['decision_number']} differs from the clean import: {differing}"
        )


def _present(engine) -> tuple[set[tuple[str, str]], set[int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT authority_uscc, decision_number, version FROM penalties")
        ).all()
    return {(a, d) for a, d, _v in rows}, {v for _a, _d, v in rows}


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM penalties")).scalar_one()


def _kill_and_rerun(
    fresh_pg, tmp_path, data, keys, batches, env, expected, *, run, threshold, extra
):
    """One run: import into a fresh database, SIGKILL it once ``threshold`` records are
    visible (plus ``extra`` seconds), check what is left, re-run and compare.  Returns
    whether the kill left a partial import (some but not all records present)."""
    url = fresh_pg()
    engine = create_engine(url)
    try:
        proc = start_cli(url, "import", str(data), env=env)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _count(engine) < threshold:
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.01)
        time.sleep(extra)
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        if killed:
            assert proc.returncode == -signal.SIGKILL

        present, versions = _present(engine)
        for number, batch in enumerate(batches):
            inside = batch & present
            assert inside in (set(), batch), (
                f"run {run}: batch {number} is half written ({len(inside)} of {len(batch)} records)"
            )
        assert present <= set(keys)
        assert versions <= {1}
        verified = run_cli(url, "audit", "verify")
        assert verified.returncode == 0, verified.stderr

        again = run_cli(url, "import", str(data), env=env)
        assert again.returncode == 0, again.stderr
        counts = COUNTS.search(again.stdout)
        assert counts, again.stdout
        assert tuple(int(c) for c in counts.groups()) == (
            RECORDS - len(present),
            0,
            len(present),
            0,
        ), f"run {run}: {again.stdout}"
        with engine.connect() as conn:
            last = conn.execute(
                text("SELECT status, rows_total FROM import_batches ORDER BY id DESC LIMIT 1")
            ).one()
        assert tuple(last) == ("completed", RECORDS)
        _assert_same(_export(url, tmp_path / f"run{run}.jsonl"), expected, f"run {run}")
        assert run_cli(url, "audit", "verify").returncode == 0
        return 0 < len(present) < RECORDS
    finally:
        engine.dispose()


def test_kill_9_leaves_whole_batches_and_a_rerun_completes(fresh_pg, tmp_path):
    data = write_demo_file(tmp_path / "penalties.csv", RECORDS)
    keys = _keys_in_file_order(data)
    assert len(set(keys)) == RECORDS
    batches = [set(keys[i : i + BATCH]) for i in range(0, RECORDS, BATCH)]
    env = {"REGISTRY_IMPORTER_BATCH_SIZE": str(BATCH)}

    clean = fresh_pg()
    done = run_cli(clean, "import", str(data), env=env)
    assert done.returncode == 0, done.stderr
    assert f"新增 {RECORDS}，更新 0，未变 0，拒收 0" in done.stdout
    expected = _export(clean, tmp_path / "clean.jsonl")
    assert len(expected) == RECORDS

    # Kill at seeded random points until PARTIAL kills have landed mid-file (a fast
    # machine may finish a file before a late kill lands, so the number of runs is
    # bounded, not fixed); every run, partial or not, must pass every check.
    rng = random.Random(SEED)
    partial_runs = run = 0
    while partial_runs < PARTIAL:
        assert run < MAX_RANDOM_RUNS, (
            f"only {partial_runs} of {run} kills landed mid-import: "
            "the import finishes before the kill can land"
        )
        threshold = rng.randrange(1, RECORDS - BATCH)
        extra = rng.uniform(0, 0.05)
        kw = {"run": run, "threshold": threshold, "extra": extra}
        partial_runs += _kill_and_rerun(
            fresh_pg, tmp_path, data, keys, batches, env, expected, **kw
        )
        run += 1
    # The last run waits for every record and kills during the rule run.
    _kill_and_rerun(
        fresh_pg,
        tmp_path,
        data,
        keys,
        batches,
        env,
        expected,
        run=run,
        threshold=RECORDS,
        extra=rng.uniform(0, 0.3),
    )
