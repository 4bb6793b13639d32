"""The import engine: a penalty file in, records in the registry, a report out.

Used by ``credit-registry import``, the inbox job and ``POST /api/v1/imports``:
stream the file → load each row with the shared record schema → hand valid records to
:func:`registry.records.penalties.upsert_penalties` in batches, one transaction per batch, so a
crash leaves whole batches only and running the file again completes it (batches are
idempotent).  Every rejected row goes to the report (``行号, 决定书文号, 字段, 原因``, one row
per problem, see :mod:`importers.report`) — nothing rejected is silent.

Modes: ``strict`` — any rejected row rejects the whole file: the file is checked end to
end first and nothing is written unless every row is acceptable.  ``dry_run`` — the
same checks and counts as a real run, every batch rolled back.
"""

from __future__ import annotations

import contextlib
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
from typing import IO, Any

from sqlalchemy import text, update
from sqlalchemy.exc import DataError, IntegrityError

from importers.headers import FileError
from importers.progress import (
    STAGE_CHECK,
    STAGE_LOAD,
    STAGE_PINYIN,
    STAGE_RULES,
    Progress,
    Stage,
)
from importers.readers import PenaltyFile, open_penalty_file
from importers.reading import Reading, ReadSpec, Where
from importers.report import ReportWriter
from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.config import Config
from registry.core.db import is_postgres
from registry.core.runtime import Runtime
from registry.core.wording import counts_sentence, rules_sentence
from registry.records.models import ImportBatch
from registry.records.penalties import fill_entity_pinyin, upsert_penalties
from registry.records.schema import set_earliest_decision_date
from registry.records.staging import PreparedBatch, prepare_penalties

#: Entities given their pinyin spellings right after an import (the rest by the job).
PINYIN_AFTER_IMPORT = 2000
log = logging.getLogger(__name__)


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
    #: What the rules run after the import did (:func:`registry.evaluation.history.
    #: rules_summary`); ``None`` when no rules ran (a dry run, nothing written).
    rules: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """No fatal error, and (strict) no rejected row."""
        return self.fatal is None and not (self.strict and self.rejected)

    @property
    def accounted(self) -> int:
        """Rows whose outcome is known: written (new, updated, unchanged) or rejected."""
        return self.created + self.updated + self.unchanged + self.rejected

    def counts(self) -> str:
        """``新增 N，更新 N，未变 N，拒收 N`` (:func:`registry.core.wording.counts_sentence`)."""
        return counts_sentence(self.created, self.updated, self.unchanged, self.rejected)

    def rules_line(self) -> str | None:
        """What the rules did after the import, in a sentence; ``None`` when none ran."""
        if self.rules is None:
            return None
        return rules_sentence(self.rules)

    def summary_lines(self) -> list[tuple[str, str]]:
        """The import in ``(label, value)`` lines: the XLSX report's summary sheet."""
        lines = [
            ("文件", self.source),
            ("格式", self.format or ""),
            ("导入批次", "" if self.batch_id is None else str(self.batch_id)),
            ("读取行数", str(self.rows)),
            ("结果", self.counts()),
            ("问题数", str(self.problems)),
        ]
        if self.dry_run:
            lines.append(("模式", "试运行：未写入任何记录"))
        elif self.strict and self.rejected:
            lines.append(("模式", "严格模式：有拒收行，整个文件未写入"))
        if self.fatal:
            lines.append(("错误", self.fatal))
        lines.extend(("提示", warning) for warning in self.warnings)
        rules = self.rules_line()
        if rules is not None:
            lines.append(("导入后的规则评估", rules))
        return lines


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

    def reject(self, line: int, problems: Any, number: str = "") -> None:
        with self.lock:
            self._reject(line, problems, number)

    def _reject(self, line: int, problems: Any, number: str) -> None:
        self.summary.rejected += 1
        for field_name, reason in problems:
            self.summary.problems += 1
            self.summary.reasons[field_name] += 1
            if self.report is not None:
                self.report.add(line, field_name, reason, number)

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

    def write(self, lines: list[Where], prepared: PreparedBatch, *, commit: bool) -> None:
        """One batch, one transaction.  A batch the database refuses is split until the
        refused record is found, so one bad record cannot sink its neighbours.
        ``lines[i]``: the file line and decision number of the batch's record ``i``."""
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
                    line, number = lines[idx]
                    self.reject(line, [("_record", f"数据库拒绝写入：{reason}")], number)
                return
            for half in prepared.halves():
                self.write(lines, half, commit=commit)
            return
        self._count(lines, result.rejected, result.created, result.updated, result.unchanged)

    def _count(
        self,
        lines: list[Where],
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
                self._reject(lines[idx][0], [(field_name, reason)], lines[idx][1])


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
        self.queue: queue.Queue[tuple[list[Where], PreparedBatch] | None] = queue.Queue(2)
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

    def put(self, lines: list[Where], prepared: PreparedBatch) -> None:
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
    opened: Callable[[str, list[str], dict[str, str]], None],
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
                opened(message[1], message[2], message[3])
                continue
            if kind == "fatal":
                raise FileError(message[1])
            if kind == "failed":
                raise RuntimeError(f"读取进程出错：\n{message[1]}")
            for line, problems, number in message[1]:
                run.reject(line, problems, number)
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
    stage: Stage | None = None,
) -> ImportSummary:
    """Import one penalty file (a path, or a binary stream with ``name``).

    Returns the summary; a file that cannot be imported at all ends with
    ``summary.fatal`` set (and nothing written) rather than an exception.
    ``read_in_process``: read and validate the file in a second process while this one
    writes (:func:`_load_in_process`); by default for a file on disk of at least
    ``importer.parallel_read_min_bytes``.  ``restore``: a full export being restored by
    the operator (``import --restore``): lines may carry the restore-only fields
    (:data:`registry.records.schema.RESTORE_ONLY_FIELDS`), which every other import
    refuses.  ``stage(name, detail)``: told as each stage starts
    (:data:`importers.progress.STAGES`), ``progress(fraction)`` as the file is read."""
    label = name or (os.fspath(source) if isinstance(source, str | os.PathLike) else "upload")
    summary = ImportSummary(label, dry_run=dry_run, strict=strict)
    if report is not None:
        summary.report = report.path
    config = rt.config
    set_earliest_decision_date(config.records.earliest_decision_date)

    def announce(name: str, detail: str = "") -> None:
        if stage is not None:
            stage(name, detail)

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
            announce(STAGE_CHECK)
            if not _strict_check(run, opened):
                if report is not None:
                    report.set_summary(summary.summary_lines())
                return summary
            if start is not None:
                source.seek(start)  # type: ignore[union-attr]
        if read_in_process is None:
            threshold = config.importer.parallel_read_min_bytes
            read_in_process = (
                threshold >= 0 and start is None and os.path.getsize(source) >= threshold  # type: ignore[arg-type]
            )
        if read_in_process and start is None:

            def opened_elsewhere(
                format_name: str, warnings: list[str], columns: dict[str, str]
            ) -> None:
                summary.format = format_name
                summary.warnings = warnings
                if report is not None:
                    report.use_columns(columns, english=format_name == "jsonl")
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
                config.records.earliest_decision_date,
            )
            announce(STAGE_LOAD)
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
                if report is not None:
                    report.use_header(penalty_file.header, file_format=penalty_file.format)
                announce(STAGE_LOAD)
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
        announce(STAGE_PINYIN)
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
        from registry.evaluation.history import failed_summary, rules_summary
        from registry.evaluation.queue import queue_length
        from registry.evaluation.runs import RULES_ACTOR, evaluate_dirty

        try:
            with rt.sessions() as session:
                queued = queue_length(session)
            announce(STAGE_RULES, f"{queued} 个主体待评估")
            summary.rules = rules_summary(
                evaluate_dirty(rt, actor=RULES_ACTOR, origin=f"import:{summary.batch_id}")
            )
        except Exception:  # the import committed; the queue keeps the subjects
            log.exception("rules evaluation after import failed; subjects stay queued")
            summary.rules = failed_summary()
        if summary.batch_id is not None:
            _record_rules(rt, summary)
    summary.timings["rules"] = time.perf_counter() - started
    if report is not None:
        report.set_summary(summary.summary_lines())
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
            run._count([(line, r["decision_number"]) for line, r in batch], prepared.rejected)
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


def _record_rules(rt: Runtime, summary: ImportSummary) -> None:
    with contextlib.suppress(Exception), rt.unit_of_work() as session:
        session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == summary.batch_id)
            .values(rules_summary=summary.rules)
        )


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


def report_path(
    config: Config, path: str, report: str | None, *, several: bool, fmt: str = "csv"
) -> str:
    """Where the rejected rows of ``path`` go: ``--report`` (one per file, suffixed, when
    several files are given), else a time-stamped file in ``importer.report_dir``."""
    if report and not several:
        return report
    stem = Path(path).stem
    if report:
        base = Path(report)
        return str(base.with_name(f"{base.stem}-{stem}{base.suffix or '.' + fmt}"))
    stamp = clock.now().strftime("%Y%m%dT%H%M%S")
    return str(config.path(config.importer.report_dir) / f"{stem}-{stamp}.report.{fmt}")
