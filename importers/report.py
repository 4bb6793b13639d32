"""The rejection report of an import: one row per problem, for the person who sent the file.

Columns ``行号, 决定书文号, 字段, 原因`` (:data:`REPORT_COLUMNS`): the line of the file
(the header is line 1; the row of a spreadsheet; the line of a JSONL file), the row's
decision number as the file wrote it (blank when the row had none or could not be read),
the column *as the uploaded file's own header names it* (``罚款金额（万元）`` for a file
that wrote that header, ``fine_wan`` for one that wrote English names; ``整行`` for a
problem of the whole row), and the reason in words the sender can act on.

Two formats: CSV in UTF-8 *with* a byte-order mark (Excel on a Chinese Windows opens it
without mojibake), and XLSX (``--report-format xlsx``) with a second sheet, 导入汇总,
holding the import's counts and what the rules did.  Every cell that a spreadsheet would
run as a formula (``= + - @``…) gets a ``'`` in front.

The report as text or bytes, for storing it (:func:`report_csv_text`,
:func:`report_xlsx_bytes`, :meth:`ReportWriter.csv_text`); the file a command writes,
as it reads (:class:`ReportWriter` with a path).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from importers.headers import ALIASES, HeaderMap, file_columns
from registry.records.export import safe_cell

#: The report's header row.
REPORT_COLUMNS = ("行号", "决定书文号", "字段", "原因")
REPORT_FORMATS = ("csv", "xlsx")
#: How the report names a problem of the whole row (its shape, its encoding, a refusal
#: by the database) rather than of one column.
WHOLE_ROW = "整行"
#: How it names a problem of the whole file (the inbox writes one when a file is refused).
WHOLE_FILE = "整个文件"
BOM = "\ufeff"
#: Rows kept in memory beside the file, for an API answer (the file has all of them).
DEFAULT_KEEP = 10_000
_PSEUDO = {"_row": WHOLE_ROW, "_record": WHOLE_ROW, "_file": WHOLE_FILE}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One problem of one row: ``field`` is the record's English name (what an API
    client keys on), ``column`` the file's own header for it (what a person reads)."""

    line: int
    decision_number: str
    field: str
    column: str
    reason: str

    def cells(self) -> tuple[Any, ...]:
        return (
            self.line,
            safe_cell(self.decision_number),
            safe_cell(self.column),
            safe_cell(self.reason),
        )


def column_label(field_name: str, columns: Mapping[str, str], *, english: bool = False) -> str:
    """The name a person sees for ``field_name``: the file's own header when the file has
    that column, else the national Chinese header (or, for a file that writes English
    keys — JSONL — the English name), ``整行`` for the whole row."""
    found = columns.get(field_name)
    if found:
        return found
    if field_name in _PSEUDO:
        return _PSEUDO[field_name]
    if english or field_name not in ALIASES:
        return field_name
    return ALIASES[field_name][0]


class ReportWriter:
    """The rejected-rows report, written as rows are rejected.

    ``target``: a path (the file is written there, CSV or XLSX by ``fmt``), a text
    stream (CSV, with its byte-order mark), or ``None`` (in memory only; see
    :meth:`csv_text` and :meth:`xlsx_bytes`).  ``lazy``: create the file only when there
    is something to report (a default report location) rather than always (a path the
    user asked for).  The first ``keep`` rows are also kept in :attr:`kept`."""

    def __init__(
        self,
        target: str | os.PathLike[str] | TextIO | None = None,
        *,
        lazy: bool = False,
        fmt: str = "csv",
        keep: int = DEFAULT_KEEP,
    ) -> None:
        if fmt not in REPORT_FORMATS:
            raise ValueError(f"不支持的报告格式“{fmt}”（支持 csv、xlsx）")
        if fmt == "xlsx" and target is not None and not isinstance(target, str | os.PathLike):
            raise ValueError("XLSX 报告只能写入文件路径，或留在内存中（xlsx_bytes）")
        self.format = fmt
        self._owned = isinstance(target, str | os.PathLike)
        self.path: str | None = os.fspath(target) if self._owned else None  # type: ignore[arg-type]
        self._target = target
        self._fh: TextIO | None = None
        self._csv: Any = None
        self._book: Any = None
        self._sheet: Any = None
        self._opened = False
        self._memory = target is None
        self.rows = 0
        self.keep = keep
        self.kept: list[ReportRow] = []
        self.all_rows: list[ReportRow] = []  # in memory only
        self.columns: dict[str, str] = {}
        self.english = False
        self.summary: list[tuple[str, str]] = []
        if not lazy:
            self._open()

    def use_header(self, header: HeaderMap | None, *, file_format: str | None = None) -> None:
        """Name fields as this file's header does (called when the file is opened)."""
        self.use_columns(file_columns(header), english=file_format == "jsonl")

    def use_columns(self, columns: Mapping[str, str], *, english: bool = False) -> None:
        self.columns = dict(columns)
        self.english = english

    def _open(self) -> None:
        self._opened = True
        if self._memory:
            return
        if self.format == "xlsx":
            from openpyxl import Workbook

            self._book = Workbook(write_only=True)
            self._sheet = self._book.create_sheet("拒收行")
            self._sheet.append(list(REPORT_COLUMNS))
            return
        if self.path is not None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        else:
            self._fh = self._target  # type: ignore[assignment]
            self._fh.write(BOM)  # type: ignore[union-attr]
        self._csv = csv.writer(self._fh, lineterminator="\r\n")
        self._csv.writerow(REPORT_COLUMNS)

    def add(self, line: int, field_name: str, reason: str, decision_number: str = "") -> None:
        """One problem of the row at ``line`` (``field_name``: the record's field, or
        ``_row`` / ``_record`` / ``_file`` for the whole row or file)."""
        if not self._opened:
            self._open()
        row = ReportRow(
            line,
            decision_number or "",
            field_name,
            column_label(field_name, self.columns, english=self.english),
            reason,
        )
        self.rows += 1
        if len(self.kept) < self.keep:
            self.kept.append(row)
        if self._memory:
            self.all_rows.append(row)
        elif self._sheet is not None:
            self._sheet.append(list(row.cells()))
        else:
            self._csv.writerow(row.cells())

    def set_summary(self, lines: Sequence[tuple[str, str]]) -> None:
        """What the import did, as ``(label, value)`` lines: the XLSX report's second
        sheet (a CSV report stays one table of rows)."""
        self.summary = list(lines)

    @property
    def created(self) -> bool:
        return self._opened

    def csv_text(self) -> str:
        """The report of an in-memory writer as CSV text (with its byte-order mark)."""
        return report_csv_text(self.all_rows)

    def xlsx_bytes(self) -> bytes:
        """The report of an in-memory writer as an XLSX workbook."""
        return report_xlsx_bytes(self.all_rows, self.summary)

    def close(self) -> None:
        if self._book is not None:
            _summary_sheet(self._book, self.summary)
            assert self.path is not None
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._book.save(self.path)
            self._book = None
            return
        if self._fh is None:
            return
        if self._owned:
            self._fh.close()
        else:
            self._fh.flush()


def report_csv_text(rows: Iterable[ReportRow]) -> str:
    """The report as CSV text: byte-order mark, :data:`REPORT_COLUMNS`, a row a problem
    (encode it as UTF-8 to store or send it)."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    writer.writerows(row.cells() for row in rows)
    return buffer.getvalue()


def report_xlsx_bytes(rows: Iterable[ReportRow], summary: Sequence[tuple[str, str]] = ()) -> bytes:
    """The report as an XLSX workbook: sheet 拒收行 (the rows), sheet 导入汇总 (the
    import's counts and what the rules did, when given)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("拒收行")
    sheet.append(list(REPORT_COLUMNS))
    for row in rows:
        sheet.append(list(row.cells()))
    _summary_sheet(book, summary)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary_sheet(book: Any, summary: Sequence[tuple[str, str]]) -> None:
    if not summary:
        return
    sheet = book.create_sheet("导入汇总")
    sheet.append(["项目", "内容"])
    for label, value in summary:
        sheet.append([safe_cell(label), safe_cell(str(value))])
