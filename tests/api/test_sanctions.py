"""Departments' checks: one code as of past/today/future days, batches, persons, feedback."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from registry.core import clock


@pytest.fixture
def listed(factory, authority):
    """An entity on samr_serious from 2026-06-01 to 2029-05-31, decided on a penalty."""
    entity = factory.entity()
    penalty = factory.penalty(entity.uscc, authority, decided_on=date(2026, 5, 18))
    entry = factory.entry(
        entity.uscc,
        authority_uscc=authority,
        since=date(2026, 6, 1),
        until=date(2029, 5, 31),
        basis=[penalty.id],
    )
    factory.decision(entry, [penalty.id])
    factory.commit()
    return entity, penalty, entry


def test_measures_today_with_entry_dates_and_because(client, department, listed):
    entity, penalty, entry = listed
    resp = client.get(f"/api/v1/sanctions/{entity.uscc}", headers=department.headers)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["uscc"] == entity.uscc
    assert body["sanctioned"] is True
    assert body["name"] == entity.name
    ids = {m["measure_id"] for m in body["measures"]}
    assert "procurement-ban" in ids
    assert "patent-priority-ban" not in ids  # ip_serious only
    measure = next(m for m in body["measures"] if m["measure_id"] == "procurement-ban")
    assert measure["list_type"] == "samr_serious"
    assert measure["list_entry_id"] == entry.id
    assert (measure["since"], measure["until"]) == ("2026-06-01", "2029-05-31")
    assert measure["department"] == "财政部门"
    assert measure["legal_basis"]
    because = measure["because"][0]
    assert because["rule_id"] == "heavy-penalty"
    assert because["penalties"][0]["decision_number"] == penalty.decision_number
    assert because["penalties"][0]["decided_on"] == "2026-05-18"


@pytest.mark.parametrize(
    ("as_of", "sanctioned"),
    [
        ("2026-05-31", False),  # before the entry began: history
        ("2026-06-01", True),
        ("2029-05-31", True),  # the last day of the term, already set
        ("2029-06-01", False),  # the future after the term
    ],
)
def test_as_of_past_and_future(client, department, listed, as_of, sanctioned):
    entity, _, _ = listed
    resp = client.get(
        f"/api/v1/sanctions/{entity.uscc}",
        query_string={"as_of": as_of},
        headers=department.headers,
    )
    assert resp.status_code == 200
    assert resp.json["sanctioned"] is sanctioned
    assert resp.json["as_of"] == as_of


def test_removed_entry_binds_only_before_its_end(client, factory, department, authority):
    entity = factory.entity()
    factory.entry(
        entity.uscc,
        authority_uscc=authority,
        status="removed",
        since=date(2025, 1, 1),
        until=date(2027, 12, 31),
        ended_on=date(2026, 3, 1),
        end_reason="repaired",
    )
    factory.commit()
    url = f"/api/v1/sanctions/{entity.uscc}"
    before = client.get(url, query_string={"as_of": "2026-02-28"}, headers=department.headers)
    assert before.json["sanctioned"] is True
    assert before.json["measures"][0]["until"] == "2026-02-28"
    assert client.get(url, headers=department.headers).json["sanctioned"] is False


def test_scenario_filters_measures_and_unknown_scenario_is_422(client, department, listed):
    entity, _, _ = listed
    url = f"/api/v1/sanctions/{entity.uscc}"
    resp = client.get(url, query_string={"scenario": "procurement"}, headers=department.headers)
    assert [m["measure_id"] for m in resp.json["measures"]] == ["procurement-ban"]
    bad = client.get(url, query_string={"scenario": "nonsense"}, headers=department.headers)
    assert bad.status_code == 422
    assert bad.json["error"]["code"] == "invalid"


def test_malformed_code_is_400_with_check_and_unknown_code_is_clean(client, factory, department):
    resp = client.get("/api/v1/sanctions/91440300ABC", headers=department.headers)
    assert resp.status_code == 400
    assert resp.json["error"]["context"]["check"] == "length"
    unknown = client.get(f"/api/v1/sanctions/{factory.uscc()}", headers=department.headers)
    assert unknown.status_code == 200
    assert unknown.json == {**unknown.json, "sanctioned": False, "measures": [], "name": None}


def test_batch_with_a_malformed_code_in_the_middle(client, factory, department, listed):
    entity, _, _ = listed
    clean = factory.uscc()
    wrong_check = entity.uscc[:-1] + ("0" if entity.uscc[-1] != "0" else "1")
    codes = [entity.uscc, "not-a-code", wrong_check, clean.lower()]
    resp = client.post("/api/v1/sanctions/check", json={"codes": codes}, headers=department.headers)
    assert resp.status_code == 200, resp.json
    results = resp.json["results"]
    assert [r["uscc"] for r in results] == [entity.uscc, "not-a-code", wrong_check, clean]
    assert results[0]["sanctioned"] is True
    assert results[0]["error"] is None
    assert results[1]["error"]["check"] in ("length", "character")
    assert results[1]["sanctioned"] is None
    assert results[2]["error"]["check"] in ("check", "body_check")
    assert results[3]["sanctioned"] is False


def test_batch_over_the_limit_is_413(client, make_client, factory, department):
    codes = [factory.uscc() for _ in range(4)]
    small = make_client(api={"batch_check_limit": 3})
    resp = small.post("/api/v1/sanctions/check", json={"codes": codes}, headers=department.headers)
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "too_large"
    assert resp.json["error"]["context"] == {"limit": 3, "given": 4}
    ok = small.post(
        "/api/v1/sanctions/check", json={"codes": codes[:3]}, headers=department.headers
    )
    assert ok.status_code == 200


def test_batch_of_1000_is_a_constant_number_of_queries(rt, client, factory, department, listed):
    """Entries, measures, decisions, grades, objections…: one query each, whatever the
    batch size — 1,000 codes cost the same number of SELECTs as two."""
    from sqlalchemy import event

    entity, _, _ = listed

    def selects(codes: list[str]) -> int:
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(rt.engine, "before_cursor_execute", count)
        try:
            resp = client.post(
                "/api/v1/sanctions/check", json={"codes": codes}, headers=department.headers
            )
        finally:
            event.remove(rt.engine, "before_cursor_execute", count)
        assert resp.status_code == 200
        assert len(resp.json["results"]) == len(codes)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    small = selects([entity.uscc, factory.uscc()])
    large = selects([entity.uscc] + [factory.uscc() for _ in range(999)])
    assert large == small
    assert large <= 8


def test_person_check_finds_legal_representative_measures_and_masks(
    client, factory, department, listed
):
    entity, _, _ = listed
    number = factory.id_number()
    person = factory.person(number)
    factory.link(person, entity.uscc)
    factory.commit()
    resp = client.post(
        "/api/v1/sanctions/person-check", json={"id_number": number}, headers=department.headers
    )
    assert resp.status_code == 200, resp.json
    assert number not in resp.get_data(as_text=True)
    body = resp.json
    assert body["person"]["id_masked"] == number[:6] + "********" + number[-4:]
    assert body["sanctioned"] is True
    ids = {m["measure_id"] for m in body["measures"]}
    assert {"legal-rep-ban", "soe-executive-ban", "finance-institution-ban"} <= ids
    assert "procurement-ban" not in ids  # binds the entity only
    assert all(
        m["role"] == "legal_representative" and m["uscc"] == entity.uscc for m in body["measures"]
    )


def test_person_check_unknown_person_and_bad_number(client, factory, department):
    number = factory.id_number()
    resp = client.post(
        "/api/v1/sanctions/person-check", json={"id_number": number}, headers=department.headers
    )
    assert resp.status_code == 200
    assert resp.json["sanctioned"] is False
    assert resp.json["person"]["known"] is False
    assert number not in resp.get_data(as_text=True)
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    wrong = client.post(
        "/api/v1/sanctions/person-check", json={"id_number": bad}, headers=department.headers
    )
    assert wrong.status_code == 422
    assert bad not in wrong.get_data(as_text=True)
    # An ID number in a URL is never looked up (GET .../person-check is a code lookup).
    in_url = client.get(
        f"/api/v1/sanctions/person-check?id_number={number}", headers=department.headers
    )
    assert in_url.status_code == 400
    assert number not in in_url.get_data(as_text=True)


def test_feedback_is_recorded(client, department, listed):
    entity, _, entry = listed
    body = {
        "uscc": entity.uscc,
        "measure_id": "procurement-ban",
        "list_entry_id": entry.id,
        "action": "applied",
        "note": "取消投标资格",
        "acted_on": (clock.today() - timedelta(days=1)).isoformat(),
    }
    resp = client.post("/api/v1/sanctions/feedback", json=body, headers=department.headers)
    assert resp.status_code == 201, resp.json
    assert resp.json["department"] == "市财政局政府采购处"
    wrong = client.post(
        "/api/v1/sanctions/feedback",
        json={**body, "measure_id": "patent-priority-ban"},
        headers=department.headers,
    )
    assert wrong.status_code == 422
    not_applied = client.post(
        "/api/v1/sanctions/feedback",
        json={**body, "action": "not_applied", "note": None},
        headers=department.headers,
    )
    assert not_applied.status_code == 422


def test_a_code_the_registry_does_not_know_says_so(client, factory, department, listed):
    entity, _, _ = listed
    stranger = factory.uscc()
    unknown = client.get(f"/api/v1/sanctions/{stranger}", headers=department.headers)
    assert unknown.status_code == 200
    assert (unknown.json["known"], unknown.json["sanctioned"]) == (False, False)
    known = client.get(f"/api/v1/sanctions/{entity.uscc}", headers=department.headers)
    assert known.json["known"] is True
    batch = client.post(
        "/api/v1/sanctions/check",
        json={"codes": [entity.uscc, stranger, "not-a-code"]},
        headers=department.headers,
    )
    assert [r["known"] for r in batch.json["results"]] == [True, False, None]
    public = client.get(f"/api/v1/public/entities/{stranger}")
    assert public.status_code == 404
    assert public.json["error"]["context"]["known"] is False


def test_an_empty_as_of_means_today(client, department, listed):
    entity, _, _ = listed
    today = clock.today().isoformat()
    one = client.get(f"/api/v1/sanctions/{entity.uscc}?as_of=", headers=department.headers)
    assert one.status_code == 200, one.json
    assert (one.json["as_of"], one.json["sanctioned"]) == (today, True)
    batch = client.post(
        "/api/v1/sanctions/check",
        json={"codes": [entity.uscc], "as_of": ""},
        headers=department.headers,
    )
    assert batch.status_code == 200, batch.json
    assert batch.json["as_of"] == today
    public = client.get(f"/api/v1/public/entities/{entity.uscc}?as_of=")
    assert public.status_code == 200, public.json
    assert public.json["as_of"] == today
