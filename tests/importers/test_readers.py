"""Streaming readers: encodings, delimiters, line numbers, spreadsheets, JSONL, and
hostile input refused without reading it into memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from importers.headers import ALIASES, FileError, HeaderError
from importers.readers import Rejected, detect_format, open_penalty_file
from registry.records.schema import validate_record
from tests.importers.samples import good_record

FIELDS = list(good_record())
HEADERS = [ALIASES[f][0] for f in FIELDS]


def _row(**changes) -> list[str]:
    record = good_record(**changes)
    return [record.get(f, "") for f in FIELDS]


def write_csv(path: Path, rows: list[list[str]], *, encoding="utf-8", delimiter=",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def read_all(path, **kwargs) -> list[tuple[int, object]]:
    with open_penalty_file(path, **kwargs) as source:
        return list(source)


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("gb18030", ","), ("gbk", "\t"), ("utf-8", "\t")],
)
def test_csv_encodings_and_delimiters(tmp_path, encoding, delimiter, today):
    path = write_csv(tmp_path / "f.csv", [_row(), _row()], encoding=encoding, delimiter=delimiter)

    rows = read_all(path)

    assert [line for line, _ in rows] == [2, 3]
    record, errors = validate_record(rows[0][1])
    assert errors == []
    assert record["party_name"] == "深圳某某科技有限公司"


def test_csv_line_numbers_count_physical_lines_of_multiline_fields(tmp_path):
    path = write_csv(
        tmp_path / "f.csv",
        [_row(facts="第一行\n第二行\n第三行"), _row(), [""] * len(FIELDS), _row(remarks="a\r\nb")],
    )

    lines = [line for line, _ in read_all(path)]

    assert lines == [2, 5, 7]  # line 6 is an empty row, skipped


def test_over_long_line_is_rejected_not_read(tmp_path):
    huge = "很" * 400_000  # 1.2 MB in UTF-8
    path = write_csv(
        tmp_path / "f.csv", [_row(), _row(facts=huge), _row(facts='引"号' + huge), _row()]
    )

    rows = read_all(path)

    assert [line for line, _ in rows] == [2, 3, 4, 5]
    assert isinstance(rows[1][1], Rejected)
    assert isinstance(rows[2][1], Rejected)
    assert "超过上限1048576字节" in rows[1][1].problems[0][1]
    assert rows[3][1]["party_name"] == "深圳某某科技有限公司"  # quoting kept in step


def test_line_limit_is_configurable(tmp_path):
    path = write_csv(tmp_path / "f.csv", [_row(facts="x" * 3000)])

    rows = read_all(path, max_line_bytes=2048)

    assert isinstance(rows[0][1], Rejected)


def test_undecodable_line_in_a_utf8_file_is_rejected(tmp_path):
    path = write_csv(tmp_path / "f.csv", [_row(), _row()])
    data = path.read_bytes().replace("某某".encode(), b"\xff\xfe", 1)
    data = data[: data.index(b"\n") + 1] + b"x" * 70_000 + b"\n" + data[data.index(b"\n") + 1 :]
    # (a long first data line keeps the bad bytes out of the encoding sample)
    path.write_bytes(data)

    rows = read_all(path, fmt="csv")

    assert any(isinstance(raw, Rejected) and "编码" in raw.problems[0][1] for _, raw in rows)


@pytest.mark.parametrize(
    ("content", "word"),
    [
        (b"\x00\x01\x02binary", "不是文本文件"),
        (b"PK\x03\x04zipdata", "XLSX"),
        ("行政相对人名称\n".encode("utf-16"), "UTF-16"),
        (b"\x81\xff\xfe\x80\x80\x80\n", "编码"),
        (b"", "空文件"),
    ],
)
def test_unreadable_files_are_a_clear_fatal_error(tmp_path, content, word):
    path = tmp_path / "f.csv"
    path.write_bytes(content)

    with pytest.raises(FileError, match=word):
        read_all(path)


def test_missing_required_column_is_fatal(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(
        "行政相对人名称,统一社会信用代码\n某公司,914403001922038216\n", encoding="utf-8"
    )

    with pytest.raises(HeaderError, match="行政处罚决定书文号"):
        read_all(path)


def test_unknown_column_warning_once_per_file(tmp_path):
    path = tmp_path / "f.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*HEADERS, "联系电话"])
        w.writerow([*_row(), "123"])
        w.writerow([*_row(), "456"])

    with open_penalty_file(path) as source:
        rows = list(source)
        warnings = source.warnings

    assert len(warnings) == 1
    assert "联系电话" in warnings[0]
    assert [raw["remarks"] for _, raw in rows] == ["联系电话: 123", "联系电话: 456"]


def test_format_from_option_or_extension():
    assert detect_format("a.CSV") == "csv"
    assert detect_format("a.xlsx") == "xlsx"
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("a.dat", "csv") == "csv"
    with pytest.raises(FileError, match=r"\.xls"):
        detect_format("a.xls")
    with pytest.raises(FileError, match="--format"):
        detect_format("a.dat")


def test_stream_input_with_a_name(today):
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="gb18030", newline="")
    csv.writer(text).writerows([HEADERS, _row()])
    text.flush()
    buffer.seek(0)

    rows = list(open_penalty_file(buffer, name="upload.csv"))

    assert validate_record(rows[0][1])[1] == []


# --- XLSX ----------------------------------------------------------------------------


def _xlsx(path: Path, rows: list[list[object]], title: str | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_xlsx_cells_row_numbers_and_formulas(tmp_path, today):
    typed = _row()
    typed[FIELDS.index("decided_on")] = datetime(2025, 3, 1)
    typed[FIELDS.index("fine_wan")] = 0.2405
    formula = _row(content='=HYPERLINK("http://x")')
    path = _xlsx(
        tmp_path / "f.xlsx", [typed, [None] * len(FIELDS), formula], title="2025年行政处罚"
    )

    rows = read_all(path)

    assert [line for line, _ in rows] == [3, 5]  # title row 1, header row 2, empty row 4
    record, errors = validate_record(rows[0][1])
    assert errors == []
    assert record["fine_wan"] == Decimal("0.2405")
    assert rows[1][1]["content"] == '=HYPERLINK("http://x")'  # text, never evaluated


def test_xlsx_serial_dates_in_a_date_column(tmp_path, today):
    row = _row()
    row[FIELDS.index("decided_on")] = 45352
    path = _xlsx(tmp_path / "f.xlsx", [row])

    ((_line, raw),) = read_all(path)

    assert validate_record(raw)[0]["decided_on"].isoformat() == "2024-03-01"


def test_not_an_xlsx_file_is_fatal(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_text("not a zip")

    with pytest.raises(FileError, match="XLSX"):
        read_all(path)


# --- JSONL ---------------------------------------------------------------------------


def test_jsonl_lines_malformed_rows_and_decimals(tmp_path, today):
    good = good_record(fine_wan=None, categories=["罚款", "警告"])
    path = tmp_path / "f.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({**good, "fine_wan": 0.2405}, ensure_ascii=False),
                "{not json",
                "",
                "[1, 2]",
                json.dumps({**good, "联系电话": "123"}, ensure_ascii=False),
                json.dumps({"行政相对人名称": "中文键名"}, ensure_ascii=False),
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    with open_penalty_file(path) as source:
        rows = list(source)
        warnings = source.warnings

    assert [line for line, _ in rows] == [1, 2, 4, 5, 6]
    record, errors = validate_record(rows[0][1])
    assert errors == []
    assert record["fine_wan"] == Decimal("0.2405")  # parsed as a decimal, not a float
    assert isinstance(rows[1][1], Rejected)
    assert rows[1][1].problems[0][1] == "JSON格式错误：此处应为双引号括起的字段名（第 2 列）"
    assert isinstance(rows[2][1], Rejected)
    assert "JSON对象" in rows[2][1].problems[0][1]
    assert rows[3][1]["remarks"] == "联系电话: 123"
    assert warnings == ["未识别的列“联系电话”：其内容已并入备注（remarks）"]
    assert rows[4][1] == {"party_name": "中文键名"}


# --- streaming -----------------------------------------------------------------------


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        with open_penalty_file(path) as source:
            for _line, raw in source:
                validate_record(raw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_memory_stays_flat_as_files_grow(tmp_path, fmt, today):
    def make(n: int) -> Path:
        if fmt == "csv":
            return write_csv(
                tmp_path / f"{n}.csv", [_row(decision_number=f"D{i}") for i in range(n)]
            )
        path = tmp_path / f"{n}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(n):
                fh.write(
                    json.dumps(good_record(decision_number=f"D{i}"), ensure_ascii=False) + "\n"
                )
        return path

    small, large = _peak_bytes(make(500)), _peak_bytes(make(20_000))

    assert large < small + 512 * 1024
