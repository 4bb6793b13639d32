"""A large file is read and validated in a second process while the first writes
(``importers.run._load_in_process``).  What a regulator sees must not depend on it: the
same report, the same records, whole batches after an interruption — and a reading
process that dies is an error, never a silent short import.  Every test runs on SQLite
and on PostgreSQL, each import through the second process (``read_in_process=True``)
and, where the two are compared, through the thread pipeline too."""

from __future__ import annotations

import json
import os
import signal
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from importers.run import ReportWriter, import_file
from registry.core import clock
from registry.records import demo
from registry.records.models import Penalty
from registry.records.penalties import prepare_penalties
from registry.records.schema import validate_record
from tests.conftest import TEST_ID_KEY
from tests.importers.dbhelp import assert_failed_batch_adds_up, counts, report_rows
from tests.importers.samples import FORMATS, expected, line_offset, write_sample


def _stored(rt) -> list[tuple[str, str, str]]:
    with rt.sessions() as s:
        return [
            tuple(row)
            for row in s.execute(
                select(
                    Penalty.authority_uscc, Penalty.decision_number, Penalty.content_hash
                ).order_by(Penalty.authority_uscc, Penalty.decision_number)
            )
        ]


def _empty(rt) -> None:
    from tests.conftest import _empty_all_tables

    _empty_all_tables(rt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_second_process_gives_the_same_report_and_records(fmt, rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, fmt)
    seen = {}
    for in_process in (True, False):
        report = ReportWriter(tmp_path / f"report-{in_process}.csv")
        summary = import_file(rt, path, report=report, batch_size=40, read_in_process=in_process)
        report.close()
        assert summary.fatal is None
        seen[in_process] = (
            summary.counts(),
            summary.rows,
            summary.format,
            sorted(map(tuple, (r.values() for r in report_rows(Path(report.path))))),
            _stored(rt),
        )
        _empty(rt)

    assert seen[True] == seen[False]
    counted, rows, _, reported, stored = seen[True]
    assert counted == "新增 180，更新 0，未变 0，拒收 20"
    assert rows == 200
    bad = {b["line"] + line_offset(fmt) for b in expected(shared_dir)["bad"]}
    assert {int(line) for line, _, _, _ in reported} == bad
    assert len(stored) == 180


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({k: demo._json(v) for k, v in rec.items()}, ensure_ascii=False))
            fh.write("\n")
    return path


@pytest.fixture
def refusing(rt):
    """The database refuses records whose decision number holds REFUSE — a rule of the
    database's own that the record validation does not know."""
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "ALTER TABLE penalties ADD CONSTRAINT test_refuse "
                    "CHECK (decision_number NOT LIKE '%REFUSE%')"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER test_refuse BEFORE INSERT ON penalties "
                    "WHEN NEW.decision_number LIKE '%REFUSE%' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    try:
        yield
    finally:
        with rt.engine.begin() as conn:
            if rt.engine.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE penalties DROP CONSTRAINT test_refuse"))
            else:
                conn.execute(text("DROP TRIGGER test_refuse"))


@pytest.mark.parametrize("in_process", [True, False], ids=["process", "thread"])
def test_a_record_the_database_refuses_is_found_and_its_batch_written(
    in_process, rt, refusing, tmp_path
):
    records = list(demo.generate(60, seed=11, today=date(2025, 6, 30)))
    for i in (6, 39):
        records[i]["decision_number"] += "REFUSE"
    # In the first batch, beside a refused record: a repeat (unchanged) and a record
    # contradicting an earlier one — each told once, however the batch is split.
    contradiction = dict(records[2], party_name=records[2]["party_name"] + "分公司")
    records[20:20] = [dict(records[3]), contradiction]
    path = _write_jsonl(tmp_path / "refused.jsonl", records)
    report = ReportWriter(tmp_path / "report.csv")

    summary = import_file(rt, path, report=report, batch_size=25, read_in_process=in_process)
    report.close()

    assert (summary.created, summary.unchanged, summary.rejected) == (58, 1, 3)
    rows = report_rows(tmp_path / "report.csv")
    assert sorted((int(r["line"]), r["field"]) for r in rows) == [
        (7, "整行"),
        (22, "decision_number"),
        (42, "整行"),
    ]
    refused = [r for r in rows if r["field"] == "整行"]
    assert [r["reason"][:7] for r in refused] == ["数据库拒绝写入"] * 2
    # Each row named by its decision number, as the file wrote it.
    assert all(r["decision_number"].endswith("REFUSE") for r in refused)
    (contradicting,) = [r for r in rows if r["line"] == "22"]
    assert contradicting["decision_number"] == contradiction["decision_number"]
    stored = {number for _, number, _ in _stored(rt)}
    assert len(stored) == 58
    assert not any("REFUSE" in number for number in stored)


@pytest.mark.parametrize("in_process", [True, False], ids=["process", "thread"])
def test_a_decision_after_the_registrys_today_is_refused_whatever_the_wall_clock(
    in_process, rt, tmp_path
):
    """ "Not in the future" is judged against the registry's today — fixed here, two
    years back — in the reading process as in the importing one, not against the
    reading process's own wall clock (by which every one of these dates is past)."""
    records = list(demo.generate(6, seed=5, today=date(2024, 1, 10)))
    records[4]["decided_on"] = date(2024, 6, 1)
    path = _write_jsonl(tmp_path / "later.jsonl", records)
    clock.set_clock(date(2024, 1, 10))
    report = ReportWriter(tmp_path / "report.csv")

    summary = import_file(rt, path, report=report, read_in_process=in_process)
    report.close()

    assert (summary.created, summary.rejected) == (5, 1)
    [row] = report_rows(tmp_path / "report.csv")
    assert (row["line"], row["field"]) == ("5", "decided_on")
    assert "晚于今天（2024-01-10）" in row["reason"]


def test_halves_of_a_batch_sent_as_copy_text_are_the_same_rows():
    records = [validate_record(_raw(r))[0] for r in demo.generate(9, seed=3)]
    whole = prepare_penalties(records, TEST_ID_KEY)
    sent = whole.for_copy()

    first, second = sent.halves()

    assert sent.count == whole.count == 9
    assert first.copy_text() + second.copy_text() == whole.copy_text()
    assert sent.record_indexes() == list(range(9))
    assert (first.count, second.count) == (4, 5)


def _raw(record: dict) -> dict:
    return {k: demo._json(v) for k, v in record.items()}


def _readers() -> list[int]:
    """This process's children that are import readers."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if ppid == os.getpid() and b"importers.reader" in cmdline:
            found.append(int(pid))
    return found


class _Stop(Exception):
    pass


def test_an_interrupted_import_stops_its_reader_and_leaves_whole_batches(rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "csv-gb18030")
    calls = []

    def stop_after_two(_fraction):
        calls.append(_readers())
        if len(calls) == 2:
            raise _Stop

    with pytest.raises(_Stop):
        import_file(rt, path, batch_size=25, progress=stop_after_two, read_in_process=True)

    assert calls[0], "the file was not read in a second process"
    assert _readers() == []
    written = counts(rt)["penalties"]
    assert written % 25 == 0
    assert written <= 50
    assert_failed_batch_adds_up(rt, written)
    again = import_file(rt, path, batch_size=25, read_in_process=True)
    assert (again.created, again.unchanged, again.rejected) == (180 - written, written, 20)


def test_a_reader_that_dies_fails_the_import_and_keeps_whole_batches(rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "jsonl")

    def kill_the_reader(_fraction):
        for pid in _readers():
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(RuntimeError, match="读取进程"):
        import_file(rt, path, batch_size=25, progress=kill_the_reader, read_in_process=True)

    written = counts(rt)["penalties"]
    assert written % 25 == 0
    assert written < 180
    assert _readers() == []
    assert_failed_batch_adds_up(rt, written)


def test_a_file_the_reader_cannot_read_is_refused_as_in_one_process(rt, tmp_path):
    path = tmp_path / "not-penalties.csv"
    path.write_text("名称,颜色\n苹果,红\n", encoding="utf-8")

    elsewhere = import_file(rt, path, read_in_process=True)
    here = import_file(rt, path, read_in_process=False)

    assert elsewhere.fatal is not None
    assert elsewhere.fatal == here.fatal
    assert counts(rt)["penalties"] == counts(rt)["import_batches"] == 0


def test_dry_run_and_strict_through_the_second_process_write_nothing(rt, shared_dir, tmp_path):
    path = write_sample(shared_dir, tmp_path, "csv-utf8-bom")

    dry = import_file(rt, path, dry_run=True, batch_size=40, read_in_process=True)
    strict = import_file(rt, path, strict=True, batch_size=40, read_in_process=True)

    assert dry.counts() == "新增 180，更新 0，未变 0，拒收 20"
    assert not dry.written
    assert strict.rejected == 20
    assert not strict.ok
    assert counts(rt)["penalties"] == 0


@pytest.mark.postgres_only
def test_two_imports_of_the_same_records_in_opposite_orders_both_complete(
    rt, backend, database_url, tmp_path
):
    """Two imports meeting on the same keys in opposite orders: the per-authority lock
    of the write makes one wait for the other's batch (without it they deadlock, and
    the server cancels one) — both complete, nothing is written twice."""
    import threading

    from registry.core.runtime import Runtime
    from tests.conftest import make_config

    records = list(demo.generate(300, seed=9, today=date(2025, 6, 30)))
    forward = _write_jsonl(tmp_path / "forward.jsonl", records)
    backward = _write_jsonl(tmp_path / "backward.jsonl", records[::-1])
    results: dict[str, object] = {}

    def run(name: str, path: Path) -> None:
        runtime = Runtime(make_config(database_url))
        try:
            results[name] = import_file(runtime, path, batch_size=300, read_in_process=False)
        except BaseException as exc:
            results[name] = exc
        finally:
            runtime.dispose()

    threads = [
        threading.Thread(target=run, args=("forward", forward)),
        threading.Thread(target=run, args=("backward", backward)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    summaries = [results["forward"], results["backward"]]
    assert all(not isinstance(s, BaseException) for s in summaries), summaries
    assert sum(s.created for s in summaries) == 300
    assert sum(s.unchanged for s in summaries) == 300
    with rt.sessions() as s:
        total, distinct = s.execute(
            text(
                "SELECT count(*), count(DISTINCT (authority_uscc, decision_number)) FROM penalties"
            )
        ).one()
    assert total == distinct == 300
