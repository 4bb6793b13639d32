"""POST /api/v1/imports: the CLI's engine and report over HTTP, for the token's authority."""

from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from registry.records.models import Penalty


def _jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _upload(client, token, payload: bytes, name: str = "batch.jsonl", **form: str):
    data = {"file": (io.BytesIO(payload), name), **form}
    return client.post(
        "/api/v1/imports", data=data, content_type="multipart/form-data", headers=token.headers
    )


def test_import_reports_each_rejected_row_and_is_idempotent(client, session, factory, regulator):
    good = factory.record(regulator.authority)
    other = factory.record(factory.authority())
    broken = factory.record(regulator.authority, uscc="91440300MA5D00000X")
    payload = _jsonl(good, other, broken)
    resp = _upload(client, regulator, payload)
    assert resp.status_code == 200, resp.json
    report = resp.json
    assert (report["accepted"], report["updated"], report["unchanged"], report["rejected"]) == (
        1,
        0,
        0,
        2,
    )
    lines = {(row["line"], row["field"]) for row in report["report"]}
    assert (2, "authority_uscc") in lines
    assert (3, "uscc") in lines
    assert report["format"] == "jsonl"
    assert report["written"] is True
    again = _upload(client, regulator, payload).json
    assert (again["accepted"], again["unchanged"], again["rejected"]) == (0, 1, 2)
    total = session.execute(select(func.count()).select_from(Penalty)).scalar_one()
    assert total == 1


def test_strict_refuses_the_whole_file_with_422(client, session, factory, regulator):
    payload = _jsonl(factory.record(regulator.authority), factory.record(factory.authority()))
    resp = _upload(client, regulator, payload, strict="true")
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "rows_rejected"
    assert resp.json["error"]["context"]["report"][0]["line"] == 2
    assert session.execute(select(func.count()).select_from(Penalty)).scalar_one() == 0


def test_dry_run_writes_nothing(client, session, factory, regulator):
    resp = _upload(client, regulator, _jsonl(factory.record(regulator.authority)), dry_run="1")
    assert resp.status_code == 200
    assert resp.json["accepted"] == 1
    assert resp.json["written"] is False
    assert session.execute(select(func.count()).select_from(Penalty)).scalar_one() == 0


def test_unreadable_file_and_missing_file_are_422(client, regulator):
    resp = _upload(client, regulator, b"\x00\x01\x02", name="x.xlsx")
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "unreadable_file"
    missing = client.post(
        "/api/v1/imports",
        data={"strict": "true"},
        content_type="multipart/form-data",
        headers=regulator.headers,
    )
    assert missing.status_code == 422
    assert missing.json["error"]["details"]["file"] == ["必填项缺失"]


def test_the_report_rows_carry_the_decision_number_and_the_files_column(client, factory, regulator):
    broken = factory.record(regulator.authority, uscc="91440300MA5D00000X")
    payload = json.dumps({"统一社会信用代码": broken.pop("uscc"), **broken}, ensure_ascii=False)
    resp = _upload(client, regulator, (payload + "\n").encode())
    assert resp.status_code == 200, resp.json
    (row,) = resp.json["report"]
    assert row["line"] == 1
    assert row["field"] == "uscc"
    assert row["decision_number"] == broken["decision_number"]
    assert row["reason"]


def test_an_imports_counts_status_and_rules_summary_for_its_authority(
    client, factory, regulator, other_regulator
):
    good = factory.record(regulator.authority)
    resp = _upload(client, regulator, _jsonl(good, factory.record(factory.authority())))
    assert resp.status_code == 200, resp.json
    rules = resp.json["rules"]
    assert rules["subjects"] == 1
    assert rules["failed"] is False
    assert resp.json["rules_text"].startswith("规则评估 1 个主体：拟列入 ")
    batch_id = resp.json["batch_id"]

    got = client.get(f"/api/v1/imports/{batch_id}", headers=regulator.headers)

    assert got.status_code == 200, got.json
    body = got.json
    assert (body["accepted"], body["updated"], body["unchanged"], body["rejected"]) == (1, 0, 0, 1)
    assert (body["status"], body["status_label"]) == ("completed", "已完成")
    assert body["source"] == "batch.jsonl"
    assert body["rules"] == rules
    assert body["rules_text"] == resp.json["rules_text"]
    assert body["rejection_reasons"] == {"authority_uscc": 1}

    other = client.get(f"/api/v1/imports/{batch_id}", headers=other_regulator.headers)
    assert other.status_code == 403
    assert other.json["error"]["code"] == "forbidden"
    assert "accepted" not in other.get_data(as_text=True)
    missing = client.get(f"/api/v1/imports/{batch_id + 1000}", headers=regulator.headers)
    assert missing.status_code == 404
    assert missing.json["error"]["message"] == f"导入批次 {batch_id + 1000} 不存在"
