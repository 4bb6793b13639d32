"""Importing penalty files into a real registry (SQLite and PostgreSQL), through the
command line a regulator uses, and what they see: counts, the report, the records."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from importers.run import ImportSummary, ReportWriter, import_file
from registry.core.codes import NO_CODE_PLACEHOLDER, person_key
from registry.core.models import AuditEntry
from registry.records.models import Penalty, PenaltyVersion, Person
from registry.records.penalties import upsert_penalties
from registry.records.schema import validate_record
from tests.conftest import TEST_ID_KEY
from tests.importers.dbhelp import assert_failed_batch_adds_up, counts, report_rows
from tests.importers.samples import (
    AUTHORITY_USCC,
    FORMATS,
    GOOD_RESIDENT_ID,
    expected,
    good_record,
    line_offset,
    sample_table,
    write_sample,
)


def _import(invoke, path: Path, tmp_path: Path, *args: str):
    report = tmp_path / f"{path.stem}-report.csv"
    result = invoke("import", str(path), "--report", str(report), *args)
    return result, report


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_file_in_every_format(fmt, invoke, rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, fmt)

    result, report = _import(invoke, path, tmp_path)

    assert result.exit_code == 0, result.output
    assert "新增 180，更新 0，未变 0，拒收 20" in result.output
    bad = {b["line"] + line_offset(fmt) for b in expected(shared_dir)["bad"]}
    rows = report_rows(report)
    assert {int(r["line"]) for r in rows} == bad
    assert list(rows[0]) == ["line", "decision_number", "field", "reason"]
    numbers = {r["decision_number"] for r in _valid_rows(shared_dir)}
    with rt.sessions() as s:
        stored = set(s.execute(select(Penalty.decision_number)).scalars())
    assert stored == numbers
    assert counts(rt)["penalties"] == 180


def _valid_rows(shared_dir: Path) -> list[dict[str, str]]:
    header, rows = sample_table(shared_dir)
    bad = {b["line"] for b in expected(shared_dir)["bad"]}
    names = {"行政处罚决定书文号": "decision_number"}
    return [
        {names.get(h, h): v for h, v in zip(header, row, strict=True)}
        for line, row in enumerate(rows, start=2)
        if line not in bad
    ]


def test_importing_the_same_file_again_changes_nothing(invoke, rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "csv-gb18030")
    _import(invoke, path, tmp_path)
    before = counts(rt)

    result, _ = _import(invoke, path, tmp_path)

    assert "新增 0，更新 0，未变 180，拒收 20" in result.output
    after = counts(rt)
    assert after == {**before, "import_batches": before["import_batches"] + 1}
    assert invoke("audit", "verify").exit_code == 0


def test_a_changed_row_is_an_update_with_history_and_audit(
    invoke, rt, session, shared_dir, tmp_path
):
    header, rows = sample_table(shared_dir)
    path = tmp_path / "penalties.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    _import(invoke, path, tmp_path)
    rows[0][header.index("罚款金额（万元）")] = "0.3"
    rows[0][header.index("处罚内容")] = "罚款0.3万元"
    with path.open("w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])

    result, _ = _import(invoke, path, tmp_path)

    assert "新增 0，更新 1，未变 179，拒收 20" in result.output
    number = rows[0][header.index("行政处罚决定书文号")]
    penalty = session.execute(select(Penalty).where(Penalty.decision_number == number)).scalar_one()
    assert penalty.version == 2
    assert str(penalty.fine_wan.normalize()) == "0.3"
    (old,) = session.execute(select(PenaltyVersion)).scalars()
    assert (old.penalty_id, old.version) == (penalty.id, 1)
    assert old.data["content"] == "罚款0.2405万元"
    entry = session.execute(
        select(AuditEntry).where(AuditEntry.action == "penalty.updated")
    ).scalar_one()
    assert entry.object_id == str(penalty.id)
    assert entry.after["version"] == 2
    assert entry.before["content_hash"] != entry.after["content_hash"]
    assert invoke("audit", "verify").exit_code == 0


def test_strict_refuses_the_whole_file_for_one_bad_row(invoke, rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "csv-gb18030")

    result, report = _import(invoke, path, tmp_path, "--strict")

    assert result.exit_code == 1
    assert "严格模式：有拒收行，整个文件未写入" in result.output
    assert len({r["line"] for r in report_rows(report)}) == 20
    assert set(counts(rt).values()) == {0}


def test_strict_accepts_a_clean_file(invoke, rt, shared_dir, tmp_path):
    header, rows = sample_table(shared_dir)
    bad = {b["line"] for b in expected(shared_dir)["bad"]}
    path = tmp_path / "clean.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *(r for i, r in enumerate(rows, 2) if i not in bad)])

    result, _ = _import(invoke, path, tmp_path, "--strict")

    assert result.exit_code == 0, result.output
    assert "新增 180" in result.output
    assert counts(rt)["penalties"] == 180


def test_dry_run_writes_nothing(invoke, rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "xlsx")

    result, report = _import(invoke, path, tmp_path, "--dry-run")

    assert result.exit_code == 0
    assert "新增 180，更新 0，未变 0，拒收 20" in result.output
    assert "试运行，未写入任何记录" in result.output
    assert len({r["line"] for r in report_rows(report)}) == 20
    assert set(counts(rt).values()) == {0}


def test_authority_option_fills_and_guards(invoke, rt, tmp_path):
    fields = list(good_record())
    other = "11420100MBKCCAP938"
    path = tmp_path / "mine.jsonl"
    lines = [
        good_record(decision_number="甲1", authority_uscc=None),
        good_record(decision_number="甲2"),
        good_record(decision_number="甲3", authority_uscc=other),
    ]
    import json

    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n", "utf-8")
    assert fields

    result, report = _import(invoke, path, tmp_path, "--authority", AUTHORITY_USCC)

    assert "新增 2，更新 0，未变 0，拒收 1" in result.output
    (row,) = report_rows(report)
    assert row["line"] == "3"
    assert row["field"] == "authority_uscc"
    assert other in row["reason"]
    with rt.sessions() as s:
        assert set(s.execute(select(Penalty.authority_uscc)).scalars()) == {AUTHORITY_USCC}


def test_fatal_errors_are_one_line_and_write_nothing(invoke, rt, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\x00\x01binary")
    missing = tmp_path / "short.csv"
    missing.write_text("行政相对人名称,统一社会信用代码\n", "utf-8")

    result = invoke("import", str(path), str(missing), "--report", str(tmp_path / "r.csv"))

    assert result.exit_code == 1
    assert "broken.csv：错误：" in result.output
    assert "不是文本文件" in result.output
    assert "缺少必需的列" in result.output
    assert "Traceback" not in result.output
    assert counts(rt)["penalties"] == 0


def test_people_are_kept_by_keyed_hash_never_by_number(rt, session, today):
    person = good_record(
        party_type="自然人",
        party_name="李四",
        uscc=None,
        legal_representative=None,
        id_type="身份证",
        id_number=GOOD_RESIDENT_ID,
        decision_number="人1",
    )
    shop = good_record(
        party_type="个体工商户",
        party_name="王五小吃店",
        uscc=NO_CODE_PLACEHOLDER,
        registration_number="440300600123456",
        legal_representative=None,
        decision_number="户1",
    )
    company = good_record(legal_representative_id_number="330106196710271313")
    records = [validate_record(r)[0] for r in (person, shop, company)]
    assert all(records)

    with rt.unit_of_work() as s:
        result = upsert_penalties(s, records, "test", id_key=TEST_ID_KEY)

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    key = person_key(GOOD_RESIDENT_ID, TEST_ID_KEY)
    rows = {p.decision_number: p for p in session.execute(select(Penalty)).scalars()}
    assert rows["人1"].subject_key == "P:" + key
    assert rows["人1"].id_masked == "110105********002X"
    assert rows["户1"].uscc is None
    assert rows["户1"].subject_key.startswith("P:")
    stored = session.get(Person, key)
    assert stored.id_masked == "110105********002X"
    dump = " ".join(
        str(tuple(row))
        for table in ("penalties", "persons", "person_links", "penalty_versions", "audit_log")
        for row in session.execute(text(f"SELECT * FROM {table}"))
    )
    assert GOOD_RESIDENT_ID not in dump
    assert "330106196710271313" not in dump
    links = session.execute(text("SELECT uscc, role FROM person_links")).all()
    assert [tuple(r) for r in links] == [("914403001922038216", "legal_representative")]
    dirty = set(session.execute(text("SELECT subject_key FROM dirty_entities")).scalars())
    assert dirty == {r.subject_key for r in rows.values()}


def test_a_batch_contradicting_itself_refuses_the_later_record(rt, today):
    first = validate_record(good_record())[0]
    same = validate_record(good_record())[0]
    other = validate_record(good_record(facts="另一事实"))[0]

    with rt.unit_of_work() as s:
        result = upsert_penalties(s, [first, same, other], "test", id_key=TEST_ID_KEY)

    assert (result.created, result.unchanged) == (1, 1)
    assert result.rejected == [(2, "decision_number", pytest.approx(result.rejected[0][2]))]
    assert "重复" in result.rejected[0][2]


class _Killed(Exception):
    pass


def test_an_interrupted_import_leaves_whole_batches_and_a_rerun_completes(rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "csv-gb18030")
    calls = []

    def die_after_three(_fraction):
        calls.append(1)
        if len(calls) == 3:
            raise _Killed

    with pytest.raises(_Killed):
        import_file(rt, path, batch_size=25, progress=die_after_three)

    written = counts(rt)["penalties"]
    assert written % 25 == 0  # whole batches only
    assert written <= 75  # nothing after the interruption
    assert_failed_batch_adds_up(rt, written)
    summary: ImportSummary = import_file(rt, path, batch_size=25)
    assert (summary.created, summary.unchanged, summary.rejected) == (180 - written, written, 20)
    assert counts(rt)["penalties"] == 180


def test_report_writer_neutralises_cells(tmp_path):
    writer = ReportWriter(tmp_path / "r.csv")
    writer.add(5, "=cmd|' /C calc'!A0", "=HYPERLINK()")
    writer.close()

    (row,) = report_rows(tmp_path / "r.csv")
    assert row["field"].startswith("'=")
    assert row["reason"].startswith("'=")


def _import_in_process(url: str, path: str, gate, queue) -> None:
    """Child process: wait for the sibling, then import the same file."""
    from registry.core.runtime import Runtime
    from tests.conftest import make_config

    rt = Runtime(make_config(url))
    gate.wait(timeout=60)
    summary = import_file(rt, path, batch_size=10, actor="racer")
    queue.put((summary.created, summary.updated, summary.unchanged, summary.rejected))
    rt.dispose()


@pytest.mark.postgres_only
def test_two_processes_importing_the_same_file_create_no_duplicates(
    rt, database_url, tmp_path, backend
):
    import json
    import multiprocessing

    from registry.records import demo

    records = list(demo.generate(1500, seed=7, today=date(2025, 6, 30)))
    path = tmp_path / "same.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({k: demo._json(v) for k, v in rec.items()}, ensure_ascii=False))
            fh.write("\n")
    ctx = multiprocessing.get_context("spawn")
    gate, queue = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_import_in_process, args=(database_url, str(path), gate, queue))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)

    assert [p.exitcode for p in procs] == [0, 0]
    created = sum(r[0] for r in results)
    unchanged = sum(r[2] for r in results)
    assert (created, unchanged) == (1500, 1500), results
    assert sum(r[1] + r[3] for r in results) == 0
    with rt.sessions() as s:
        total, distinct = s.execute(
            text(
                "SELECT count(*), count(DISTINCT (authority_uscc, decision_number)) FROM penalties"
            )
        ).one()
    assert total == distinct == 1500
    assert counts(rt)["penalty_versions"] == 0
    assert counts(rt)["import_batches"] == 2
