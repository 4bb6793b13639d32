"""Bulk confirm and reject of proposed list entries (issue 21): by ids or by a filter,
one reason, all or nothing, audited per entry as the single decision is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.core import audit, clock
from registry.core.models import AuditEntry, Change
from registry.lists.models import ListEntry, ListEntryEvent


def _statuses(session, ids):
    session.rollback()  # a fresh snapshot: the writes came from other sessions
    rows = session.execute(select(ListEntry.id, ListEntry.status).where(ListEntry.id.in_(ids)))
    return dict(rows.all())


def test_confirm_by_ids_is_audited_per_entry_and_answers_per_id(
    client, session, factory, regulator
):
    entries = [
        factory.entry(factory.entity().uscc, authority_uscc=regulator.authority, status="proposed")
        for _ in range(5)
    ]
    factory.commit()
    ids = [e.id for e in entries]
    answer = client.post(
        "/api/v1/list-entries/confirm",
        json={"ids": ids, "reason": "告知期满，当事人未陈述申辩"},
        headers=regulator.headers,
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["decision"] == "confirm"
    assert answer.json["count"] == 5
    assert [i["id"] for i in answer.json["items"]] == ids
    assert {i["status"] for i in answer.json["items"]} == {"active"}
    assert {i["since"] for i in answer.json["items"]} == {clock.today().isoformat()}
    assert set(_statuses(session, ids).values()) == {"active"}
    audits = session.execute(
        select(AuditEntry.object_id, AuditEntry.after).where(
            AuditEntry.action == "list_entry.confirmed"
        )
    ).all()
    assert sorted(int(o) for o, _ in audits) == sorted(ids)
    assert {a["reason"] for _, a in audits} == {"告知期满，当事人未陈述申辩"}
    assert audit.verify_chain(session)[1] is None  # written together, still one chain
    events = session.execute(
        select(func.count()).where(
            ListEntryEvent.list_entry_id.in_(ids), ListEntryEvent.event == "confirmed"
        )
    ).scalar_one()
    assert events == 5
    feed = session.execute(
        select(func.count()).where(Change.object_id.in_(ids), Change.action == "confirmed")
    ).scalar_one()
    assert feed == 5


def test_one_entry_that_cannot_be_decided_means_nothing_is_written(
    client, session, factory, regulator, other_regulator
):
    mine = [
        factory.entry(factory.entity().uscc, authority_uscc=regulator.authority, status="proposed")
        for _ in range(3)
    ]
    active = factory.entry(factory.entity().uscc, authority_uscc=regulator.authority)
    theirs = factory.entry(
        factory.entity().uscc, authority_uscc=other_regulator.authority, status="proposed"
    )
    factory.commit()
    ids = [mine[0].id, active.id, mine[1].id, theirs.id, mine[2].id, 999_999]
    answer = client.post(
        "/api/v1/list-entries/confirm",
        json={"ids": ids, "reason": "确认"},
        headers=regulator.headers,
    )
    assert answer.status_code == 409, answer.json
    error = answer.json["error"]
    assert error["code"] == "bulk_refused"
    assert "均未处理" in error["message"]
    failures = {f["id"]: f for f in error["context"]["failures"]}
    assert set(failures) == {active.id, theirs.id, 999_999}
    assert failures[active.id]["code"] == "conflict"
    assert "只有拟列入的条目可以确认" in failures[active.id]["message"]
    assert failures[theirs.id]["code"] == "forbidden"
    assert failures[999_999]["code"] == "not_found"
    assert set(_statuses(session, [e.id for e in mine]).values()) == {"proposed"}
    audits = session.execute(
        select(func.count()).where(AuditEntry.action == "list_entry.confirmed")
    ).scalar_one()
    assert audits == 0


def test_reject_by_filter_needs_a_reason_and_the_count_seen(client, session, factory, regulator):
    today = clock.today()
    shenzhen = [
        factory.entry(
            factory.entity(factory.uscc("440305")).uscc,
            "samr_serious",
            authority_uscc=regulator.authority,
            status="proposed",
        )
        for _ in range(4)
    ]
    beijing = factory.entry(
        factory.entity(factory.uscc("110108")).uscc,
        "samr_serious",
        authority_uscc=regulator.authority,
        status="proposed",
    )
    other_list = factory.entry(
        factory.entity(factory.uscc("440305")).uscc,
        "ip_serious",
        authority_uscc=regulator.authority,
        status="proposed",
    )
    old = factory.entry(
        factory.entity(factory.uscc("440305")).uscc,
        "samr_serious",
        authority_uscc=regulator.authority,
        status="proposed",
        proposed_on=today - timedelta(days=40),
    )
    factory.commit()
    wanted = {
        "list_type": "samr_serious",
        "region": "4403",
        "proposed_from": (today - timedelta(days=7)).isoformat(),
    }
    no_reason = client.post(
        "/api/v1/list-entries/reject", json={"filter": wanted}, headers=regulator.headers
    )
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["error"]["details"]
    stale = client.post(
        "/api/v1/list-entries/reject",
        json={"filter": wanted, "expected_count": 5, "reason": "听证后不予列入"},
        headers=regulator.headers,
    )
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "count_changed"
    assert stale.json["error"]["context"] == {"expected_count": 5, "matching": 4}
    assert "4" in stale.json["error"]["message"]
    done = client.post(
        "/api/v1/list-entries/reject",
        json={"filter": wanted, "expected_count": 4, "reason": "听证后不予列入"},
        headers=regulator.headers,
    )
    assert done.status_code == 200, done.json
    assert sorted(i["id"] for i in done.json["items"]) == sorted(e.id for e in shenzhen)
    assert {i["status"] for i in done.json["items"]} == {"rejected"}
    untouched = _statuses(session, [beijing.id, other_list.id, old.id])
    assert set(untouched.values()) == {"proposed"}


def test_bounded_per_call_and_one_selection(client, factory, regulator, make_client):
    entries = [
        factory.entry(factory.entity().uscc, authority_uscc=regulator.authority, status="proposed")
        for _ in range(4)
    ]
    factory.commit()
    small = make_client(lists={"bulk_limit": 3})
    too_many = small.post(
        "/api/v1/list-entries/confirm",
        json={"ids": [e.id for e in entries]},
        headers=regulator.headers,
    )
    assert too_many.status_code == 422
    assert "一次最多处理 3 个" in too_many.json["error"]["message"]
    by_filter = small.post(
        "/api/v1/list-entries/confirm", json={"filter": {}}, headers=regulator.headers
    )
    assert by_filter.status_code == 422
    assert "超过一次最多处理的 3 个" in by_filter.json["error"]["message"]
    both = client.post(
        "/api/v1/list-entries/confirm",
        json={"ids": [entries[0].id], "filter": {}},
        headers=regulator.headers,
    )
    assert both.status_code == 422
    assert both.json["error"]["details"]["ids"] == ["须给出 ids 或 filter 之一"]
    bad_region = client.post(
        "/api/v1/list-entries/confirm",
        json={"filter": {"region": "44a"}},
        headers=regulator.headers,
    )
    assert bad_region.status_code == 422
    assert "filter.region" in bad_region.json["error"]["details"]


def test_only_regulators(client, factory, department):
    answer = client.post(
        "/api/v1/list-entries/confirm", json={"ids": [1]}, headers=department.headers
    )
    assert answer.status_code == 403


def test_cli_confirm_by_filter_and_refusal_by_ids(invoke, session, factory, regulator):
    entries = [
        factory.entry(factory.entity().uscc, authority_uscc=regulator.authority, status="proposed")
        for _ in range(3)
    ]
    active = factory.entry(factory.entity().uscc, authority_uscc=regulator.authority)
    factory.commit()
    refused = invoke(
        "lists",
        "confirm",
        "--authority",
        regulator.authority,
        "--ids",
        f"{entries[0].id},{active.id}",
        "--reason",
        "确认",
    )
    assert refused.exit_code == 1
    assert f"条目 {active.id}：名单条目 {active.id} 的状态为 active" in refused.output
    assert "均未处理" in refused.output
    assert _statuses(session, [entries[0].id]) == {entries[0].id: "proposed"}
    done = invoke(
        "lists",
        "confirm",
        "--authority",
        regulator.authority,
        "--list",
        "samr_serious",
        "--region",
        "4403",
        "--expected-count",
        "3",
        "--reason",
        "告知期满",
    )
    assert done.exit_code == 0, done.output
    assert f"已确认列入 3 个名单条目（机关 {regulator.authority}）" in done.output
    assert set(_statuses(session, [e.id for e in entries]).values()) == {"active"}
    neither = invoke("lists", "reject", "--authority", regulator.authority, "--reason", "x")
    assert neither.exit_code == 2
    assert "二者选一" in neither.output


def test_a_refused_call_leaves_nothing_behind_for_the_callers_commit(rt, session, factory):
    """The refusal happens inside the caller's unit of work: what the caller then commits
    holds none of the call's rows (the savepoint took them back)."""
    from registry.lists.bulk import BulkRefused, decide_ids

    authority = factory.authority()
    ids = [
        factory.entry(factory.entity().uscc, authority_uscc=authority, status="proposed").id
        for _ in range(3)
    ]
    active = factory.entry(factory.entity().uscc, authority_uscc=authority).id
    factory.commit()
    with rt.unit_of_work() as work_session, pytest.raises(BulkRefused) as refused:
        decide_ids(work_session, rt.pack, "confirm", [*ids, active], authority, "t", "x", limit=10)
    assert [f.entry_id for f in refused.value.failures] == [active]
    assert set(_statuses(session, ids).values()) == {"proposed"}
    written = session.execute(
        select(func.count()).select_from(ListEntryEvent).where(ListEntryEvent.event == "confirmed")
    ).scalar_one()
    assert written == 0
    assert session.execute(select(func.count()).select_from(Change)).scalar_one() == 0
