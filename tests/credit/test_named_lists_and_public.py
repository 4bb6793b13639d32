"""Red lists named by authorities from files (`lists import`), the dry run's grade
changes, and what the public pages show: red-list membership, the grade only if public."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from registry.core.models import AuditEntry
from registry.core.runtime import Runtime
from registry.evaluation.runs import evaluate_now
from registry.lists.models import ListEntry
from tests.api.factories import ApiFactory
from tests.conftest import Invoke, make_config
from tests.rows import entries_where


@pytest.fixture
def invoke(rt, database_url, organs_name_red_lists) -> Invoke:
    """The CLI with a pack in which the tests' authorities may name tax and customs
    red lists (the default pack names no such authority)."""
    cli = Invoke(database_url)
    cli.env["REGISTRY_RULES_PACKS"] = str(organs_name_red_lists)
    return cli


def named(rt, list_type):
    return entries_where(rt, ListEntry.list_type == list_type)


def test_import_a_csv_with_per_line_errors_then_again_changes_nothing(
    rt, invoke, tmp_path, factory: ApiFactory, authority
):
    good, other = factory.uscc(), factory.uscc()
    path = tmp_path / "tax_a.csv"
    path.write_text(
        "统一社会信用代码,名称,起始日期,截止日期,依据\n"
        f"{good},深圳市诚信贸易有限公司,2026-04-01,2027-03-31,国家税务总局深圳市税务局2025年度纳税信用A级公告\n"
        f"{other},,2026-04-01,,同上\n"
        "91440300X,坏代码公司,2026-04-01,2027-03-31,同上\n"
        f"{good[:-1]}0,校验位错,2026-04-01,2027-03-31,同上\n"
        f"{factory.uscc()},日期错,2026-13-01,2027-03-31,同上\n"
        f"{factory.uscc()},无依据,2026-04-01,2027-03-31,\n",
        encoding="utf-8",
    )
    result = invoke("lists", "import", str(path), "--list-type", "tax_a", "--authority", authority)
    assert result.exit_code == 1, result.output
    assert f"{path}: tax_a: 新增 2，更新 0，未变 0，拒收 4" in result.output
    lines = [line for line in result.output.splitlines() if ": 第 " in line]
    assert [line.split(": 第 ")[1].split(" 行")[0] for line in lines] == ["4", "5", "6", "7"]
    assert "第 4 行：uscc：" in lines[0]
    assert "第 6 行：since：" in lines[2]
    assert "第 7 行：basis：" in lines[3]
    entries = named(rt, "tax_a")
    assert [(e.uscc, e.since, e.until, e.authority_uscc) for e in entries] == [
        (good, date(2026, 4, 1), date(2027, 3, 31), authority),
        (other, date(2026, 4, 1), date(2027, 4, 1), authority),  # the list's 12-month term
    ]
    again = invoke("lists", "import", str(path), "--list-type", "tax_a", "--authority", authority)
    assert "新增 0，更新 0，未变 2，拒收 4" in again.output
    assert len(named(rt, "tax_a")) == 2
    with rt.sessions() as s:
        audited = s.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "list_entry.activated")
        ).scalar_one()
    assert audited == 2


def test_import_jsonl_and_fatal_errors(rt, invoke, tmp_path, factory: ApiFactory, authority):
    code = factory.uscc()
    path = tmp_path / "aeo.jsonl"
    path.write_text(
        json.dumps({"uscc": code, "basis": "AEOCN4403000001", "since": "2026-01-01"}) + "\n"
        "{not json\n" + json.dumps({"uscc": code, "basis": "x", "colour": "red"}) + "\n",
        encoding="utf-8",
    )
    result = invoke(
        "lists", "import", str(path), "--list-type", "customs_aeo", "--authority", authority
    )
    assert result.exit_code == 1
    assert "新增 1，更新 0，未变 0，拒收 2" in result.output
    assert "第 2 行：整行：不是有效的JSON" in result.output
    assert "第 3 行：colour：未知字段" in result.output
    [entry] = named(rt, "customs_aeo")
    assert (entry.since, entry.until, entry.authority_uscc) == (
        date(2026, 1, 1),
        date(2029, 1, 1),
        authority,
    )
    refused = invoke(
        "lists", "import", str(path), "--list-type", "samr_serious", "--authority", authority
    )
    assert refused.exit_code == 2
    assert "不是由认定机关命名的守信激励名单" in refused.output
    header = tmp_path / "bad.csv"
    header.write_text("code,since\n1,2\n", encoding="utf-8")
    no_code = invoke(
        "lists", "import", str(header), "--list-type", "tax_a", "--authority", authority
    )
    assert no_code.exit_code == 1  # the file is refused, not the command line
    assert "统一社会信用代码" in no_code.output


def test_dry_run_counts_grade_changes(rt, invoke, factory: ApiFactory, authority):
    entity = factory.entity()
    factory.penalty(entity.uscc, authority, decided_on=date(2026, 10, 1))
    factory.penalty(entity.uscc, authority, decided_on=date(2026, 11, 1))
    factory.commit()
    result = invoke("evaluate", "--dry-run", entity.uscc)
    assert result.exit_code == 0, result.output
    assert "Grade changes (entities): -→C 1" in result.output
    evaluate_now(rt, [entity.uscc])
    after = invoke("evaluate", "--dry-run", entity.uscc)
    assert "No grade would change." in after.output


def test_entity_page_shows_red_lists_and_hides_the_grade(
    rt, client, factory: ApiFactory, authority
):
    entity = factory.entity()
    factory.penalty(entity.uscc, authority, decided_on=date(2022, 3, 1))
    factory.commit()
    evaluate_now(rt, [entity.uscc])
    page = client.get(f"/entities/{entity.uscc}").get_data(as_text=True)
    assert "守信激励名单（信用等级A级且三年内无行政处罚）" in page
    assert "信用等级：" not in page
    listing = client.get("/lists/a_grade_clean").get_data(as_text=True)
    assert entity.name in listing
    assert "守信激励名单：" in listing
    index = client.get("/lists").get_data(as_text=True)
    # issue 20: the index groups lists (严重失信主体名单, 经营异常名录, 守信激励名单)
    assert index.index(">守信激励名单</h2>") < index.index("纳税信用A级纳税人</a>")
    assert index.index(">经营异常名录</h2>") < index.index(">守信激励名单</h2>")
    api = client.get(f"/api/v1/public/entities/{entity.uscc}").json
    assert "a_grade_clean" in {item["list_type"] for item in api["lists"]}
    assert "grade" not in api
    assert "信用风险" not in json.dumps(api, ensure_ascii=False)


def test_entity_page_shows_the_grade_when_the_pack_says_so(
    rt, make_client, public_grade_pack, factory: ApiFactory, authority
):
    entity = factory.entity()
    factory.penalty(entity.uscc, authority, decided_on=date(2026, 10, 1))
    factory.commit()
    public = make_client(rules={"packs": [str(public_grade_pack)]})
    custom = Runtime(make_config(rt.config.database.url, rules={"packs": [str(public_grade_pack)]}))
    try:
        evaluate_now(custom, [entity.uscc])
    finally:
        custom.dispose()
    page = public.get(f"/entities/{entity.uscc}").get_data(as_text=True)
    assert 'data-grade="B"' in page
    assert "信用风险一般（B类）" in page
    assert "未列入守信激励名单。" in page


def test_import_jsonl_line_with_an_overlong_number_is_rejected_not_fatal(
    rt, invoke, tmp_path, factory: ApiFactory, authority
):
    # json.loads rejects a 5000-digit integer with a plain ValueError (no .msg): the
    # line is reported like any other bad JSON and the good line still goes in.
    code = factory.uscc()
    path = tmp_path / "aeo.jsonl"
    path.write_text(
        json.dumps({"uscc": code, "basis": "AEOCN4403000002", "since": "2026-01-01"}) + "\n"
        '{"uscc": ' + "9" * 5000 + "}\n",
        encoding="utf-8",
    )
    result = invoke(
        "lists", "import", str(path), "--list-type", "customs_aeo", "--authority", authority
    )
    assert result.exit_code == 1
    assert "新增 1，更新 0，未变 0，拒收 1" in result.output
    assert "第 2 行：整行：不是有效的JSON：数字的位数过多" in result.output
    assert [e.uscc for e in named(rt, "customs_aeo")] == [code]
