"""The scheduler's jobs, wired at the top: each job is an operation of a lower layer
(the sweep and the rules, the import inbox, webhook deliveries, statistics); the engine
that runs them safely across processes is :mod:`registry.delivery.scheduler`.

``build_scheduler``, ``start_background`` and ``run_foreground`` here are the engine's,
with this deployment's jobs (:func:`job_specs`) filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from importers.inbox import import_inbox
from registry.core import clock
from registry.core.models import JobRun
from registry.core.runtime import Runtime
from registry.delivery import scheduler as engine
from registry.delivery.scheduler import JOB_RUN_RETENTION, JobSpec
from registry.delivery.webhooks import deliver_due
from registry.evaluation.runs import evaluate_all, evaluate_dirty
from registry.evaluation.sweep import sweep
from registry.lists.entries import in_force_on
from registry.lists.models import ListEntry
from registry.records.disclosure import disclosed_on
from registry.records.models import Entity, Penalty

# --- the jobs ------------------------------------------------------------------------


def _sweep(session: Session, rt: Runtime) -> Any:
    return sweep(session, rt.pack, clock.today())


def _evaluate(rt: Runtime) -> Any:
    return evaluate_dirty(rt)


def _reevaluate(rt: Runtime) -> Any:
    """Every subject again: grades and red lists also change as time passes (a penalty
    ages past a window) with no write to queue the entity."""
    return evaluate_all(rt, actor="scheduler:reevaluate")


def _inbox(rt: Runtime) -> Any:
    return import_inbox(rt, actor="scheduler:inbox")


def _webhooks(rt: Runtime) -> Any:
    return deliver_due(rt)


def _stats(session: Session, rt: Runtime) -> Any:
    """Placeholder for published statistics: a few counts as of today.  Also keeps
    ``job_runs`` from growing without bound (runs older than :data:`JOB_RUN_RETENTION`)."""
    today = clock.today()

    def count(query: Any) -> int:
        return int(session.execute(query).scalar_one())

    # A DELETE gives a CursorResult (with rowcount); Session.execute is typed as Result.
    pruned = cast(
        CursorResult[Any],
        session.execute(delete(JobRun).where(JobRun.started_at < clock.now() - JOB_RUN_RETENTION)),
    ).rowcount
    return {
        "as_of": today.isoformat(),
        "job_runs_pruned": int(pruned or 0),
        "entities": count(select(func.count()).select_from(Entity)),
        "penalties": count(select(func.count()).select_from(Penalty)),
        "penalties_disclosed": count(
            select(func.count()).select_from(Penalty).where(disclosed_on(today))
        ),
        "entries_in_force": count(
            select(func.count()).select_from(ListEntry).where(in_force_on(today))
        ),
    }


def job_specs(rt: Runtime, intervals: Mapping[str, float] | None = None) -> dict[str, JobSpec]:
    """Every job with its interval from ``config.scheduler`` (``intervals``: seconds per
    job name, overriding the configuration — for tests and one-off runs)."""
    cfg = rt.config.scheduler
    seconds: dict[str, float] = {
        "sweep": cfg.sweep_interval_minutes * 60,
        "evaluate": cfg.evaluate_interval_seconds,
        "reevaluate": cfg.reevaluate_interval_hours * 3600,
        "inbox": cfg.inbox_interval_seconds,
        "webhooks": cfg.webhook_interval_seconds,
        "stats": cfg.stats_interval_minutes * 60,
    }
    unknown = set(intervals or {}) - set(seconds)
    if unknown:
        raise ValueError(f"unknown job(s): {', '.join(sorted(unknown))}")
    seconds.update(intervals or {})

    def every(name: str) -> timedelta:
        return timedelta(seconds=max(float(seconds[name]), 1.0))

    return {
        "sweep": JobSpec("sweep", every("sweep"), _sweep, in_session=True),
        "evaluate": JobSpec("evaluate", every("evaluate"), _evaluate, in_session=False),
        "reevaluate": JobSpec(
            "reevaluate",
            every("reevaluate"),
            _reevaluate,
            in_session=False,
        ),
        "inbox": JobSpec("inbox", every("inbox"), _inbox, in_session=False),
        "webhooks": JobSpec("webhooks", every("webhooks"), _webhooks, in_session=False),
        "stats": JobSpec("stats", every("stats"), _stats, in_session=True),
    }


def build_scheduler(
    rt: Runtime,
    blocking: bool,
    *,
    intervals: Mapping[str, float] | None = None,
    run_at_start: bool = True,
) -> BaseScheduler:
    """:func:`registry.delivery.scheduler.build_scheduler` with every job of this
    deployment; ``intervals``: seconds per job name, overriding the configuration."""
    return engine.build_scheduler(rt, job_specs(rt, intervals), blocking, run_at_start=run_at_start)


def start_background(
    rt: Runtime, *, intervals: Mapping[str, float] | None = None, **options: Any
) -> BaseScheduler:
    """The jobs in background threads of this process (``serve`` on the embedded setup)."""
    return engine.start_background(rt, job_specs(rt, intervals), **options)


def run_foreground(
    rt: Runtime,
    *,
    run_for: float | None = None,
    intervals: Mapping[str, float] | None = None,
    run_at_start: bool = True,
) -> None:
    """The jobs in the foreground until SIGTERM or Ctrl-C (``credit-registry scheduler``)."""
    engine.run_foreground(rt, job_specs(rt, intervals), run_for=run_for, run_at_start=run_at_start)
