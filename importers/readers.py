"""Streaming readers for penalty files: CSV, XLSX and JSONL.

Each reader yields ``(line_number, raw)`` one record at a time, so memory stays flat
however long the file: ``raw`` is a dict of English field names (see
:mod:`importers.headers`) or, when the reader itself could not make a record of the
line, a :class:`Rejected` carrying the reasons.  The line number is the one a person
sees: for CSV the physical line where the record starts (header = line 1, right even
with quoted fields spanning lines), for XLSX the row number, for JSONL the line.

Hostile input is refused clearly rather than read into memory: a line longer than
``max_line_bytes`` (default 1 MiB) is skipped and its record rejected; a file that is not
text in UTF-8 (with or without BOM) or GB18030/GBK is a fatal :class:`FileError`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from importers.headers import (
    FileError,
    HeaderError,
    HeaderMap,
    MissingColumns,
    map_headers,
    map_keys,
)
from registry.core.wording import json_problem

DEFAULT_MAX_LINE_BYTES = 1 << 20
FORMATS = ("csv", "xlsx", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
DATE_FIELDS = frozenset({"decided_on", "valid_until", "disclosure_deadline", "transferred_on"})
# How many leading rows may precede the header (a title row above it is common in
# spreadsheets authorities fill in by hand).
_HEADER_SEARCH_ROWS = 10
_SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line the reader could not turn into a record, with the reasons."""

    problems: tuple[tuple[str, str], ...]


Raw = dict[str, Any] | Rejected


def detect_format(name: str | os.PathLike[str] | None, fmt: str | None = None) -> str:
    """The format from ``--format`` or else the file name's extension."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise FileError(f"不支持的格式“{fmt}”（支持 csv、xlsx、jsonl）")
        return fmt
    suffix = Path(str(name or "")).suffix.lower()
    if suffix == ".xls":
        raise FileError("不支持旧版Excel .xls 文件，请另存为 .xlsx 或 CSV")
    found = _EXTENSIONS.get(suffix)
    if found is None:
        raise FileError(f"无法从文件名“{name}”判断格式，请用 --format 指定 csv、xlsx 或 jsonl")
    return found


@dataclass
class PenaltyFile:
    """An opened penalty file.  Iterate for ``(line_number, raw)``; ``warnings`` holds
    file-level notes (unknown columns), each once; ``header`` the column mapping."""

    name: str
    format: str
    _rows: Iterator[tuple[int, Raw]]
    _close: Callable[[], None]
    header: HeaderMap | None = None
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    _position: Callable[[], float | None] = lambda: None

    def position(self) -> float | None:
        """How far through the file reading is (0–1), if that can be told."""
        return self._position()

    def __iter__(self) -> Iterator[tuple[int, Raw]]:
        return _unreadable_as_file_error(self._rows, self.name, self.format)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> PenaltyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warn(self, message: str | None) -> None:
        if message and message not in self.warnings:
            self.warnings.append(message)


def _unreadable_as_file_error(
    rows: Iterator[tuple[int, Raw]], name: str, fmt: str
) -> Iterator[tuple[int, Raw]]:
    """The rows, with anything the parsers raise while reading (broken XML inside an
    XLSX, a decoder's own error) turned into a file-level error: a report line, never a
    traceback."""
    try:
        yield from rows
    except FileError:
        raise
    except Exception as exc:
        raise FileError(_unreadable(name, fmt, exc)) from exc


def _unreadable(name: str, fmt: str, exc: BaseException) -> str:
    what = {"xlsx": "有效的XLSX文件（内部XML损坏）", "csv": "可读取的CSV文件"}.get(
        fmt, "可读取的JSONL文件"
    )
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return f"“{name}”不是{what}：{detail}"


def open_penalty_file(
    source: str | os.PathLike[str] | IO[bytes],
    fmt: str | None = None,
    *,
    name: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    provided: tuple[str, ...] = (),
) -> PenaltyFile:
    """Open a file (a path, or a binary stream with ``name``) and read its header.

    Raises :class:`FileError` (or :class:`HeaderError`) when the file cannot be imported
    at all.  ``provided``: fields the caller fills in when the file lacks the column."""
    if isinstance(source, str | os.PathLike):
        name = name or os.fspath(source)
        kind = detect_format(name, fmt)
        try:
            stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by PenaltyFile
        except OSError as exc:
            raise FileError(f"无法打开文件“{name}”：{exc.strerror}") from exc
        owned = True
    else:
        stream, owned = source, False
        name = name or getattr(source, "name", None) or "upload"
        kind = detect_format(name, fmt)
    try:
        opener = {"csv": _open_csv, "xlsx": _open_xlsx, "jsonl": _open_jsonl}[kind]
        return opener(stream, str(name), max_line_bytes, provided, owned)
    except FileError:
        if owned:
            stream.close()
        raise
    except Exception as exc:
        # Whatever a parser raises on a damaged file (openpyxl on broken XML: a
        # ParseError; a zip member that lies about itself) is the file's fault.
        if owned:
            stream.close()
        raise FileError(_unreadable(str(name), kind, exc)) from exc
    except BaseException:
        if owned:
            stream.close()
        raise


# --- bytes → bounded lines -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TooLong:
    """Stands for a skipped over-long line; ``odd_quotes`` keeps CSV quoting in step."""

    size: int
    odd_quotes: bool


def _bounded_lines(stream: IO[bytes], limit: int) -> Iterator[bytes | _TooLong]:
    """Physical lines as bytes, never holding more than ``limit`` bytes of one line."""
    readline = stream.readline
    while True:
        line = readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        size, quotes = len(line), line.count(b'"')
        while not line.endswith(b"\n"):
            line = readline(1 << 16)
            if not line:
                break
            size += len(line)
            quotes += line.count(b'"')
        yield _TooLong(size, bool(quotes % 2))


def _sniff_encoding(sample: bytes, name: str) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError(f"“{name}”是UTF-16编码，请另存为UTF-8或GB18030编码的CSV")
    if sample.startswith(b"PK\x03\x04"):
        raise FileError(f"“{name}”是XLSX/ZIP文件而不是文本，请使用 --format xlsx")
    if b"\x00" in sample:
        if _looks_utf16(sample):
            raise FileError(f"“{name}”像是无BOM的UTF-16编码，请另存为UTF-8或GB18030编码的CSV")
        raise FileError(f"“{name}”不是文本文件（含NUL字节）")
    cut = sample.rfind(b"\n")
    head = sample[: cut + 1] if cut >= 0 and len(sample) == _SAMPLE_BYTES else sample
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileError(f"无法识别“{name}”的编码（支持UTF-8、带BOM的UTF-8、GB18030/GBK）")


def _looks_utf16(sample: bytes) -> bool:
    """Text in UTF-16 without a byte-order mark: for ASCII and CJK alike, NUL bytes sit
    mostly on one parity (every other byte) — unlike binary data."""
    head = sample[: 4096 - 4096 % 2]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return max(even, odd) > len(head) // 8 and min(even, odd) * 10 < max(even, odd)


def _progress(stream: IO[bytes]) -> Callable[[], float | None]:
    try:
        start = stream.tell()
        size = os.fstat(stream.fileno()).st_size - start
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return lambda: None

    def position() -> float | None:
        try:
            return min(1.0, (stream.tell() - start) / size) if size > 0 else None
        except (OSError, ValueError):
            return None

    return position


def _peek(stream: IO[bytes]) -> tuple[bytes, IO[bytes]]:
    """The first bytes of a stream, and a stream that still starts at the beginning."""
    if stream.seekable():
        start = stream.tell()
        sample = stream.read(_SAMPLE_BYTES)
        stream.seek(start)
        return sample, stream
    buffered = io.BufferedReader(stream, buffer_size=_SAMPLE_BYTES * 2)  # type: ignore[arg-type]
    return buffered.peek(_SAMPLE_BYTES)[:_SAMPLE_BYTES], buffered


def _too_long(limit: int, size: int) -> str:
    return f"本行长度{size}字节，超过上限{limit}字节，未读取"


# --- CSV -----------------------------------------------------------------------------


def _open_csv(
    stream: IO[bytes], name: str, limit: int, provided: tuple[str, ...], owned: bool
) -> PenaltyFile:
    sample, stream = _peek(stream)
    encoding = _sniff_encoding(sample, name)
    if encoding == "utf-8-sig":
        stream.read(len(codecs.BOM_UTF8))
        encoding = "utf-8"
    # A runaway quoted field (a quote never closed) stops at the line limit instead of
    # swallowing the rest of the file.
    csv.field_size_limit(max(limit, 1 << 17))
    bad: list[tuple[int, str]] = []  # (line, reason) of lines replaced before parsing
    line_no = 0
    apostrophe = [False]  # a "'" was seen: a cell may carry our formula guard

    def text_lines() -> Iterator[str]:
        nonlocal line_no
        for chunk in _bounded_lines(stream, limit):
            line_no += 1
            if isinstance(chunk, _TooLong):
                bad.append((line_no, _too_long(limit, chunk.size)))
                yield '"\n' if chunk.odd_quotes else "\n"
                continue
            try:
                text = chunk.decode(encoding)
            except UnicodeDecodeError:
                bad.append((line_no, f"第{line_no}行不是有效的{encoding.upper()}编码文本"))
                yield chunk.decode(encoding, "replace")
                continue
            if "'" in text:
                apostrophe[0] = True
            yield text

    lines = text_lines()
    first = next(lines, None)
    if first is None:
        raise HeaderError(f"“{name}”是空文件")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","

    def all_lines() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter)
    pf = PenaltyFile(name, "csv", iter(()), stream.close if owned else _noop, encoding=encoding)
    pf._position = _progress(stream)

    def records() -> Iterator[tuple[int, list[str] | Rejected]]:
        end = 0
        while True:
            start = end + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                yield start, Rejected((("_row", f"CSV格式错误（引号未闭合或字段过长）：{exc}"),))
                continue
            end = reader.line_num
            if apostrophe[0]:
                apostrophe[0] = False
                cells = [_unguard(c) for c in cells]
            if bad and bad[0][0] <= end:
                reasons = []
                while bad and bad[0][0] <= end:
                    reasons.append(("_row", bad.pop(0)[1]))
                yield start, Rejected(tuple(reasons))
                continue
            yield start, cells

    try:
        header, rows = _find_header(records(), provided, name)
    except (MissingColumns, _Unreadable):
        raise
    except HeaderError as exc:
        raise HeaderError(
            f"{exc}（文件按{encoding.upper()}编码读取；如果文件是其他编码，如Shift-JIS、"
            "Big5或UTF-16，请另存为UTF-8或GB18030）"
        ) from None
    pf.header = header
    pf.warn(header.warning)
    pf._rows = _map_rows(rows, header)
    return pf


_GUARDED = ("'=", "'+", "'-", "'@", "'\t", "'\r", "''")


def _unguard(cell: str) -> str:
    """Undo the formula guard CSV exports put on cells (``'=…`` → ``=…``, and ``''…`` →
    ``'…``, see :func:`registry.records.export.safe_cell`), so an exported file imports back to
    the same records.  A formula is only ever text here: nothing evaluates it."""
    return cell[1:] if cell.startswith(_GUARDED) else cell


class _Unreadable(HeaderError):
    """No header because the first lines could not be read at all (the reason is said)."""


def _noop() -> None:
    return None


def _find_header(
    rows: Iterator[tuple[int, Any]], provided: tuple[str, ...], name: str
) -> tuple[HeaderMap, Iterator[tuple[int, Any]]]:
    """The header is line 1, or the first row that looks like one among the first few
    (a title row above the header is common in hand-filled spreadsheets)."""
    first_error: HeaderError | None = None
    unreadable: str | None = None
    for line, cells in rows:
        if isinstance(cells, Rejected) or not any(_filled(c) for c in cells):
            if isinstance(cells, Rejected) and unreadable is None:
                unreadable = f"第{line}行：{cells.problems[0][1]}"
            if line > _HEADER_SEARCH_ROWS:
                break
            continue
        try:
            return map_headers(cells, provided=provided), rows
        except MissingColumns:
            raise  # a header, but not a usable one
        except HeaderError as exc:
            first_error = first_error or exc
            if line >= _HEADER_SEARCH_ROWS:
                raise first_error from None
    if first_error is not None:
        raise first_error
    if unreadable:
        raise _Unreadable(f"“{name}”没有表头行（{unreadable}）")
    raise HeaderError(f"“{name}”没有表头行")


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and (not value or value.isspace()))


def _map_rows(rows: Iterator[tuple[int, Any]], header: HeaderMap) -> Iterator[tuple[int, Raw]]:
    to_raw = header.to_raw
    for line, cells in rows:
        if cells.__class__ is Rejected:
            yield line, cells
            continue
        if not any(cells):
            continue  # an empty row
        raw, problems = to_raw(cells)
        if problems:
            yield line, Rejected(tuple(problems))
        else:
            yield line, raw


# --- XLSX ----------------------------------------------------------------------------


def _open_xlsx(
    stream: IO[bytes], name: str, limit: int, provided: tuple[str, ...], owned: bool
) -> PenaltyFile:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.datetime import from_excel

    _check_zip(stream, name)
    try:
        # read_only streams the sheet; data_only=False so a formula is never evaluated
        # (its text, starting with "=", is what we read).
        wb = load_workbook(stream, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileError(f"“{name}”不是有效的XLSX文件：{exc}") from exc

    def close() -> None:
        wb.close()
        if owned:
            stream.close()

    try:
        ws = wb.active if wb.active is not None else wb.worksheets[0]
    except IndexError:
        close()
        raise FileError(f"“{name}”没有工作表") from None
    ws.reset_dimensions()  # a wrong <dimension> must not cut rows off
    epoch = wb.epoch

    def cells() -> Iterator[tuple[int, list[Any] | Rejected]]:
        for line, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            out = [_cell(v) for v in row]
            size = sum(len(v) for v in out if isinstance(v, str))
            if size > limit:
                yield line, Rejected((("_row", _too_long(limit, size)),))
            else:
                yield line, out

    try:
        header, rows = _find_header(cells(), provided, name)
    except BaseException:
        close()
        raise
    date_columns = {i for i, f in enumerate(header.fields) if f in DATE_FIELDS}

    def dated(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        # A date column holding plain numbers is Excel serial days in this workbook's
        # date system (1900 or 1904).
        for line, row in rows:
            if not isinstance(row, Rejected):
                for i in date_columns:
                    if i < len(row) and isinstance(row[i], int | Decimal):
                        # Out of range: left for the schema to reject with its reason.
                        with contextlib.suppress(ValueError, OverflowError, TypeError):
                            row[i] = from_excel(row[i], epoch).date()
            yield line, row

    pf = PenaltyFile(name, "xlsx", _map_rows(dated(rows), header), close, header=header)
    pf.warn(header.warning)
    return pf


#: Limits on an XLSX container, checked from its directory before anything is inflated
#: (Python's zipfile never inflates a member past its declared size, so the declared
#: sizes bound what openpyxl can read).  openpyxl streams worksheets but reads the
#: shared strings, styles and workbook parts whole, so those are capped tightly.
XLSX_MAX_TOTAL_BYTES = 2 << 30
XLSX_MAX_WHOLE_PART_BYTES = 64 << 20
XLSX_MAX_RATIO = 200
XLSX_RATIO_FLOOR_BYTES = 16 << 20
XLSX_MAX_MEMBERS = 10_000


def _check_zip(stream: IO[bytes], name: str) -> None:
    """Refuse a zip bomb before openpyxl opens the file: too many members, too much
    uncompressed data in all, a part read whole that is too big, or a member inflating
    far beyond what spreadsheets do (text XML compresses ~5–20×, a bomb ~1000×)."""
    import zipfile

    if not stream.seekable():
        return  # openpyxl needs a seekable stream anyway and will say so
    start = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileError(f"“{name}”不是有效的XLSX文件：{exc}") from exc
    finally:
        stream.seek(start)
    if len(members) > XLSX_MAX_MEMBERS:
        raise FileError(f"“{name}”含{len(members)}个内部文件，超过上限{XLSX_MAX_MEMBERS}，拒绝读取")
    total = sum(m.file_size for m in members)
    if total > XLSX_MAX_TOTAL_BYTES:
        raise FileError(
            f"“{name}”解压后共{total >> 20}MB，超过上限{XLSX_MAX_TOTAL_BYTES >> 20}MB，"
            "拒绝读取（请拆分文件或另存为CSV）"
        )
    for m in members:
        streamed = m.filename.startswith("xl/worksheets/")
        if not streamed and m.file_size > XLSX_MAX_WHOLE_PART_BYTES:
            raise FileError(
                f"“{name}”的内部文件{m.filename}解压后{m.file_size >> 20}MB，超过上限"
                f"{XLSX_MAX_WHOLE_PART_BYTES >> 20}MB，拒绝读取（请另存为CSV）"
            )
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > XLSX_RATIO_FLOOR_BYTES and ratio > XLSX_MAX_RATIO:
            raise FileError(
                f"“{name}”的内部文件{m.filename}压缩比{ratio:.0f}:1异常（疑似压缩炸弹），拒绝读取"
            )


def _cell(value: Any) -> Any:
    """An XLSX cell value as the schema wants it: floats become decimals via their
    shortest text, times and formulas become text."""
    if value is None or isinstance(value, str | int | bool | datetime | date):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, time | timedelta):
        return str(value)
    text = getattr(value, "text", None)  # ArrayFormula and friends: their formula text
    return str(text if text is not None else value)


# --- JSONL ---------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"不允许的数值“{name}”")


def _open_jsonl(
    stream: IO[bytes], name: str, limit: int, provided: tuple[str, ...], owned: bool
) -> PenaltyFile:
    sample, stream = _peek(stream)
    if sample.startswith(b"PK\x03\x04") or b"\x00" in sample:
        raise FileError(f"“{name}”不是JSONL文本文件")
    pf = PenaltyFile(name, "jsonl", iter(()), stream.close if owned else _noop, encoding="utf-8")
    pf._position = _progress(stream)
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)

    def rows() -> Iterator[tuple[int, Raw]]:
        for line, chunk in enumerate(_bounded_lines(stream, limit), start=1):
            if isinstance(chunk, _TooLong):
                yield line, Rejected((("_row", _too_long(limit, chunk.size)),))
                continue
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                yield line, Rejected((("_row", "不是有效的UTF-8编码文本（JSONL须为UTF-8）"),))
                continue
            if line == 1:
                text = text.lstrip("\ufeff")
            if not text.strip():
                continue
            try:
                obj = decoder.decode(text)
            except ValueError as exc:
                yield line, Rejected((("_row", f"JSON格式错误：{json_problem(exc)}"),))
                continue
            except RecursionError:
                yield line, Rejected((("_row", "JSON嵌套层数过多"),))
                continue
            if not isinstance(obj, dict):
                yield line, Rejected((("_row", "每行应为一个JSON对象"),))
                continue
            raw, problems, warning = map_keys(obj)
            pf.warn(warning)
            if problems:
                yield line, Rejected(tuple(problems))
            else:
                yield line, raw

    pf._rows = rows()
    return pf
