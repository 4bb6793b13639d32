"""Issue 20: demo data a journalist would believe — cases decided by the authority of
the entity's own region, under the article that punishes the violation, and list
entries spread over time rather than all dated the day the demo was loaded."""

from __future__ import annotations

from datetime import date

from registry.records import demo


def test_demo_cases_are_decided_in_the_entity_region_under_the_matching_article():
    records = list(demo.generate(400, seed=2026, today=date(2026, 11, 29)))
    for record in records:
        # positions 3-8: the division of the entity and of its deciding authority
        assert record["authority_uscc"][2:8] == record["uscc"][2:8], record
        assert record["basis"] == demo.BASIS[record["violation_type"]]
        assert "行政处罚法》第二十八条" not in record["basis"]
    trademark = next(r for r in records if r["violation_type"] == "销售侵犯注册商标专用权商品")
    assert trademark["basis"].startswith("《中华人民共和国商标法》")
    chengdu = [r for r in records if r["party_name"].startswith("成都")]
    assert chengdu
    assert all(r["authority"].startswith("成都市") for r in chengdu)


def test_demo_list_entries_are_spread_over_the_months(rt):
    from sqlalchemy import select

    from cli.demo import load_demo
    from registry.lists.models import ListEntry

    load_demo(rt, 800)
    with rt.sessions() as session:
        days = session.execute(select(ListEntry.since).where(ListEntry.since.is_not(None))).all()
    months = {(d.year, d.month) for (d,) in days}
    assert len(months) >= 12
    assert min(months) < (2024, 1)
