"""A file cannot un-revoke a record: the fields only a restored full export carries
(``status``, ``revoked_on``, ``person_key``, ``id_masked``, …) are taken by
``credit-registry import --restore`` alone.  An API upload, the inbox and a plain CLI
import reject a line carrying one, naming the field; and every status change a restore
makes is an audit event with the old and the new status."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from registry.core.models import AuditEntry
from registry.records.models import Penalty
from tests.security.helpers import jsonl, upload
from tests.security.seams import import_inbox, runtime_of

RESTORE_ONLY = "credit-registry import --restore"


@pytest.fixture
def revoked(client, write_record, regulator):
    """A record written through the API, then revoked by its authority."""
    record = write_record()
    answer = client.post(
        f"/api/v1/penalties/{record['id']}/revoke",
        json={"reason": "复议撤销"},
        headers=regulator.headers,
    )
    assert answer.status_code == 200, answer.json
    return record


def penalty(session, record) -> Penalty:
    session.rollback()
    return session.get(Penalty, record["id"])


def as_line(record, **extra):
    """The record as a file line: its writable fields, plus ``extra``."""
    keep = {k: v for k, v in record.items() if k in RECORD_KEYS and v not in (None, [], "")}
    return {**keep, **extra}


RECORD_KEYS = (
    "party_name",
    "party_type",
    "uscc",
    "legal_representative",
    "decision_number",
    "violation_type",
    "facts",
    "basis",
    "categories",
    "content",
    "fine_wan",
    "decided_on",
    "authority",
    "authority_uscc",
)


def test_an_api_upload_cannot_unrevoke_a_record(client, regulator, revoked, session):
    line = as_line(revoked, status="active", revoked_on=None)
    answer = upload(client, regulator, jsonl(line))
    assert answer.status_code == 200, answer.json
    assert answer.json["rejected"] == 1
    [problem] = answer.json["report"]
    assert problem["field"] == "status"
    assert RESTORE_ONLY in problem["reason"]
    assert penalty(session, revoked).status == "revoked"


def test_an_api_upload_cannot_set_keyed_hashes_or_masks(client, regulator, factory, session):
    number = factory.id_number()
    line = as_line(
        factory.record(regulator.authority),
        person_key="a" * 64,
        legal_representative_id_masked=number,
    )
    answer = upload(client, regulator, jsonl(line))
    assert answer.status_code == 200, answer.json
    assert {p["field"] for p in answer.json["report"]} == {
        "person_key",
        "legal_representative_id_masked",
    }
    assert number not in json.dumps(answer.json)  # nor is it echoed back
    session.rollback()
    assert session.execute(select(Penalty)).first() is None


def test_the_inbox_refuses_a_line_with_a_status(
    database_url, revoked, regulator, session, tmp_path
):
    inbox = tmp_path / "inbox"
    rt = runtime_of(database_url, importer={"inbox": str(inbox)})
    try:
        folder = inbox / regulator.authority
        folder.mkdir(parents=True)
        (folder / "restore.jsonl").write_bytes(jsonl(as_line(revoked, status="active")))
        [summary] = import_inbox(rt, settle_seconds=0)
    finally:
        rt.dispose()
    assert summary.rejected == 1
    report = (inbox / "done" / "restore.jsonl.report.csv").read_text("utf-8")
    assert "status" in report
    assert RESTORE_ONLY in report
    assert penalty(session, revoked).status == "revoked"


def test_only_import_restore_takes_them_and_the_trail_says_so(invoke, revoked, session, tmp_path):
    path = tmp_path / "full.jsonl"
    path.write_bytes(jsonl(as_line(revoked, status="active")))
    plain = invoke("import", str(path), "--report", str(tmp_path / "plain.csv"))
    assert plain.exit_code == 0, plain.output
    assert "status" in (tmp_path / "plain.csv").read_text("utf-8")
    assert penalty(session, revoked).status == "revoked"

    restored = invoke("import", str(path), "--restore", "--report", str(tmp_path / "r.csv"))
    assert restored.exit_code == 0, restored.output
    assert penalty(session, revoked).status == "active"
    [event] = session.execute(
        select(AuditEntry).where(AuditEntry.action == "penalty.status_changed")
    ).scalars()
    assert event.object_id == str(revoked["id"])
    assert event.before["status"] == "revoked"
    assert event.after["status"] == "active"
