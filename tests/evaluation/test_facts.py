"""Facts in SQL (registry.evaluation.facts): the same answers on SQLite and PostgreSQL, and the same
as the pure reference in rules.windows."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from registry.core.db import is_postgres
from registry.evaluation.facts import Subjects, add_months_sql, entity_aggregates, penalty_rows
from registry.evaluation.plan import load_entries
from registry.lists.models import ListEntry
from rules import DEFAULT_PACK_PATH, load_pack
from rules.windows import add_months, max_count_within
from tests.evaluation.factories import make_penalty, new_uscc

PACK = load_pack(DEFAULT_PACK_PATH)
AS_OF = date(2026, 11, 29)

EDGE_DAYS = [
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2023, 2, 28),
    date(2024, 3, 31),
    date(2024, 8, 31),
    date(2024, 12, 31),
    date(2025, 1, 1),
    date(2024, 11, 30),
]


@pytest.mark.parametrize("months", [1, 12, 24, 36])
def test_add_months_sql_matches_the_reference(session, months):
    column = "CAST(:d AS DATE)" if is_postgres(session) else ":d"  # SQLite keeps ISO text
    sql = add_months_sql(session, column, "m")
    for day in EDGE_DAYS:
        got = session.execute(text(f"SELECT {sql}"), {"d": day.isoformat(), "m": months}).scalar()
        assert str(got) == add_months(day, months).isoformat(), (day, months)


def _aggregates(session, keys, as_of=AS_OF):
    return entity_aggregates(session, PACK, Subjects.of(keys), as_of)


def test_window_of_exactly_24_months_counts_one_day_more_does_not(session):
    inside, outside, leap = new_uscc(), new_uscc(), new_uscc()
    for key, first, second in (
        (inside, date(2023, 3, 15), date(2025, 3, 15)),
        (outside, date(2023, 3, 15), date(2025, 3, 16)),
        (leap, date(2024, 2, 29), date(2026, 2, 28)),  # 29 Feb + 24 months = 28 Feb
    ):
        make_penalty(session, key, decided_on=first, violation_type="侵犯专利权")
        make_penalty(session, key, decided_on=second, violation_type="假冒专利")
    session.commit()
    facts = _aggregates(session, [inside, outside, leap])
    assert facts[inside]["ip_penalties_in_window"]["value"] == 2
    assert facts[outside]["ip_penalties_in_window"]["value"] == 1
    assert facts[leap]["ip_penalties_in_window"]["value"] == 2


def test_max_count_within_matches_the_reference_on_random_records(session):
    rng = random.Random(7)
    keys = [new_uscc() for _ in range(25)]
    expected = {}
    for key in keys:
        items = []
        for _ in range(rng.randint(1, 7)):
            day = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
            ip = rng.random() < 0.7
            revoked = rng.random() < 0.15
            p = make_penalty(
                session,
                key,
                decided_on=min(day, AS_OF),
                violation_type="销售侵犯注册商标专用权商品" if ip else "虚假广告",
                status="revoked" if revoked else "active",
                revoked_on=AS_OF - timedelta(days=1) if revoked else None,
            )
            if ip and not revoked:
                items.append((p.decided_on, p.id))
        expected[key] = max_count_within(items, 24)
    session.commit()
    facts = _aggregates(session, keys)
    for key in keys:
        value, ids = expected[key]
        got = facts[key].get("ip_penalties_in_window", {"value": 0, "ids": []})
        assert (got["value"], tuple(got["ids"])) == (value, ids), key


def test_counts_exclude_revoked_and_future_records_and_filter_severity(session):
    key = new_uscc()
    serious = make_penalty(session, key, violation_type="商标侵权", categories=["吊销许可证件"])
    make_penalty(session, key, violation_type="商标侵权", fine_wan=5)  # general: not serious
    make_penalty(
        session, key, violation_type="商标侵权", categories=["吊销许可证件"], status="revoked"
    )
    later = make_penalty(
        session,
        key,
        violation_type="商标侵权",
        categories=["吊销许可证件"],
        status="revoked",
        revoked_on=date(2026, 12, 1),  # revoked after the as-of day: counts until then
    )
    make_penalty(session, key, decided_on=date(2026, 11, 30), violation_type="年度报告未公示")
    session.execute(
        text("UPDATE penalties SET severity = 'serious' WHERE id IN (:a, :b)"),
        {"a": serious.id, "b": later.id},
    )
    session.commit()
    facts = _aggregates(session, [key])[key]
    assert facts["serious_ip_penalties"] == {"value": 2, "ids": [serious.id, later.id]}
    assert "annual_report_penalties" not in facts  # decided after the as-of day
    # a preview hands severities in instead of reading the stored ones
    preview = entity_aggregates(
        session, PACK, Subjects.of([key]), AS_OF, severity_of={serious.id: "general"}
    )[key]
    assert "serious_ip_penalties" not in preview


def _held_36_months_and_one_day_short(session, held: str, short: str) -> None:
    """An active abnormal-operations entry of ``held`` listed 36 months before AS_OF
    exactly, and one of ``short`` listed a day later."""
    for key, since in ((held, date(2023, 11, 29)), (short, date(2023, 11, 30))):
        session.add(
            ListEntry(
                uscc=key,
                list_type="abnormal_operations",
                status="active",
                since=since,
                authority_uscc="x",
                basis_penalty_ids=[],
            )
        )


def test_list_held_needs_the_full_36_months(session):
    held, short = new_uscc(), new_uscc()
    _held_36_months_and_one_day_short(session, held, short)
    session.commit()
    facts = _aggregates(session, [held, short])
    assert facts[held]["abnormal_held_long"]["value"] == 1
    assert "abnormal_held_long" not in facts.get(short, {})


def test_range_subjects_answer_like_listed_subjects(session):
    keys = sorted(new_uscc() for _ in range(6))
    for key in keys:
        make_penalty(session, key, violation_type="专利侵权", decided_on=date(2025, 1, 1))
        make_penalty(session, key, violation_type="专利侵权", decided_on=date(2025, 6, 1))
    session.commit()
    listed = entity_aggregates(session, PACK, Subjects.of(keys[1:4]), AS_OF)
    ranged = entity_aggregates(session, PACK, Subjects.in_range(keys[1:4], keys[0], keys[3]), AS_OF)
    assert listed == ranged
    assert sorted(listed) == keys[1:4]
    rows = penalty_rows(session, Subjects.in_range(keys[1:4], keys[0], keys[3]))
    assert {r.subject_key for r in rows} == set(keys[1:4])


def test_list_aggregates_from_loaded_entries_equal_the_sql_ones(session):
    """The evaluator counts ``list_held`` and ``listed`` from the entries it has loaded
    (``entries=``); over entries of every status, list and boundary, on many days, that
    gives exactly the values and ids of the SQL queries."""

    rng = random.Random(11)
    edges = [date(2023, 11, 28), date(2023, 11, 29), date(2023, 11, 30), date(2024, 2, 29)]
    days = [AS_OF, date(2026, 11, 28), date(2026, 11, 30), date(2027, 2, 28), *EDGE_DAYS]
    keys = sorted(new_uscc() for _ in range(30))
    for key in keys:
        for _ in range(rng.randint(0, 5)):
            since = rng.choice(
                [None, *edges, *days, date(2020, 1, 1) + timedelta(rng.randrange(2600))]
            )
            status = rng.choice(["proposed", "active", "active", "removed", "rejected"])
            later = [d for d in days if since is None or d >= since]
            session.add(
                ListEntry(
                    uscc=key,
                    list_type=rng.choice(
                        ["abnormal_operations", "samr_serious", "ip_serious", "other_list"]
                    ),
                    status=status,
                    since=since,
                    until=rng.choice([None, None, *later]) if later else None,
                    ended_on=rng.choice([None, *later])
                    if status in ("removed", "rejected") and later
                    else None,
                    authority_uscc="x",
                    basis_penalty_ids=[],
                )
            )
    _held_36_months_and_one_day_short(session, keys[0], keys[1])
    session.commit()
    subjects = Subjects.of(keys)
    entries = load_entries(session, subjects)
    seen: set[str] = set()
    for day in days:
        by_sql = entity_aggregates(session, PACK, subjects, day)
        loaded = entity_aggregates(session, PACK, subjects, day, entries=entries)
        assert loaded == by_sql, day
        seen.update(name for facts in by_sql.values() for name in facts)
        ranged = Subjects.in_range(keys[3:9], keys[2], keys[8])
        assert entity_aggregates(session, PACK, ranged, day) == entity_aggregates(
            session, PACK, ranged, day, entries=load_entries(session, ranged)
        )
    # not vacuous: every list aggregate of the pack took a value somewhere
    assert {"abnormal_held_long", "serious_listed", "abnormal_listed", "dishonesty_listed"} <= seen
