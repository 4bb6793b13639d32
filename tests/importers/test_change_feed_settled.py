"""Readers of the change feed never move past a change still being written.

A transaction takes change id N and has not committed; another takes N+1 and commits.
A reader that stopped at N+1 and later asked for what came after it would never see N.
``export --since``, the webhook queue and the public feed read up to
:func:`registry.core.changefeed.settled_id`, which waits for such writers to end (PostgreSQL,
real concurrent transactions; on SQLite one writer at a time commits ids in order)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from sqlalchemy import func, select

from registry.core.changefeed import settled_id
from registry.core.models import Change
from registry.records.export import export_penalties
from registry.records.models import Penalty
from registry.records.penalties import upsert_penalties
from registry.records.schema import validate_record
from tests.conftest import TEST_ID_KEY
from tests.importers.dbhelp import jsonl
from tests.importers.samples import good_record


def _record(number: str) -> dict:
    return validate_record(good_record(decision_number=number))[0]


def _full_export(rt, since: str | None) -> tuple[set[str], str]:
    out = io.StringIO()
    with rt.sessions() as s, s.begin():
        result = export_penalties(s, out, scope="full", since=since)
    return {r["decision_number"] for r in jsonl(out.getvalue())}, result.cursor


@pytest.mark.postgres_only
def test_an_export_waits_for_a_change_written_before_a_committed_one(rt, backend):
    with rt.unit_of_work() as s:
        upsert_penalties(s, [_record("早先〔2026〕1号")], "test", id_key=TEST_ID_KEY)
    _, start = _full_export(rt, None)
    with rt.sessions() as s:
        earlier = s.execute(select(Penalty.id, Penalty.subject_key)).one()
    # A writer takes the next change id and has not committed (a revocation, a rule run:
    # any transaction that writes to the feed) ...
    slow = rt.sessions()
    try:
        slow.add(
            Change(uscc=earlier.subject_key, kind="penalty", object_id=earlier.id, action="updated")
        )
        slow.flush()
        # ... while another writes a later one and commits first.
        with rt.unit_of_work() as fast:
            upsert_penalties(fast, [_record("后来〔2026〕2号")], "fast", id_key=TEST_ID_KEY)

        exported: list[tuple[set[str], str]] = []
        reader = threading.Thread(target=lambda: exported.append(_full_export(rt, start)))
        reader.start()
        time.sleep(0.5)
        assert not exported, "the export did not wait for the transaction still writing"
        slow.commit()
    finally:
        slow.close()
    reader.join(timeout=30)

    ((numbers, cursor),) = exported
    assert numbers == {"早先〔2026〕1号", "后来〔2026〕2号"}
    again, _ = _full_export(rt, cursor)
    assert again == set()


@pytest.mark.postgres_only
def test_settled_id_gives_up_after_its_wait(rt, backend):
    slow = rt.sessions()
    try:
        upsert_penalties(slow, [_record("未提交〔2026〕3号")], "slow", id_key=TEST_ID_KEY)
        with rt.sessions() as s:
            started = time.monotonic()
            assert settled_id(s, wait=0.3) is None
            assert time.monotonic() - started < 5
    finally:
        slow.rollback()
        slow.close()
    with rt.sessions() as s:
        assert settled_id(s, wait=0.3) == (s.execute(select(func.max(Change.id))).scalar() or 0)


def test_with_no_writer_in_flight_the_newest_change_is_settled(rt):
    with rt.unit_of_work() as s:
        upsert_penalties(s, [_record("已提交〔2026〕4号")], "test", id_key=TEST_ID_KEY)
    with rt.sessions() as s:
        newest = s.execute(select(func.max(Change.id))).scalar_one()
        assert settled_id(s, wait=0.0) == newest


@pytest.mark.postgres_only
def test_the_public_feed_and_the_webhook_queue_stop_short_of_a_change_in_flight(rt, backend):
    from registry.delivery.webhooks import enqueue_changes
    from registry.disclosure.queries import changes_since
    from registry.records.export import decode_cursor

    with rt.unit_of_work() as s:
        upsert_penalties(s, [_record("早先〔2026〕5号")], "test", id_key=TEST_ID_KEY)
    with rt.sessions() as s:
        _, before = changes_since(s, None, 100)
        earlier = s.execute(select(Penalty.id, Penalty.subject_key)).one()
    slow = rt.sessions()
    try:
        slow.add(
            Change(uscc=earlier.subject_key, kind="list_entry", object_id=None, action="added")
        )
        slow.flush()
        with rt.unit_of_work() as fast:
            upsert_penalties(fast, [_record("后来〔2026〕6号")], "fast", id_key=TEST_ID_KEY)
        with rt.unit_of_work() as s:
            items, cursor = changes_since(s, before, 100)
            queued = enqueue_changes(s)
        assert (items, cursor) == ([], before)
        assert queued == 0
        with rt.sessions() as s:
            assert s.execute(select(func.count()).select_from(Change)).scalar_one() == 2
    finally:
        slow.rollback()
        slow.close()
    with rt.sessions() as s:
        items, cursor = changes_since(s, before, 100)
    assert decode_cursor(cursor) > decode_cursor(before)
