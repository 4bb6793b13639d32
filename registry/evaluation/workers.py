"""Rule evaluation in several processes: the zen engine holds the GIL, so a bulk run
spreads its shares over spawned processes, the caller taking one share itself.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from registry.core import clock

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
from registry.evaluation.batch import resolve_engine
from registry.evaluation.plan import EvaluationSummary

log = logging.getLogger(__name__)
#: At most this many worker processes by default.
MAX_WORKERS = 4


def default_workers() -> int:
    """The machine's cores, at most :data:`MAX_WORKERS`; 1 inside a daemonic process
    (which may not start processes of its own)."""
    import multiprocessing
    import os

    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def run_in_processes(
    rt: Runtime,
    jobs: Sequence[tuple[Callable[..., Iterator[EvaluationSummary]], tuple[Any, ...]]],
    progress: Callable[[int, int], None] | None,
    expected: int,
) -> EvaluationSummary:
    """Run each job — ``function(rt, pack, evaluator, matcher, *args)`` yielding a summary
    per committed batch — the first here and each other in a process of its own
    (spawned: the pack's zen engine holds the GIL, so threads would not help), and add
    up what they report.

    The caller takes a share rather than wait: one process fewer to hold an interpreter,
    the models and the engine (~60 MB), which counts when an import's rules run beside
    the importer, and no slower (as many processes evaluate).  It reads what the others
    said between its own batches.  If its own share fails, the others are stopped (what
    each committed stays; what it had not reached stays queued)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    # a fixed clock (tests, benchmarks) must hold in the workers too
    fixed = clock.fixed()
    processes: dict[int, Any] = {}
    for index, (function, args) in enumerate(jobs[1:], start=1):
        process = context.Process(
            target=_worker_main,
            args=(index, rt.config, function, args, fixed, messages),
            daemon=True,
        )
        process.start()
        processes[index] = process
    total = EvaluationSummary()
    running, failures = set(processes), []

    def counted(summary: EvaluationSummary) -> None:
        total.add(summary)
        if progress is not None:
            progress(total.subjects, max(expected, total.subjects))

    def heard(index: int, kind: str, payload: Any) -> None:
        if kind == "batch":
            counted(EvaluationSummary(**payload))
            return
        running.discard(index)
        if kind == "done":
            log.info("rules worker %d done; its peak RSS %d MB", index, payload // 1024)
        else:
            failures.append(payload)

    try:
        if jobs:
            function, args = jobs[0]
            pack, evaluator, matcher = resolve_engine(rt)
            for summary in function(rt, pack, evaluator, matcher, *args):
                counted(summary)
                with contextlib.suppress(queue.Empty):
                    while True:
                        heard(*messages.get_nowait())
        while running:
            try:
                heard(*messages.get(timeout=1.0))
            except queue.Empty:
                # a worker that died without a word (killed, failed to start) ends too
                for index in sorted(running):
                    code = processes[index].exitcode
                    if code is not None and messages.empty():
                        running.discard(index)
                        failures.append(f"worker {index} exited with code {code}")
    except BaseException:
        for process in processes.values():
            process.terminate()
        raise
    finally:
        for process in processes.values():
            process.join(timeout=60)
    if failures:
        raise RuntimeError(f"a rules worker failed (batches it committed stay): {failures[0]}")
    return total


def _peak_rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _worker_main(
    index: int,
    config: Any,
    function: Callable[..., Iterator[EvaluationSummary]],
    args: tuple[Any, ...],
    fixed: Any,
    messages: Any,
) -> None:
    """A worker process of :func:`run_in_processes`."""
    import traceback

    from registry.core.runtime import Runtime

    if fixed is not None:
        clock.set_clock(fixed)
    rt = Runtime(config)
    try:
        pack, evaluator, matcher = resolve_engine(rt)
        for summary in function(rt, pack, evaluator, matcher, *args):
            messages.put((index, "batch", summary.as_dict()))
        messages.put((index, "done", _peak_rss_kb()))
    except BaseException:
        messages.put((index, "error", traceback.format_exc(limit=5)))
    finally:
        rt.dispose()
