"""The intake forms in a real headless Chromium with JavaScript switched off: from the
entity page to a filed objection and its status, and a complaint."""

from __future__ import annotations

import pytest

from tests.browser import conftest as browser_fixtures

pytestmark = pytest.mark.browser

live_server = browser_fixtures.live_server


@pytest.fixture
def tab(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_objection_and_complaint_without_javascript(tab, write_record):
    record = write_record()
    tab.goto(f"/entities/{record['uscc']}")
    tab.locator("main").get_by_role("link", name="提出异议申诉").click()
    tab.get_by_label(f"行政处罚 {record['decision_number']}", exact=False).check()
    tab.get_by_label("异议理由", exact=False).fill("罚款金额与决定书不一致")
    tab.get_by_label("联系方式", exact=False).fill("13800000000")
    tab.get_by_role("button", name="提交异议").click()
    receipt = tab.locator("#receipt code").inner_text()
    assert receipt.startswith("YY-")
    assert "/objections/new" in tab.url
    assert receipt not in tab.url

    tab.get_by_role("link", name="查询异议办理进度").click()
    tab.get_by_label("回执号").fill(receipt.lower())
    tab.get_by_role("button", name="查询").click()
    assert tab.locator("#status").inner_text().startswith("处理中")
    assert receipt not in tab.url

    tab.goto(f"/entities/{record['uscc']}")
    tab.locator("main").get_by_role("link", name="举报投诉").click()  # not the menu's
    tab.get_by_label("举报类型").select_option("trademark")
    tab.get_by_label("举报内容", exact=False).fill("门店销售假冒商标的运动鞋")
    tab.get_by_role("button", name="提交举报").click()
    complaint = tab.locator("#receipt code").inner_text()
    assert complaint.startswith("JB-")
    tab.get_by_role("link", name="查询举报办理进度").click()
    tab.get_by_label("回执号").fill(complaint)
    tab.get_by_role("button", name="查询").click()
    assert tab.locator("#status").inner_text() == "已收到，待受理"
