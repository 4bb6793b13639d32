"""Regulators' records: idempotent writes, own records only, revocation."""

from __future__ import annotations

from sqlalchemy import func, select

from registry.records.models import Penalty


def test_same_post_twice_is_one_record_201_then_200(client, session, factory, regulator):
    body = factory.record(regulator.authority)
    first = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert first.status_code == 201, first.json
    assert first.json["result"] == "created"
    again = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert again.status_code == 200, again.json
    assert again.json["result"] == "unchanged"
    assert again.json["penalty"]["id"] == first.json["penalty"]["id"]
    changed = client.post(
        "/api/v1/penalties", json={**body, "fine_wan": "6"}, headers=regulator.headers
    )
    assert changed.status_code == 200
    assert changed.json["result"] == "updated"
    assert changed.json["penalty"]["fine_wan"] == "6"
    assert changed.json["penalty"]["version"] == 2
    count = session.execute(
        select(func.count())
        .select_from(Penalty)
        .where(Penalty.decision_number == body["decision_number"])
    ).scalar_one()
    assert count == 1


def test_another_authoritys_record_is_403_and_not_written(client, session, factory, regulator):
    body = factory.record(factory.authority())
    resp = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "forbidden"
    assert session.execute(select(func.count()).select_from(Penalty)).scalar_one() == 0


def test_invalid_record_is_422_with_field_details(client, factory, regulator):
    body = factory.record(regulator.authority, uscc="91440300MA5XXXXXX1", unknown_field="x")
    del body["decision_number"]
    resp = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert resp.status_code == 422
    details = resp.json["error"]["details"]
    assert {"uscc", "decision_number", "unknown_field"} <= set(details)


def test_restore_only_fields_are_refused(client, factory, regulator):
    body = factory.record(regulator.authority, status="revoked")
    resp = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert resp.status_code == 422
    assert "status" in resp.json["error"]["details"]


def test_list_shows_own_records_only_paginated(client, factory, regulator, other_regulator):
    for _ in range(3):
        assert (
            client.post(
                "/api/v1/penalties",
                json=factory.record(regulator.authority),
                headers=regulator.headers,
            ).status_code
            == 201
        )
    other = factory.record(other_regulator.authority)
    assert (
        client.post("/api/v1/penalties", json=other, headers=other_regulator.headers).status_code
        == 201
    )
    page = client.get("/api/v1/penalties?per_page=2", headers=regulator.headers)
    assert page.status_code == 200
    assert page.json["total"] == 3
    assert len(page.json["items"]) == 2
    assert all(p["authority_uscc"] == regulator.authority for p in page.json["items"])
    found = client.get(
        "/api/v1/penalties",
        query_string={"decision_number": other["decision_number"]},
        headers=regulator.headers,
    )
    assert found.json["total"] == 0


def test_revoke_own_record_and_not_anothers(client, factory, regulator, other_regulator):
    body = factory.record(regulator.authority)
    created = client.post("/api/v1/penalties", json=body, headers=regulator.headers).json
    pid = created["penalty"]["id"]
    denied = client.post(
        f"/api/v1/penalties/{pid}/revoke", json={"reason": "x"}, headers=other_regulator.headers
    )
    assert denied.status_code == 403
    missing_reason = client.post(
        f"/api/v1/penalties/{pid}/revoke", json={}, headers=regulator.headers
    )
    assert missing_reason.status_code == 422
    done = client.post(
        f"/api/v1/penalties/{pid}/revoke", json={"reason": "经复议撤销"}, headers=regulator.headers
    )
    assert done.status_code == 200, done.json
    assert done.json["status"] == "revoked"
    twice = client.post(
        f"/api/v1/penalties/{pid}/revoke", json={"reason": "again"}, headers=regulator.headers
    )
    assert twice.status_code == 409
    unknown = client.post(
        "/api/v1/penalties/999999/revoke", json={"reason": "x"}, headers=regulator.headers
    )
    assert unknown.status_code == 404
