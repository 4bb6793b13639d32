"""Another authority's regulator learns nothing from a refusal.

Every regulator endpoint that acts on one object (a penalty, a list entry, an alert, an
objection, a repair application, a case transfer, an inspection task) checks the
caller's authority right after finding the object and before anything else about it:
another authority's regulator gets 403 ``forbidden`` whose answer names neither the
owning authority nor the object's dates or state, nor an object it is linked to.

404 for an id that does not exist and 403 for one that belongs to someone else do
differ; the ids are sequential integers, so that an id exists says nothing an outsider
could not guess (docs/security.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.factories import apply_for_repair
from tests.security.helpers import assert_error_shape


def _forbidden_and_silent(resp, *secrets: Any) -> dict[str, Any]:
    """403 in the error shape, none of ``secrets`` (codes, dates, ids) in the body."""
    error = assert_error_shape(resp, 403)
    assert error["code"] == "forbidden"
    body = resp.get_data(as_text=True)
    for secret in secrets:
        if secret is not None:
            assert str(secret) not in body, f"the refusal tells {secret!r}: {body}"
    return error


@pytest.fixture
def owned(factory, regulator, today):
    """A penalty of ``regulator``'s authority, disclosed, with an alert and an entry."""
    entity = factory.entity()
    penalty = factory.penalty(
        entity.uscc,
        regulator.authority,
        decided_on=today - timedelta(days=40),
        disclosure_until=today + timedelta(days=700),
    )
    alert = factory.alert(penalty)
    entry = factory.entry(
        entity.uscc,
        authority_uscc=regulator.authority,
        status="proposed",
        basis=[penalty.id],
    )
    factory.commit()
    return penalty, alert, entry


def test_revoking_another_authoritys_penalty(client, owned, regulator, other_regulator):
    penalty, _alert, _entry = owned

    def revoke(token):
        url = f"/api/v1/penalties/{penalty.id}/revoke"
        return client.post(url, json={"reason": "复议撤销"}, headers=token.headers)

    _forbidden_and_silent(revoke(other_regulator), regulator.authority, penalty.disclosure_until)
    # Revoked by its own authority: the refusal to the other still says nothing of when.
    own = revoke(regulator)
    assert own.status_code == 200, own.json
    _forbidden_and_silent(revoke(other_regulator), regulator.authority, "2026-11-29")


@pytest.mark.parametrize("action", ["confirm", "reject", "remove"])
def test_deciding_another_authoritys_list_entry(client, owned, regulator, other_regulator, action):
    _penalty, _alert, entry = owned
    answer = client.post(
        f"/api/v1/list-entries/{entry.id}/{action}",
        json={"reason": "核实"},
        headers=other_regulator.headers,
    )
    _forbidden_and_silent(answer, regulator.authority)
    one = client.get(f"/api/v1/list-entries/{entry.id}", headers=other_regulator.headers)
    _forbidden_and_silent(one, regulator.authority, entry.uscc)


def test_resolving_another_authoritys_alert(client, owned, regulator, other_regulator):
    penalty, alert, _entry = owned
    answer = client.post(
        f"/api/v1/alerts/{alert.id}/resolve",
        json={"reason": "未达到移送标准"},
        headers=other_regulator.headers,
    )
    _forbidden_and_silent(answer, regulator.authority, penalty.decision_number)


def test_a_case_transfer_of_another_authority(client, owned, regulator, other_regulator):
    penalty, alert, _entry = owned
    resolved = client.post(
        f"/api/v1/alerts/{alert.id}/resolve",
        json={"transfer": {"police_unit": "深圳市公安局南山分局"}},
        headers=regulator.headers,
    )
    assert resolved.status_code == 200, resolved.json
    transfers = client.get(
        f"/api/v1/penalties/{penalty.id}/transfers", headers=regulator.headers
    ).json["items"]
    transfer_id = transfers[0]["id"]
    outcome = client.post(
        f"/api/v1/transfers/{transfer_id}/outcome",
        json={"outcome": "已立案侦查"},
        headers=other_regulator.headers,
    )
    # Not even which penalty the transfer is about.
    _forbidden_and_silent(outcome, regulator.authority, f"行政处罚记录 {penalty.id}")
    listed = client.get(
        f"/api/v1/penalties/{penalty.id}/transfers", headers=other_regulator.headers
    )
    _forbidden_and_silent(listed, regulator.authority, "深圳市公安局南山分局")


def test_answering_another_authoritys_objection(
    client, write_record, file_objection, regulator, other_regulator
):
    record = write_record()
    file_objection(record=record)
    mine = client.get("/api/v1/objections", headers=regulator.headers).json["items"]
    objection_id = mine[0]["id"]
    answer = client.post(
        f"/api/v1/objections/{objection_id}/answer",
        json={"outcome": "rejected", "answer": "维持"},
        headers=other_regulator.headers,
    )
    _forbidden_and_silent(answer, regulator.authority, "王先生", record["uscc"])
    one = client.get(f"/api/v1/objections/{objection_id}", headers=other_regulator.headers)
    _forbidden_and_silent(one, regulator.authority, "王先生")


def test_deciding_another_authoritys_repair_application(
    client, factory, regulator, other_regulator, today
):
    entity = factory.entity()
    decided = today - timedelta(days=200)
    penalty = factory.repairable_penalty(entity.uscc, regulator.authority, decided)
    factory.commit()
    applied = apply_for_repair(client, penalty, regulator, "已履行")
    assert applied.status_code == 201, applied.json
    repair_id = applied.json["id"]
    for verb in ("approve", "reject"):
        answer = client.post(
            f"/api/v1/repairs/{repair_id}/{verb}",
            json={"reason": "材料齐全"},
            headers=other_regulator.headers,
        )
        _forbidden_and_silent(answer, regulator.authority, entity.uscc)
    # A second application for the same penalty by the outsider: 403, not "already open".
    again = apply_for_repair(client, penalty, other_regulator, "已履行")
    error = _forbidden_and_silent(again, regulator.authority, f"申请 {repair_id}")
    assert "repair_id" not in error["details"]


def test_repair_of_another_authoritys_list_entry(
    client, factory, regulator, other_regulator, today
):
    entity = factory.entity()
    since = today - timedelta(days=30)
    entry = factory.entry(
        entity.uscc,
        authority_uscc=regulator.authority,
        status="active",
        since=since,
        early_removal_from=since + timedelta(days=365),
    )
    factory.commit()
    answer = client.post(
        "/api/v1/repairs",
        json={"target_type": "list_entry", "target_id": entry.id, "statement": "已整改"},
        headers=other_regulator.headers,
    )
    _forbidden_and_silent(
        answer, regulator.authority, entry.early_removal_from.isoformat(), since.isoformat()
    )


def test_another_authoritys_inspection_task(client, regulator, other_regulator):
    body = {"title": "2026年第四季度双随机抽查", "authority_name": "深圳市南山区市场监督管理局"}
    created = client.post("/api/v1/inspections/tasks", json=body, headers=regulator.headers)
    assert created.status_code == 201, created.json
    task_id = created.json["id"]
    one = client.get(f"/api/v1/inspections/tasks/{task_id}", headers=other_regulator.headers)
    _forbidden_and_silent(one, regulator.authority, "深圳市南山区市场监督管理局")
    publish = client.post(
        f"/api/v1/inspections/tasks/{task_id}/publish", headers=other_regulator.headers
    )
    _forbidden_and_silent(publish, regulator.authority)
