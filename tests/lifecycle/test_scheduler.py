"""The scheduler: each job once per tick across processes, runs recorded, clean stops.

Real schedulers in real OS processes against the test database; nothing is mocked."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from cli.jobs import job_specs, start_background
from registry.core.models import JobRun
from registry.delivery.scheduler import JobSpec, run_job, tick_start, wall_now
from registry.lists.models import ListEntry
from tests.conftest import DEVELOPMENT_ENV, ROOT

DAY = timedelta(days=1)


def _runs(rt) -> list[JobRun]:
    with rt.sessions() as s:
        return list(s.execute(select(JobRun).order_by(JobRun.id)).scalars())


def test_a_job_runs_once_per_tick_and_is_recorded(rt):
    spec = job_specs(rt)["stats"]
    tick = tick_start(wall_now(), spec.interval)
    first = run_job(rt, spec, tick=tick)
    assert first.status == "ok"
    assert first.detail["tick"] == tick.isoformat()
    assert first.detail["as_of"] == "2026-11-29"
    again = run_job(rt, spec, tick=tick)
    assert (again.status, again.detail["reason"]) == ("skipped", "already run in this tick")
    assert run_job(rt, spec, tick=tick + spec.interval).status == "ok"
    runs = _runs(rt)
    assert [(r.job, r.status) for r in runs] == [("stats", "ok"), ("stats", "ok")]
    assert all(r.finished_at >= r.started_at for r in runs)


def test_sweep_job_materialises_with_the_registry_clock(rt, session, factory, authority, today):
    entry = factory.entry(
        factory.uscc(), status="active", authority_uscc=authority, since=today - 1200 * DAY
    )
    session.commit()
    outcome = run_job(rt, job_specs(rt)["sweep"])
    assert outcome.status == "ok"
    assert outcome.detail["entries_ended"] == 1
    session.expire_all()
    assert session.get(ListEntry, entry.id).ended_on == entry.until + DAY


def test_a_failing_job_is_recorded_not_raised(rt):
    def broken(session, rt):
        session.execute(text("SELECT 1"))
        raise RuntimeError("boom")

    spec = JobSpec("broken", timedelta(seconds=5), broken, in_session=True)
    outcome = run_job(rt, spec, tick=tick_start(wall_now(), spec.interval))
    assert outcome.status == "failed"
    assert "RuntimeError: boom" in outcome.detail["error"]
    (run,) = _runs(rt)
    assert (run.job, run.status) == ("broken", "failed")


def test_a_job_with_its_own_sessions_can_write_under_the_lock(rt):
    """SQLite has one writer: the lock must not hold it while the job writes."""

    def writes(rt):
        with rt.unit_of_work() as s:
            s.execute(
                text("INSERT INTO dirty_entities (subject_key, queued_at) VALUES ('k', :t)"),
                {"t": wall_now().replace(tzinfo=None).isoformat(" ")},
            )
        return 1

    spec = JobSpec("writer", timedelta(seconds=5), writes, in_session=False)
    assert run_job(rt, spec).status == "ok"
    assert _runs(rt)[0].detail == {"count": 1}


def test_background_scheduler_starts_and_stops(rt):
    scheduler = start_background(rt, intervals={"sweep": 3600}, run_at_start=False)
    try:
        assert {job.id for job in scheduler.get_jobs()} >= {"sweep", "stats", "inbox"}
    finally:
        scheduler.shutdown(wait=False)


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REGISTRY_DATABASE_URL": database_url,
        **DEVELOPMENT_ENV,
        "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
        "REGISTRY_IMPORTER_INBOX": str(tmp_path / "inbox"),
        "PYTHONPATH": str(ROOT),
    }


SCHEDULER_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(process)d %(message)s")
from registry.core.runtime import Runtime
from cli.jobs import run_foreground
rt = Runtime()
run_foreground(rt, run_for=float(sys.argv[1]), intervals={
    "sweep": 2, "stats": 2, "inbox": 2, "evaluate": 2, "reevaluate": 2, "webhooks": 2})
rt.dispose()
"""


@pytest.mark.postgres_only
@pytest.mark.slow
def test_two_scheduler_processes_run_each_job_once_per_tick(rt, database_url, tmp_path):
    env = _env(database_url, tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_SCRIPT, "9"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs = []
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        logs.append(err)
    runs = _runs(rt)
    by_job: dict[str, list[JobRun]] = defaultdict(list)
    for run in runs:
        assert run.status == "ok", run.detail
        by_job[run.job].append(run)
    assert {"sweep", "stats", "inbox"} <= set(by_job)
    for job, job_runs in by_job.items():
        ticks = [r.detail["tick"] for r in job_runs]
        assert len(ticks) == len(set(ticks)), f"{job} ran twice in a tick: {sorted(ticks)}"
        assert len(ticks) >= 3, f"{job} ran only {len(ticks)} times"
        ordered = sorted(job_runs, key=lambda r: r.started_at)
        for earlier, later in itertools.pairwise(ordered):
            assert later.started_at >= earlier.finished_at, f"{job} runs overlapped"
    # Both processes tried every tick; the loser logged a skip (one line per run).
    assert all("job sweep" in log for log in logs)
    assert sum(log.count("job sweep ok") for log in logs) == len(by_job["sweep"])
    assert sum(log.count("job sweep skipped") for log in logs) >= len(by_job["sweep"]) - 1


def test_cli_scheduler_stops_cleanly_on_sigterm(rt, database_url, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "scheduler"],
        env=_env(database_url, tmp_path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(r.job == "sweep" for r in _runs(rt)):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "定时任务运行中" in err
    assert "scheduler stopped" in err
    assert "job sweep ok" in err
    assert [r.status for r in _runs(rt) if r.job == "sweep"] == ["ok"]


def test_stats_job_prunes_old_runs(rt):
    from registry.core import clock

    with rt.unit_of_work() as s:
        s.add(JobRun(job="sweep", holder="old", started_at=clock.now() - 40 * DAY, status="ok"))
        s.add(JobRun(job="sweep", holder="recent", started_at=clock.now() - 2 * DAY, status="ok"))
    outcome = run_job(rt, job_specs(rt)["stats"])
    assert outcome.detail["job_runs_pruned"] == 1
    assert sorted(r.holder for r in _runs(rt) if r.job == "sweep") == ["recent"]
