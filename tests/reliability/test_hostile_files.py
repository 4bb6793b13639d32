"""Hostile files are refused early with a clear message, or neutralised — never read
into memory, inflated, decoded into garbage or evaluated.

- A 100 MB CSV that is one line (no header can be read) is a fatal error naming the line
  and the limit; a 100 MB row under a good header is one rejected row.  Both are read by
  the real CLI in a child process whose peak RSS is measured (< 300 MB: the line is
  skipped in 64 KiB steps, never held).
- An XLSX zip bomb (a worksheet inflating ~1000×, or a shared-strings part bigger than
  openpyxl should load whole) is refused from the zip directory before openpyxl opens
  it, in well under a second.
- Wrong encodings (UTF-16 with and without BOM, Shift-JIS, Big5, binary) are fatal with
  a message that names the encoding problem.
- Formula cells (``=cmd|' /C calc'!A0``, ``@SUM(…)``, ``+…``, ``-…``) are *neutralised*,
  not rejected: such text can be a legitimate value (a fact starting with "-", a
  decision number with "="), so it is stored verbatim as text — openpyxl reads formulas
  as their text (``data_only=False``), nothing evaluates them — and every CSV the
  registry writes (exports, the rejected-rows report) prefixes such a cell with ``'``
  (OWASP; a value already starting with ``'`` before such a character gets one more).
  The importer undoes exactly one such prefix in CSV input — a ``'`` before a formula
  character is a text marker there, as in a spreadsheet — so a full CSV export
  re-imports to the same records.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from importers.headers import FileError
from importers.readers import open_penalty_file
from registry.records.demo import write_file
from tests.conftest import ROOT
from tests.importers.samples import good_record
from tests.reliability.conftest import child_env

MB = 1 << 20
RSS_LIMIT_MB = 300
PAYLOADS = {
    "facts": "=cmd|' /C calc'!A0",
    "content": "@SUM(1+1)*cmd|' /C calc'!A0",
    "basis": "+1+1",
    "violation_type": "-2+3",
    "licence_affected": "'=already quoted",
}

# The child's own peak: VmHWM of its memory map.  Not getrusage's ru_maxrss, which Linux
# carries over from the forking process at exec (a long test session's pytest is big).
_RSS_ENTRY = (
    "import sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
    "try:\n"
    "    from cli import main; main()\n"
    "finally:\n"
    "    sys.stderr.write('MAXRSS_KB=%d\\n' % peak())\n"
)


def _import_measured(url: str, path: Path, report: Path) -> tuple[int, str, float]:
    """Run ``credit-registry import`` in a child; return status, stderr+stdout, peak MB."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_ENTRY, "import", str(path), "--report", str(report)],
        env=child_env(url),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    rss = [ln for ln in done.stderr.splitlines() if ln.startswith("MAXRSS_KB=")]
    assert rss, done.stderr
    return done.returncode, done.stdout + done.stderr, int(rss[-1].split("=")[1]) / 1024


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    from registry.core import migrate
    from registry.core.runtime import Runtime
    from tests.conftest import make_config

    url = f"sqlite:///{tmp_path / 'hostile.sqlite3'}"
    rt = Runtime(make_config(url))
    migrate.upgrade(rt.engine)
    rt.dispose()
    return url


def _header(tmp_path: Path) -> bytes:
    good = write_file(tmp_path / "good.csv", 1, "csv", encoding="utf-8")
    assert good == 1
    return (tmp_path / "good.csv").read_bytes().splitlines(keepends=True)[0]


@pytest.mark.slow
def test_100mb_single_line_csv_is_refused_with_bounded_memory(sqlite_url, tmp_path):
    path = tmp_path / "one-line.csv"
    with path.open("wb") as fh:
        chunk = "罚款,".encode() * (MB // 8)
        while fh.tell() < 100 * MB:
            fh.write(chunk)
    status, output, peak = _import_measured(sqlite_url, path, tmp_path / "r.csv")
    assert status == 1, output  # the file is refused
    assert "没有表头行" in output, output
    assert "第1行" in output, output
    assert "超过上限1048576字节" in output, output
    assert "Traceback" not in output
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.slow
def test_100mb_row_under_a_good_header_is_one_rejected_row(sqlite_url, tmp_path):
    path = tmp_path / "long-row.csv"
    with path.open("wb") as fh:
        fh.write(_header(tmp_path))
        block = b'"' + b"x" * (MB - 1)
        for _ in range(100):
            fh.write(block)
        fh.write(b'"\n')
    report = tmp_path / "r.csv"
    status, output, peak = _import_measured(sqlite_url, path, report)
    assert status == 0, output
    assert "新增 0，更新 0，未变 0，拒收 1" in output
    rows = list(csv.reader(io.StringIO(report.read_text("utf-8-sig"))))
    assert rows[1][0] == "2"
    assert rows[1][2] == "整行"
    assert "超过上限" in rows[1][3]
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"


def _xlsx_with(tmp_path: Path, name: str, replace: dict[str, bytes]) -> Path:
    """A real one-record workbook whose parts ``replace`` swaps or adds."""
    base = tmp_path / "base.xlsx"
    write_file(base, 1, "xlsx")
    out = tmp_path / name
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, replace.pop(item.filename, src.read(item.filename)))
        for filename, data in replace.items():
            dst.writestr(filename, data)
    return out


def _sheet_padded(size: int) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?>'
    head += b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    return head + b" " * size + b"<sheetData/></worksheet>"


def test_xlsx_zip_bomb_is_refused_before_inflating(tmp_path):
    bomb = _xlsx_with(tmp_path, "bomb.xlsx", {"xl/worksheets/sheet1.xml": _sheet_padded(120 * MB)})
    assert bomb.stat().st_size < 2 * MB
    started = time.monotonic()
    with pytest.raises(FileError, match="压缩炸弹") as caught:
        open_penalty_file(bomb)
    assert time.monotonic() - started < 1.0
    assert "xl/worksheets/sheet1.xml" in str(caught.value)


def test_xlsx_oversized_shared_strings_are_refused(tmp_path):
    strings = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>x</t></si>" * (70 * MB // 16)
        + b"</sst>"
    )
    path = _xlsx_with(tmp_path, "strings.xlsx", {"xl/sharedStrings.xml": strings})
    with pytest.raises(FileError, match=r"sharedStrings\.xml.*超过上限64MB"):
        open_penalty_file(path)


def test_xlsx_that_is_not_a_zip_is_a_clear_error(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(FileError, match="不是有效的XLSX文件"):
        open_penalty_file(path)


def _good_text(tmp_path: Path) -> str:
    write_file(tmp_path / "g.csv", 3, "csv", encoding="utf-8")
    return (tmp_path / "g.csv").read_text("utf-8")


@pytest.mark.parametrize(
    ("encode", "message"),
    [
        (lambda t: t.encode("utf-16"), "UTF-16"),
        (lambda t: t.encode("utf-16-le"), "UTF-16"),
        (lambda t: t.encode("utf-16-be"), "UTF-16"),
        (lambda t: t.encode("shift_jis", "replace"), "编码读取"),
        (lambda t: t.encode("big5", "replace"), "编码读取"),
        (lambda t: bytes(range(256)) * 40, "不是文本文件"),
    ],
    ids=["utf16-bom", "utf16le", "utf16be", "shift-jis", "big5", "binary"],
)
def test_wrong_encodings_are_named(tmp_path, encode, message):
    path = tmp_path / "wrong.csv"
    path.write_bytes(encode(_good_text(tmp_path)))
    with pytest.raises(FileError, match=message):
        open_penalty_file(path).close()


def _hostile_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        record = good_record(decision_number=f"公式罚〔2026〕{i}号")
        record.update(PAYLOADS)
        rows.append(record)
    return rows


def _write_records(path: Path, records: list[dict]) -> Path:
    fields = list(records[0])
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(fields)
        for r in records:
            ws.append([_cellify(r[f]) for f in fields])
        wb.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(fields)
            for r in records:
                writer.writerow([_cellify(r[f]) for f in fields])
    return path


def _cellify(value: object) -> object:
    if isinstance(value, list):
        return ";".join(value)
    return "" if value is None else str(value)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_cells_are_stored_as_text_and_escaped_in_every_csv(
    invoke, rt, session, tmp_path, suffix
):
    from registry.records.models import Penalty

    path = _write_records(tmp_path / f"formulas{suffix}", _hostile_rows(2))
    result = invoke("import", str(path), "--report", str(tmp_path / "r.csv"))
    assert "新增 2，更新 0，未变 0，拒收 0" in result.output, result.output
    # In a CSV, a "'" before a formula character is read as the guard (as a spreadsheet
    # reads it: a text marker, not part of the value); an XLSX cell is taken as it is.
    stored = {
        name: value[1:] if suffix == ".csv" and value.startswith("'") else value
        for name, value in PAYLOADS.items()
    }
    for penalty in session.query(Penalty).all():
        for name, value in stored.items():
            assert getattr(penalty, name) == value, name

    full = tmp_path / "full.csv"
    result = invoke("export", "--scope", "full", "--format", "csv", "--out", str(full))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(full.read_text("utf-8"))))
    assert len(rows) == 2
    for row in rows:
        for name, value in stored.items():
            assert row[name] == "'" + value, (name, row[name])
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell

    # The guard comes off again on import: the export re-imports to the same records.
    before = {(p.decision_number, p.content_hash) for p in session.query(Penalty)}
    session.rollback()
    from tests.conftest import _empty_all_tables

    _empty_all_tables(rt)
    result = invoke("import", str(full), "--report", str(tmp_path / "r2.csv"), "--restore")
    assert "新增 2，" in result.output, result.output
    after = {(p.decision_number, p.content_hash) for p in session.query(Penalty)}
    assert after == before
    for penalty in session.query(Penalty).all():
        assert penalty.facts == PAYLOADS["facts"]


def test_rejected_row_report_escapes_formulas(invoke, rt, tmp_path):
    record = good_record(decision_number="报告罚1号", fine_wan="=1+1", decided_on="@2026")
    path = _write_records(tmp_path / "bad.csv", [record])
    report = tmp_path / "r.csv"
    invoke("import", str(path), "--report", str(report))
    rows = list(csv.reader(io.StringIO(report.read_text("utf-8"))))[1:]
    assert rows, "the bad row was not reported"
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
