"""Objections (异议申诉) through the API: filing without an account, each answer carried
through end to end, who sees "under objection", deadlines, authorisation, audit."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from registry.core import clock
from registry.core.models import AuditEntry
from registry.intake.models import Objection
from tests.intake.conftest import IP, SERIOUS

PUBLIC = "/api/v1/public/objections"


def file(client, uscc, **fields):
    body = {"uscc": uscc, "statement": "罚款金额有误", "contact": "0755-1234 王先生", **fields}
    return client.post(PUBLIC, json=body)


def public_profile(client, uscc):
    answer = client.get(f"/api/v1/public/entities/{uscc}")
    assert answer.status_code == 200
    return answer.json


def test_filed_by_decision_number_and_followed_by_receipt(client, write_record, regulator):
    record = write_record()
    filed = file(client, record["uscc"], decision_number=record["decision_number"])
    assert filed.status_code == 201, filed.json
    receipt = filed.json["receipt"]
    assert receipt.startswith("YY-")
    # Filed on Sunday 2026-11-29: ten working days later is Friday 2026-12-11.
    assert filed.json["filed_on"] == "2026-11-29"
    assert filed.json["due_on"] == "2026-12-11"
    assert filed.json["status"] == "open"
    assert filed.json["record"]["decision_number"] == record["decision_number"]
    assert filed.headers["Cache-Control"] == "no-store"

    # Typed by a person: lower case, spaces instead of hyphens, O for zero.
    typed = receipt.lower().replace("-", " ").replace("0", "o")
    status = client.post(f"{PUBLIC}/status", json={"receipt": typed})
    assert status.status_code == 200
    assert status.json["status"] == "open"
    assert "receipt" not in status.json
    assert "contact" not in status.json
    unknown = client.post(f"{PUBLIC}/status", json={"receipt": "YY-0000-0000-0000-0000"})
    assert unknown.status_code == 404
    assert client.get(f"{PUBLIC}/nonsense").status_code == 404


def test_filing_errors_name_the_field(client, write_record):
    record = write_record()
    bad_code = file(client, "91440300MA5F0000", decision_number="x")
    assert bad_code.status_code == 422
    assert "uscc" in bad_code.json["error"]["details"]
    neither = file(client, record["uscc"])
    assert neither.status_code == 422
    both = file(client, record["uscc"], decision_number="x", penalty_id=1)
    assert both.status_code == 422
    no_contact = client.post(
        PUBLIC,
        json={
            "uscc": record["uscc"],
            "decision_number": record["decision_number"],
            "statement": "x",
        },
    )
    assert no_contact.status_code == 422
    assert "contact" in no_contact.json["error"]["details"]
    unknown = file(client, record["uscc"], decision_number="深市监罚〔2026〕99999号")
    assert unknown.status_code == 404
    # A record of another code cannot be objected to under this one.
    other = write_record()
    wrong_code = file(client, other["uscc"], penalty_id=record["id"])
    assert wrong_code.status_code == 404


def test_rejected_needs_reasons_and_leaves_the_record(client, write_record, regulator):
    record = write_record()
    filed = file(client, record["uscc"], penalty_id=record["id"])
    assert filed.status_code == 201, filed.json
    [item] = client.get("/api/v1/objections", headers=regulator.headers).json["items"]
    url = f"/api/v1/objections/{item['id']}/answer"
    no_reason = client.post(url, json={"outcome": "rejected"}, headers=regulator.headers)
    assert no_reason.status_code == 422
    assert "answer" in no_reason.json["error"]["details"]
    done = client.post(
        url,
        json={"outcome": "rejected", "answer": "事实清楚，维持原记录"},
        headers=regulator.headers,
    )
    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["outcome"]) == ("answered", "rejected")
    again = client.post(url, json={"outcome": "rejected", "answer": "x"}, headers=regulator.headers)
    assert again.status_code == 409
    unchanged = client.get(f"/api/v1/penalties/{record['id']}", headers=regulator.headers).json
    assert (unchanged["version"], unchanged["fine_wan"]) == (record["version"], record["fine_wan"])
    status = client.post(f"{PUBLIC}/status", json={"receipt": filed.json["receipt"]}).json
    assert (status["outcome"], status["answer"]) == ("rejected", "事实清楚，维持原记录")


def test_corrected_writes_a_new_version_visible_to_the_public(
    client, factory, write_record, regulator
):
    record = write_record(fine_wan="5", content="罚款5万元")
    before = public_profile(client, record["uscc"])
    [shown] = [p for p in before["penalties"] if p["decision_number"] == record["decision_number"]]
    assert shown["fine_wan"] == "5"
    filed = file(client, record["uscc"], decision_number=record["decision_number"])
    objection_id = client.get("/api/v1/objections", headers=regulator.headers).json["items"][0][
        "id"
    ]
    url = f"/api/v1/objections/{objection_id}/answer"
    corrected = {
        **{k: record[k] for k in ("party_name", "party_type", "uscc", "decision_number")},
        "legal_representative": record["legal_representative"],
        **{k: record[k] for k in ("violation_type", "facts", "basis", "categories")},
        "content": "罚款2万元",
        "fine_wan": "2",
        "decided_on": record["decided_on"],
        "authority": record["authority"],
        "authority_uscc": record["authority_uscc"],
    }
    # Without the record, with another decision number, or unchanged: refused.
    assert (
        client.post(url, json={"outcome": "corrected"}, headers=regulator.headers).status_code
        == 422
    )
    renamed = client.post(
        url,
        json={"outcome": "corrected", "record": {**corrected, "decision_number": "另一文号"}},
        headers=regulator.headers,
    )
    assert renamed.status_code == 422
    assert "record.decision_number" in renamed.json["error"]["details"]
    done = client.post(
        url,
        json={"outcome": "corrected", "record": corrected, "answer": "罚款金额已更正"},
        headers=regulator.headers,
    )
    assert done.status_code == 200, done.json
    assert done.json["outcome"] == "corrected"
    assert done.json["corrected_version"] == record["version"] + 1
    after = client.get(f"/api/v1/penalties/{record['id']}", headers=regulator.headers).json
    assert (after["version"], after["fine_wan"], after["content"]) == (2, "2", "罚款2万元")
    assert after["under_objection"] is False
    [shown] = [
        p
        for p in public_profile(client, record["uscc"])["penalties"]
        if p["decision_number"] == record["decision_number"]
    ]
    assert shown["fine_wan"] == "2"
    assert (
        client.post(f"{PUBLIC}/status", json={"receipt": filed.json["receipt"]}).json["outcome"]
        == "corrected"
    )


def _listed(client, write_record, regulator):
    """A record that puts its entity on the serious-dishonesty list (confirmed)."""
    record = write_record(violation_type=IP, categories=SERIOUS)
    proposed = client.get("/api/v1/list-entries?status=proposed", headers=regulator.headers).json[
        "items"
    ]
    [entry] = [e for e in proposed if e["uscc"] == record["uscc"]]
    confirmed = client.post(
        f"/api/v1/list-entries/{entry['id']}/confirm",
        json={"reason": "已告知并听取陈述申辩"},
        headers=regulator.headers,
    )
    assert confirmed.status_code == 200, confirmed.json
    return record, entry


def test_revoked_takes_the_record_off_and_the_rules_run_again(
    client, write_record, regulator, department
):
    record, entry = _listed(client, write_record, regulator)
    profile = public_profile(client, record["uscc"])
    assert [p["decision_number"] for p in profile["penalties"]] == [record["decision_number"]]
    assert [item["list_type"] for item in profile["lists"]] == [entry["list_type"]]

    filed = file(client, record["uscc"], penalty_id=record["id"])
    assert filed.status_code == 201, filed.json
    objection = client.get("/api/v1/objections?status=open", headers=regulator.headers).json[
        "items"
    ][0]
    url = f"/api/v1/objections/{objection['id']}/answer"
    assert (
        client.post(url, json={"outcome": "revoked"}, headers=regulator.headers).status_code == 422
    )
    done = client.post(
        url,
        json={"outcome": "revoked", "answer": "经复核，处罚决定已被撤销"},
        headers=regulator.headers,
    )
    assert done.status_code == 200, done.json
    profile = public_profile(client, record["uscc"])
    assert profile["penalties"] == []
    assert profile["lists"] == []
    penalty = client.get(f"/api/v1/penalties/{record['id']}", headers=regulator.headers).json
    assert penalty["status"] == "revoked"
    # The rules ran again: the entry whose only basis was revoked is gone.
    entries = client.get("/api/v1/list-entries?status=removed", headers=regulator.headers).json
    [removed] = [e for e in entries["items"] if e["id"] == entry["id"]]
    assert removed["status"] == "removed"
    sanctions = client.get(f"/api/v1/sanctions/{record['uscc']}", headers=department.headers)
    assert sanctions.json["sanctioned"] is False


def test_objection_to_a_list_entry_revoked_removes_it(client, write_record, regulator):
    record, entry = _listed(client, write_record, regulator)
    filed = file(client, record["uscc"], list_entry_id=entry["id"])
    assert filed.status_code == 201, filed.json
    assert filed.json["record"]["list_type"] == entry["list_type"]
    objection = client.get("/api/v1/objections", headers=regulator.headers).json["items"][0]
    url = f"/api/v1/objections/{objection['id']}/answer"
    cannot = client.post(url, json={"outcome": "corrected"}, headers=regulator.headers)
    assert cannot.status_code == 422
    done = client.post(
        url, json={"outcome": "revoked", "answer": "列入有误，予以移出"}, headers=regulator.headers
    )
    assert done.status_code == 200, done.json
    assert public_profile(client, record["uscc"])["lists"] == []


def test_under_objection_for_departments_the_authority_and_the_public(
    client, write_record, regulator, department
):
    record, _entry = _listed(client, write_record, regulator)
    public_before = public_profile(client, record["uscc"])
    search_before = client.get(f"/api/v1/public/search?q={record['uscc']}").json
    page_before = client.get(f"/entities/{record['uscc']}").get_data(as_text=True)
    filed = file(client, record["uscc"], penalty_id=record["id"])
    assert filed.status_code == 201

    sanctions = client.get(f"/api/v1/sanctions/{record['uscc']}", headers=department.headers).json
    assert sanctions["sanctioned"] is True
    for measure in sanctions["measures"]:
        for reason in measure["because"]:
            assert reason["under_objection"] is True
            assert [p["under_objection"] for p in reason["penalties"]] == [True]
    batch = client.post(
        "/api/v1/sanctions/check", json={"codes": [record["uscc"]]}, headers=department.headers
    ).json
    assert batch["results"][0]["measures"][0]["because"][0]["under_objection"] is True
    listing = client.get(
        f"/api/v1/penalties?uscc={record['uscc']}", headers=regulator.headers
    ).json["items"]
    assert [p["under_objection"] for p in listing] == [True]

    # Issue 20: the public sees that the record is under objection (异议处理中) — the
    # profile marks it and the page says so; nothing else of the answers changes.
    public_after = public_profile(client, record["uscc"])
    assert [p["under_objection"] for p in public_before["penalties"]] == [False]
    assert [p["under_objection"] for p in public_after["penalties"]] == [True]
    unmarked = {
        **public_after,
        "penalties": [{**p, "under_objection": False} for p in public_after["penalties"]],
    }
    assert unmarked == public_before
    assert client.get(f"/api/v1/public/search?q={record['uscc']}").json == search_before
    page = client.get(f"/entities/{record['uscc']}").get_data(as_text=True)
    assert "异议处理中" not in page_before
    assert "异议处理中" in page
    changes = client.get("/api/v1/public/changes").get_data(as_text=True)
    assert "objection" not in changes

    # Once answered, it is no longer under objection.
    objection = client.get("/api/v1/objections", headers=regulator.headers).json["items"][0]
    client.post(
        f"/api/v1/objections/{objection['id']}/answer",
        json={"outcome": "rejected", "answer": "维持"},
        headers=regulator.headers,
    )
    sanctions = client.get(f"/api/v1/sanctions/{record['uscc']}", headers=department.headers).json
    assert sanctions["measures"][0]["because"][0]["under_objection"] is False


def test_only_the_deciding_authority(client, write_record, regulator, other_regulator, department):
    record = write_record()
    file(client, record["uscc"], penalty_id=record["id"])
    assert client.get("/api/v1/objections", headers=other_regulator.headers).json["items"] == []
    assert client.get("/api/v1/objections", headers=department.headers).status_code == 403
    assert client.get("/api/v1/objections").status_code == 401
    objection = client.get("/api/v1/objections", headers=regulator.headers).json["items"][0]
    url = f"/api/v1/objections/{objection['id']}/answer"
    body = {"outcome": "rejected", "answer": "维持"}
    assert client.post(url, json=body, headers=other_regulator.headers).status_code == 403
    assert (
        client.get(
            f"/api/v1/objections/{objection['id']}", headers=other_regulator.headers
        ).status_code
        == 403
    )
    assert client.post(url, json=body, headers=department.headers).status_code == 403
    assert (
        client.post(
            "/api/v1/objections/999999/answer", json=body, headers=regulator.headers
        ).status_code
        == 404
    )


def test_overdue_by_working_days(client, write_record, regulator):
    record = write_record()
    file(client, record["uscc"], penalty_id=record["id"])
    assert (
        client.get("/api/v1/objections?overdue=true", headers=regulator.headers).json["total"] == 0
    )
    clock.set_clock(date(2026, 12, 11))  # the last day to answer
    assert (
        client.get("/api/v1/objections?overdue=true", headers=regulator.headers).json["total"] == 0
    )
    clock.set_clock(date(2026, 12, 12))
    [late] = client.get("/api/v1/objections?overdue=true", headers=regulator.headers).json["items"]
    assert late["overdue"] is True
    assert late["due_on"] == "2026-12-11"
    assert (
        client.get("/api/v1/objections?overdue=false", headers=regulator.headers).json["total"] == 0
    )


def test_every_step_audited_without_the_filers_contact(client, session, write_record, regulator):
    record = write_record()
    file(client, record["uscc"], penalty_id=record["id"])
    objection = client.get("/api/v1/objections", headers=regulator.headers).json["items"][0]
    client.post(
        f"/api/v1/objections/{objection['id']}/answer",
        json={"outcome": "rejected", "answer": "维持"},
        headers=regulator.headers,
    )
    rows = (
        session.execute(
            select(AuditEntry).where(AuditEntry.object_type == "objection").order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    assert [r.action for r in rows] == ["objection.filed", "objection.answered"]
    assert rows[0].actor == "public"
    assert rows[1].actor.startswith("token:")
    assert rows[1].before["status"] == "open"
    assert rows[1].after["outcome"] == "rejected"
    assert "王先生" not in json.dumps([r.after for r in rows], ensure_ascii=False)


def test_receipts_are_stored_only_hashed(client, session, write_record, database_url):
    record = write_record()
    receipt = file(client, record["uscc"], penalty_id=record["id"]).json["receipt"]
    stored = session.execute(select(Objection)).scalar_one()
    assert len(stored.receipt_hash) == 64
    assert receipt not in stored.receipt_hash
    body = receipt.replace("-", "")
    # Nowhere in the database: every text column of every table, on either engine.
    from sqlalchemy import String, Text, cast, or_

    from registry.schema import Base

    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        hits = session.execute(
            select(table).where(or_(*[cast(c, Text).contains(body[2:10]) for c in columns]))
        ).all()
        assert hits == [], table.name
