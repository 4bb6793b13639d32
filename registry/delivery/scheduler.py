"""The scheduled jobs (APScheduler 3.x), safe with any number of scheduler processes.

Jobs: ``sweep`` (time-driven changes, :func:`registry.evaluation.sweep.sweep`), ``evaluate``
(the rules for queued subjects, ``registry.evaluation.runs.evaluate_dirty``), ``inbox`` (the
import inbox, ``importers.inbox.import_inbox``), ``webhooks`` (due deliveries,
``registry.delivery.webhooks.deliver_due``) and ``stats`` (a few counts, recorded as a job run).

How two schedulers stay out of each other's way
- Every job fires on a grid anchored at 2000-01-01 UTC (``interval`` apart), so every
  process fires the same *tick* at the same instant.
- A run takes the job's database lock (:func:`registry.core.db.try_job_lock`: a PostgreSQL
  advisory transaction lock, or a lease row on SQLite), then checks the job's
  ``job_locks.last_run_at``: a job already run in this tick is skipped.  So each tick of
  each job runs once across all processes, and never twice at the same time.
- Each run is recorded in ``job_runs`` (with its tick) and logged in one line.

Catching up: a late tick still runs (no misfire limit) and missed ticks coalesce into one
run; ``sweep`` and ``evaluate`` also run once at start.  After downtime nothing is lost
anyway: the sweep derives every state from dates (see :mod:`registry.evaluation.sweep`).

Never started at import time nor by the web app factory: ``credit-registry scheduler``
calls :func:`run_foreground`, ``credit-registry serve`` calls :func:`start_background`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.db import is_postgres, release_job_lock, try_job_lock
from registry.core.models import JobLock, JobRun
from registry.core.runtime import Runtime

log = logging.getLogger(__name__)

#: Ticks of every job are counted from here, so all processes share them.
ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
#: Lock names are prefixed so a job's own internal locks never collide with them.
LOCK_PREFIX = "scheduler:"
#: Jobs run once when the scheduler starts (catch up after downtime at once).
RUN_AT_START = ("sweep", "evaluate")
#: How long ``job_runs`` rows are kept (the ``stats`` job prunes older ones).
JOB_RUN_RETENTION = timedelta(days=30)


def holder_id() -> str:
    """Who holds a lock: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def wall_now() -> datetime:
    """Real time, for the scheduler's grid (the registry clock may be fixed in tests;
    the domain's dates still come from :mod:`registry.core.clock`)."""
    return datetime.now(UTC)


def tick_start(now: datetime, interval: timedelta) -> datetime:
    """The start of the tick ``now`` falls in, on the grid anchored at :data:`ANCHOR`."""
    return ANCHOR + ((now - ANCHOR) // interval) * interval


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: ``in_session`` jobs get the lock's own session (one transaction
    for lock, work and record); the others get the runtime and open their own."""

    name: str
    interval: timedelta
    work: Callable[..., Any]
    in_session: bool

    @property
    def lock_name(self) -> str:
        return LOCK_PREFIX + self.name

    @property
    def lease(self) -> timedelta:
        """SQLite lease: longer than any run, short enough to recover from a crash."""
        return max(timedelta(minutes=30), 2 * self.interval)


# --- one run -------------------------------------------------------------------------


@dataclass(frozen=True)
class JobOutcome:
    """How one attempt ended: ``ran`` (ok or failed) or ``skipped`` (why)."""

    job: str
    status: str  # ok | failed | skipped
    detail: dict[str, Any]
    seconds: float = 0.0


def describe(result: Any) -> dict[str, Any]:
    """A job's return value as a JSON-able detail for ``job_runs``."""
    if result is None:
        return {}
    if hasattr(result, "summary") and callable(result.summary):
        return audit.to_jsonable(result.summary())
    if isinstance(result, Mapping):
        return audit.to_jsonable(dict(result))
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return audit.to_jsonable(dataclasses.asdict(result))
    if isinstance(result, int | float):
        return {"count": result}
    if isinstance(result, list | tuple):
        out: dict[str, Any] = {"items": len(result)}
        counts = [item.counts() for item in result if hasattr(item, "counts")]
        if counts:
            out["results"] = counts[:50]
        return out
    return {"result": str(result)[:500]}


def _claim(session: Session, spec: JobSpec, holder: str, tick: datetime | None) -> str | None:
    """Take the job's lock in this transaction; None if claimed, else why not."""
    if not try_job_lock(session, spec.lock_name, holder, spec.lease):
        return "another scheduler is running it"
    row = session.get(JobLock, spec.lock_name)
    if tick is not None and row is not None and row.last_run_at and row.last_run_at >= tick:
        last = row.last_run_at
        release_job_lock(session, spec.lock_name, holder)
        row.last_run_at = last  # release stamps the registry clock; keep the real stamp
        session.flush()
        return "already run in this tick"
    _mark(session, spec, holder)
    return None


def _mark(session: Session, spec: JobSpec, holder: str) -> None:
    """Stamp the job's last run (real time) on its ``job_locks`` row."""
    row = session.get(JobLock, spec.lock_name)
    if row is None:
        session.add(JobLock(name=spec.lock_name, holder=holder, last_run_at=wall_now()))
    else:
        row.last_run_at = wall_now()
    session.flush()


@dataclass
class _Attempt:
    """One attempt at a job: who, which tick, and when it really started (stamped
    once the lock is held, so runs of one job never appear to overlap)."""

    spec: JobSpec
    holder: str
    tick: datetime | None
    started: datetime = field(default_factory=clock.now)

    @property
    def base(self) -> dict[str, Any]:
        return {} if self.tick is None else {"tick": self.tick.isoformat()}

    def claim(self, session: Session) -> str | None:
        why = _claim(session, self.spec, self.holder, self.tick)
        if why is None:
            self.started = clock.now()
        return why

    def record(
        self, rt: Runtime, status: str, detail: dict[str, Any], session: Session | None = None
    ) -> None:
        run = JobRun(
            job=self.spec.name,
            holder=self.holder,
            started_at=self.started,
            finished_at=clock.now(),
            status=status,
            detail=detail,
        )
        if session is not None:
            session.add(run)
            session.flush()
            return
        with rt.unit_of_work() as own:
            own.add(run)

    def finish(self, session: Session) -> None:
        release_job_lock(session, self.spec.lock_name, self.holder)
        _mark(session, self.spec, self.holder)


def run_job(
    rt: Runtime, spec: JobSpec, *, tick: datetime | None = None, holder: str | None = None
) -> JobOutcome:
    """Run one job now, under its lock, and record the run.  With ``tick`` (scheduled
    runs) a job already run in that tick by any process is skipped.  Never raises for
    the job's own failure: it is recorded (``failed``) and logged."""
    attempt = _Attempt(spec, holder or holder_id(), tick)
    t0 = time.monotonic()
    try:
        if spec.in_session:
            outcome = _run_in_session(rt, attempt)
        elif is_postgres(rt.engine):
            outcome = _run_held(rt, attempt)
        else:
            outcome = _run_leased(rt, attempt)
    except Exception as exc:
        seconds = time.monotonic() - t0
        detail = {**attempt.base, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        try:
            attempt.record(rt, "failed", detail)
        except Exception:  # the database itself is down: the log line is all we can do
            log.debug("could not record the failed run of %s", spec.name, exc_info=True)
        log.error(
            "job %s failed after %.2fs: %s",
            spec.name,
            seconds,
            detail["error"],
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        return JobOutcome(spec.name, "failed", detail, seconds)
    seconds = time.monotonic() - t0
    outcome = JobOutcome(outcome.job, outcome.status, outcome.detail, seconds)
    if outcome.status == "skipped":
        log.info("job %s skipped: %s", spec.name, outcome.detail.get("reason"))
    else:
        log.info("job %s ok in %.2fs: %s", spec.name, seconds, outcome.detail)
    return outcome


def _skipped(spec: JobSpec, reason: str) -> JobOutcome:
    return JobOutcome(spec.name, "skipped", {"reason": reason})


def _run_in_session(rt: Runtime, attempt: _Attempt) -> JobOutcome:
    """Lock, work and record in one transaction (sweep, stats)."""
    spec = attempt.spec
    with rt.unit_of_work() as session:
        why = attempt.claim(session)
        if why is not None:
            return _skipped(spec, why)
        detail = {**attempt.base, **describe(spec.work(session, rt))}
        attempt.record(rt, "ok", detail, session)
        attempt.finish(session)
    return JobOutcome(spec.name, "ok", detail)


def _run_held(rt: Runtime, attempt: _Attempt) -> JobOutcome:
    """PostgreSQL: the lock's transaction stays open (holding the advisory lock) while
    the job works in its own sessions, then records the run and commits."""
    spec = attempt.spec
    with rt.unit_of_work() as session:
        why = attempt.claim(session)
        if why is not None:
            return _skipped(spec, why)
        detail = {**attempt.base, **describe(spec.work(rt))}
        attempt.record(rt, "ok", detail, session)
        attempt.finish(session)
    return JobOutcome(spec.name, "ok", detail)


def _run_leased(rt: Runtime, attempt: _Attempt) -> JobOutcome:
    """SQLite: the lease row is committed first (so the job's own sessions can write —
    SQLite has one writer), the job works, then the run is recorded and the lease freed."""
    spec = attempt.spec
    with rt.unit_of_work() as session:
        why = attempt.claim(session)
    if why is not None:
        return _skipped(spec, why)
    try:
        detail = {**attempt.base, **describe(spec.work(rt))}
    except BaseException:
        with rt.unit_of_work() as session:
            attempt.finish(session)
        raise
    with rt.unit_of_work() as session:
        attempt.record(rt, "ok", detail, session)
        attempt.finish(session)
    return JobOutcome(spec.name, "ok", detail)


# --- the scheduler -------------------------------------------------------------------


def _scheduled(rt: Runtime, spec: JobSpec) -> Callable[[], None]:
    def fire() -> None:
        run_job(rt, spec, tick=tick_start(wall_now(), spec.interval))

    fire.__name__ = f"job_{spec.name}"
    return fire


def build_scheduler(
    rt: Runtime,
    specs: Mapping[str, JobSpec],
    blocking: bool,
    *,
    run_at_start: bool = True,
) -> BaseScheduler:
    """A scheduler (not started) with every job of ``specs`` on its grid.

    ``blocking``: a :class:`BlockingScheduler` (``start()`` blocks) or a background one."""
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        executors={"default": ThreadPoolExecutor(max_workers=len(specs))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )
    # APScheduler narrates each run in two INFO lines; ours says it in one.
    for name in ("apscheduler.executors.default", "apscheduler.scheduler"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)
    now = wall_now()
    for spec in specs.values():
        options: dict[str, Any] = {}
        if run_at_start and spec.name in RUN_AT_START:
            options["next_run_time"] = now
        scheduler.add_job(
            _scheduled(rt, spec),
            IntervalTrigger(seconds=spec.interval.total_seconds(), start_date=ANCHOR, timezone=UTC),
            id=spec.name,
            name=spec.name,
            replace_existing=True,
            **options,
        )
    return scheduler


def start_background(rt: Runtime, specs: Mapping[str, JobSpec], **options: Any) -> BaseScheduler:
    """Start the jobs in background threads of this process (``serve`` on the embedded
    setup); stop them with ``.shutdown(wait=False)``."""
    scheduler = build_scheduler(rt, specs, blocking=False, **options)
    scheduler.start()
    log.info("scheduler started in the background (%s)", holder_id())
    return scheduler


def run_foreground(
    rt: Runtime,
    specs: Mapping[str, JobSpec],
    *,
    run_for: float | None = None,
    run_at_start: bool = True,
) -> None:
    """Run the jobs until SIGTERM or Ctrl-C (or ``run_for`` seconds), then stop cleanly:
    no new run starts, and running ones finish."""
    stop = threading.Event()
    scheduler = build_scheduler(rt, specs, blocking=False, run_at_start=run_at_start)
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping (%s)", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    scheduler.start()
    log.info(
        "scheduler running (%s): %s", holder_id(), ", ".join(j.id for j in scheduler.get_jobs())
    )
    try:
        stop.wait(run_for)
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("scheduler stopped (%s)", holder_id())
