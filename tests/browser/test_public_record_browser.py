"""Issue 20 in headless Chromium: a listed entity's page answers who listed it, why
(the decision, one click away), under which article, what follows and until when; a
list sorted, filtered and downloaded; a code found by a middle fragment; the credit
report printed, as PDF read back, and verified — a tampered code failing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from registry.intake.models import Objection
from tests.browser.conftest import shot
from tests.web.factories import TODAY

pytestmark = pytest.mark.browser


@pytest.fixture
def world(session, factory):
    authority = factory.authority_code()
    listed = factory.entity("深圳市华鑫科技有限公司", factory.uscc("440305"))
    penalty = factory.penalty(
        listed.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕88号",
        violation_type="销售侵犯注册商标专用权商品",
        severity="serious",
        categories=("罚款", "吊销许可证件"),
        fine_wan="120",
        decided_on=TODAY - timedelta(days=130),
    )
    entry = factory.list_entry(listed.uscc, authority_uscc=authority)
    entry.basis_penalty_ids = [penalty.id]
    entry.early_removal_from = TODAY + timedelta(days=265)
    session.add(
        Objection(
            receipt_hash="b" * 64,
            uscc=listed.uscc,
            list_entry_id=entry.id,
            authority_uscc=authority,
            contact="13800000000",
            statement="已改正",
            status="open",
            filed_on=TODAY,
            due_on=TODAY + timedelta(days=15),
        )
    )
    hangzhou = factory.entity("杭州阿里测试贸易有限公司", factory.uscc("330106"))
    factory.list_entry(hangzhou.uscc, since=TODAY - timedelta(days=400))
    # enough entries for a second page of the list (50 a page)
    for n in range(50):
        other = factory.entity(f"深圳市第{n}号测试有限公司", factory.uscc("440305"))
        factory.list_entry(other.uscc, since=TODAY - timedelta(days=200 + n), record_change=False)
    session.commit()
    return {"listed": listed, "penalty": penalty, "entry": entry, "hangzhou": hangzhou}


def test_a_listed_entity_page_answers_who_why_which_article_what_follows_until_when(
    page, world, backend
):
    listed, penalty = world["listed"], world["penalty"]
    page.goto(f"/entities/{listed.uscc}")
    entry = page.locator(f"#entry-{world['entry'].id}")
    assert entry.locator(".entry-authority").inner_text() == "深圳市市场监督管理局"
    assert "总局令第44号" in entry.locator(".entry-basis").inner_text()
    measures = entry.locator(".entry-measures li").all_inner_texts()
    assert "限制参加政府采购活动（财政部门）" in measures
    assert "至" in entry.locator(".entry-term").inner_text()
    assert "提前移出（信用修复）" in entry.locator(".entry-ends").inner_text()
    assert entry.get_by_text("异议处理中").is_visible()
    # the full public record of the penalty
    card = page.locator(f"#penalty-{penalty.id}")
    for label in ("违法事实", "处罚依据", "数据来源", "法定代表人"):
        assert card.get_by_text(label, exact=True).is_visible(), label
    # three groups, and the data's time
    headings = page.locator("section.list-group h2").all_inner_texts()
    assert headings == ["严重失信主体名单", "经营异常名录", "守信激励名单"]
    assert "数据更新时间" in page.locator(".data-time").inner_text()
    shot(page, f"public-entity-{backend}")
    # why: one click to the decision behind the entry
    entry.get_by_role("link", name="深市监罚〔2026〕88号").click()
    page.wait_for_url(re.compile(rf"#penalty-{penalty.id}$"))
    # the objection link names the entry
    link = entry.get_by_role("link", name="提出异议")
    link.click()
    page.wait_for_url(re.compile(r"/objections/new\?"))
    chosen = page.locator(f"input[name=target][value='list_entry:{world['entry'].id}']")
    assert chosen.is_checked()
    page.go_back()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/entities/{listed.uscc}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the entity page scrolls sideways on a phone"
    assert page.dialogs == []


def test_a_list_is_sorted_filtered_paged_and_downloaded(page, world, backend):
    page.goto("/lists/samr_serious")
    assert "共 52 个主体在列" in page.get_by_role("status").inner_text()
    assert page.get_by_role("link", name=re.compile("末页")).is_visible()
    page.get_by_label("地区", exact=True).select_option(label="浙江省")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"region=33"))
    rows = page.locator("table.list-table tbody tr")
    assert rows.count() == 1
    assert "杭州阿里测试贸易有限公司" in rows.first.inner_text()
    page.goto("/lists/samr_serious")
    page.get_by_label("排序", exact=True).select_option("name")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"sort=name"))
    first = page.locator("table.list-table tbody tr").first.inner_text()
    assert first.startswith("杭州阿里测试贸易有限公司")  # hang… before shen… in pinyin
    page.get_by_role("link", name=re.compile("末页")).click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.get_by_role("link", name="首页").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("下载 CSV")).click()
    data = download.value.path().read_bytes()
    assert data.startswith("\ufeff名称,统一社会信用代码".encode())
    shot(page, f"public-list-{backend}")


def test_a_middle_fragment_of_a_code_finds_the_entity(page, world):
    code = world["listed"].uscc
    page.goto("/")
    page.get_by_label("统一社会信用代码或名称").fill(code[7:14])
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"/search\?q="))
    assert code in page.locator("ol.results").inner_text()


def test_the_report_prints_renders_as_pdf_and_verifies(page, world, backend):
    from pypdf import PdfReader

    listed = world["listed"]
    page.goto(f"/entities/{listed.uscc}/report")
    number = page.locator(".report-number").inner_text()
    code = page.locator(".report-code").inner_text()
    assert re.fullmatch(rf"XYBG-{TODAY:%Y%m%d}-{listed.uscc}-\d{{3}}", number)
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    shot(page, f"public-report-{backend}")
    page.emulate_media(media="screen")

    pdf = page.request.get(f"/entities/{listed.uscc}/report.pdf")
    assert pdf.ok
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.body()))
    text = "".join(p.extract_text() for p in reader.pages)
    for fact in ("信用报告", "深圳市华鑫科技有限公司", "深市监罚〔2026〕88号", number, code):
        assert fact in text, fact

    page.goto("/reports/verify")
    page.get_by_label("报告编号").fill(number)
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="核验").click()
    result = page.locator(".verify-result")
    assert "报告真实" in result.inner_text()
    assert "目前仍然有效" in result.inner_text()
    shot(page, f"public-verify-{backend}")

    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.get_by_label("验证码").fill(tampered)
    page.get_by_role("button", name="核验").click()
    assert "核验未通过" in page.locator(".verify-result").inner_text()
    assert page.dialogs == []
