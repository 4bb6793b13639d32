"""Regulators' decisions: list entries, credit repair, alerts — and never another
authority's."""

from __future__ import annotations

from datetime import date, timedelta

from registry.core import clock
from tests.api.factories import apply_for_repair


def test_proposed_entries_confirm_reject_remove(client, factory, regulator, other_regulator):
    entity = factory.entity()
    mine = factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    second = factory.entry(
        entity.uscc, "ip_serious", authority_uscc=regulator.authority, status="proposed"
    )
    theirs = factory.entry(entity.uscc, authority_uscc=other_regulator.authority, status="proposed")
    factory.commit()
    listed = client.get("/api/v1/list-entries?status=proposed", headers=regulator.headers).json
    assert [e["id"] for e in listed["items"]] == [mine.id, second.id]
    assert (
        client.get(f"/api/v1/list-entries/{theirs.id}", headers=regulator.headers).status_code
        == 403
    )

    def decide(entry, action, **body):
        url = f"/api/v1/list-entries/{entry.id}/{action}"
        return client.post(url, json=body, headers=regulator.headers)

    assert decide(theirs, "confirm").status_code == 403
    confirmed = decide(mine, "confirm", reason="听证后确认")
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["status"] == "active"
    assert confirmed.json["since"] == clock.today().isoformat()
    assert decide(mine, "confirm").status_code == 409
    assert decide(second, "reject").status_code == 422
    assert decide(second, "reject", reason="不符合条件").json["status"] == "rejected"
    assert decide(mine, "remove", reason_code="manual").status_code == 422
    removed = decide(mine, "remove", reason_code="corrected", reason="已改正")
    assert removed.status_code == 200, removed.json
    assert removed.json["status"] == "removed"
    assert client.get("/api/v1/list-entries/999999", headers=regulator.headers).status_code == 404


def test_repair_of_a_penalty_apply_approve(client, factory, regulator, other_regulator):
    entity = factory.entity()
    decided = clock.today() - timedelta(days=400)
    penalty = factory.repairable_penalty(entity.uscc, regulator.authority, decided)
    early = factory.penalty(
        entity.uscc,
        regulator.authority,
        decided_on=clock.today() - timedelta(days=5),
        repair_allowed_from=clock.today() + timedelta(days=85),
        repairable=True,
    )
    factory.commit()
    body = {"target_type": "penalty", "target_id": penalty.id, "statement": "已履行处罚决定"}
    refused = client.post("/api/v1/repairs", json=body, headers=other_regulator.headers)
    assert refused.status_code == 403
    filed = client.post("/api/v1/repairs", json=body, headers=regulator.headers)
    assert filed.status_code == 201, filed.json
    rid = filed.json["id"]
    too_early = client.post(
        "/api/v1/repairs", json={**body, "target_id": early.id}, headers=regulator.headers
    )
    assert too_early.status_code == 422
    assert too_early.json["error"]["code"] == "too_early"
    assert too_early.json["error"]["context"]["allowed_from"]
    assert (
        client.post(
            f"/api/v1/repairs/{rid}/approve", json={}, headers=other_regulator.headers
        ).status_code
        == 403
    )
    pending = client.get("/api/v1/repairs?status=pending", headers=regulator.headers).json
    assert [r["id"] for r in pending["items"]] == [rid]
    approved = client.post(f"/api/v1/repairs/{rid}/approve", json={}, headers=regulator.headers)
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    public = client.get(f"/api/v1/public/entities/{entity.uscc}").json
    assert penalty.decision_number not in {p["decision_number"] for p in public["penalties"]}


def test_repair_reject_needs_a_reason(client, factory, regulator):
    entity = factory.entity()
    decided = clock.today() - timedelta(days=400)
    penalty = factory.repairable_penalty(entity.uscc, regulator.authority, decided)
    factory.commit()
    rid = apply_for_repair(client, penalty, regulator, "已改正").json["id"]
    assert (
        client.post(f"/api/v1/repairs/{rid}/reject", json={}, headers=regulator.headers).status_code
        == 422
    )
    done = client.post(
        f"/api/v1/repairs/{rid}/reject", json={"reason": "未履行"}, headers=regulator.headers
    )
    assert done.json["status"] == "rejected"


def test_alerts_listed_and_resolved_by_transfer_or_reason(
    client, factory, regulator, other_regulator
):
    entity = factory.entity()
    first = factory.alert(factory.penalty(entity.uscc, regulator.authority, business_volume_wan=8))
    second = factory.alert(factory.penalty(entity.uscc, regulator.authority))
    other = factory.alert(factory.penalty(entity.uscc, other_regulator.authority))
    factory.commit()
    page = client.get("/api/v1/alerts", headers=regulator.headers).json
    assert [a["id"] for a in page["items"]] == [first.id, second.id]
    item = page["items"][0]
    assert item["kind"] == "criminal-transfer-check"
    assert item["decision_number"]
    assert item["uscc"] == entity.uscc
    assert item["threshold"] == {"business_volume_wan": "5"}
    assert item["penalty"]["business_volume_wan"] == "8"
    url = f"/api/v1/alerts/{first.id}/resolve"
    assert client.post(url, json={}, headers=regulator.headers).status_code == 422
    both = {"reason": "x", "transfer": {"police_unit": "公安"}}
    assert client.post(url, json=both, headers=regulator.headers).status_code == 422
    assert (
        client.post(
            f"/api/v1/alerts/{other.id}/resolve", json={"reason": "x"}, headers=regulator.headers
        ).status_code
        == 403
    )
    transfer = {
        "police_unit": "深圳市公安局南山分局",
        "transferred_on": "2026-11-20",
        "case_number": "A1",
    }
    done = client.post(url, json={"transfer": transfer}, headers=regulator.headers)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "resolved"
    assert "深圳市公安局南山分局" in done.json["resolution"]
    assert client.post(url, json={"reason": "again"}, headers=regulator.headers).status_code == 409
    future = {
        "police_unit": "公安",
        "transferred_on": (clock.today() + timedelta(days=2)).isoformat(),
    }
    assert (
        client.post(
            f"/api/v1/alerts/{second.id}/resolve",
            json={"transfer": future},
            headers=regulator.headers,
        ).status_code
        == 422
    )
    reason = client.post(
        f"/api/v1/alerts/{second.id}/resolve",
        json={"reason": "未达追诉标准"},
        headers=regulator.headers,
    )
    assert reason.json["status"] == "resolved"
    assert client.get("/api/v1/alerts", headers=regulator.headers).json["total"] == 0
    resolved = client.get("/api/v1/alerts?status=resolved", headers=regulator.headers).json
    assert resolved["total"] == 2
    assert date.fromisoformat(resolved["items"][0]["resolved_at"][:10])
