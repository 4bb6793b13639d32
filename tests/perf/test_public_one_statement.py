"""The public profile read in one statement (PostgreSQL) answers exactly what the three
plain statements answer, whatever the penalties' and list entries' states and the day."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core.db import is_postgres
from registry.disclosure import profile as profiles
from registry.disclosure import views
from registry.records.parsing import format_amount
from tests.web.factories import TODAY, WebFactory


@pytest.fixture
def registry_data(session):
    f = WebFactory(session, seed=5)
    authority = f.authority_code()
    codes = []
    for i in range(6):
        entity = f.entity(f"深圳市第{i}科技有限公司")
        codes.append(entity.uscc)
        for days, until, status, revoked, repaired, fine in (
            (60, 300, "active", None, None, "5"),
            (400, 30, "active", None, None, "0.250000"),
            (90, 300, "revoked", TODAY + timedelta(days=10), None, "123456789012.123456"),
            (200, 300, "revoked", TODAY - timedelta(days=10), None, None),
            (30, 300, "active", None, TODAY - timedelta(days=5), "1"),
            (20, None, "active", None, None, "2"),
            (-10, 300, "active", None, None, "3"),
        )[: i + 2]:
            f.penalty(
                entity.uscc,
                authority_uscc=authority,
                decided_on=TODAY - timedelta(days=days),
                disclosure_until=None if until is None else TODAY + timedelta(days=until),
                status=status,
                revoked_on=revoked,
                repaired_on=repaired,
                fine_wan=fine,
                party_name=entity.name,
                categories=("罚款", "没收违法所得") if i % 2 else ("警告",),
                repairable=bool(i % 2),
                repair_allowed_from=TODAY + timedelta(days=i) if i % 2 else None,
            )
        if i % 2:
            f.list_entry(entity.uscc, since=TODAY - timedelta(days=30 * i))
            f.list_entry(entity.uscc, "abnormal_operations", status="proposed", since=None)
            f.list_entry(entity.uscc, "samr_serious", ended_on=TODAY - timedelta(days=1))
    person = f.entity("王小明", f.uscc(), party_type="natural_person")
    f.penalty(
        person.uscc, authority_uscc=authority, party_name="王小明", party_type="natural_person"
    )
    codes.append(person.uscc)
    session.commit()
    return codes


def test_one_statement_answers_as_three(rt, session, registry_data):
    if not is_postgres(session):
        pytest.skip("the one-statement read is PostgreSQL's")
    lists = views.public_lists(rt.pack)
    days = (TODAY, TODAY - timedelta(days=100), TODAY + timedelta(days=400), date(2020, 1, 1))
    seen_penalties = 0
    for code in [*registry_data, "914403001922038216"]:
        for day in days:
            one = profiles._read_profile(session, code, day, lists, single=True)
            three = profiles._read_profile(session, code, day, lists, single=False)
            if three is None:
                assert one is None
                continue
            assert one[2] == three[2]  # penalties as the public sees them
            assert [views.list_entry_dict(e, lists) for e in one[1]] == [
                views.list_entry_dict(e, lists) for e in three[1]
            ]
            assert tuple(one[0])[:3] == tuple(three[0])[:3]
            seen_penalties += len(three[2])
    assert seen_penalties > 15  # the comparison saw real answers (19 with this data)
    profile = profiles.public_profile(session, registry_data[1], pack=rt.pack)
    assert profile["lists"]
    assert {p["fine_wan"] for p in profile["penalties"]} <= {"5", "0.25", "123456789012.123456"}


@given(st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False))
def test_amount_text_is_format_amount(value):
    """Amounts come out of the profile statement as PostgreSQL's ``numeric`` text (a
    ``numeric(18, 6)`` column writes six decimals); the short cut gives the text the
    Decimal path gives."""
    text = f"{value:.6f}"
    assert views.amount_text(text) == format_amount(Decimal(text))
    assert views.amount_text(str(int(value))) == format_amount(Decimal(int(value)))
    assert views.amount_text(None) is None


def test_text_array_parameter_round_trips(rt, session):
    """The list types go to libpq as one ``text[]`` in PostgreSQL's array syntax;
    quotes, backslashes, commas and braces survive it."""
    if not is_postgres(session):
        pytest.skip("libpq is PostgreSQL's")
    from psycopg import pq

    from registry.core.db import libpq_conninfo

    items = ("samr_serious", 'a"b', "c\\d", "e,f", "{g}", " h ", "")
    conn = pq.PGconn.connect(libpq_conninfo(rt.config).encode())
    try:
        result = conn.exec_params(
            b"SELECT array_to_json($1::text[])::text", [profiles._text_array(items)]
        )
        assert result.status == pq.ExecStatus.TUPLES_OK, result.error_message
        assert json.loads(result.get_value(0, 0)) == list(items)
    finally:
        conn.finish()
