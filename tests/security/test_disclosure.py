"""A revoked decision is void, and a repaired record has left disclosure: the public never
sees either again, for any ``as_of`` — the days before the revocation or repair included.
The deciding authority and departments keep the dated history, labelled revoked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from registry.core import clock

DECIDED = "2026-10-01"
BEFORE = "2026-11-15"  # after the decision, before the revocation (today 2026-11-29)


@pytest.fixture
def revoked(client, write_record, regulator):
    """A record written through the API (decided 2026-10-01, disclosed since), then
    revoked by its authority today."""
    record = write_record(decided_on=DECIDED)
    answer = client.post(
        f"/api/v1/penalties/{record['id']}/revoke",
        json={"reason": "行政复议决定撤销"},
        headers=regulator.headers,
    )
    assert answer.status_code == 200, answer.json
    return record


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a JSON answer."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def public_numbers(client, uscc: str, **query: str) -> list[str]:
    answer = client.get(f"/api/v1/public/entities/{uscc}", query_string=query)
    assert answer.status_code == 200, answer.json
    return [p["decision_number"] for p in answer.json["penalties"]]


def test_a_revoked_record_is_public_on_no_day(client, write_record, revoked):
    kept = write_record(uscc=revoked["uscc"], decided_on=DECIDED)
    for as_of in (None, BEFORE, DECIDED, "2026-11-28"):
        query = {} if as_of is None else {"as_of": as_of}
        assert public_numbers(client, revoked["uscc"], **query) == [kept["decision_number"]]
    found = client.get(
        "/api/v1/public/search", query_string={"q": revoked["uscc"], "as_of": BEFORE}
    )
    assert found.status_code == 200
    assert [i["penalty_count"] for i in found.json["items"]] == [1]
    page = client.get(f"/entities/{revoked['uscc']}").get_data(as_text=True)
    assert kept["decision_number"] in page
    assert revoked["decision_number"] not in page


def test_a_repaired_record_is_public_on_no_day(client, factory, authority, today):
    entity = factory.entity()
    repaired = factory.penalty(
        entity.uscc,
        authority,
        decided_on=date(2026, 3, 1),
        repaired_on=today - timedelta(days=10),
    )
    factory.commit()
    for as_of in ("2026-03-01", "2026-06-30", (today - timedelta(days=11)).isoformat()):
        assert repaired.decision_number not in public_numbers(client, entity.uscc, as_of=as_of)
    page = client.get(f"/entities/{entity.uscc}").get_data(as_text=True)
    assert repaired.decision_number not in page


def test_the_deciding_authority_and_departments_keep_the_dated_history(
    client, factory, revoked, regulator, department
):
    own = client.get(f"/api/v1/penalties/{revoked['id']}", headers=regulator.headers)
    assert own.status_code == 200
    assert (own.json["status"], own.json["revoked_on"]) == ("revoked", clock.today().isoformat())
    assert own.json["revoked_reason"] == "行政复议决定撤销"
    # An entry that bound the entity in November, on the revoked record's basis:
    # a department asking about that day sees it, the record labelled revoked.
    factory.entry(
        revoked["uscc"],
        authority_uscc=regulator.authority,
        status="removed",
        since=date(2026, 10, 10),
        ended_on=clock.today(),
        end_reason="basis_revoked",
        basis=[revoked["id"]],
    )
    factory.commit()
    answer = client.get(
        f"/api/v1/sanctions/{revoked['uscc']}",
        query_string={"as_of": BEFORE},
        headers=department.headers,
    )
    assert answer.status_code == 200, answer.json
    basis = [p for p in _dicts(answer.json) if p.get("penalty_id") == revoked["id"]]
    assert basis, answer.json
    assert {p["status"] for p in basis} == {"revoked"}
