"""The public pages in headless Chromium: search, the entity page in two clicks, the
report in print media, a phone-sized screen, and markup in a name staying text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from registry.records.models import Entity
from tests.browser.conftest import shot
from tests.web.factories import TODAY

pytestmark = pytest.mark.browser


@pytest.fixture
def data(session, factory) -> dict[str, Entity]:
    authority = factory.authority_code()
    listed = factory.entity("深圳市华鑫科技有限公司", factory.uscc("440305"))
    factory.penalty(
        listed.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕88号",
        categories=("罚款", "没收违法所得"),
        fine_wan="12.5",
        confiscated_wan="3",
        decided_on=TODAY - timedelta(days=40),
        violation_type="销售侵犯注册商标专用权商品",
        repairable=True,
        repair_allowed_from=TODAY + timedelta(days=325),
    )
    factory.penalty(
        listed.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕99号",
        status="revoked",
        revoked_on=TODAY - timedelta(days=1),
    )
    factory.list_entry(listed.uscc, "samr_serious", since=TODAY - timedelta(days=30))
    factory.entity("深圳市华鑫物流有限公司", factory.uscc("440305"))
    xss = factory.entity("<script>alert(1)</script>恶意名称有限公司", factory.uscc("110105"))
    factory.penalty(xss.uscc, authority_uscc=authority, party_name=xss.name)
    session.commit()
    return {"listed": listed, "xss": xss}


def test_search_by_name_then_open_the_entity_in_two_clicks(page, data, backend):
    listed = data["listed"]
    page.goto("/")
    assert page.title() == "信用信息公示查询"
    shot(page, f"home-{backend}")

    page.get_by_label("统一社会信用代码或名称").fill("华鑫科技")
    page.get_by_role("button", name="查询").click()  # click 1
    page.wait_for_url(re.compile(r"/search\?q="))
    results = page.locator("ol.results > li")
    assert results.count() == 1
    assert page.locator("mark").first.inner_text() == "华鑫科技"
    shot(page, f"search-name-{backend}")

    page.get_by_role("link", name="深圳市华鑫科技有限公司").click()  # click 2
    page.wait_for_url(f"**/entities/{listed.uscc}")
    assert page.get_by_role("heading", level=1).inner_text() == "深圳市华鑫科技有限公司"
    body = page.locator("main").inner_text()
    assert listed.uscc in body
    assert "广东省深圳市南山区" in body
    assert "市场监督管理严重违法失信名单" in body
    assert "深市监罚〔2026〕88号" in body
    assert "12.5 万元" in body
    assert "深市监罚〔2026〕99号" not in body  # revoked
    assert "110105" not in body
    shot(page, f"entity-{backend}")
    assert page.dialogs == []


def test_search_by_code_with_the_keyboard(page, data, backend):
    listed = data["listed"]
    page.goto("/")
    box = page.get_by_label("统一社会信用代码或名称")
    box.fill(listed.uscc[:12].lower())
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    link = page.get_by_role("link", name="深圳市华鑫科技有限公司")
    assert link.count() == 1
    assert listed.uscc[:12] in page.locator("ol.results mark").first.inner_text()
    shot(page, f"search-code-{backend}")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/entities/{listed.uscc}")


def test_a_script_in_a_name_stays_text(page, data, backend):
    xss = data["xss"]
    page.goto("/search?q=恶意")
    page.goto(f"/entities/{xss.uscc}")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "<script>alert(1)</script>恶意名称有限公司"
    assert page.locator("main script").count() == 0
    page.goto(f"/entities/{xss.uscc}/report")
    shot(page, f"xss-entity-{backend}")
    assert page.dialogs == []


def test_malformed_and_unknown_codes(page, backend):
    response = page.goto("/entities/914403001922038217")
    assert response.status == 400
    assert "第18位校验码错误" in page.locator("main").inner_text()
    shot(page, f"malformed-code-{backend}")
    response = page.goto("/entities/914403001922038216")
    assert response.status == 404
    assert "未找到该主体" in page.locator("h1").inner_text()


def test_report_prints_without_navigation(page, data, backend):
    listed = data["listed"]
    page.goto(f"/entities/{listed.uscc}")
    page.get_by_role("link", name="查看可打印的信用报告").click()
    page.wait_for_url(f"**/entities/{listed.uscc}/report")
    assert page.locator(".site-header").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".print-hint").is_visible()
    assert page.get_by_role("heading", name="信用报告").is_visible()
    shot(page, f"report-print-{backend}")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_readable_on_a_phone(page, data, backend):
    listed = data["listed"]
    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (("/", "home"), (f"/entities/{listed.uscc}", "entity")):
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways on a phone"
        shot(page, f"phone-{name}-{backend}")


def test_list_page(page, data, backend):
    page.goto("/")
    page.get_by_role("link", name="市场监督管理严重违法失信名单").first.click()
    page.wait_for_url("**/lists/samr_serious")
    assert "深圳市华鑫科技有限公司" in page.locator("table").inner_text()
    shot(page, f"list-{backend}")


def test_no_console_errors_from_blocked_resources(page, data):
    """The CSP blocks nothing the pages use: no inline style or script to refuse."""
    listed = data["listed"]
    for path in ("/", "/search?q=华鑫", f"/entities/{listed.uscc}", "/lists/samr_serious"):
        page.goto(path)
    assert page.console_errors == []
