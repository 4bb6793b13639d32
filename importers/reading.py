"""Reading a penalty file into batches ready to write: the part of an import before
the database, and the whole work of the reading process of a large one.

No database here, and nothing that imports one (SQLAlchemy, the models): the reading
process (``python -m importers.reader``) imports this module, the readers, the record
validation and :mod:`registry.records.staging`, and stays about 30 MB smaller for it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from importers.headers import FileError, file_columns
from importers.readers import PenaltyFile, Rejected, open_penalty_file
from registry.records.schema import (
    restore_only_problems,
    set_earliest_decision_date,
    validate_record,
)
from registry.records.staging import PreparedBatch, prepare_penalties

#: Where a rejected row goes: its line, its problems (``(field, reason)`` each) and its
#: decision number as the file wrote it (blank when it had none).
Reject = Callable[[int, Sequence[tuple[str, str]], str], None]
#: Where a record of a batch came from: its line and its decision number.
Where = tuple[int, str]


def decision_number_of(raw: dict[str, Any]) -> str:
    """The decision number a raw row carries, as text for the report."""
    value = raw.get("decision_number")
    return "" if value is None else str(value).strip()


@dataclass
class Reading:
    """A file's rows loaded with the shared record validation, batched and prepared;
    each rejected row handed to ``reject`` on the way."""

    reject: Reject
    authority: str | None
    id_key: bytes
    batch_size: int
    postgres: bool
    #: Rows read so far (rejected ones included).
    rows: int = 0
    #: Restoring a full export (``import --restore``): the restore-only fields (state,
    #: keyed hashes) are taken; every other import refuses a line carrying one.
    restore: bool = False

    def records(self, source: PenaltyFile) -> Iterator[tuple[int, dict[str, Any]]]:
        """Loaded records of the file, with their lines."""
        authority = self.authority
        for line, raw in source:
            self.rows += 1
            if isinstance(raw, Rejected):
                self.reject(line, raw.problems, "")
                continue
            if not self.restore:
                carried = restore_only_problems(raw)
                if carried:
                    self.reject(line, carried, decision_number_of(raw))
                    continue
            if authority is not None and not raw.get("authority_uscc"):
                raw["authority_uscc"] = authority
            record, problems = validate_record(raw)
            if record is None:
                self.reject(line, problems, decision_number_of(raw))
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
                    record["decision_number"],
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

    def prepared(
        self, source: PenaltyFile, *, for_copy: bool = False
    ) -> Iterator[tuple[list[Where], PreparedBatch]]:
        """The file's batches, ready to write: each record's line and decision number (by
        its index in the batch) and the batch prepared — for PostgreSQL with its COPY
        text made, and with ``for_copy`` that text alone (to hand to another process)."""
        for batch in self.batches(source):
            prepared = prepare_penalties([record for _, record in batch], self.id_key)
            if self.postgres:
                prepared.copy_text()
                if for_copy:
                    prepared = prepared.for_copy()
            yield [(line, record["decision_number"]) for line, record in batch], prepared


@dataclass(frozen=True)
class ReadSpec:
    """What the reading process needs to read a file: plain values, as it starts afresh."""

    path: str
    fmt: str | None
    name: str | None
    authority: str | None
    provided: tuple[str, ...]
    max_line_bytes: int
    id_key: bytes
    batch_size: int
    postgres: bool
    #: The importing process's clock when it is fixed (tests, ``--as-of`` runs): the
    #: reading process validates against the same today ("not in the future").
    fixed_clock: datetime | None = None
    restore: bool = False
    #: ``records.earliest_decision_date`` of the importing process's configuration.
    earliest_decision_date: date | None = None


def read_in_process(spec: ReadSpec, send: Callable[[tuple[Any, ...]], None]) -> None:
    """The reading process's work: read, validate and prepare the file's batches, and
    send each — with the rows rejected since the one before, as ``(line, problems,
    decision number)`` — to the writing process.  Sends ``opened`` first (with the
    file's own header names, for the report), then ``batch``es, then ``end``; or
    ``fatal`` (the file cannot be imported) or ``failed`` (a traceback) instead."""
    rejected: list[tuple[int, list[tuple[str, str]], str]] = []

    def reject(line: int, problems: Sequence[tuple[str, str]], number: str) -> None:
        rejected.append((line, list(problems), number))

    def taken() -> list[tuple[int, list[tuple[str, str]], str]]:
        out = rejected[:]
        rejected.clear()
        return out

    if spec.earliest_decision_date is not None:
        set_earliest_decision_date(spec.earliest_decision_date)
    reading = Reading(
        reject, spec.authority, spec.id_key, spec.batch_size, spec.postgres, restore=spec.restore
    )
    try:
        with open_penalty_file(
            spec.path,
            spec.fmt,
            name=spec.name,
            max_line_bytes=spec.max_line_bytes,
            provided=spec.provided,
        ) as penalty_file:
            send(
                (
                    "opened",
                    penalty_file.format,
                    list(penalty_file.warnings),
                    file_columns(penalty_file.header),
                )
            )
            for lines, prepared in reading.prepared(penalty_file, for_copy=True):
                position = penalty_file.position()
                send(("batch", taken(), reading.rows, lines, prepared, position))
            send(("end", taken(), reading.rows, list(penalty_file.warnings)))
    except FileError as exc:
        send(("fatal", str(exc)))
    except BaseException:
        send(("failed", traceback.format_exc()))
