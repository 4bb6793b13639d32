"""A receipt never travels in a URL.

Receipts of objections and complaints are secrets of the filer; a URL ends up in access
logs, proxies and browser histories.  ``GET /api/v1/public/objections/<receipt>`` (and
the complaints' twin) is gone (404 or 405); the status is asked with ``POST
/api/v1/public/objections/status`` (``/complaints/status``) and ``{"receipt": "…"}``.
"""

from __future__ import annotations


def _complaint_receipt(client, factory) -> str:
    filed = client.post(
        "/api/v1/public/complaints",
        json={
            "uscc": factory.uscc(),
            "kind": "counterfeit",
            "description": "疑似假冒注册商标的运动鞋",
        },
    )
    assert filed.status_code == 201, filed.json
    return filed.json["receipt"]


def test_objection_status_by_receipt_in_the_url_is_gone(client, file_objection):
    receipt = file_objection()
    answer = client.get(f"/api/v1/public/objections/{receipt}")
    assert answer.status_code in (404, 405), answer.json


def test_objection_status_is_asked_in_the_body(client, file_objection):
    receipt = file_objection()
    answer = client.post("/api/v1/public/objections/status", json={"receipt": receipt})
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "open"
    assert "receipt" not in answer.json
    unknown = client.post(
        "/api/v1/public/objections/status", json={"receipt": "YY-0000-0000-0000-0000"}
    )
    assert unknown.status_code == 404


def test_complaint_status_by_receipt_in_the_url_is_gone(client, factory):
    receipt = _complaint_receipt(client, factory)
    answer = client.get(f"/api/v1/public/complaints/{receipt}")
    assert answer.status_code in (404, 405), answer.json


def test_complaint_status_is_asked_in_the_body(client, factory):
    receipt = _complaint_receipt(client, factory)
    answer = client.post("/api/v1/public/complaints/status", json={"receipt": receipt})
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "received"
