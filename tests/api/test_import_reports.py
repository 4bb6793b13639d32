"""Rejection reports kept for download (issue 21): the API import and the CLI import keep
the report as produced; ``GET /api/v1/imports/<id>/report`` serves it to the batch's
authority (and administrators), byte for byte."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from registry.records.models import ImportBatch, ImportReport


def _jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def test_api_import_keeps_its_report_for_its_authority(
    client, session, factory, regulator, other_regulator
):
    good = factory.record(regulator.authority)
    broken = factory.record(regulator.authority, uscc="91440300MA5D00000X")
    upload = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(_jsonl(good, broken)), "十一月处罚.jsonl")},
        content_type="multipart/form-data",
        headers=regulator.headers,
    )
    assert upload.status_code == 200, upload.json
    batch_id = upload.json["batch_id"]
    kept = session.get(ImportReport, batch_id)
    assert kept is not None
    assert kept.row_count == 1
    answer = client.get(f"/api/v1/imports/{batch_id}/report", headers=regulator.headers)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert answer.get_data() == kept.report.encode("utf-8")
    text = answer.get_data(as_text=True)
    assert "校验码" in text
    assert [row["line"] for row in upload.json["report"]] == [2]
    assert "attachment" in answer.headers["Content-Disposition"]
    assert "%E5%8D%81%E4%B8%80%E6%9C%88" in answer.headers["Content-Disposition"]  # 十一月
    theirs = client.get(f"/api/v1/imports/{batch_id}/report", headers=other_regulator.headers)
    assert theirs.status_code == 403
    assert "不属于本机关" in theirs.json["error"]["message"]
    unknown = client.get("/api/v1/imports/999999/report", headers=other_regulator.headers)
    assert unknown.status_code == 403  # nothing told about another authority's batches


def test_no_report_without_rejected_rows_and_admins_see_every_batch(
    client, session, factory, regulator
):
    admin = factory.token("admin")
    factory.commit()
    upload = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(_jsonl(factory.record(regulator.authority))), "ok.jsonl")},
        content_type="multipart/form-data",
        headers=regulator.headers,
    )
    batch_id = upload.json["batch_id"]
    none = client.get(f"/api/v1/imports/{batch_id}/report", headers=admin.headers)
    assert none.status_code == 404
    assert "没有拒收报告" in none.json["error"]["message"]


def test_cli_import_keeps_its_report(invoke, session, factory, regulator, tmp_path):
    good = factory.record(regulator.authority)
    broken = factory.record(regulator.authority, decided_on="2026-13-40")
    path = tmp_path / "cli-batch.jsonl"
    path.write_bytes(_jsonl(good, broken))
    report = tmp_path / "rejected.csv"
    result = invoke(
        "import", str(path), "--authority", regulator.authority, "--report", str(report)
    )
    assert result.exit_code == 0, result.output
    session.rollback()
    batch = session.execute(select(ImportBatch)).scalar_one()
    kept = session.get(ImportReport, batch.id)
    assert kept is not None
    assert kept.row_count == 1
    assert kept.report == report.read_text(encoding="utf-8")


def test_cli_import_with_an_xlsx_report_keeps_it_as_csv(
    invoke, session, factory, regulator, tmp_path
):
    good = factory.record(regulator.authority)
    broken = factory.record(regulator.authority, decided_on="2026-13-40")
    path = tmp_path / "cli-batch.jsonl"
    path.write_bytes(_jsonl(good, broken))
    report = tmp_path / "rejected.xlsx"
    result = invoke(
        "import",
        str(path),
        "--authority",
        regulator.authority,
        "--report",
        str(report),
        "--report-format",
        "xlsx",
    )
    assert result.exit_code == 0, result.output
    assert report.read_bytes()[:2] == b"PK"
    session.rollback()
    batch = session.execute(select(ImportBatch)).scalar_one()
    kept = session.get(ImportReport, batch.id)
    assert kept is not None
    assert kept.row_count == 1
    lines = kept.report.lstrip("\ufeff").splitlines()
    assert lines[0] == "行号,决定书文号,字段,原因"
    assert lines[1].startswith("2,")
