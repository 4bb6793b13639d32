"""What a regulator sees of an import (issue 21): a rejection report Excel opens in
Chinese, naming the file's own columns and each row's decision number; every stage of
the import named as it runs; and what the rules did, in the summary and on the batch."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from importers.headers import field_for_header
from importers.report import REPORT_COLUMNS, ReportWriter, report_csv_text
from registry.lists.models import ListEntry
from registry.records.models import ImportBatch
from tests.importers.dbhelp import report_rows
from tests.importers.samples import expected, sample_table, write_sample


def test_the_report_names_the_files_own_columns_and_each_rows_decision_number(
    invoke, rt, shared_dir, tmp_path
):
    path = write_sample(shared_dir, tmp_path, "csv-gb18030")
    report = tmp_path / "拒收行.csv"

    result = invoke("import", str(path), "--report", str(report))

    assert result.exit_code == 0, result.output
    raw = report.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel on a Chinese Windows reads UTF-8
    first = raw.decode("utf-8-sig").splitlines()[0]
    assert first == "行号,决定书文号,字段,原因"
    header, table = sample_table(shared_dir)
    rows = report_rows(report)
    assert {int(r["line"]) for r in rows} == {b["line"] for b in expected(shared_dir)["bad"]}
    # Every field is named as this file's header names it, never by an internal name.
    assert {r["field"] for r in rows} <= set(header) | {"整行"}
    by_field = {field_for_header(h): h for h in header}
    fines = [r for r in rows if r["field"] == by_field["fine_wan"]]
    assert fines, rows
    assert "fine_wan" not in report.read_text("utf-8-sig")
    assert "decided_on" not in report.read_text("utf-8-sig")
    # Each row's decision number, as the file wrote it (blank where it had none).
    number_at = header.index(by_field["decision_number"])
    for r in rows:
        assert r["decision_number"] == table[int(r["line"]) - 2][number_at].strip()
    assert any(r["decision_number"] for r in rows)


def test_an_xlsx_report_with_the_import_and_the_rules_summarised(invoke, rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "xlsx")
    report = tmp_path / "拒收行.xlsx"

    result = invoke("import", str(path), "--report", str(report), "--report-format", "xlsx")

    assert result.exit_code == 0, result.output
    book = load_workbook(report, read_only=True)
    assert book.sheetnames == ["拒收行", "导入汇总"]
    rows = list(book["拒收行"].iter_rows(values_only=True))
    assert rows[0] == REPORT_COLUMNS
    assert len({r[0] for r in rows[1:]}) == 20
    summary = dict(book["导入汇总"].iter_rows(values_only=True))
    assert summary["结果"] == "新增 180，更新 0，未变 0，拒收 20"
    assert summary["导入后的规则评估"].startswith("规则评估 ")


def test_report_cells_never_run_as_formulas(tmp_path):
    writer = ReportWriter(tmp_path / "r.xlsx", fmt="xlsx")
    writer.add(3, "decision_number", '=HYPERLINK("x")', "=1+2")
    writer.add(4, "_row", "@SUM(A1)", "-5")
    writer.close()
    cells = list(load_workbook(tmp_path / "r.xlsx")["拒收行"].iter_rows(values_only=True))
    assert cells[1] == (3, "'=1+2", "行政处罚决定书文号", '\'=HYPERLINK("x")')
    assert cells[2] == (4, "'-5", "整行", "'@SUM(A1)")

    memory = ReportWriter()
    memory.add(2, "+cmd", "+1")
    text = memory.csv_text()
    assert text.startswith("\ufeff行号,决定书文号,字段,原因\r\n")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1] == ["2", "", "'+cmd", "'+1"]
    assert text == report_csv_text(memory.all_rows)


def _demo_file(invoke, tmp_path: Path, records: int = 400) -> Path:
    path = tmp_path / "penalties.csv"
    result = invoke("demo-data", "--records", str(records), "--out", str(path), "--seed", "7")
    assert result.exit_code == 0, result.output
    return path


def test_every_stage_is_named_and_the_rules_are_summarised(invoke, rt, tmp_path):
    path = _demo_file(invoke, tmp_path)

    result = invoke("import", str(path))

    assert result.exit_code == 0, result.output
    out = result.output
    # Each stage named as it starts and as it ends — nothing silent after the reading.
    for stage in ("读取、校验并写入", "生成搜索拼写", "规则评估"):
        assert f"penalties.csv：{stage}" in out, out
        assert f"{stage}完成，用时" in out, out
    assert out.index("生成搜索拼写完成") < out.index("规则评估完成")
    assert "新增 400，更新 0，未变 0，拒收 0" in out
    with rt.sessions() as s:
        (batch,) = s.execute(select(ImportBatch)).scalars().all()
        proposed = s.execute(
            select(func.count()).select_from(ListEntry).where(ListEntry.status == "proposed")
        ).scalar_one()
    rules = batch.rules_summary
    assert rules is not None
    assert rules["proposed"] == proposed > 0
    assert rules["subjects"] > 0
    assert rules["failed"] is False
    assert (
        f"规则评估 {rules['subjects']} 个主体：拟列入 {proposed}，生效 {rules['activated']}，"
        f"撤回 {rules['withdrawn']}，移出 {rules['removed']}，新预警 {rules['alerts']}"
    ) in out

    # Run again: all unchanged, nothing for the rules, said as much.
    again = invoke("import", str(path))
    assert "新增 0，更新 0，未变 400，拒收 0" in again.output


def test_a_dry_run_runs_no_rules_and_says_so(invoke, rt, tmp_path):
    path = _demo_file(invoke, tmp_path, 20)

    result = invoke("import", str(path), "--dry-run")

    assert result.exit_code == 0, result.output
    assert "试运行，未写入任何记录" in result.output
    assert "规则评估 " not in result.output
    assert "生成搜索拼写" not in result.output


def test_evaluate_after_an_import_says_nothing_waits_and_what_the_import_run_did(
    invoke, rt, tmp_path
):
    assert invoke("evaluate").output.splitlines() == ["没有待处理的主体。", "尚无规则评估的记录。"]
    path = _demo_file(invoke, tmp_path, 200)
    assert invoke("import", str(path)).exit_code == 0
    with rt.sessions() as s:
        (batch,) = s.execute(select(ImportBatch)).scalars().all()
    rules = batch.rules_summary
    assert rules["proposed"] > 0

    result = invoke("evaluate")

    assert result.exit_code == 0, result.output
    first, last = result.output.splitlines()
    assert first == "没有待处理的主体。"
    assert last.startswith("上次运行：")
    assert "（导入之后）" in last
    assert last.endswith(
        f"规则评估 {rules['subjects']} 个主体：拟列入 {rules['proposed']}，"
        f"生效 {rules['activated']}，撤回 {rules['withdrawn']}，移出 {rules['removed']}，"
        f"新预警 {rules['alerts']}"
    )


def _one_row_file(tmp_path: Path, **changes: str) -> Path:
    from tests.importers.samples import good_record

    record = good_record(**changes)
    path = tmp_path / "one.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(record)
        writer.writerow(record.values())
    return path


def test_a_legal_representatives_id_card_number_is_checked(invoke, rt, tmp_path):
    path = _one_row_file(tmp_path, legal_representative_id_number="12345")
    report = tmp_path / "r.csv"

    result = invoke("import", str(path), "--report", str(report))

    assert "新增 0，更新 0，未变 0，拒收 1" in result.output, result.output
    (row,) = report_rows(report)
    assert row["field"] == "legal_representative_id_number"  # as this file's header says
    assert row["reason"] == "法定代表人的身份证号码应为18位，实际为5位"
    for number, reason in (
        ("330106196710271314", "法定代表人的身份证号码校验码错误"),
        ("330106196702301316", "法定代表人的身份证号码中的出生日期19670230不存在"),
    ):
        path = _one_row_file(tmp_path, legal_representative_id_number=number)
        invoke("import", str(path), "--report", str(report))
        assert report_rows(report)[0]["reason"] == reason
    # Another kind of document is not a resident ID card: not checked as one.
    path = _one_row_file(
        tmp_path, legal_representative_id_type="护照", legal_representative_id_number="E1234"
    )
    assert "新增 1，" in invoke("import", str(path)).output


def test_a_decision_before_the_earliest_date_is_refused_with_the_reason(invoke, rt, tmp_path):
    path = _one_row_file(tmp_path, decided_on="1899-01-01")
    report = tmp_path / "r.csv"

    result = invoke("import", str(path), "--report", str(report))

    assert "拒收 1" in result.output, result.output
    (row,) = report_rows(report)
    assert row["field"] == "decided_on"
    assert row["reason"].startswith("处罚决定日期1899-01-01早于可登记的最早日期1990-01-01")
    assert "records.earliest_decision_date" in row["reason"]
    older = invoke(
        "import", str(path), env={"REGISTRY_RECORDS_EARLIEST_DECISION_DATE": "1880-01-01"}
    )
    assert "新增 1，更新 0，未变 0，拒收 0" in older.output, older.output
