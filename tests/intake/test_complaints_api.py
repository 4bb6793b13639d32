"""Public complaints (举报投诉) through the API: routing (table, regulators, queue), the
reporter's status view, the authorities' handling, never public, rate limiting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry.core.config import ConfigError
from registry.core.models import AuditEntry
from registry.intake.complaints import jurisdiction, routing_table
from registry.intake.models import Complaint
from registry.records.demo import make_uscc
from tests.conftest import make_config

PUBLIC = "/api/v1/public/complaints"


def authority_in(factory, division):
    """An authority's code in ``division`` (positions 3-8)."""
    return make_uscc(factory.rng, division, "1", "1")


def report(client, uscc, **fields):
    body = {"uscc": uscc, "kind": "counterfeit", "description": "门店销售假冒运动鞋", **fields}
    return client.post(PUBLIC, json=body)


def test_routed_to_the_most_specific_regulator_and_followed_by_receipt(
    client, factory, session, regulator, admin
):
    # The regulator's authority code is in division 440305; a district bureau there and
    # a city-level one: the district wins for an entity of 440305.
    city = factory.token("regulator", authority_in(factory, "440300"))
    factory.commit()
    code = factory.uscc("440305")
    filed = report(client, code, contact="13800000000")
    assert filed.status_code == 201, filed.json
    assert filed.json["receipt"].startswith("JB-")
    assert filed.json["status"] == "received"
    assert filed.headers["Cache-Control"] == "no-store"
    stored = session.execute(select(Complaint)).scalar_one()
    assert (stored.authority_uscc, stored.routed_by) == (regulator.authority, "regulators")

    # A neighbouring district (440306) goes to the city, not to 440305's bureau.
    neighbour = report(client, factory.uscc("440306"))
    assert neighbour.status_code == 201
    [mine] = client.get("/api/v1/complaints", headers=city.headers).json["items"]
    assert mine["uscc"].startswith("91440306")

    status = client.post(f"{PUBLIC}/status", json={"receipt": filed.json["receipt"]})
    assert status.status_code == 200
    assert set(status.json) == {"status", "filed_on", "status_on"}

    # The authority moves it on; the reporter sees the status only, never the note.
    [item] = client.get("/api/v1/complaints", headers=regulator.headers).json["items"]
    url = f"/api/v1/complaints/{item['id']}/status"
    accepted = client.post(url, json={"status": "accepted"}, headers=regulator.headers)
    assert accepted.status_code == 200, accepted.json
    no_note = client.post(url, json={"status": "closed"}, headers=regulator.headers)
    assert no_note.status_code == 422
    closed = client.post(
        url,
        json={"status": "closed", "note": "已立案查处，罚没假冒商品"},
        headers=regulator.headers,
    )
    assert closed.status_code == 200
    backwards = client.post(url, json={"status": "accepted"}, headers=regulator.headers)
    assert backwards.status_code == 409
    status = client.post(f"{PUBLIC}/status", json={"receipt": filed.json["receipt"]}).json
    assert status == {"status": "closed", "filed_on": "2026-11-29", "status_on": "2026-11-29"}
    session.rollback()  # a fresh snapshot after the requests
    actions = session.execute(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "complaint", AuditEntry.object_id == str(item["id"]))
        .order_by(AuditEntry.id)
    ).scalars()
    assert list(actions) == ["complaint.filed", "complaint.accepted", "complaint.closed"]


def test_routing_table_wins_longest_prefix(make_client, factory, session, regulator):
    province = authority_in(factory, "440000")
    city = authority_in(factory, "440300")
    client = make_client(intake={"complaint_routes": [f"44={province}", f"4403={city}"]})
    assert report(client, factory.uscc("440305")).status_code == 201
    assert report(client, factory.uscc("440105")).status_code == 201
    rows = session.execute(select(Complaint).order_by(Complaint.id)).scalars().all()
    assert [(r.authority_uscc, r.routed_by) for r in rows] == [
        (city, "table"),
        (province, "table"),
    ]


def test_unroutable_goes_to_the_administrators_queue(client, factory, regulator, admin):
    filed = report(client, factory.uscc("110105"))  # Beijing: no regulator, no route
    assert filed.status_code == 201
    assert client.get("/api/v1/complaints", headers=regulator.headers).json["total"] == 0
    queue = client.get("/api/v1/complaints?unrouted=true", headers=admin.headers).json
    [item] = queue["items"]
    assert item["authority_uscc"] is None
    assert item["routed_by"] == "none"
    url = f"/api/v1/complaints/{item['id']}/route"
    assert client.post(url, json={"authority_uscc": "x"}, headers=admin.headers).status_code == 422
    assert (
        client.post(
            url, json={"authority_uscc": regulator.authority}, headers=regulator.headers
        ).status_code
        == 403
    )
    routed = client.post(url, json={"authority_uscc": regulator.authority}, headers=admin.headers)
    assert routed.status_code == 200
    assert routed.json["routed_by"] == "admin"
    assert client.get("/api/v1/complaints", headers=regulator.headers).json["total"] == 1


def test_ambiguous_routing_goes_to_the_queue(client, factory, regulator, other_regulator):
    # Both regulators sit in 440305: two authorities tie, so the administrators decide.
    assert report(client, factory.uscc("440305")).status_code == 201
    assert client.get("/api/v1/complaints", headers=regulator.headers).json["total"] == 0
    assert client.get("/api/v1/complaints", headers=other_regulator.headers).json["total"] == 0


def test_only_the_authority_routed_to(make_client, factory, regulator, other_regulator, department):
    client = make_client(intake={"complaint_routes": [f"4403={regulator.authority}"]})
    assert report(client, factory.uscc("440305")).status_code == 201
    [item] = client.get("/api/v1/complaints", headers=regulator.headers).json["items"]
    assert client.get("/api/v1/complaints", headers=other_regulator.headers).json["total"] == 0
    one = f"/api/v1/complaints/{item['id']}"
    assert client.get(one, headers=other_regulator.headers).status_code == 403
    move = {"status": "accepted"}
    assert (
        client.post(f"{one}/status", json=move, headers=other_regulator.headers).status_code == 403
    )
    assert client.post(f"{one}/status", json=move, headers=department.headers).status_code == 403
    assert client.get("/api/v1/complaints", headers=department.headers).status_code == 403
    assert client.get("/api/v1/complaints").status_code == 401
    assert client.post(f"{one}/status", json=move, headers=regulator.headers).status_code == 200


def test_bad_input_names_the_field(client):
    bad = report(client, "914403001234")
    assert bad.status_code == 422
    assert "uscc" in bad.json["error"]["details"]
    kind = client.post(PUBLIC, json={"uscc": "x", "kind": "rumour", "description": "x"})
    assert kind.status_code == 422
    assert "kind" in kind.json["error"]["details"]
    unknown = client.post(f"{PUBLIC}/status", json={"receipt": "JB-0000-0000-0000-0000"})
    assert unknown.status_code == 404


def test_never_in_any_public_answer(client, factory, regulator):
    entity = factory.entity(factory.uscc("440305"))
    factory.commit()
    secret = "此举报内容绝不公开XYZ"
    assert report(client, entity.uscc, description=secret).status_code == 201
    for path in (
        f"/api/v1/public/entities/{entity.uscc}",
        f"/api/v1/public/search?q={entity.uscc}",
        "/api/v1/public/changes",
        f"/entities/{entity.uscc}",
        f"/search?q={entity.uscc}",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        text = answer.get_data(as_text=True)
        assert secret not in text, path
        assert "已收到" not in text, path


def test_filing_is_rate_limited_stricter_than_reads(make_client, factory, regulator):
    client = make_client(api={"public_filing_rate_limit": "2/hour"})
    code = factory.uscc("440305")
    assert report(client, code).status_code == 201
    assert client.post(PUBLIC, json={}).status_code == 422  # malformed attempts count too
    limited = report(client, code)
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # One count shared with objections and the web forms; reads are not affected.
    assert client.post("/api/v1/public/objections", json={}).status_code == 429
    assert client.get(f"/api/v1/public/entities/{code}").status_code == 404


def test_jurisdiction_and_routing_table_config():
    assert jurisdiction("440305") == "440305"
    assert jurisdiction("440300") == "4403"
    assert jurisdiction("440000") == "44"
    assert jurisdiction("100000") == ""
    with pytest.raises(ConfigError, match=r"complaint_routes\[0\]"):
        routing_table(make_config("sqlite://", intake={"complaint_routes": ["44:x"]}))
    with pytest.raises(ConfigError, match=r"complaint_routes\[0\]"):
        routing_table(make_config("sqlite://", intake={"complaint_routes": ["44=123"]}))
