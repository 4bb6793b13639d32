"""The import engine: a penalty file in, records in the registry, a report out.

Used by ``credit-registry import``, the inbox job and ``POST /api/v1/imports``:
stream the file → load each row with the shared record schema → hand valid records to
:func:`registry.records.penalties.upsert_penalties` in batches, one transaction per batch, so a
crash leaves whole batches only and running the file again completes it (batches are
idempotent).  Every rejected row goes to the report (CSV ``line,field,reason``, one row
per problem) — nothing rejected is silent.

Modes: ``strict`` — any rejected row rejects the whole file: the file is checked end to
end first and nothing is written unless every row is acceptable.  ``dry_run`` — the
same checks and counts as a real run, every batch rolled back.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

import click
from sqlalchemy import text, update
from sqlalchemy.exc import DataError, IntegrityError

from importers.headers import FileError
from importers.readers import PenaltyFile, open_penalty_file
from importers.reading import Reading, ReadSpec
from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.config import Config
from registry.core.db import is_postgres
from registry.core.runtime import Runtime
from registry.records.export import safe_cell
from registry.records.models import ImportBatch
from registry.records.penalties import fill_entity_pinyin, upsert_penalties
from registry.records.staging import PreparedBatch, prepare_penalties

REPORT_HEADER = ("line", "field", "reason")
#: Entities given their pinyin spellings right after an import (the rest by the job).
PINYIN_AFTER_IMPORT = 2000
log = logging.getLogger(__name__)


class ReportWriter:
    """The rejected-rows report: CSV ``line,field,reason``, written as rows are read.

    ``lazy``: create the file only when there is something to report (the default
    report location), rather than always (a path the user asked for)."""

    def __init__(self, target: str | os.PathLike[str] | TextIO, *, lazy: bool = False) -> None:
        self._fh: TextIO | None = None
        self._csv: Any = None
        self._owned = isinstance(target, str | os.PathLike)
        self.path: str | None = os.fspath(target) if self._owned else None  # type: ignore[arg-type]
        self._target = target
        self.rows = 0
        if not lazy:
            self._open()

    def _open(self) -> None:
        if self.path is not None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        else:
            self._fh = self._target  # type: ignore[assignment]
        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._csv.writerow(REPORT_HEADER)

    def add(self, line: int, field_name: str, reason: str) -> None:
        if self._csv is None:
            self._open()
        self._csv.writerow((line, safe_cell(field_name), safe_cell(reason)))
        self.rows += 1

    @property
    def created(self) -> bool:
        return self._csv is not None

    def close(self) -> None:
        if self._fh is None:
            return
        if self._owned:
            self._fh.close()
        else:
            self._fh.flush()


@dataclass
class ImportSummary:
    """What an import did: the counts a user sees, and how it ended."""

    source: str
    format: str | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: int = 0
    warnings: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    batch_id: int | None = None
    dry_run: bool = False
    strict: bool = False
    #: Whether anything was written (False for a dry run, a refused strict file, a fatal).
    written: bool = False
    fatal: str | None = None
    report: str | None = None
    #: Seconds spent per phase: ``load`` (read, validate, write the batches), ``write``
    #: (of which the writer thread was busy in the database), ``pinyin``, ``rules``.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No fatal error, and (strict) no rejected row."""
        return self.fatal is None and not (self.strict and self.rejected)

    @property
    def accounted(self) -> int:
        """Rows whose outcome is known: written (new, updated, unchanged) or rejected."""
        return self.created + self.updated + self.unchanged + self.rejected

    def counts(self) -> str:
        return (
            f"accepted {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rejected {self.rejected}"
        )


Progress = Callable[[float | None], None]


@dataclass
class _Run:
    rt: Runtime
    summary: ImportSummary
    report: ReportWriter | None
    actor: str
    authority: str | None
    id_key: bytes
    batch_size: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    postgres: bool = False
    restore: bool = False

    def reject(self, line: int, problems: Any) -> None:
        with self.lock:
            self._reject(line, problems)

    def _reject(self, line: int, problems: Any) -> None:
        self.summary.rejected += 1
        for field_name, reason in problems:
            self.summary.problems += 1
            self.summary.reasons[field_name] += 1
            if self.report is not None:
                self.report.add(line, field_name, reason)

    def reading(self) -> Reading:
        """A reader of the file for this import: rejected rows go to its report."""
        return Reading(
            self.reject,
            self.authority,
            self.id_key,
            self.batch_size,
            self.postgres,
            restore=self.restore,
        )

    def write(self, lines: list[int], prepared: PreparedBatch, *, commit: bool) -> None:
        """One batch, one transaction.  A batch the database refuses is split until the
        refused record is found, so one bad record cannot sink its neighbours.
        ``lines[i]``: the file line of the batch's record ``i``."""
        try:
            with self.rt.unit_of_work() as session:
                if self.postgres:
                    _commit_without_waiting(session)
                result = upsert_penalties(
                    session,
                    (),
                    self.actor,
                    self.summary.batch_id,
                    id_key=self.id_key,
                    prepared=prepared,
                )
                if not commit:
                    session.rollback()
        except (DataError, IntegrityError) as exc:
            # What the batch found in itself is told once, whatever the halves do.
            self._count(lines, prepared.rejected, unchanged=prepared.repeats)
            if prepared.count <= 1:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                for idx in prepared.record_indexes():
                    self.reject(lines[idx], [("_record", f"数据库拒绝写入：{reason}")])
                return
            for half in prepared.halves():
                self.write(lines, half, commit=commit)
            return
        self._count(lines, result.rejected, result.created, result.updated, result.unchanged)

    def _count(
        self,
        lines: list[int],
        rejected: list[tuple[int, str, str]],
        created: int = 0,
        updated: int = 0,
        unchanged: int = 0,
    ) -> None:
        with self.lock:
            self.summary.created += created
            self.summary.updated += updated
            self.summary.unchanged += unchanged
            for idx, field_name, reason in rejected:
                self._reject(lines[idx], [(field_name, reason)])


def _commit_without_waiting(session: Any) -> None:
    """Let this batch's commit return before its WAL is flushed to disk.

    Safe for what the import promises: an asynchronous commit is still atomic (a server
    crash loses whole transactions, never part of one) and WAL is replayed in order, so
    a crash can only lose the last few committed batches — as if the import had been
    killed a moment earlier — which running the file again writes (batches are
    idempotent; the dirty queue entries go with their records).  Nothing is reported
    accepted on the strength of these commits alone: the import's final commit, the one
    closing its ``import_batches`` row before the summary is returned, runs with the
    server's own setting (synchronous by default), and a synchronous commit flushes all
    WAL written before it — every batch's included.  What saves time: the writer no
    longer waits for an fsync per batch while the reader has the next one ready."""
    session.execute(text("SET LOCAL synchronous_commit = off"))


#: How long a thread may hold the GIL while another waits for it, during a load (the
#: interpreter's default is 5 ms).  See :func:`_prompt_handover`.
HANDOVER_SECONDS = 0.0005
_handover_lock = threading.Lock()
_handover_users = 0
_handover_saved = 0.0


@contextlib.contextmanager
def _prompt_handover() -> Iterator[None]:
    """Shorten the GIL switch interval while the reader and the writer run together.

    The writer spends most of its time in the database with the GIL released; each time
    a statement returns it needs the GIL back, and the reader — busy parsing — gives it
    up only when the switch interval expires.  At the default 5 ms, with a dozen round
    trips a batch, the writer spent a fifth of its time waiting for its own process
    (200,000 rows: load 57 s → 44 s at 0.5 ms).  The interval is process-wide, so it is
    restored when the last import running in this process finishes."""
    global _handover_users, _handover_saved
    with _handover_lock:
        if _handover_users == 0:
            _handover_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_handover_saved, HANDOVER_SECONDS))
        _handover_users += 1
    try:
        yield
    finally:
        with _handover_lock:
            _handover_users -= 1
            if _handover_users == 0:
                sys.setswitchinterval(_handover_saved)


class _Writer:
    """Writes batches on a second thread while the first reads and validates the next
    ones: the database works while Python parses (the driver releases the GIL while it
    waits).  At most two batches wait in between, so memory stays flat; batches are
    still written, and committed, one at a time and in file order."""

    def __init__(self, run: _Run, *, commit: bool) -> None:
        self.run = run
        self.commit = commit
        self.queue: queue.Queue[tuple[list[int], PreparedBatch] | None] = queue.Queue(2)
        self.error: BaseException | None = None
        self.busy = 0.0
        self.thread = threading.Thread(target=self._work, name="import-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self.thread.start()
        return self

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain after a failure; the reader is told at its next put
            started = time.perf_counter()
            try:
                self.run.write(*item, commit=self.commit)
            except BaseException as exc:
                self.error = exc
            self.busy += time.perf_counter() - started

    def put(self, lines: list[int], prepared: PreparedBatch) -> None:
        """A batch prepared here (hashing, staging text), to be written there."""
        if self.error is not None:
            raise self.error
        self.queue.put((lines, prepared))

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is not None:
            # Interrupted: the batch being written finishes (whole); waiting ones are
            # dropped — running the file again writes them.
            with contextlib.suppress(queue.Empty):
                while True:
                    self.queue.get_nowait()
        self.queue.put(None)
        self.thread.join()
        if exc is None and self.error is not None:
            raise self.error


def _load_in_process(
    run: _Run,
    spec: ReadSpec,
    *,
    commit: bool,
    progress: Progress | None,
    opened: Callable[[str, list[str]], None],
) -> float:
    """Write the file's batches here while a second process reads, validates and
    prepares the next ones; returns the seconds spent writing.

    The thread pipeline of :class:`_Writer` overlaps the database with Python, but the
    writing thread's own Python waits for the reading thread to hand over the
    interpreter, and reading takes most of a core: one process each lets both run at
    full speed.  The reading process is a fresh interpreter (``python -m
    importers.reader``, safe from a threaded server and from any host program); it gets
    what to read on its standard input and sends each batch, as its COPY text alone,
    on its standard output, a batch or two ahead at most, so memory stays flat.  The batches
    are written in file order, one transaction each, as the thread pipeline writes
    them; if this process stops, the reading one is stopped with it."""
    env = dict(os.environ)
    # The child imports what this process imports, from where this process found it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    reader = subprocess.Popen(
        [sys.executable, "-m", "importers.reader"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    summary = run.summary
    busy = 0.0
    ended = False
    try:
        assert reader.stdin is not None
        assert reader.stdout is not None
        pickle.dump(spec, reader.stdin)
        reader.stdin.close()
        while True:
            try:
                # Our own child over a private pipe, not data from outside.
                message = pickle.load(reader.stdout)  # noqa: S301
            except (EOFError, pickle.UnpicklingError):  # it died, mid-message or between
                raise RuntimeError(f"读取进程意外退出（退出码 {reader.wait()}）") from None
            kind = message[0]
            if kind == "opened":
                opened(message[1], message[2])
                continue
            if kind == "fatal":
                raise FileError(message[1])
            if kind == "failed":
                raise RuntimeError(f"读取进程出错：\n{message[1]}")
            for line, problems in message[1]:
                run.reject(line, problems)
            summary.rows = message[2]
            if kind == "end":
                summary.warnings = message[3]
                ended = True
                break
            lines, prepared, position = message[3:]
            started = time.perf_counter()
            run.write(lines, prepared, commit=commit)
            busy += time.perf_counter() - started
            summary.written = summary.written or commit
            if progress is not None:
                progress(position)
    finally:
        # Stopped early (an error, Ctrl-C): the reader has nothing worth waiting for.
        if not ended and reader.poll() is None:
            reader.kill()
        try:
            reader.wait(timeout=5)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
        if reader.stdout is not None:
            reader.stdout.close()
    return busy


def file_sha256(source: str | os.PathLike[str] | IO[bytes]) -> str | None:
    digest = hashlib.sha256()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    if not source.seekable():
        return None
    start = source.tell()
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
    source.seek(start)
    return digest.hexdigest()


def import_file(
    rt: Runtime,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    name: str | None = None,
    fmt: str | None = None,
    authority: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
    report: ReportWriter | None = None,
    actor: str = "cli",
    batch_size: int | None = None,
    progress: Progress | None = None,
    read_in_process: bool | None = None,
    restore: bool = False,
) -> ImportSummary:
    """Import one penalty file (a path, or a binary stream with ``name``).

    Returns the summary; a file that cannot be imported at all ends with
    ``summary.fatal`` set (and nothing written) rather than an exception.
    ``read_in_process``: read and validate the file in a second process while this one
    writes (:func:`_load_in_process`); by default for a file on disk of at least
    ``importer.parallel_read_min_bytes``.  ``restore``: a full export being restored by
    the operator (``import --restore``): lines may carry the restore-only fields
    (:data:`registry.records.schema.RESTORE_ONLY_FIELDS`), which every other import
    refuses."""
    label = name or (os.fspath(source) if isinstance(source, str | os.PathLike) else "upload")
    summary = ImportSummary(label, dry_run=dry_run, strict=strict)
    if report is not None:
        summary.report = report.path
    config = rt.config
    try:
        if authority is not None:
            try:
                authority = validate_uscc(authority)
            except CodeError as exc:
                raise FileError(f"--authority {authority}：{exc.message}") from exc
        provided = ("authority_uscc",) if authority else ()

        def opened() -> PenaltyFile:
            return open_penalty_file(
                source,
                fmt,
                name=name,
                max_line_bytes=config.importer.max_line_bytes,
                provided=provided,
            )

        run = _Run(
            rt,
            summary,
            report,
            actor,
            authority,
            rt.keys.id_hash,
            batch_size or config.importer.batch_size,
            postgres=is_postgres(rt.engine),
            restore=restore,
        )
        start = None if isinstance(source, str | os.PathLike) else source.tell()
        sha = file_sha256(source)
        if strict:
            if start is not None and not source.seekable():  # type: ignore[union-attr]
                raise FileError("--strict 需要可重复读取的文件")
            if not _strict_check(run, opened):
                return summary
            if start is not None:
                source.seek(start)  # type: ignore[union-attr]
        if read_in_process is None:
            threshold = config.importer.parallel_read_min_bytes
            read_in_process = (
                threshold >= 0 and start is None and os.path.getsize(source) >= threshold  # type: ignore[arg-type]
            )
        if read_in_process and start is None:

            def opened_elsewhere(format_name: str, warnings: list[str]) -> None:
                summary.format = format_name
                summary.warnings = warnings
                if not dry_run:
                    summary.batch_id = _start_batch(rt, summary, sha, authority, actor)

            spec = ReadSpec(
                os.fspath(source),  # type: ignore[arg-type]
                fmt,
                name,
                authority,
                provided,
                config.importer.max_line_bytes,
                run.id_key,
                run.batch_size,
                run.postgres,
                clock.fixed(),
                restore,
            )
            started = time.perf_counter()
            busy = _load_in_process(
                run, spec, commit=not dry_run, progress=progress, opened=opened_elsewhere
            )
            summary.timings["load"] = time.perf_counter() - started
            summary.timings["write"] = busy
        else:
            with opened() as penalty_file:
                summary.format = penalty_file.format
                summary.warnings = list(penalty_file.warnings)
                if not dry_run:
                    summary.batch_id = _start_batch(rt, summary, sha, authority, actor)
                started = time.perf_counter()
                reading = run.reading()
                try:
                    with _prompt_handover(), _Writer(run, commit=not dry_run) as writer:
                        for lines, prepared in reading.prepared(penalty_file):
                            writer.put(lines, prepared)
                            summary.written = summary.written or not dry_run
                            if progress is not None:
                                progress(penalty_file.position())
                finally:
                    summary.rows = reading.rows
                summary.timings["load"] = time.perf_counter() - started
                summary.timings["write"] = writer.busy
                summary.warnings = list(penalty_file.warnings)
    except FileError as exc:
        summary.fatal = str(exc)
    except BaseException as exc:
        # Killed or the database went away: the committed batches stay (whole), the
        # import is marked failed if the database still answers, and the error goes on.
        summary.fatal = summary.fatal or f"{type(exc).__name__}: {exc}"
        if summary.batch_id is not None:
            with contextlib.suppress(Exception):
                _finish_batch(rt, summary)
        raise
    if summary.batch_id is not None:
        _finish_batch(rt, summary)
    started = time.perf_counter()
    if summary.written and summary.created:
        # Search spellings for the new entities, in bounded transactions.
        filled = 1
        while filled:
            with rt.unit_of_work() as session:
                filled = fill_entity_pinyin(session, PINYIN_AFTER_IMPORT)
    summary.timings["pinyin"] = time.perf_counter() - started
    started = time.perf_counter()
    if summary.written:
        # The write path's last step: the rules run for the entities this file touched —
        # and for any an interrupted earlier run left queued, so running a killed import
        # again completes it even when every record is already in (all "unchanged").
        from registry.evaluation.runs import RULES_ACTOR, evaluate_dirty

        try:
            evaluate_dirty(rt, actor=RULES_ACTOR)
        except Exception:  # the import committed; the queue keeps the subjects
            log.exception("rules evaluation after import failed; subjects stay queued")
    summary.timings["rules"] = time.perf_counter() - started
    return summary


def _strict_check(run: _Run, opened: Callable[[], PenaltyFile]) -> bool:
    """Read the whole file once without writing: is every row acceptable?  The batches
    of the real run are the same, so the write can refuse nothing this did not."""
    summary = run.summary
    with opened() as penalty_file:
        summary.format = penalty_file.format
        reading = run.reading()
        for batch in reading.batches(penalty_file):
            prepared = prepare_penalties([r for _, r in batch], run.id_key)
            run._count([line for line, _ in batch], prepared.rejected)
        summary.rows = reading.rows
        summary.warnings = list(penalty_file.warnings)
    if summary.rejected:
        return False
    summary.rows = 0
    return True


def _start_batch(
    rt: Runtime, summary: ImportSummary, sha: str | None, authority: str | None, actor: str
) -> int:
    with rt.unit_of_work() as session:
        batch = ImportBatch(
            source=summary.source[-500:],
            file_sha256=sha,
            format=summary.format or "?",
            authority_uscc=authority,
            actor=actor[:200],
            status="running",
            started_at=clock.now(),
        )
        session.add(batch)
        session.flush()
        return batch.id


def _finish_batch(rt: Runtime, summary: ImportSummary) -> None:
    status = "failed" if summary.fatal else "completed"
    if summary.fatal:
        # The reading runs a batch or two ahead of the writing: rows read but never
        # written are not this import's — it counts the rows it accounted for (written,
        # or in the report), and running the file again takes the rest.
        summary.rows = min(summary.rows, summary.accounted)
    with rt.unit_of_work() as session:
        session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == summary.batch_id)
            .values(
                status=status,
                rows_total=summary.rows,
                accepted=summary.created,
                updated=summary.updated,
                unchanged=summary.unchanged,
                rejected=summary.rejected,
                rejection_reasons=dict(summary.reasons),
                finished_at=clock.now(),
            )
        )


def report_path(config: Config, path: str, report: str | None, *, several: bool) -> str:
    """Where the rejected rows of ``path`` go: ``--report`` (one per file, suffixed, when
    several files are given), else a time-stamped file in ``importer.report_dir``."""
    if report and not several:
        return report
    stem = Path(path).stem
    if report:
        base = Path(report)
        return str(base.with_name(f"{base.stem}-{stem}{base.suffix or '.csv'}"))
    stamp = clock.now().strftime("%Y%m%dT%H%M%S")
    return str(config.path(config.importer.report_dir) / f"{stem}-{stamp}.report.csv")


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A progress bar on standard error when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1000, label=label, file=sys.stderr) as bar:
        done = 0

        def advance(fraction: float | None) -> None:
            nonlocal done
            if fraction is not None and int(fraction * 1000) > done:
                bar.update(int(fraction * 1000) - done)
                done = int(fraction * 1000)

        yield advance
