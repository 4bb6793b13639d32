"""Exports as their users see them: a full export restores a registry; the public export
shows only disclosed records and never a person's ID number; CSV cells cannot run as
formulas; an incremental export picks up where the last one stopped."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from importers.inbox import import_inbox
from registry.core.runtime import Runtime
from registry.records.models import Penalty
from registry.records.penalties import upsert_penalties
from registry.records.schema import validate_record
from tests.conftest import TEST_ID_KEY, make_config
from tests.importers.dbhelp import counts, csv_rows, empty_registry, jsonl
from tests.importers.samples import GOOD_RESIDENT_ID, good_record, write_sample

#: What differs between two registries holding the same records.
BOOKKEEPING = ("id", "history", "version", "import_batch_id", "created_at", "updated_at")


def _import_sample(invoke, shared_dir: Path, tmp_path: Path, fmt: str = "csv-gb18030"):
    path = write_sample(shared_dir, tmp_path, fmt)
    result = invoke("import", str(path), "--report", str(tmp_path / "report.csv"))
    assert result.exit_code == 0, result.output
    return result


def _export(invoke, tmp_path: Path, *args: str) -> tuple[str, str]:
    out = tmp_path / f"export-{len(list(tmp_path.iterdir()))}.out"
    result = invoke("export", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    cursor = result.output.rsplit("游标（--since）：", 1)[1].strip()
    return out.read_text(encoding="utf-8"), cursor


def _comparable(records: list[dict]) -> dict[tuple[str, str], dict]:
    return {
        (r["authority_uscc"], r["decision_number"]): {
            k: v for k, v in r.items() if k not in BOOKKEEPING
        }
        for r in records
    }


def test_full_export_restores_the_registry(invoke, rt, session, shared_dir, tmp_path):
    _import_sample(invoke, shared_dir, tmp_path)
    revoked = session.execute(select(Penalty).order_by(Penalty.id).limit(1)).scalar_one()
    session.execute(
        update(Penalty)
        .where(Penalty.id == revoked.id)
        .values(status="revoked", revoked_on=date(2026, 5, 1), revoked_reason="复议撤销")
    )
    session.commit()

    text, _ = _export(invoke, tmp_path, "--scope", "full")
    exported = jsonl(text)

    assert len(exported) == 180
    assert {r["status"] for r in exported} == {"active", "revoked"}
    assert all("id_number" not in r and "legal_representative_id_number" not in r for r in exported)
    assert all(r["legal_representative_id_masked"] for r in exported)

    # Into an empty registry: the same records, revoked one included.
    empty_registry(rt)
    path = tmp_path / "full.jsonl"
    path.write_text(text, "utf-8")
    result = invoke("import", str(path), "--report", str(tmp_path / "again.csv"), "--restore")
    assert "新增 180，更新 0，未变 0，拒收 0" in result.output
    assert "提示" not in result.output
    restored, _ = _export(invoke, tmp_path, "--scope", "full")
    assert _comparable(jsonl(restored)) == _comparable(exported)

    # And once more over itself: nothing changes.
    result = invoke("import", str(path), "--report", str(tmp_path / "third.csv"), "--restore")
    assert "新增 0，更新 0，未变 180，拒收 0" in result.output


def test_full_csv_export_round_trips_and_guards_formulas(invoke, rt, tmp_path, today):
    record = validate_record(good_record(facts="=1+1", remarks="@SUM(A1)"))[0]
    with rt.unit_of_work() as s:
        upsert_penalties(s, [record], "test", id_key=TEST_ID_KEY)

    text, _ = _export(invoke, tmp_path, "--scope", "full", "--format", "csv")
    (row,) = csv_rows(text)
    assert row["facts"] == "'=1+1"
    assert row["remarks"] == "'@SUM(A1)"
    assert row["categories"] == "罚款"

    empty_registry(rt)
    path = tmp_path / "full.csv"
    path.write_text(text, "utf-8")
    result = invoke("import", str(path), "--report", str(tmp_path / "r.csv"), "--restore")
    assert "新增 1，" in result.output
    again, _ = _export(invoke, tmp_path, "--scope", "full", "--format", "csv")
    (back,) = csv_rows(again)
    assert back["facts"] == "'=1+1"
    assert back["content_hash"] == row["content_hash"]


def _disclose(session, **where) -> None:
    session.execute(
        update(Penalty)
        .filter_by(**where)
        .values(disclosure_until=date(2027, 12, 31), severity="general")
    )
    session.commit()


def test_public_export_shows_only_disclosed_records_without_personal_data(
    invoke, rt, session, tmp_path, today
):
    person = good_record(
        party_type="自然人",
        party_name="李小四",
        uscc=None,
        legal_representative=None,
        id_number=GOOD_RESIDENT_ID,
        decision_number="人1",
    )
    disclosed = good_record(decision_number="公1", remarks="联系电话: 13800000000")
    hidden = good_record(decision_number="未公示1")
    revoked = good_record(decision_number="撤销1")
    records = [validate_record(r)[0] for r in (person, disclosed, hidden, revoked)]
    with rt.unit_of_work() as s:
        upsert_penalties(s, records, "test", id_key=TEST_ID_KEY)
    for number in ("人1", "公1", "撤销1"):
        _disclose(session, decision_number=number)
    session.execute(update(Penalty).filter_by(decision_number="撤销1").values(status="revoked"))
    session.commit()

    text, _ = _export(invoke, tmp_path)
    csv_text, _ = _export(invoke, tmp_path, "--format", "csv")

    public = {r["decision_number"]: r for r in jsonl(text)}
    assert set(public) == {"人1", "公1"}
    assert public["人1"]["party_name"] == "李**"
    assert public["公1"]["party_name"] == "深圳某某科技有限公司"
    assert public["公1"]["disclosure_until"] == "2027-12-31"
    rep = disclosed["legal_representative"]
    assert public["公1"]["legal_representative"] == rep[0] + "*" * (len(rep) - 1)
    assert public["人1"]["legal_representative"] is None
    for body in (text, csv_text):
        assert GOOD_RESIDENT_ID not in body
        assert "110105" not in body  # not even masked
        assert "330106" not in body
        assert "13800000000" not in body  # remarks stay inside
        assert "person_key" not in body
        assert "李小四" not in body
    assert {r["decision_number"] for r in csv_rows(csv_text)} == {"人1", "公1"}


def test_incremental_export_with_a_cursor(invoke, rt, session, shared_dir, tmp_path):
    _import_sample(invoke, shared_dir, tmp_path)
    _disclose(session)
    first, cursor = _export(invoke, tmp_path)
    assert len(jsonl(first)) == 180

    nothing, same = _export(invoke, tmp_path, "--since", cursor)
    assert nothing == ""
    assert same == cursor

    record = validate_record(good_record(decision_number="新1"))[0]
    with rt.unit_of_work() as s:
        upsert_penalties(s, [record], "test", id_key=TEST_ID_KEY)
    _disclose(session, decision_number="新1")
    gone = session.execute(select(Penalty).order_by(Penalty.id).limit(1)).scalar_one()
    changed = validate_record(
        {
            "party_name": gone.party_name,
            "party_type": gone.party_type,
            "uscc": gone.uscc,
            "legal_representative": gone.legal_representative,
            "decision_number": gone.decision_number,
            "violation_type": gone.violation_type,
            "facts": gone.facts,
            "basis": gone.basis,
            "categories": gone.categories,
            "content": gone.content,
            "fine_wan": gone.fine_wan,
            "decided_on": gone.decided_on,
            "authority": gone.authority,
            "authority_uscc": gone.authority_uscc,
            "status": "revoked",
            "revoked_on": "2026-11-28",
        }
    )[0]
    with rt.unit_of_work() as s:
        result = upsert_penalties(s, [changed], "test", id_key=TEST_ID_KEY)
    assert result.updated == 1

    delta, later = _export(invoke, tmp_path, "--since", cursor)

    lines = jsonl(delta)
    assert [(r["action"], r["decision_number"]) for r in lines] == [
        ("withdrawn", gone.decision_number),
        ("upsert", "新1"),
    ]
    assert set(lines[0]) == {"action", "authority_uscc", "decision_number"}
    assert later != cursor


def test_a_cursor_we_did_not_print_is_refused(invoke, tmp_path):
    result = invoke("export", "--since", "not-a-cursor")

    assert result.exit_code == 2
    assert "游标" in result.output


def test_inbox_imports_each_file_once(rt, database_url, shared_dir, tmp_path, today):
    inbox = tmp_path / "inbox"
    authority_dir = inbox / "11320500NTDF6XDB6G"
    authority_dir.mkdir(parents=True)
    write_sample(shared_dir, inbox, "csv-gb18030")
    (inbox / "garbage.csv").write_bytes(b"\x00\x00\x00")
    (inbox / "upload.csv.part").write_text("still coming")
    (authority_dir / "own.jsonl").write_text(
        json.dumps(good_record(decision_number="收件1", authority_uscc=None), ensure_ascii=False)
        + "\n",
        "utf-8",
    )
    local = Runtime(make_config(database_url, importer={"inbox": str(inbox)}))
    try:
        summaries = import_inbox(local, settle_seconds=0)
        again = import_inbox(local, settle_seconds=0)
    finally:
        local.dispose()

    by_name = {Path(s.source).name: s for s in summaries}
    assert set(by_name) == {"sample.csv", "garbage.csv", "own.jsonl"}
    assert by_name["sample.csv"].counts() == "新增 180，更新 0，未变 0，拒收 20"
    assert by_name["own.jsonl"].created == 1
    assert by_name["garbage.csv"].fatal
    assert again == []
    assert (inbox / "done" / "sample.csv").exists()
    assert len((inbox / "done" / "sample.csv.report.csv").read_text("utf-8").splitlines()) > 20
    assert (inbox / "done" / "own.jsonl").exists()
    assert (inbox / "failed" / "garbage.csv").exists()
    assert "不是文本文件" in (inbox / "failed" / "garbage.csv.report.csv").read_text("utf-8")
    assert (inbox / "upload.csv.part").exists()
    assert not list((inbox / "processing").iterdir())
    assert counts(rt)["penalties"] == 181


@pytest.mark.parametrize("scope", ["public", "full"])
def test_export_of_an_empty_registry(invoke, tmp_path, scope):
    text, cursor = _export(invoke, tmp_path, "--scope", scope)

    assert text == ""
    assert cursor
