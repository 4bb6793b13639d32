"""An ID number in any column is never stored in clear.

Headers however a sheet spells them (证件号码, 身份证号, 法定代表人身份证号, …) map to the
person fields, which are hashed and masked; a resident ID number anywhere else — in
remarks, facts, a column the importer does not know, a mask that is not a mask — is
refused with a line reason that shows it masked."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from registry.records.models import Penalty
from tests.security.helpers import stored_where, upload


def csv_file(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def national(record: dict) -> dict[str, str]:
    """A factory record under the national layout's Chinese headers."""
    return {
        "行政相对人名称": record["party_name"],
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": record["uscc"],
        "法定代表人": record["legal_representative"],
        "行政处罚决定书文号": record["decision_number"],
        "违法行为类型": record["violation_type"],
        "违法事实": record["facts"],
        "处罚依据": record["basis"],
        "处罚类别": "罚款",
        "处罚内容": record["content"],
        "罚款金额（万元）": record["fine_wan"],
        "处罚决定日期": record["decided_on"],
        "处罚机关": record["authority"],
        "处罚机关统一社会信用代码": record["authority_uscc"],
    }


def test_id_headers_however_spelt_map_to_the_person_fields(client, rt, factory, regulator, session):
    numbers = [factory.id_number() for _ in range(3)]
    rows = []
    for header, number in zip(
        ("法定代表人身份证号", "法定代表人身份证号码", "法定代表人证件号码"), numbers, strict=True
    ):
        row = national(factory.record(regulator.authority))
        row[header] = number
        rows.append(row)
    for row in rows:  # one file per spelling (a file has one header)
        answer = upload(client, regulator, csv_file([row]), name="penalties.csv")
        assert answer.status_code == 200, answer.json
        assert answer.json["accepted"] == 1, answer.json
        assert answer.json["warnings"] == []  # a known column, not one for remarks
    session.rollback()
    masks = sorted(p.legal_representative_id_masked for p in session.scalars(select(Penalty)))
    assert masks == sorted(n[:6] + "********" + n[-4:] for n in numbers)
    for number in numbers:
        assert stored_where(rt.engine, number) == []


def test_an_id_number_in_free_text_is_refused_masked(client, rt, factory, regulator, session):
    number = factory.id_number()
    mask = number[:6] + "********" + number[-4:]
    in_remarks = national(factory.record(regulator.authority))
    in_remarks["备注"] = f"法人身份证 {number}，已核实"
    in_unknown = national(factory.record(regulator.authority))
    in_unknown["经办人证件"] = number  # a column the importer does not know → remarks
    answer = upload(client, regulator, csv_file([in_remarks]), name="a.csv")
    assert answer.json["rejected"] == 1, answer.json
    [problem] = answer.json["report"]
    assert problem["field"] == "remarks"
    assert mask in problem["reason"]
    unknown = upload(client, regulator, csv_file([in_unknown]), name="b.csv")
    assert unknown.json["rejected"] == 1, unknown.json
    assert unknown.json["report"][0]["field"] == "remarks"
    for text in (json.dumps(answer.json), json.dumps(unknown.json)):
        assert number not in text
    # the 15-digit first-generation form too, in the facts, through the JSON API
    old = number[:6] + number[8:17]
    body = factory.record(regulator.authority, facts=f"经查，当事人（身份证{old}）销售假货。")
    written = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert written.status_code == 422
    assert "facts" in written.json["error"]["details"]
    assert old not in written.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(Penalty)).first() is None
    assert stored_where(rt.engine, number) == []
    assert stored_where(rt.engine, old) == []


def test_a_full_number_is_no_mask(invoke, rt, factory, regulator, tmp_path):
    """Even a restore: a 'masked' field holding a whole number is refused."""
    number = factory.id_number()
    record = factory.record(regulator.authority, legal_representative_id_masked=number)
    path = tmp_path / "full.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    report = tmp_path / "r.csv"
    result = invoke("import", str(path), "--restore", "--report", str(report))
    assert result.exit_code == 0, result.output
    text = report.read_text("utf-8")
    assert "legal_representative_id_masked" in text
    assert number not in text
    assert stored_where(rt.engine, number) == []
