"""The shared sample file in every format the importer reads, and a good record to vary.

``sample_penalties_gb18030.csv`` (GB18030, Chinese headers) holds 200 records, 20 of
them bad; its ``.expect.json`` lists the bad lines.  The helpers below write the same
records as UTF-8-with-BOM CSV, XLSX (typed cells where the value is good: real dates,
numbers, an Excel serial date) and JSONL (English names), so each format can be held to
the same expectation.  In JSONL there is no header line, so every record sits one line
higher than in the CSV.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from importers.headers import field_for_header

SAMPLE = "sample_penalties_gb18030.csv"
EXPECT = "sample_penalties_gb18030.expect.json"
FORMATS = ("csv-gb18030", "csv-utf8-bom", "xlsx", "jsonl")

#: What each kind of problem of the expect file looks like in our report:
#: the field named and a word of the reason.
KINDS: dict[str, tuple[str, str]] = {
    "decision date in the future": ("decided_on", "晚于今天"),
    "fine amount": ("fine_wan", "负数"),
    "unknown penalty category": ("categories", "未知的处罚类别"),
    "uscc check character": ("uscc", "校验码"),
    "uscc length": ("uscc", "18位"),
    "uscc character": ("uscc", "字符"),
    "missing decision number": ("decision_number", "必填"),
    "missing name": ("party_name", "必填"),
    "decision date": ("decided_on", ""),
}

GOOD_USCC = "914403001922038216"  # 华为技术有限公司
AUTHORITY_USCC = "11320500NTDF6XDB6G"
GOOD_RESIDENT_ID = "11010519491231002X"


def good_record(**changes: Any) -> dict[str, Any]:
    """A raw record (English names, text values as in a file) that is acceptable."""
    record: dict[str, Any] = {
        "party_name": "深圳某某科技有限公司",
        "party_type": "法人及非法人组织",
        "uscc": GOOD_USCC,
        "legal_representative": "张三",
        "legal_representative_id_type": "身份证",
        "legal_representative_id_number": "330106196710271313",
        "decision_number": "深市监处罚〔2025〕1号",
        "violation_type": "虚假宣传",
        "facts": "当事人虚假宣传。",
        "basis": "《中华人民共和国反不正当竞争法》第二十条",
        "categories": "罚款",
        "content": "罚款0.2万元",
        "fine_wan": "0.2",
        "decided_on": "2025-03-01",
        "authority": "苏州区市场监督管理局",
        "authority_uscc": AUTHORITY_USCC,
    }
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def data_dir(shared_dir: Path) -> Path:
    """Where the sample data lives (``shared/data``)."""
    return shared_dir / "data" if (shared_dir / "data" / SAMPLE).exists() else shared_dir


def expected(shared_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir(shared_dir) / EXPECT).read_text(encoding="utf-8"))


def sample_table(shared_dir: Path) -> tuple[list[str], list[list[str]]]:
    with (data_dir(shared_dir) / SAMPLE).open(encoding="gb18030", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def line_offset(fmt: str) -> int:
    """Line of a record in ``fmt`` minus its line in the sample CSV."""
    return -1 if fmt == "jsonl" else 0


def write_sample(shared_dir: Path, directory: Path, fmt: str) -> Path:
    """The sample file in ``fmt`` under ``directory``."""
    header, rows = sample_table(shared_dir)
    if fmt == "csv-gb18030":
        return Path(shutil.copy(data_dir(shared_dir) / SAMPLE, directory / "sample.csv"))
    if fmt == "csv-utf8-bom":
        path = directory / "sample_utf8.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([header, *rows])
        return path
    if fmt == "xlsx":
        return _write_xlsx(header, rows, directory / "sample.xlsx")
    if fmt == "jsonl":
        fields = [field_for_header(h) for h in header]
        path = directory / "sample.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                obj: dict[str, Any] = {}
                for name, value in zip(fields, row, strict=True):
                    if name == "categories" and value and "打屁股" not in value:
                        obj[name] = value.split(";")  # a real JSON list
                    else:
                        obj[name] = value
                fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return path
    raise ValueError(fmt)


_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_EXCEL_EPOCH = datetime(1899, 12, 30)


def _typed(field: str | None, value: str) -> Any:
    """A good cell as a spreadsheet holds it: dates as dates (valid_until as an Excel
    serial number), amounts as numbers; anything else (and every bad value) as text."""
    if field in {"decided_on", "valid_until", "disclosure_deadline"}:
        m = _DATE.fullmatch(value)
        if not m:
            return value
        try:
            moment = datetime(*(int(g) for g in m.groups()))
        except ValueError:
            return value
        if field == "valid_until":
            return (moment - _EXCEL_EPOCH).days
        return moment
    if field in {"fine_wan", "confiscated_wan"} and value:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        # A spreadsheet stores a binary double; the reader must give back the decimal.
        return float(number) if number >= 0 else value
    return value


def _write_xlsx(header: list[str], rows: list[list[str]], path: Path) -> Path:
    from openpyxl import Workbook

    fields = [field_for_header(h) for h in header]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("行政处罚")
    ws.append(header)
    for row in rows:
        ws.append([_typed(f, v) for f, v in zip(fields, row, strict=True)])
    wb.save(path)
    return path
