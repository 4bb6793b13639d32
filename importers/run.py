"""The import engine: a penalty file in, records in the registry, a report out.

Used by ``credit-registry import``, the inbox job and ``POST /api/v1/imports``:
stream the file → load each row with the shared record schema → hand valid records to
:func:`registry.penalties.upsert_penalties` in batches, one transaction per batch, so a
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
import queue
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
from importers.readers import PenaltyFile, Rejected, open_penalty_file
from registry import clock
from registry.codes import CodeError, validate_uscc
from registry.config import Config
from registry.db import is_postgres
from registry.export import safe_cell
from registry.models import ImportBatch
from registry.penalties import (
    PreparedBatch,
    fill_entity_pinyin,
    prepare_penalties,
    upsert_penalties,
)
from registry.records import validate_record
from registry.runtime import Runtime

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
    secret: str
    batch_size: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    postgres: bool = False

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

    def records(self, source: PenaltyFile) -> Iterator[tuple[int, dict[str, Any]]]:
        """Loaded records of the file; rejected rows go to the report on the way."""
        authority = self.authority
        for line, raw in source:
            self.summary.rows += 1
            if isinstance(raw, Rejected):
                self.reject(line, raw.problems)
                continue
            if authority is not None and not raw.get("authority_uscc"):
                raw["authority_uscc"] = authority
            record, problems = validate_record(raw)
            if record is None:
                self.reject(line, problems)
                continue
            if authority is not None and record["authority_uscc"] != authority:
                self.reject(
                    line,
                    [
                        (
                            "authority_uscc",
                            f"处罚机关统一社会信用代码{record['authority_uscc']}不是本次导入的"
                            f"机关{authority}，不能导入其他机关的记录",
                        )
                    ],
                )
                continue
            yield line, record

    def batches(self, source: PenaltyFile) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        batch: list[tuple[int, dict[str, Any]]] = []
        for item in self.records(source):
            batch.append(item)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def prepare(self, batch: list[tuple[int, dict[str, Any]]]) -> PreparedBatch:
        prepared = prepare_penalties([record for _, record in batch], self.secret)
        if self.postgres:
            prepared.copy_text()
        return prepared

    def write(
        self,
        batch: list[tuple[int, dict[str, Any]]],
        *,
        commit: bool,
        prepared: PreparedBatch | None = None,
    ) -> None:
        """One batch, one transaction.  A batch the database refuses is split until the
        refused record is found, so one bad record cannot sink its neighbours."""
        try:
            with self.rt.unit_of_work() as session:
                if self.postgres:
                    _commit_without_waiting(session)
                result = upsert_penalties(
                    session,
                    [record for _, record in batch],
                    self.actor,
                    self.summary.batch_id,
                    secret=self.secret,
                    prepared=prepared,
                )
                if not commit:
                    session.rollback()
        except (DataError, IntegrityError) as exc:
            if len(batch) == 1:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                self.reject(batch[0][0], [("_record", f"数据库拒绝写入：{reason}")])
                return
            half = len(batch) // 2
            self.write(batch[:half], commit=commit)
            self.write(batch[half:], commit=commit)
            return
        with self.lock:
            self.summary.created += result.created
            self.summary.updated += result.updated
            self.summary.unchanged += result.unchanged
        for idx, field_name, reason in result.rejected:
            self.reject(batch[idx][0], [(field_name, reason)])


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
        self.queue: queue.Queue[tuple[Any, PreparedBatch] | None] = queue.Queue(2)
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
                self.run.write(item[0], commit=self.commit, prepared=item[1])
            except BaseException as exc:
                self.error = exc
            self.busy += time.perf_counter() - started

    def put(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Prepare the batch here (hashing, staging text), write it there."""
        if self.error is not None:
            raise self.error
        self.queue.put((batch, self.run.prepare(batch)))

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
) -> ImportSummary:
    """Import one penalty file (a path, or a binary stream with ``name``).

    Returns the summary; a file that cannot be imported at all ends with
    ``summary.fatal`` set (and nothing written) rather than an exception."""
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
            config.security.secret_key,
            batch_size or config.importer.batch_size,
            postgres=is_postgres(rt.engine),
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
        with opened() as penalty_file:
            summary.format = penalty_file.format
            summary.warnings = list(penalty_file.warnings)
            if not dry_run:
                summary.batch_id = _start_batch(rt, summary, sha, authority, actor)
            started = time.perf_counter()
            with _prompt_handover(), _Writer(run, commit=not dry_run) as writer:
                for batch in run.batches(penalty_file):
                    writer.put(batch)
                    summary.written = summary.written or not dry_run
                    if progress is not None:
                        progress(penalty_file.position())
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
        from registry.evaluation import RULES_ACTOR, evaluate_dirty

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
        for batch in run.batches(penalty_file):
            prepared = prepare_penalties([r for _, r in batch], run.secret)
            for idx, field_name, reason in prepared.rejected:
                run.reject(batch[idx][0], [(field_name, reason)])
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
