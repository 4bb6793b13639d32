"""The public API: disclosed data only, masking, ETag/Cache-Control, errors, change feed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from registry.core import clock
from registry.records.models import Penalty


@pytest.fixture
def disclosed(client, session, factory, regulator):
    """An organisation with a legal representative's ID number and a natural person with
    theirs, written through the API (so the numbers pass every door), then disclosed and
    listed as the rules would."""
    rep_number, person_number = factory.id_number(), factory.id_number()
    org = factory.record(
        regulator.authority,
        party_name="深圳市明达贸易有限公司",
        legal_representative="李建国",
        legal_representative_id_type="身份证",
        legal_representative_id_number=rep_number,
    )
    person = factory.record(
        regulator.authority,
        party_name="张三丰",
        party_type="natural_person",
        uscc=None,
        legal_representative=None,
        id_type="身份证",
        id_number=person_number,
    )
    del person["uscc"], person["legal_representative"]
    for body in (org, person):
        resp = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
        assert resp.status_code == 201, resp.json
    session.execute(
        update(Penalty).values(
            disclosure_until=clock.today() + timedelta(days=365), severity="general"
        )
    )
    person_key = session.execute(
        select(Penalty.subject_key).where(Penalty.party_type == "natural_person")
    ).scalar_one()
    factory.entry(org["uscc"], "samr_serious", authority_uscc=regulator.authority)
    factory.entry(person_key, "samr_serious", authority_uscc=regulator.authority)
    factory.entry(org["uscc"], "ip_serious", authority_uscc=regulator.authority, status="proposed")
    factory.commit()
    return {"org": org, "person": person, "numbers": (rep_number, person_number)}


def _public_bodies(client, disclosed) -> list[str]:
    org = disclosed["org"]
    urls = [
        f"/api/v1/public/entities/{org['uscc']}",
        "/api/v1/public/search?q=明达",
        f"/api/v1/public/search?q={org['uscc'][:8]}",
        "/api/v1/public/search?q=张",
        "/api/v1/public/lists/samr_serious/entries",
        "/api/v1/public/changes",
    ]
    bodies = []
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.json)
        bodies.append(resp.get_data(as_text=True))
    return bodies


def test_no_id_number_and_no_full_person_name_in_any_public_answer(client, disclosed):
    for body in _public_bodies(client, disclosed):
        for number in disclosed["numbers"]:
            assert number not in body
            assert number[6:14] not in body  # not even the birth date part
        assert "张三丰" not in body
        assert "李建国" not in body


def test_profile_shows_disclosed_penalties_and_confirmed_lists_only(client, disclosed):
    org = disclosed["org"]
    resp = client.get(f"/api/v1/public/entities/{org['uscc']}")
    body = resp.json
    assert body["uscc"] == org["uscc"]
    assert body["name"] == "深圳市明达贸易有限公司"
    assert body["region"]
    assert [entry["list_type"] for entry in body["lists"]] == ["samr_serious"]  # not proposed
    assert [p["decision_number"] for p in body["penalties"]] == [org["decision_number"]]
    assert body["penalties"][0]["fine_wan"] == "5"
    listed = client.get("/api/v1/public/lists/samr_serious/entries").json
    assert listed["total"] == 2
    assert {item["name"] for item in listed["items"]} == {"深圳市明达贸易有限公司", "张**"}


def test_revoked_record_leaves_the_public_view(client, disclosed, regulator, session):
    org = disclosed["org"]
    pid = session.execute(
        select(Penalty.id).where(Penalty.decision_number == org["decision_number"])
    ).scalar_one()
    resp = client.post(
        f"/api/v1/penalties/{pid}/revoke", json={"reason": "复议撤销"}, headers=regulator.headers
    )
    assert resp.status_code == 200
    assert client.get(f"/api/v1/public/entities/{org['uscc']}").json["penalties"] == []


def test_etag_and_cache_control(client, disclosed):
    url = f"/api/v1/public/entities/{disclosed['org']['uscc']}"
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_malformed_code_400_with_check_unknown_404(client, factory):
    cases = {"91440300": "length", "91440300MA5DXXXXXI": "character"}
    for code, check in cases.items():
        resp = client.get(f"/api/v1/public/entities/{code}")
        assert resp.status_code == 400
        assert resp.json["error"]["context"]["check"] == check
    good = factory.uscc()
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    resp = client.get(f"/api/v1/public/entities/{bad_check}")
    assert resp.status_code == 400
    assert resp.json["error"]["context"]["check"] in ("check", "body_check")
    unknown = client.get(f"/api/v1/public/entities/{good}")
    assert unknown.status_code == 404
    assert unknown.json["error"]["code"] == "not_found"


def test_as_of_in_the_past_hides_later_penalties(client, disclosed):
    url = f"/api/v1/public/entities/{disclosed['org']['uscc']}"
    resp = client.get(url, query_string={"as_of": "2026-09-01"})
    assert resp.json["penalties"] == []
    assert resp.json["as_of"] == "2026-09-01"


def test_change_feed_cursor_is_opaque_and_advances(client, disclosed):
    first = client.get("/api/v1/public/changes?limit=1").json
    assert first["next_cursor"]
    assert not first["next_cursor"].isdigit()
    rest = client.get("/api/v1/public/changes", query_string={"cursor": first["next_cursor"]}).json
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert ids == sorted(set(ids))
    again = client.get("/api/v1/public/changes", query_string={"cursor": rest["next_cursor"]}).json
    assert again["items"] == []
    bad = client.get("/api/v1/public/changes?cursor=garbage!")
    assert bad.status_code == 400
    assert bad.json["error"]["code"] == "invalid_cursor"


def test_search_needs_q_and_unknown_list_is_404(client):
    assert client.get("/api/v1/public/search").status_code == 422
    resp = client.get("/api/v1/public/lists/nonsense/entries")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"


def test_future_day_answers_from_terms(client, factory, regulator):
    entity = factory.entity()
    factory.entry(
        entity.uscc,
        authority_uscc=regulator.authority,
        since=date(2026, 1, 1),
        until=date(2027, 12, 31),
    )
    factory.commit()
    url = f"/api/v1/public/entities/{entity.uscc}"
    assert len(client.get(url, query_string={"as_of": "2027-12-31"}).json["lists"]) == 1
    assert client.get(url, query_string={"as_of": "2028-01-01"}).json["lists"] == []
