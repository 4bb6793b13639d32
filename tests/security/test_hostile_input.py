"""Hostile bodies and files get a plain refusal, never a traceback or a 500.

JSON bodies are bounded before they are parsed (size: 413 ``too_large``; nesting depth:
400 ``too_deep``), a body that is not JSON is 415; a damaged XLSX (broken XML inside a
valid zip), CSV or JSONL is a file-level error: 422 ``unreadable_file`` on the API, a
report line and ``failed/`` in the inbox, the CLI's file error (exit status 2)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from registry.records.layout import ALL_COLUMNS
from tests.credit.conftest import naming_pack
from tests.security.helpers import assert_error_shape, jsonl, upload
from tests.security.seams import import_inbox, runtime_of

OBJECTION = "/api/v1/public/objections"


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_deep_nesting_is_refused_before_parsing(client, caplog):
    caplog.set_level(logging.ERROR)
    answer = client.post(OBJECTION, data=nested(50_000), content_type="application/json")
    error = assert_error_shape(answer, 400)
    assert error["code"] == "too_deep"
    assert "嵌套" in error["message"]
    assert error["context"] == {"max_json_depth": 32}
    assert "Traceback" not in caplog.text
    # inside an object, too, and on a regulator's endpoint
    body = b'{"reason": ' + nested(100) + b"}"
    assert client.post(OBJECTION, data=body, content_type="application/json").status_code == 400


def test_the_depth_and_size_limits_are_settings(make_client, regulator):
    client = make_client(api={"max_json_depth": 3, "max_json_kb": 1})
    shallow = client.post(OBJECTION, data=b'{"a": [[1]]}', content_type="application/json")
    assert shallow.status_code == 422  # parsed: the fields are wrong, not the shape
    deep = client.post(OBJECTION, data=b'{"a": [[[1]]]}', content_type="application/json")
    assert assert_error_shape(deep, 400)["code"] == "too_deep"
    # brackets inside strings are text
    text = json.dumps({"statement": "[[[[[[[[" * 10}).encode()
    assert client.post(OBJECTION, data=text, content_type="application/json").status_code == 422
    big = json.dumps({"statement": "很" * 1000}).encode()
    error = assert_error_shape(
        client.post(OBJECTION, data=big, content_type="application/json"), 413
    )
    assert error["code"] == "too_large"
    assert "1 KB" in error["message"]
    too_big = client.post(
        "/api/v1/penalties",
        data=big,
        content_type="application/json",
        headers=regulator.headers,
    )
    assert too_big.status_code == 413


def test_a_json_body_sent_as_text_is_415(client, factory, regulator):
    body = json.dumps(factory.record(regulator.authority)).encode()
    answer = client.post(
        "/api/v1/penalties", data=body, content_type="text/plain", headers=regulator.headers
    )
    error = assert_error_shape(answer, 415)
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"]
    form = client.post(OBJECTION, data={"uscc": "x"})  # a form where JSON is expected
    assert assert_error_shape(form, 415)["code"] == "unsupported_media_type"
    # with the right type the same body is written
    written = client.post(
        "/api/v1/penalties", data=body, content_type="application/json", headers=regulator.headers
    )
    assert written.status_code == 201, written.json


def test_malformed_json_is_a_400_in_the_error_shape(client):
    for body in (b'{"uscc": ', b"\xff\xfe", b"[1, 2", b'{"a": NaN}'):
        answer = client.post(OBJECTION, data=body, content_type="application/json")
        assert answer.status_code in (400, 422), (body, answer.status_code)
        assert_error_shape(answer, answer.status_code)


# --- files -----------------------------------------------------------------------------


def broken_xlsx() -> bytes:
    """A valid zip holding an XLSX whose worksheet XML is cut off mid-row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([c.header for c in ALL_COLUMNS])
    sheet.append(["深圳市某某公司"])
    good = io.BytesIO()
    workbook.save(good)
    out = io.BytesIO()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("broken.xlsx", broken_xlsx()),
        ("binary.csv", b"\x00\x01\x02PK" * 100),
        ("text.xlsx", b"this is not a zip at all"),
    ],
)
def test_an_unreadable_upload_is_422_unreadable_file(client, regulator, name, payload, caplog):
    caplog.set_level(logging.ERROR)
    answer = upload(client, regulator, payload, name=name)
    error = assert_error_shape(answer, 422)
    assert error["code"] == "unreadable_file"
    assert name in error["message"]
    assert "Traceback" not in caplog.text


def test_a_jsonl_line_nested_too_deep_is_a_line_reason(client, regulator, factory):
    good = factory.record(regulator.authority)
    payload = jsonl(good) + nested(100_000) + b"\n"
    answer = upload(client, regulator, payload)
    assert answer.status_code == 200, answer.json
    assert (answer.json["accepted"], answer.json["rejected"]) == (1, 1)
    assert answer.json["report"][0]["line"] == 2


def test_the_cli_and_the_inbox_report_a_broken_xlsx(invoke, database_url, tmp_path: Path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(broken_xlsx())
    result = invoke("import", str(path), "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 1, result.output  # the file is refused, not the command line
    assert "不是有效的XLSX文件" in result.output
    assert "Traceback" not in result.output
    written = (tmp_path / "r.csv").read_text("utf-8-sig").splitlines()
    assert written[0] == "行号,决定书文号,字段,原因"
    assert written[1].startswith("0,,整个文件,")
    assert "不是有效的XLSX文件" in written[1]

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.xlsx").write_bytes(broken_xlsx())
    rt = runtime_of(database_url, importer={"inbox": str(inbox)})
    try:
        [summary] = import_inbox(rt, settle_seconds=0)
    finally:
        rt.dispose()
    assert summary.fatal
    report = (inbox / "failed" / "broken.xlsx.report.csv").read_text("utf-8")
    assert ",整个文件," in report
    assert "不是有效的XLSX文件" in report


def test_lists_import_of_a_damaged_file(invoke, authority, factory, tmp_path: Path):
    env = {"REGISTRY_RULES_PACKS": str(naming_pack(tmp_path, customs=[authority]))}
    path = tmp_path / "named.jsonl"
    line = json.dumps({"uscc": factory.uscc(), "basis": "AEOCN4403000001"}).encode()
    path.write_bytes(line + b"\n" + nested(100_000) + b"\n")
    args = ("lists", "import", "--list-type", "customs_aeo", "--authority", authority)
    result = invoke(*args, str(path), env=env)
    assert result.exit_code == 1  # the good line in, the deep one refused with its line
    assert "第 2 行：整行：JSON嵌套层数过多" in result.output
    csv_path = tmp_path / "named.csv"
    csv_path.write_bytes(b'uscc,basis\n"unterminated' + b"x" * 200_000 + b"\n")
    result = invoke(*args, str(csv_path), env=env)
    assert result.exit_code == 1, result.output
    assert "不是可读取的CSV" in result.output
    assert "Traceback" not in result.output
