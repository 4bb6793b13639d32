"""The public intake forms as plain HTML (no script): the entity page links to them, the
forms post to the same origin with a CSRF token, receipts are shown once and looked up
through a POSTed form, never in a URL."""

from __future__ import annotations

import re

from sqlalchemy import select

from registry.intake.models import Complaint, Objection

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt"><code>([A-Z0-9-]+)</code>')


def csrf(client, path):
    page = client.get(path)
    assert page.status_code == 200, path
    return TOKEN.search(page.get_data(as_text=True)).group(1), page.get_data(as_text=True)


def test_objection_from_the_entity_page_to_the_answer(client, write_record, regulator):
    record = write_record()
    entity = client.get(f"/entities/{record['uscc']}").get_data(as_text=True)
    assert f"/objections/new?uscc={record['uscc']}" in entity
    token, form = csrf(client, f"/objections/new?uscc={record['uscc']}")
    assert f'value="penalty:{record["id"]}"' in form  # the disclosed record to pick
    assert "<script" not in form
    filed = client.post(
        "/objections/new",
        data={
            "csrf_token": token,
            "uscc": record["uscc"],
            "target": f"penalty:{record['id']}",
            "statement": "罚款金额与决定书不一致",
            "contact": "13800000000",
        },
    )
    assert filed.status_code == 201
    assert filed.headers["Cache-Control"] == "no-store"
    receipt = RECEIPT.search(filed.get_data(as_text=True)).group(1)
    assert receipt.startswith("YY-")

    token, _ = csrf(client, "/objections/status")
    status = client.post("/objections/status", data={"csrf_token": token, "receipt": receipt})
    assert status.status_code == 200
    assert "处理中" in status.get_data(as_text=True)
    assert receipt not in status.get_data(as_text=True)

    objection = client.get("/api/v1/objections", headers=regulator.headers).json["items"][0]
    client.post(
        f"/api/v1/objections/{objection['id']}/answer",
        json={"outcome": "rejected", "answer": "经核对，金额无误"},
        headers=regulator.headers,
    )
    answered = client.post(
        "/objections/status", data={"csrf_token": token, "receipt": receipt}
    ).get_data(as_text=True)
    assert "不予采纳" in answered
    assert "经核对，金额无误" in answered


def test_objection_by_decision_number_and_errors_shown_on_the_form(client, write_record):
    record = write_record()
    token, _ = csrf(client, "/objections/new")
    base = {"csrf_token": token, "uscc": record["uscc"], "target": "number", "contact": "x"}
    missing = client.post("/objections/new", data={**base, "decision_number": "", "statement": ""})
    assert missing.status_code == 422
    assert 'role="alert"' in missing.get_data(as_text=True)
    unknown = client.post(
        "/objections/new", data={**base, "decision_number": "无此文号", "statement": "有误"}
    )
    assert unknown.status_code == 422
    assert "没有这条记录" in unknown.get_data(as_text=True)
    ok = client.post(
        "/objections/new",
        data={**base, "decision_number": record["decision_number"], "statement": "有误"},
    )
    assert ok.status_code == 201


def test_forms_refuse_posts_without_the_sessions_csrf_token(client, app, session, factory):
    code = factory.uscc("440305")
    body = {"uscc": code, "kind": "counterfeit", "description": "假冒"}
    assert client.post("/complaints/new", data=body).status_code == 400
    # A token from another browser (session) is refused as well.
    other = app.test_client()
    token, _ = csrf(other, "/complaints/new")
    assert client.post("/complaints/new", data={**body, "csrf_token": token}).status_code == 400
    session.rollback()
    assert session.execute(select(Complaint)).first() is None
    assert session.execute(select(Objection)).first() is None


def test_complaint_form_and_status(client, factory, regulator):
    code = factory.uscc("440305")
    token, form = csrf(client, f"/complaints/new?uscc={code}")
    assert f'value="{code}"' in form
    filed = client.post(
        "/complaints/new",
        data={"csrf_token": token, "uscc": code, "kind": "trademark", "description": "假冒商标"},
    )
    assert filed.status_code == 201
    receipt = RECEIPT.search(filed.get_data(as_text=True)).group(1)
    assert receipt.startswith("JB-")
    status = client.post("/complaints/status", data={"csrf_token": token, "receipt": receipt})
    assert status.status_code == 200
    assert "已收到" in status.get_data(as_text=True)
    wrong = client.post("/complaints/status", data={"csrf_token": token, "receipt": "JB-1"})
    assert wrong.status_code == 404
    bad = client.post(
        "/complaints/new",
        data={"csrf_token": token, "uscc": "123", "kind": "trademark", "description": "x"},
    )
    assert bad.status_code == 422


def test_web_filing_shares_the_rate_limit(make_client, factory):
    client = make_client(api={"public_filing_rate_limit": "1/hour"})
    code = factory.uscc("440305")
    token, _ = csrf(client, "/complaints/new")
    body = {"csrf_token": token, "uscc": code, "kind": "quality", "description": "质量问题"}
    assert client.post("/complaints/new", data=body).status_code == 201
    limited = client.post("/complaints/new", data=body)
    assert limited.status_code == 429
    assert "提交过于频繁" in limited.get_data(as_text=True)
    api = client.post(
        "/api/v1/public/complaints", json={"uscc": code, "kind": "quality", "description": "x"}
    )
    assert api.status_code == 429
