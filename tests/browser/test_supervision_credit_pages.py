"""What a visitor sees of supervision and credit in headless Chromium: the published
inspection tasks and their results (never an unpublished one), an entity's quality
commitment, inspection result and red list (once), the grade kept from the public, the
way to the objection and complaint forms — with no console error, no CSP violation and
the Chinese text drawn in a CJK font."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from registry.evaluation.models import CreditGrade
from registry.supervision.commitments import record_commitment
from registry.supervision.inspections import (
    create_task,
    draw_task,
    enter_result,
    publish_task,
    set_pool,
)
from tests.browser.conftest import shot
from tests.web.factories import TODAY, WebFactory

pytestmark = pytest.mark.browser

PUBLISHED = "2026年第四季度食品生产企业双随机抽查"
UNPUBLISHED = "2026年第四季度药房专项抽查"
BUREAU = "深圳市南山区市场监督管理局"
FOOD = "深圳市南山鲜味食品有限公司"
RED = "海关高级认证企业"
FINDINGS = "冷库温度记录不全，已当场责令改正"
POOL = [
    {"code": "44030500101", "name": "李明", "region": "440305"},
    {"code": "44030500102", "name": "陈芳", "region": "440305"},
]
ALL = {"A": "1", "B": "1", "C": "1", "D": "1"}

#: Records every CSP violation the page reports (an init script runs before the page's
#: own code and is not itself subject to the page's CSP).
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def _task(session, rt, authority: str, title: str, keyword: str) -> int:
    task = create_task(
        session,
        rt.config.supervision,
        authority,
        "test",
        title=title,
        authority_name=BUREAU,
        scope={"name_keywords": [keyword]},
        ratios=ALL,
    )
    set_pool(session, task.id, authority, "test", POOL)
    draw_task(session, task.id, authority, "test", f"seed-{keyword}")
    return task.id


@pytest.fixture
def world(session, rt, factory: WebFactory) -> dict[str, Any]:
    authority = factory.authority_code()
    food = factory.entity(FOOD)
    other = factory.entity("深圳市南山好味食品有限公司")
    pharmacy = factory.entity("深圳市南山康宁药房有限公司")
    factory.list_entry(food.uscc, "customs_aeo", since=TODAY - timedelta(days=90))
    session.add(
        CreditGrade(
            uscc=food.uscc,
            grade="A",
            since=date(2026, 1, 1),
            until=None,
            pack_version="test",
            explanation={},
        )
    )
    record_commitment(
        session,
        None,
        "test",
        uscc=food.uscc,
        products="速冻水饺、汤圆",
        standard="GB 19295-2021",
        statement="严格按照食品安全国家标准组织生产，不添加非食用物质。",
        made_on=TODAY - timedelta(days=120),
    )
    published = _task(session, rt, authority, PUBLISHED, "食品")
    enter_result(
        session,
        published,
        authority,
        "test",
        uscc=food.uscc,
        outcome="corrected",
        findings=FINDINGS,
        inspected_on=TODAY,
    )
    enter_result(
        session,
        published,
        authority,
        "test",
        uscc=other.uscc,
        outcome="no_problem",
        findings=None,
        inspected_on=TODAY,
    )
    publish_task(session, published, authority, "test")
    hidden = _task(session, rt, authority, UNPUBLISHED, "药房")
    enter_result(
        session,
        hidden,
        authority,
        "test",
        uscc=pharmacy.uscc,
        outcome="refused",
        findings="拒绝检查",
        inspected_on=TODAY,
    )
    session.commit()
    return {"food": food.uscc, "pharmacy": pharmacy.uscc, "published": published, "hidden": hidden}


@pytest.fixture
def tab(page):
    page.add_init_script(CSP_WATCH)
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
    return page


def assert_clean(tab) -> None:
    """No console error, no script error, no CSP violation, no dialog on this page."""
    assert tab.evaluate("window.__csp") == []
    assert tab.console_errors == []
    assert tab.page_errors == []
    assert tab.dialogs == []


def assert_cjk_text(tab, selector: str = "h1") -> None:
    """The text of ``selector`` is drawn with a CJK font the machine has (no tofu)."""
    family = tab.eval_on_selector(selector, "e => getComputedStyle(e).fontFamily")
    assert family.startswith('"Noto Sans CJK SC"'), family
    cdp = tab.context.new_cdp_session(tab)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()
    used = {f["familyName"]: f["glyphCount"] for f in fonts}
    text = tab.inner_text(selector)
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    assert sum(n for name, n in used.items() if "CJK" in name) >= cjk > 0, used


def screenshot_is_not_blank(tab, name: str) -> None:
    path = shot(tab, name)
    assert path.stat().st_size > 10_000, path


def test_published_tasks_and_results_unpublished_never(tab, world, backend):
    tab.goto("/")
    tab.get_by_role("navigation", name="主导航").get_by_role("link", name="双随机抽查").click()
    tab.wait_for_url("**/inspections")
    assert tab.title() == "双随机抽查公示 - 信用信息公示查询"
    main = tab.locator("main")
    assert "共 1 项已公示的抽查任务" in main.inner_text()
    assert UNPUBLISHED not in tab.content()
    assert_cjk_text(tab)
    screenshot_is_not_blank(tab, f"inspections-{backend}")
    assert_clean(tab)

    tab.get_by_role("link", name=PUBLISHED).click()
    tab.wait_for_url(f"**/inspections/{world['published']}")
    assert tab.title() == f"{PUBLISHED} - 信用信息公示查询"
    row = tab.locator("#items-title ~ div table tbody tr", has_text=FOOD)
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[1:3] == [FOOD, world["food"]]
    assert set(cells[3].split("、")) <= {"李明", "陈芳"}
    assert cells[3]
    assert cells[4:] == ["2026年11月29日", "发现问题，已责令改正", FINDINGS]
    assert "seed-食品" in main.inner_text()  # the seed is public: anyone can re-run the draw
    assert "康宁药房" not in main.inner_text()
    screenshot_is_not_blank(tab, f"inspection-{backend}")
    assert_clean(tab)

    response = tab.goto(f"/inspections/{world['hidden']}")
    assert response.status == 404
    assert tab.title() == "抽查任务不存在 - 信用信息公示查询"
    assert UNPUBLISHED not in tab.content()
    # the only console message: Chromium noting the 404 status of the page itself
    assert tab.console_errors == [
        "Failed to load resource: the server responded with a status of 404 (NOT FOUND)"
    ]
    tab.console_errors.clear()
    assert_clean(tab)


def test_entity_page_supervision_red_list_and_the_way_to_object(tab, world, backend):
    tab.goto(f"/inspections/{world['published']}")
    tab.locator("main").get_by_role("link", name=FOOD).click()
    tab.wait_for_url(f"**/entities/{world['food']}")
    assert tab.title() == f"{FOOD} - 信用信息公示查询"
    main = tab.locator("main")

    supervision = tab.locator("section", has=tab.locator("#supervision-title"))
    text = supervision.inner_text()
    assert "速冻水饺、汤圆" in text
    assert "GB 19295-2021" in text
    result = supervision.locator("tbody tr")
    assert result.count() == 1
    assert result.locator("td").all_inner_texts() == [
        PUBLISHED,
        BUREAU,
        "2026年11月29日",
        "发现问题，已责令改正",
        FINDINGS,
    ]

    # issue 20: the lists in three groups (严重失信主体名单, 经营异常名录, 守信激励名单)
    red = tab.locator("section", has=tab.locator("#group-incentive"))
    assert red.get_by_role("heading", level=2).inner_text() == "守信激励名单"
    assert red.get_by_role("link", name=RED).is_visible()
    # one entry card, not also in the dishonesty group
    assert main.get_by_role("link", name=RED, exact=True).count() == 1
    dishonesty = tab.locator("section", has=tab.locator("#group-serious"))
    assert dishonesty.inner_text().endswith("未列入严重失信主体名单。")
    # graded A on record, but the default pack keeps grades from the public
    assert "信用等级" not in main.inner_text()
    assert tab.locator("[data-grade]").count() == 0
    assert_cjk_text(tab)
    assert_cjk_text(tab, "#group-incentive")
    screenshot_is_not_blank(tab, f"entity-supervision-{backend}")
    assert_clean(tab)

    main.get_by_role("link", name="提出异议申诉").click()
    tab.wait_for_url(f"**/objections/new?uscc={world['food']}")
    assert tab.title() == "提出异议申诉 - 信用信息公示查询"
    assert tab.get_by_role("button", name="提交异议").is_visible()
    assert_clean(tab)

    tab.get_by_role("navigation", name="主导航").get_by_role("link", name="举报投诉").click()
    tab.wait_for_url("**/complaints/new")
    assert tab.get_by_role("heading", level=1).inner_text() == "举报投诉侵权假冒行为"
    assert_clean(tab)

    tab.goto("/")
    red_lists = tab.locator("section", has=tab.locator("#group-incentive"))
    red_lists.get_by_role("link", name=RED).click()
    tab.wait_for_url("**/lists/customs_aeo")
    assert tab.title() == f"{RED} - 信用信息公示查询"
    assert tab.locator("main").get_by_role("link", name=FOOD).is_visible()
    assert_clean(tab)

    tab.goto(f"/entities/{world['pharmacy']}")
    assert "暂无已公示的抽查检查结果。" in tab.locator("main").inner_text()
    assert "拒绝检查" not in tab.content()
    assert_clean(tab)


def test_the_watch_catches_a_csp_violation(tab, world):
    """The CSP check above can fail: an image from another origin, which the policy
    forbids, is reported."""
    tab.goto("/inspections")
    tab.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=\"https://x.invalid/a.png\">')"
    )
    tab.wait_for_function("window.__csp.length > 0")
    assert tab.evaluate("window.__csp")[0].startswith("img-src")
