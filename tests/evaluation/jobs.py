"""Shares of work for ``registry.evaluation.workers.run_in_processes`` in tests: a module of its
own, light to import, because a spawned worker imports the job it runs."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from registry.evaluation.plan import EvaluationSummary


def where_it_ran(*_engine: Any, caller: int, batches: int) -> Iterator[EvaluationSummary]:
    """``batches`` batches of one subject in the caller's process, of 100 elsewhere."""
    for _ in range(batches):
        yield EvaluationSummary(subjects=1 if os.getpid() == caller else 100)


def breaks_elsewhere(*_engine: Any, caller: int) -> Iterator[EvaluationSummary]:
    if os.getpid() != caller:
        raise RuntimeError("the worker's share broke")
    yield EvaluationSummary(subjects=1)


def breaks_here_slow_elsewhere(*_engine: Any, caller: int) -> Iterator[EvaluationSummary]:
    """Fails at once in the caller; elsewhere, two minutes of slow batches."""
    if os.getpid() == caller:
        raise ValueError("the caller's share broke")
    for _ in range(1200):
        time.sleep(0.1)
        yield EvaluationSummary(subjects=1)
