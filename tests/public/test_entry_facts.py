"""Issue 20: what the public is told about a list entry — who listed the entity, why
(the decisions, linked), under which article, what follows (measures by department)
and how it ends — in one shape in the API and on the pages; three list groups; the
objection mark; the full penalty record."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.public.conftest import TODAY, objection


def _profile(client, uscc):
    response = client.get(f"/api/v1/public/entities/{uscc}")
    assert response.status_code == 200, response.json
    return response.json


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_api_says_who_why_under_which_article_what_follows_and_until_when(
    session, client, listed
):
    session.commit()
    [entry] = _profile(client, listed.uscc)["lists"]
    assert entry["group"] == "serious"
    assert entry["group_title"] == "严重失信主体名单"
    assert entry["authority"] == {"uscc": listed.authority, "name": "深圳市市场监督管理局"}
    assert entry["grounds"]["kind"] == "penalties"
    assert entry["grounds"]["rule"]["id"] == "heavy-penalty"
    [ground] = entry["grounds"]["penalties"]
    assert ground["decision_number"] == "深市监罚〔2026〕88号"
    assert ground["disclosed"] is True
    assert "总局令第44号" in entry["legal_basis"]
    measures = {m["id"]: m for m in entry["measures"]}
    assert measures["procurement-ban"]["department"] == "财政部门"
    assert measures["procurement-ban"]["title"] == "限制参加政府采购活动"
    assert "legal-rep-ban" in measures
    assert "patent-priority-ban" not in measures
    term = entry["term"]
    assert term["until"] == (TODAY + timedelta(days=900)).isoformat()
    assert term["early_removal_from"] == (TODAY + timedelta(days=265)).isoformat()
    assert "提前移出" in term["ends"]
    assert "信用修复" in term["ends"]
    assert entry["under_objection"] is False
    assert entry["objection_target"] == f"list_entry:{listed.entry.id}"


def test_the_entity_page_shows_the_same_facts_with_the_grounds_linked(session, client, listed):
    session.commit()
    response = client.get(f"/entities/{listed.uscc}")
    html = response.get_data(as_text=True)
    text = _text(response)
    assert "列入机关 深圳市市场监督管理局" in text
    assert f'href="#penalty-{listed.penalty.id}"' in html
    assert f'id="penalty-{listed.penalty.id}"' in html
    assert "《市场监督管理严重违法失信名单管理办法》（国家市场监督管理总局令第44号）" in text
    assert "限制参加政府采购活动 （财政部门）" in text
    assert "可以申请提前移出（信用修复）" in text
    assert f"target=list_entry:{listed.entry.id}" in html.replace("%3A", ":")
    # the three groups, each named once
    for title in ("严重失信主体名单", "经营异常名录", "守信激励名单"):
        assert f">{title}</h2>" in html
    assert "未列入经营异常名录" in text
    assert "未列入守信激励名单" in text


def test_abnormal_operations_is_its_own_group_with_its_own_term_and_basis(session, client, factory):
    entity = factory.entity("苏州佳美日用品有限公司", factory.uscc("320506"))
    factory.list_entry(entity.uscc, "abnormal_operations", until=None)
    session.commit()
    [entry] = _profile(client, entity.uscc)["lists"]
    assert (entry["group"], entry["group_title"]) == ("abnormal", "经营异常名录")
    assert entry["term"]["text"] == "至改正为止"
    assert "企业信息公示暂行条例" in entry["legal_basis"]
    assert {m["id"] for m in entry["measures"]} == {
        "honours-ban",
        "license-strict",
        "inspection-up",
    }
    text = _text(client.get(f"/entities/{entity.uscc}"))
    assert "经营异常名录 经营异常名录" in text  # the group heading, then the entry in it
    assert "未列入严重失信主体名单" in text


def test_red_list_term_reads_the_same_on_the_list_and_the_entity_page(session, client, factory):
    entity = factory.entity("上海恒信精密机械有限公司", factory.uscc("310115"))
    entry = factory.list_entry(entity.uscc, "a_grade_clean", until=None)
    entry.rule_id = "a-grade-clean"
    session.commit()
    [item] = _profile(client, entity.uscc)["lists"]
    assert item["group"] == "incentive"
    wording = item["term"]["text"]
    assert wording == "持续有效至不再符合列入条件"
    assert item["grounds"]["kind"] == "rule"
    assert item["authority"]["name"].startswith("信用信息公示登记机关")
    entity_page = _text(client.get(f"/entities/{entity.uscc}"))
    list_page = _text(client.get("/lists/a_grade_clean"))
    for page in (entity_page, list_page):
        assert wording in page
        assert "至改正为止" not in page


def test_a_record_and_an_entry_under_open_objection_are_marked(session, client, listed):
    objection(session, listed.uscc, listed.authority, penalty_id=listed.penalty.id)
    objection(session, listed.uscc, listed.authority, list_entry_id=listed.entry.id)
    session.commit()
    profile = _profile(client, listed.uscc)
    assert [p["under_objection"] for p in profile["penalties"]] == [True]
    assert [e["under_objection"] for e in profile["lists"]] == [True]
    html = client.get(f"/entities/{listed.uscc}").get_data(as_text=True)
    assert html.count("异议处理中") == 2


def test_the_entity_page_shows_the_full_public_penalty_record(session, client, factory):
    authority = factory.authority_code()
    entity = factory.entity("成都市锦江区张记小吃店", factory.uscc("510104", kind="2"))
    factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        authority="成都市锦江区市场监督管理局",
        party_type="individual_business",
        legal_representative="张记",
        source_unit="成都市市场监督管理局",
    )
    session.commit()
    text = _text(client.get(f"/entities/{entity.uscc}"))
    assert "违法事实 经查，当事人在其网店发布虚假广告。" in text
    assert "处罚依据 《中华人民共和国广告法》第五十五条" in text
    assert "数据来源 成都市市场监督管理局" in text
    assert "经营者 张*" in text
    assert "法定代表人" not in text
    assert "登记管理部门 市场监督管理部门（原工商行政管理部门）" in text
    [penalty] = _profile(client, entity.uscc)["penalties"]
    assert penalty["source_unit"] == "成都市市场监督管理局"


def test_home_and_lists_index_show_three_groups(client):
    home = client.get("/").get_data(as_text=True)
    for title in ("严重失信主体名单", "经营异常名录", "守信激励名单"):
        assert f">{title}</h2>" in home
    assert ">失信名单</h2>" not in home
