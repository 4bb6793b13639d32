"""The entry points of rule evaluation.

:func:`evaluate_subjects` (inside a unit of work), :func:`evaluate_now` and
:func:`after_write` (their own unit of work, right after a write commits),
:func:`evaluate_dirty` (the queue), :func:`evaluate_all` (everything, a transaction per
batch).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.db import is_postgres
from registry.evaluation.facts import (
    KeywordMatcher,
    Subjects,
    count_subjects,
    subject_page,
)
from registry.lists.models import ListEntry
from registry.records.models import Penalty
from rules import RulePack

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
    from rules import Evaluator
from registry.evaluation.batch import ensure_pack_stored, evaluate_batch, resolve_engine
from registry.evaluation.history import record_run
from registry.evaluation.plan import OPEN_STATUSES, BatchPlan, EvaluationSummary
from registry.evaluation.queue import (
    clear_dirty,
    lock_subjects,
    page_subjects,
    queue_bounds,
    queue_length,
    take_dirty,
    take_dirty_range,
)
from registry.evaluation.workers import default_workers, run_in_processes

log = logging.getLogger(__name__)

RULES_ACTOR = "rules"
#: Subjects per transaction in bulk runs.
BATCH = 5000
#: A dirty queue this long is drained the bulk way (:func:`evaluate_dirty`).
BULK_FROM = 2 * BATCH
#: Subjects per transaction when the queue is drained the bulk way (after an import):
#: pages of 1,000 drained 100,000 queued subjects as fast as pages of 5,000 (28–33 s in
#: one process, 17 s in two, either size) and each process peaked 37 MB lower (113
#: against 150 MB) — memory that counts twice while two workers run beside the importer.
DRAIN_PAGE = 1000


# --- entry points --------------------------------------------------------------------


def normalise_subject(value: str) -> str:
    """A subject key from user input: ``P:<person key>`` as given, else a USCC,
    normalised and checked (:class:`registry.core.codes.CodeError` if malformed)."""
    from registry.core.codes import validate_uscc

    text_ = value.strip()
    if text_.startswith("P:"):
        return text_
    return validate_uscc(text_)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` drawing a bar on standard error when it is a
    terminal (else None), for :func:`evaluate_all`."""
    import sys

    import click

    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            bar.length = max(total, 1)
            bar.update(done - shown)
            shown = done

        yield advance


def evaluate_subjects(
    session: Session,
    rt_or_pack: Runtime | RulePack,
    subject_keys: Iterable[str],
    as_of: date | None = None,
    actor: str = RULES_ACTOR,
    *,
    _wait: bool = False,
) -> EvaluationSummary:
    """Run the rules for these subjects in the caller's transaction (flushes, never
    commits) and apply what they decide; ``as_of`` (default today) is the day the facts
    are taken on.  Subject keys are USCCs or ``P:<person key>``.

    It never waits for another evaluation of the same subject (the caller's transaction
    may hold the audit lock that one waits for, a deadlock): a subject being evaluated
    elsewhere at this moment is left to that evaluation."""
    pack, evaluator, matcher = resolve_engine(rt_or_pack)
    keys = sorted(set(subject_keys))
    total = EvaluationSummary()
    if not keys:
        return total
    day = as_of or clock.today()
    session.flush()
    stored = ensure_pack_stored(session, pack, actor)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        busy = lock_subjects(session, chunk, wait=_wait)
        if busy:
            # Being evaluated by another transaction right now, which reads the same
            # committed facts as of today; a writer queues its subjects in its own
            # transaction (before any lock this one could hold), so nothing is lost.
            log.info("%d subject(s) being evaluated elsewhere; skipped here", len(busy))
            chunk = sorted(set(chunk) - set(busy))
            if not chunk:
                continue
        plan = evaluate_batch(
            session,
            pack,
            evaluator,
            matcher,
            Subjects.of(chunk),
            day,
            actor,
            apply=True,
            extra_events=stored if start == 0 else (),
        )
        total.add(plan.summary)
    session.expire_all()
    return total


def evaluate_now(
    rt: Runtime,
    subject_keys: Iterable[str],
    as_of: date | None = None,
    actor: str = RULES_ACTOR,
) -> EvaluationSummary:
    """Evaluate these subjects now, in a unit of work of their own; they leave the dirty
    queue in the same transaction."""
    keys = sorted(set(subject_keys))
    if not keys:
        return EvaluationSummary()
    with rt.unit_of_work() as session:
        clear_dirty(session, keys)
        return evaluate_subjects(session, rt, keys, as_of=as_of, actor=actor, _wait=True)


def after_write(
    rt: Runtime, subject_keys: Iterable[str], actor: str = RULES_ACTOR
) -> EvaluationSummary | None:
    """Right after a write committed: evaluate the subjects it touched.  A failure here
    must not fail the write that already committed: it is logged, and the subjects stay
    in the dirty queue for :func:`evaluate_dirty` (the scheduler's ``evaluate`` job)."""
    keys = sorted(set(subject_keys))
    if not keys:
        return None
    try:
        return evaluate_now(rt, keys, actor=actor)
    except Exception:
        log.exception("rules evaluation failed for %d subject(s); left queued", len(keys))
        return None


def evaluate_dirty(
    rt: Runtime,
    limit: int | None = None,
    batch: int = 1000,
    actor: str = RULES_ACTOR,
    *,
    bulk_from: int | None = None,
    bulk_batch: int = DRAIN_PAGE,
    workers: int | None = None,
    origin: str | None = None,
) -> EvaluationSummary:
    """Consume the dirty-entity queue: evaluate queued subjects, ``batch`` per transaction,
    until the queue is empty (or ``limit`` subjects were taken).  Safe to run twice at
    once: each transaction takes rows no other holds (``SKIP LOCKED``).

    A queue of ``bulk_from`` subjects or more (default :data:`BULK_FROM`; after an import,
    say) is drained the way :func:`evaluate_all` works: in key order, ``bulk_batch``
    subjects per transaction, a page read by key range where the queued subjects are
    (nearly) all the subjects in it, and on PostgreSQL in ``workers`` processes (default:
    the machine's cores, at most :data:`MAX_WORKERS`), each draining a contiguous share of
    the queued keys.  The same subjects are evaluated the same way; only the transactions
    are fewer and larger.  Only a page of keys is held at a time, so memory does not grow
    with the queue.  Whatever is queued meanwhile is taken by the loop above at the end.

    A run that evaluated something is kept in the runs' history
    (:mod:`registry.evaluation.history`) as started by ``origin`` (default: ``actor``)."""
    started = clock.now()
    total = EvaluationSummary()
    threshold = BULK_FROM if bulk_from is None else bulk_from
    if limit is None and threshold > 0:
        with rt.sessions() as session:
            queued = queue_length(session)
        if queued >= threshold:
            total.add(_drain_queue(rt, queued, actor, workers, bulk_batch))
    pack, evaluator, matcher = resolve_engine(rt)
    while limit is None or total.subjects < limit:
        size = batch if limit is None else min(batch, limit - total.subjects)
        with rt.unit_of_work() as session:
            keys = take_dirty(session, size)
            if not keys:
                break
            summary = _evaluate_taken(
                session, pack, evaluator, matcher, keys, Subjects.of(keys), clock.today(), actor
            )
        total.add(summary)
    record_run(rt, total, origin=origin or actor, started=started)
    return total


def _evaluate_taken(
    session: Session,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    keys: list[str],
    subjects: Subjects,
    day: date,
    actor: str,
) -> EvaluationSummary:
    """Evaluate and apply subjects just taken off the queue (``keys``, read as
    ``subjects``), in the caller's transaction: the pack stored, the subjects locked."""
    stored = ensure_pack_stored(session, pack, actor)
    lock_subjects(session, keys)
    plan = evaluate_batch(
        session, pack, evaluator, matcher, subjects, day, actor, apply=True, extra_events=stored
    )
    return plan.summary


def _drain_queue(
    rt: Runtime, queued: int, actor: str, workers: int | None, size: int
) -> EvaluationSummary:
    """The bulk way through the queue (:func:`evaluate_dirty`)."""
    day = clock.today()
    workers = default_workers() if workers is None else max(1, workers)
    if workers > 1 and is_postgres(rt.engine) and queued >= 2 * workers * size:
        with rt.sessions() as session:
            bounds = queue_bounds(session, workers)
        shares = list(zip([None, *bounds], [*bounds, None], strict=True))
        return run_in_processes(
            rt,
            [(_drain_range, (lo, hi, day, actor, size)) for lo, hi in shares],
            None,
            queued,
        )
    total = EvaluationSummary()
    pack, evaluator, matcher = resolve_engine(rt)
    for summary in _drain_range(rt, pack, evaluator, matcher, None, None, day, actor, size):
        total.add(summary)
    return total


def _drain_range(
    rt: Runtime,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    lo: str | None,
    hi: str | None,
    day: date,
    actor: str,
    size: int = BATCH,
) -> Iterator[EvaluationSummary]:
    """Evaluate the queued subjects with keys in ``(lo, hi]``, ``size`` per transaction
    in key order, until none is left there; yields each batch's summary."""
    after = lo
    while True:
        with rt.unit_of_work() as session:
            keys = take_dirty_range(session, after, hi, size)
            if not keys:
                return
            subjects = page_subjects(session, keys, after)
            summary = _evaluate_taken(session, pack, evaluator, matcher, keys, subjects, day, actor)
        after = keys[-1]
        yield summary


def evaluate_all(
    rt: Runtime,
    as_of: date | None = None,
    batch: int = BATCH,
    actor: str = RULES_ACTOR,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> EvaluationSummary:
    """Evaluate every subject (with penalties or open list entries) in key order, one
    transaction per ``batch`` subjects; ``progress(done, total)`` after each batch.

    ``workers > 1`` (PostgreSQL only): that many processes, each taking a contiguous
    share of the key range (the pack's zen engine holds the GIL, so threads would not
    help); the subject locks are by key prefix, so the shares do not block each other."""
    if workers > 1 and is_postgres(rt.engine):
        with rt.sessions() as session:
            keys = all_subject_keys(session)
        batches = [keys[i : i + batch] for i in range(0, len(keys), batch)]
        if len(batches) >= 2 * workers:
            return _evaluate_in_processes(rt, batches, as_of, actor, progress, workers)
    pack, evaluator, matcher = resolve_engine(rt)
    day = as_of or clock.today()
    total = EvaluationSummary()
    expected = 0
    if progress is not None:
        with rt.sessions() as session:
            expected = count_subjects(session)
    after: str | None = None
    while True:
        with rt.unit_of_work() as session:
            keys = subject_page(session, after, batch)
            if not keys:
                break
            plan = _bulk_batch(session, pack, evaluator, matcher, keys, after, day, actor)
        total.add(plan.summary)
        after = keys[-1]
        if progress is not None:
            progress(total.subjects, max(expected, total.subjects))
    return total


def all_subject_keys(session: Session) -> list[str]:
    """Every subject with a penalty or an open list entry, sorted."""
    keys = set(session.execute(select(Penalty.subject_key).distinct()).scalars())
    keys.update(
        session.execute(
            select(ListEntry.uscc).distinct().where(ListEntry.status.in_(OPEN_STATUSES))
        ).scalars()
    )
    return sorted(keys)


def _bulk_batch(
    session: Session,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    keys: Sequence[str],
    after: str | None,
    day: date,
    actor: str,
) -> BatchPlan:
    """One transaction of a bulk run: the subjects ``keys``, every key in ``(after,
    keys[-1]]``; they leave the dirty queue first (so a write after our reads queues
    them again)."""
    stored = ensure_pack_stored(session, pack, actor)
    clear_dirty(session, keys)
    lock_subjects(session, keys)
    return evaluate_batch(
        session,
        pack,
        evaluator,
        matcher,
        Subjects.in_range(keys, after, keys[-1]),
        day,
        actor,
        apply=True,
        extra_events=stored,
    )


def _evaluate_in_processes(
    rt: Runtime,
    batches: list[list[str]],
    as_of: date | None,
    actor: str,
    progress: Callable[[int, int], None] | None,
    workers: int,
) -> EvaluationSummary:
    share = -(-len(batches) // workers)
    day = as_of or clock.today()
    jobs: list[tuple[Callable[..., Iterator[EvaluationSummary]], tuple[Any, ...]]] = []
    for index in range(workers):
        segment = batches[index * share : (index + 1) * share]
        if not segment:
            continue
        before = batches[index * share - 1][-1] if index else None
        jobs.append((_segment_batches, (segment, before, day, actor)))
    return run_in_processes(rt, jobs, progress, sum(len(b) for b in batches))


def _segment_batches(
    rt: Runtime,
    pack: RulePack,
    evaluator: Evaluator,
    matcher: KeywordMatcher,
    segment: list[list[str]],
    after: str | None,
    day: date,
    actor: str,
) -> Iterator[EvaluationSummary]:
    """A worker's share of :func:`evaluate_all`: its batches in order."""
    for keys in segment:
        with rt.unit_of_work() as session:
            plan = _bulk_batch(session, pack, evaluator, matcher, keys, after, day, actor)
        after = keys[-1]
        yield plan.summary
