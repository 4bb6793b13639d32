"""On PostgreSQL the substring name search is served by the trigram indexes of
migration 0005 — for the name, its pinyin spelling and its initials — and finds the same
entities as without them."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from registry.disclosure.queries import search_entities


def _plans(rt, session, q):
    """The search's answer and the EXPLAIN of its counting statement."""
    captured = []

    def grab(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT COUNT"):
            captured.append((statement, params))

    event.listen(rt.engine, "before_cursor_execute", grab)
    try:
        items, total = search_entities(session, q)
    finally:
        event.remove(rt.engine, "before_cursor_execute", grab)
    session.rollback()  # end the search's read so the index can be dropped below
    statement, params = captured[0]
    with rt.engine.connect() as conn:
        raw = conn.connection.cursor()
        # In a transaction rolled back at once: without the B-tree on the name (which a
        # planner may walk whole on a small table) and without sequential scans, only an
        # index that matches the search's own expressions can serve it.
        raw.execute("BEGIN")
        raw.execute("DROP INDEX ix_entities_name")
        raw.execute("SET LOCAL enable_seqscan = off")
        raw.execute("EXPLAIN " + statement, params)
        plan = "\n".join(row[0] for row in raw.fetchall())
        raw.execute("ROLLBACK")
    return items, total, plan


def _crowd(conn) -> None:
    """Enough other entities for the planner to weigh indexes, and fresh statistics."""
    conn.execute(
        text(
            "INSERT INTO entities (uscc, name, name_pinyin, name_initials, party_type, "
            "division_code, province_code, created_at, updated_at) "
            "SELECT '92' || lpad(g::text, 16, '0'), '广州市某某贸易商行' || g, "
            "'guangzhoushi moumou ' || g, 'gzsmm' || g, 'individual_business', "
            "'440100', '44', now(), now() FROM generate_series(1, 5000) g"
        )
    )
    conn.execute(text("ANALYZE entities"))


@pytest.mark.postgres_only
def test_name_pinyin_and_initials_search_use_the_trigram_indexes(rt, session, factory):
    entity = factory.entity(name="深圳市华鑫科技有限公司")
    session.commit()
    with rt.engine.begin() as conn:
        _crowd(conn)
        indexes = set(
            conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'entities'"))
            .scalars()
            .all()
        )
    assert {"ix_entities_name_trgm", "ix_entities_pinyin_trgm"} <= indexes, indexes
    with rt.engine.begin() as conn:
        names = conn.execute(
            text("SELECT name_pinyin, name_initials FROM entities WHERE uscc = :u"),
            {"u": entity.uscc},
        ).one()
    assert names.name_pinyin

    items, _, plan = _plans(rt, session, "华鑫科技")
    assert [i["uscc"] for i in items] == [entity.uscc]
    assert "ix_entities_name_trgm" in plan
    assert "Seq Scan" not in plan

    items, _, plan = _plans(rt, session, "huaxinkeji")
    assert [i["uscc"] for i in items] == [entity.uscc]
    assert "ix_entities_pinyin_trgm" in plan
    assert "ix_entities_initials_trgm" in plan
    assert "Seq Scan" not in plan


@pytest.mark.postgres_only
def test_a_code_fragment_search_uses_the_code_trigram_index(rt, session, factory):
    """Any six or more contiguous characters of a code (migration 0011's trigram index on
    ``entities.uscc``): the middle of a code finds its entity through the index."""
    entity = factory.entity(name="上海市某某化妆品有限公司")
    session.commit()
    with rt.engine.begin() as conn:
        _crowd(conn)
    middle = entity.uscc[6:13]  # neither its start nor its end
    items, total, plan = _plans(rt, session, middle)
    assert [i["uscc"] for i in items] == [entity.uscc]
    assert total == 1
    assert "ix_entities_uscc_trgm" in plan
    assert "Seq Scan" not in plan
