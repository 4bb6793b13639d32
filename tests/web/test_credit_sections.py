"""Dishonesty lists and red lists apart, each membership shown once; the grade only
when the pack makes it public — on the entity page, the report, the public JSON API and
the OpenAPI document; and the home page leading to every public part."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from registry.evaluation.models import CreditGrade
from rules import DEFAULT_PACK_PATH
from tests.api.conftest import make_client  # noqa: F401 - fixture shared with the API tests
from tests.web.factories import TODAY, WebFactory

RED = "海关高级认证企业"
SERIOUS = "市场监督管理严重违法失信名单"


@pytest.fixture
def public_grade_pack(tmp_path: Path) -> Path:
    content = yaml.safe_load(DEFAULT_PACK_PATH.read_text(encoding="utf-8"))
    content["grading"]["public"] = True
    path = tmp_path / "public-grades.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@pytest.fixture
def both(session, factory: WebFactory) -> str:
    """An entity on a dishonesty list and a red list, graded C since 2026-03-01 (and
    B before)."""
    entity = factory.entity("深圳市双榜科技有限公司")
    factory.list_entry(entity.uscc, "samr_serious", since=TODAY - timedelta(days=30))
    factory.list_entry(
        entity.uscc, "customs_aeo", since=TODAY - timedelta(days=200), until=date(2029, 6, 15)
    )
    for grade, since, until in (
        ("B", date(2025, 1, 1), date(2026, 2, 28)),
        ("C", date(2026, 3, 1), None),
    ):
        session.add(
            CreditGrade(
                uscc=entity.uscc,
                grade=grade,
                since=since,
                until=until,
                pack_version="test",
                explanation={"rule_id": "secret-rule"},
            )
        )
    session.commit()
    return entity.uscc


def _section(page: str, heading_id: str) -> str:
    """The HTML of the <section> whose heading has ``heading_id``."""
    match = re.search(rf'<section aria-labelledby="{heading_id}".*?</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(0)


def test_each_membership_is_shown_once_in_its_own_section(client, both):
    # issue 20: each entry is one card titled by its list, in its group's section (the
    # list names also appear in legal bases and measures, e.g. 不予认证为海关高级认证企业)
    page = client.get(f"/entities/{both}").get_data(as_text=True)
    assert page.count(f">{RED}</a>") == 1
    assert page.count(f">{SERIOUS}</a>") == 1
    dishonesty = _section(page, "group-serious")
    red = _section(page, "group-incentive")
    assert SERIOUS in dishonesty
    assert f">{RED}</a>" not in dishonesty
    assert RED in red
    assert SERIOUS not in red
    assert "2029年6月15日" in red
    assert "信用等级" not in page
    assert "信用分类" not in page
    assert 'data-grade="' not in page


def test_the_report_keeps_the_two_families_apart(client, both):
    page = client.get(f"/entities/{both}/report").get_data(as_text=True)
    assert page.count(f">{RED}</a>") == 1
    assert page.count(f">{SERIOUS}</a>") == 1
    lists = _section(page, "r-lists")
    assert (
        lists.index(SERIOUS) < lists.index("<h3>3. 守信激励名单</h3>") < lists.index(f">{RED}</a>")
    )
    assert "信用等级" not in page


def test_an_entity_on_no_list_says_so_for_both_families(client, factory: WebFactory):
    entity = factory.entity("深圳市无榜贸易有限公司")
    factory.session.commit()
    page = client.get(f"/entities/{entity.uscc}").get_data(as_text=True)
    assert "未列入严重失信主体名单。" in page
    assert "未列入经营异常名录。" in page
    assert "未列入守信激励名单。" in page


def test_api_says_the_kind_of_each_list_and_hides_the_grade(client, both):
    body = client.get(f"/api/v1/public/entities/{both}").json
    assert sorted((item["list_type"], item["kind"]) for item in body["lists"]) == [
        ("customs_aeo", "incentive"),
        ("samr_serious", "dishonesty"),
    ]
    assert "grade" not in body
    assert "secret-rule" not in str(body)


def test_a_public_grade_pack_shows_the_grade_on_page_and_api(
    make_client,  # noqa: F811 - the fixture imported above
    public_grade_pack,
    both,
    factory: WebFactory,
):
    public = make_client(rules={"packs": [str(public_grade_pack)]})
    page = public.get(f"/entities/{both}").get_data(as_text=True)
    grade = _section(page, "grade-title")
    assert 'data-grade="C"' in grade
    assert "信用风险较高（C类）" in grade
    assert "2026年3月1日" in grade
    assert page.count(f">{RED}</a>") == 1

    body = public.get(f"/api/v1/public/entities/{both}").json
    assert body["grade"] == {"grade": "C", "title": "信用风险较高（C类）", "since": "2026-03-01"}
    assert "explanation" not in body["grade"]
    past = public.get(f"/api/v1/public/entities/{both}", query_string={"as_of": "2025-06-01"})
    assert past.json["grade"]["grade"] == "B"
    before = public.get(f"/api/v1/public/entities/{both}", query_string={"as_of": "2024-06-01"})
    assert before.json["grade"] is None

    ungraded = factory.entity("深圳市未评级商贸有限公司")
    factory.session.commit()
    assert public.get(f"/api/v1/public/entities/{ungraded.uscc}").json["grade"] is None
    assert "暂未评定信用等级。" in public.get(f"/entities/{ungraded.uscc}").get_data(as_text=True)


def test_openapi_documents_kind_and_grade_with_examples(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    entity = schemas["PublicEntity"]
    assert "grade" in entity["properties"]
    assert "grade" not in entity["required"]
    item = schemas["PublicEntityList"]
    assert "kind" in item["required"]
    assert item["properties"]["kind"]["enum"] == ["dishonesty", "incentive"]
    answer = spec["paths"]["/api/v1/public/entities/{uscc}"]["get"]["responses"]["200"]
    examples = answer["content"]["application/json"]["examples"]
    kinds = {i["kind"] for e in examples.values() for i in e["value"]["lists"]}
    assert kinds == {"dishonesty", "incentive"}
    assert any("grade" in e["value"] for e in examples.values())
    assert any("grade" not in e["value"] for e in examples.values())


def test_home_and_layout_lead_to_every_public_part(client):
    page = client.get("/").get_data(as_text=True)
    assert "<title>信用信息公示查询</title>" in page
    nav = re.search(r'<nav aria-label="主导航">.*?</nav>', page, re.S).group(0)
    for href, text in (
        ("/lists", "公开名单"),
        ("/inspections", "双随机抽查"),
        ("/complaints/new", "举报投诉"),
    ):
        assert f'<a href="{href}">{text}</a>' in nav
    # issue 20: three groups on the home page
    red = _section(page, "group-incentive")
    assert f'<a href="/lists/customs_aeo">{RED}</a>' in red
    assert SERIOUS in _section(page, "group-serious")
    assert RED not in _section(page, "group-serious")
    assert '<a href="/lists/abnormal_operations">' in _section(page, "group-abnormal")
    more = _section(page, "more-title")
    assert 'href="/objections/new"' in more
    assert 'href="/inspections"' in more
    for path, title in (
        ("/inspections", "双随机抽查公示 - 信用信息公示查询"),
        ("/lists", "公开名单 - 信用信息公示查询"),
        ("/lists/customs_aeo", f"{RED} - 信用信息公示查询"),
        ("/complaints/new", "举报投诉 - 信用信息公示查询"),
        ("/objections/new", "提出异议申诉 - 信用信息公示查询"),
    ):
        assert f"<title>{title}</title>" in client.get(path).get_data(as_text=True), path


def test_search_results_tell_a_red_list_from_a_dishonesty_list(client, both):
    page = client.get("/search", query_string={"q": "双榜科技"}).get_data(as_text=True)
    assert f'<span class="badge badge-incentive">守信激励：{RED}</span>' in page
    assert f'<span class="badge badge-list">{SERIOUS}</span>' in page
