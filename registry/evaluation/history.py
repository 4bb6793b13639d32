"""What the rules runs did: their summary in the words people read, and their history.

A run that evaluated at least one subject — the queue drained after an import, by the
scheduler or by ``credit-registry evaluate``, or a full run — is kept as a row of
``job_runs`` (job :data:`RUN_JOB`, ``holder`` saying who started it, ``detail`` the
counts of :func:`rules_summary`), so ``credit-registry evaluate`` can say what the last
run did when nothing is waiting.  Runs that found nothing to do are not kept: the
scheduler drains an empty queue every few seconds.  Old rows go with the job-run
retention of ``cli/jobs.py``.

Every sentence that states these counts is made by :mod:`registry.core.wording`
(``rules_sentence``, re-exported here), so the CLI, the import summary and the reports
say the same thing the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from registry.core import clock
from registry.core.models import JobRun
from registry.core.wording import RULES_COUNTS, rules_sentence
from registry.evaluation.plan import EvaluationSummary

if TYPE_CHECKING:
    from registry.core.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["LastRun", "last_run", "record_run", "rules_sentence", "rules_summary"]

#: The ``job_runs.job`` of a rules run.
RUN_JOB = "rules-run"
#: Who started a run, as a person reads it (``job_runs.holder``).
ORIGINS = {
    "import": "导入之后",
    "cli": "命令行",
    "scheduler": "定时任务",
    "rules": "定时任务",
    "full": "全量重新评估",
}


def rules_summary(summary: EvaluationSummary) -> dict[str, Any]:
    """The counts people ask about, from a run's summary (stored as JSON)."""
    return {
        "subjects": summary.subjects,
        "proposed": summary.proposed,
        "activated": summary.activated,
        "withdrawn": summary.withdrawn,
        "removed": summary.removed,
        "alerts": summary.alerts_opened,
        "failed": False,
    }


def failed_summary() -> dict[str, Any]:
    """The stored summary of a run that failed (its subjects stay queued)."""
    return {**dict.fromkeys(RULES_COUNTS, 0), "failed": True}


def origin_label(holder: str) -> str:
    return ORIGINS.get(holder.split(":", 1)[0], holder)


def record_run(rt: Runtime, summary: EvaluationSummary, *, origin: str, started: datetime) -> None:
    """Keep a run that evaluated something; never fails the run it records."""
    if not summary.subjects:
        return
    try:
        with rt.unit_of_work() as session:
            session.add(
                JobRun(
                    job=RUN_JOB,
                    holder=origin[:200],
                    started_at=started,
                    finished_at=clock.now(),
                    status="ok",
                    detail=rules_summary(summary),
                )
            )
    except Exception:  # the run's own work is committed; its history is a convenience
        log.exception("could not record the rules run")


@dataclass(frozen=True)
class LastRun:
    finished_at: datetime
    origin: str
    counts: dict[str, Any]

    def describe(self) -> str:
        at = self.finished_at
        if at.tzinfo is None:  # SQLite hands back naive UTC
            at = at.replace(tzinfo=UTC)
        when = at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
        return f"上次运行：{when}（{origin_label(self.origin)}）{rules_sentence(self.counts)}"


def last_run(rt: Runtime) -> LastRun | None:
    """The latest run that evaluated something, if any is kept."""
    with rt.sessions() as session:
        row = session.execute(
            select(JobRun.finished_at, JobRun.started_at, JobRun.holder, JobRun.detail)
            .where(JobRun.job == RUN_JOB)
            .order_by(JobRun.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return LastRun(row.finished_at or row.started_at, row.holder, dict(row.detail or {}))
