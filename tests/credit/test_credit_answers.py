"""Grades with history, and red lists with joint incentives in departments' answers,
driven through the API: a penalty arrives, the entity leaves the red list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.core import clock
from registry.core.models import AuditEntry
from registry.evaluation.grades import grade_history
from registry.evaluation.models import CreditGrade
from registry.evaluation.revocation import revoke_penalty_now
from registry.evaluation.runs import evaluate_now
from registry.lists.models import ListEntry


@pytest.fixture
def client(make_client, organs_name_red_lists):
    """The API with a pack in which the tests' authorities may name tax and customs red
    lists (the default pack names no such authority)."""
    return make_client(rules={"packs": [str(organs_name_red_lists)]})


def red_entries(rt, uscc):
    with rt.sessions() as s:
        return list(
            s.execute(
                select(ListEntry)
                .where(ListEntry.uscc == uscc, ListEntry.list_type == "a_grade_clean")
                .order_by(ListEntry.id)
            ).scalars()
        )


def credit(client, department, uscc, **query):
    resp = client.get(f"/api/v1/sanctions/{uscc}", query_string=query, headers=department.headers)
    assert resp.status_code == 200, resp.json
    return resp.json


def clean_entity(rt, factory, authority):
    """An entity whose only penalty is from 2022: 36+ months clean on 2026-11-29."""
    entity = factory.entity()
    factory.penalty(entity.uscc, authority, decided_on=date(2022, 3, 1))
    factory.commit()
    evaluate_now(rt, [entity.uscc])
    return entity


def test_clean_entity_is_graded_a_and_red_listed_with_incentives(
    rt, client, factory, authority, department
):
    entity = clean_entity(rt, factory, authority)
    [entry] = red_entries(rt, entity.uscc)
    assert (entry.status, entry.rule_id, entry.since) == ("active", "a-grade-clean", clock.today())
    body = credit(client, department, entity.uscc)
    assert body["sanctioned"] is False
    assert body["measures"] == []
    assert body["incentives_withheld"] is None
    assert body["grade"]["grade"] == "A"
    assert body["grade"]["explanation"]["rule_id"] == "clean"
    assert body["grade"]["explanation"]["facts"]["clean_months"] == 56
    ids = {i["measure_id"] for i in body["incentives"]}
    assert ids == {
        "green-channel",
        "fewer-documents",
        "inspection-down",
        "funding-priority",
        "honours-priority",
    }
    green = next(i for i in body["incentives"] if i["measure_id"] == "green-channel")
    assert green["list_type"] == "a_grade_clean"
    assert green["list_entry_id"] == entry.id
    assert green["department"] == "各行政审批机关"
    assert "国发〔2016〕33号" in green["legal_basis"]
    assert green["because"][0]["rule_id"] == "a-grade-clean"
    # the scenario filter applies to incentives as to punishments
    inspection = credit(client, department, entity.uscc, scenario="inspection")
    assert [i["measure_id"] for i in inspection["incentives"]] == ["inspection-down"]


def test_a_penalty_posted_by_a_regulator_takes_the_entity_off_the_red_list(
    rt, client, factory, authority, regulator, department
):
    entity = clean_entity(rt, factory, authority)
    assert credit(client, department, entity.uscc)["incentives"]
    clock.set_clock(clock.today() + timedelta(days=1))  # the penalty arrives the next day
    record = factory.record(authority, uscc=entity.uscc, decided_on="2026-11-20")
    resp = client.post("/api/v1/penalties", json=record, headers=regulator.headers)
    assert resp.status_code == 201, resp.json
    body = credit(client, department, entity.uscc)
    assert body["incentives"] == []
    assert body["incentives_withheld"] is None  # not punished: simply no longer eligible
    assert body["grade"]["grade"] == "B"
    assert body["grade"]["since"] == "2026-11-30"
    [entry] = red_entries(rt, entity.uscc)
    assert (entry.status, entry.end_reason, entry.ended_on) == (
        "removed",
        "ineligible",
        date(2026, 11, 30),
    )
    # yesterday's answer still shows the incentives and the A grade (history)
    before = credit(client, department, entity.uscc, as_of="2026-11-29")
    assert before["grade"]["grade"] == "A"
    assert {i["list_type"] for i in before["incentives"]} == {"a_grade_clean"}
    with rt.sessions() as s:
        history = [(g.grade, g.since, g.until) for g in grade_history(s, entity.uscc)]
        audited = s.execute(
            select(AuditEntry.action).where(AuditEntry.uscc == entity.uscc)
        ).scalars()
        actions = set(audited)
    assert history == [
        ("A", date(2026, 11, 29), date(2026, 11, 29)),
        ("B", date(2026, 11, 30), None),
    ]
    assert {"credit_grade.changed", "list_entry.removed"} <= actions


def test_the_grade_opens_a_new_row_only_when_it_changes(rt, factory, authority):
    entity = clean_entity(rt, factory, authority)
    clock.set_clock(clock.today() + timedelta(days=3))
    evaluate_now(rt, [entity.uscc])
    with rt.sessions() as s:
        rows = s.execute(select(CreditGrade).where(CreditGrade.uscc == entity.uscc)).scalars()
        assert [(g.grade, g.since, g.until) for g in rows] == [("A", date(2026, 11, 29), None)]


def test_a_change_and_back_on_the_same_day_keeps_one_row(rt, factory, authority, session):
    entity = clean_entity(rt, factory, authority)
    clock.set_clock(clock.today() + timedelta(days=1))
    penalty = factory.penalty(entity.uscc, authority, decided_on=date(2026, 11, 20))
    factory.commit()
    evaluate_now(rt, [entity.uscc])
    assert [e.status for e in red_entries(rt, entity.uscc)] == ["removed"]
    revoke_penalty_now(rt, penalty.id, authority, "regulator:1", "复议撤销")  # rules re-run
    with rt.sessions() as s:
        history = [(g.grade, g.since, g.until) for g in grade_history(s, entity.uscc)]
    assert history == [("A", date(2026, 11, 29), None)]
    # and the entity is back on the red list: a new entry, the old one removed
    assert [e.status for e in red_entries(rt, entity.uscc)] == ["removed", "active"]


def test_punished_entity_gets_no_incentive_and_is_told_why(
    client, factory, authority, regulator, department
):
    entity = factory.entity()
    penalty = factory.penalty(entity.uscc, authority, decided_on=date(2026, 5, 18))
    samr = factory.entry(
        entity.uscc, authority_uscc=authority, since=date(2026, 6, 1), basis=[penalty.id]
    )
    factory.commit()
    named = client.post(
        "/api/v1/red-lists/customs_aeo/entries",
        json={"uscc": entity.uscc, "basis": "海关高级认证企业证书 AEOCN4403000001"},
        headers=regulator.headers,
    )
    assert named.status_code == 201, named.json
    body = credit(client, department, entity.uscc)
    assert body["sanctioned"] is True
    assert body["incentives"] == []
    withheld = body["incentives_withheld"]
    assert withheld["reason"] == "under_punishment"
    assert withheld["list_entry_ids"] == [samr.id]
    assert "市场监督管理严重违法失信名单" in withheld["message"]
    # withheld whatever the scenario asked, even one no punishment covers
    customs = credit(client, department, entity.uscc, scenario="customs")
    assert customs["incentives"] == []
    assert customs["incentives_withheld"]["reason"] == "under_punishment"


def test_authority_named_red_list_through_the_api(
    client, factory, authority, regulator, other_regulator, department
):
    entity = factory.entity()
    factory.commit()
    body = {
        "uscc": entity.uscc,
        "basis": "海关高级认证企业证书 AEOCN4403000001",
        "since": "2026-01-01",
        "until": "2028-12-31",
    }
    resp = client.post(
        "/api/v1/red-lists/customs_aeo/entries", json=body, headers=regulator.headers
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["outcome"] == "added"
    entry = resp.json["entry"]
    assert (entry["status"], entry["authority_uscc"], entry["until"]) == (
        "active",
        authority,
        "2028-12-31",
    )
    again = client.post(
        "/api/v1/red-lists/customs_aeo/entries", json=body, headers=regulator.headers
    )
    assert again.json["outcome"] == "unchanged"
    answer = credit(client, department, entity.uscc, scenario="customs")
    [incentive] = answer["incentives"]
    assert incentive["measure_id"] == "customs-facilitation"
    assert incentive["department"] == "海关"
    assert "发改财金〔2016〕2190号" in incentive["legal_basis"]
    assert incentive["because"][0]["basis"] == body["basis"]
    assert (incentive["since"], incentive["until"]) == ("2026-01-01", "2028-12-31")
    # another authority may not remove it; the naming authority may
    other = client.post(
        f"/api/v1/list-entries/{entry['id']}/remove",
        json={"reason_code": "corrected", "reason": "撤销认证"},
        headers=other_regulator.headers,
    )
    assert other.status_code == 403
    removed = client.post(
        f"/api/v1/list-entries/{entry['id']}/remove",
        json={"reason_code": "corrected", "reason": "海关撤销高级认证"},
        headers=regulator.headers,
    )
    assert removed.status_code == 200, removed.json
    assert credit(client, department, entity.uscc, scenario="customs")["incentives"] == []


def test_naming_errors_are_clear(client, factory, regulator):
    entity = factory.entity()
    factory.commit()
    cases = [
        ("a_grade_clean", {"uscc": entity.uscc, "basis": "x"}, "list_type"),
        ("samr_serious", {"uscc": entity.uscc, "basis": "x"}, "list_type"),
        ("tax_a", {"uscc": "91440300X", "basis": "x"}, "uscc"),
        (
            "tax_a",
            {"uscc": entity.uscc, "basis": "x", "since": "2026-05-01", "until": "2026-04-30"},
            "until",
        ),
        ("tax_a", {"uscc": entity.uscc, "basis": "   "}, "basis"),
    ]
    for list_type, body, field_name in cases:
        resp = client.post(
            f"/api/v1/red-lists/{list_type}/entries", json=body, headers=regulator.headers
        )
        assert resp.status_code == 422, (list_type, body, resp.json)
        assert field_name in resp.json["error"]["details"], resp.json
    missing = client.post(
        "/api/v1/red-lists/tax_a/entries", json={"uscc": entity.uscc}, headers=regulator.headers
    )
    assert missing.status_code == 422
    assert "basis" in missing.json["error"]["details"]


def test_batch_check_carries_grades_and_incentives(rt, client, factory, authority, department):
    entity = clean_entity(rt, factory, authority)
    resp = client.post(
        "/api/v1/sanctions/check",
        json={"codes": [entity.uscc, "91440300X"], "scenario": "funding"},
        headers=department.headers,
    )
    assert resp.status_code == 200, resp.json
    good, bad = resp.json["results"]
    assert good["grade"]["grade"] == "A"
    assert [i["measure_id"] for i in good["incentives"]] == ["funding-priority"]
    assert (bad["grade"], bad["incentives"], bad["incentives_withheld"]) == (None, [], None)
    assert bad["error"]["code"] == "malformed_code"


def test_a_pending_dishonesty_proposal_keeps_a_clean_entity_off_the_red_list(
    rt, factory, authority
):
    """A serious IP penalty four years ago: 48 months clean (grade A), but the heavy-penalty
    rule proposes samr_serious — no red list while that proposal is pending."""
    entity = factory.entity()
    factory.penalty(
        entity.uscc,
        authority,
        decided_on=date(2022, 10, 1),
        violation_type="销售假冒注册商标的商品",
        categories=["吊销许可证件"],
    )
    factory.commit()
    evaluate_now(rt, [entity.uscc])
    with rt.sessions() as s:
        entries = s.execute(select(ListEntry).where(ListEntry.uscc == entity.uscc)).scalars()
        assert [(e.list_type, e.status) for e in entries] == [("samr_serious", "proposed")]
