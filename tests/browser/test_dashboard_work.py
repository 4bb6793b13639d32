"""The dashboard as a place to work (issue 21), in headless Chromium: a regulator
confirms 2,000 proposals with one reason from the queue, answers an objection, moves a
complaint on, resolves an alert, approves a repair and downloads an import's rejection
report; an administrator routes a complaint and sees every authority by name.

Screenshots of each page at 1280, 1024 and 390 px go to test-artifacts/screenshots/ and,
when it exists, /work/notes/screens/desk/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry.core.models import AuditEntry
from registry.intake.models import Complaint, Objection
from registry.lists.models import ListEntry, Repair
from registry.supervision.models import CaseTransfer
from tests.api.factories import ApiFactory
from tests.browser.conftest import shot
from tests.web import work

pytestmark = pytest.mark.browser

NOTES = Path("/work/notes/screens/desk")
AUTHORITY_NAME = "深圳市市场监督管理局"


@pytest.fixture
def factory(session) -> ApiFactory:
    return ApiFactory(session, seed=21)


#: The elements sticking out on the right, to name them when a page is too wide.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 6).map(e => e.tagName + '.' + e.className + '#' + e.id + ' '
    + Math.round(e.getBoundingClientRect().right))"""


def _screens(page, name: str, backend: str) -> None:
    """The page at 1280, 1024 (a laptop) and 390 px (a phone), nothing wider than the
    window (a wide table scrolls inside its own box)."""
    for width in (1280, 1024, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (
            f"{name} is {overflow}px wider than a {width}px window: {page.evaluate(WIDEST)}"
        )
        path = shot(page, f"desk-{name}-{width}-{backend}")
        if NOTES.parent.is_dir() and backend == "postgresql":
            NOTES.mkdir(exist_ok=True)
            (NOTES / f"{name}-{width}.png").write_bytes(path.read_bytes())
    page.set_viewport_size({"width": 1280, "height": 900})


def _login(page, secret: str) -> None:
    page.goto("/dashboard/login")
    page.get_by_label("API 令牌（管理员或监管部门）").fill(secret)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/dashboard/?$"))


def _tab(page, name: str) -> None:
    page.locator("nav.dash-tabs").get_by_role("link", name=name, exact=True).click()


def _fresh(session) -> None:
    """Read what the app committed: a new transaction and no stale objects."""
    session.rollback()
    session.expire_all()


def _count(session, *where) -> int:
    _fresh(session)
    return int(
        session.execute(select(func.count()).select_from(ListEntry).where(*where)).scalar_one()
    )


def test_regulator_confirms_two_thousand_from_the_queue(page, session, factory, backend):
    authority = factory.authority()
    factory.penalty(factory.entity().uscc, authority)  # names the authority
    token = factory.token("regulator", authority, name="深圳市场监管 张科长")
    ids = work.proposals(factory, authority, 2000)
    others = work.proposals(factory, authority, 3, list_type="ip_serious")
    factory.commit()

    _login(page, token.secret)
    _tab(page, "待确认列入")
    page.get_by_label("名单").select_option("samr_serious")
    page.get_by_role("button", name="筛选").click()
    assert page.get_by_text("2000 个待确认条目符合筛选条件").is_visible()
    assert (
        page.locator("table.queue").get_by_text("市场监督管理严重违法失信名单").first.is_visible()
    )
    assert "samr_serious" not in page.locator("table.queue").inner_text()
    _screens(page, "queue", backend)

    page.set_default_timeout(180_000)  # 2,000 decisions and their rules on a busy machine
    page.get_by_label("全部 2000 个符合筛选条件的条目").check()
    page.get_by_label("理由（所有条目共用；不予列入时必填）").fill("告知期满，当事人未提出陈述申辩")
    page.get_by_role("button", name="确认列入").click()
    page.wait_for_load_state()
    assert page.get_by_text("已确认列入 2000 个名单条目。").is_visible()
    assert page.get_by_text("没有符合条件的待确认条目。").is_visible()
    assert _count(session, ListEntry.id.in_(ids), ListEntry.status == "active") == 2000
    assert _count(session, ListEntry.id.in_(others), ListEntry.status == "proposed") == 3
    audited = session.execute(
        select(func.count()).where(AuditEntry.action == "list_entry.confirmed")
    ).scalar_one()
    assert audited == 2000

    # The other list's three: the whole page refused at once, no box ticked.
    page.get_by_label("名单").select_option("ip_serious")
    page.get_by_role("button", name="筛选").click()
    page.get_by_label("本页全部 3 个条目").check()
    page.get_by_label("理由（所有条目共用；不予列入时必填）").fill("当事人已在告知期内纠正")
    page.get_by_role("button", name="不予列入").click()
    page.wait_for_load_state()
    assert page.get_by_text("已不予列入 3 个名单条目。").is_visible()
    assert _count(session, ListEntry.id.in_(others), ListEntry.status == "rejected") == 3
    assert page.dialogs == []
    assert page.console_errors == []


def test_regulator_answers_objection_moves_complaint_resolves_alert_approves_repair(
    page, session, factory, backend
):
    authority = factory.authority()
    token = factory.token("regulator", authority, name="深圳市场监管 李科员")
    objection = work.objection(factory, authority, overdue=True)
    complaint = work.complaint(factory, authority)
    alert = work.alert(factory, authority)
    repair = work.repair(factory, authority)
    batch = work.import_batch(factory, authority)
    factory.commit()
    _login(page, token.secret)

    _tab(page, "异议")
    item = page.locator(f"#objection-{objection.id}")
    assert item.get_by_text("（已逾期）").is_visible()
    _screens(page, "objections", backend)
    item.get_by_role("radio", name="不予采纳").check()
    item.get_by_label("答复理由（撤销、不予采纳时必填）").fill(
        "经复核，决定书载明罚款5万元，公示无误。"
    )
    item.get_by_role("button", name="提交答复").click()
    assert page.get_by_text(f"异议 {objection.id} 已答复：不予采纳。").is_visible()
    _fresh(session)
    answered = session.get(Objection, objection.id)
    assert (answered.status, answered.outcome) == ("answered", "rejected")

    _tab(page, "举报")
    item = page.locator(f"#complaint-{complaint.id}")
    assert item.get_by_text("假冒伪劣商品").is_visible()
    _screens(page, "complaints", backend)
    item.get_by_role("button", name="受理").click()
    assert page.get_by_text(f"举报 {complaint.id} 已受理。").is_visible()
    item = page.locator(f"#complaint-{complaint.id}")
    item.get_by_label("说明（办结时必填：处理结果）").fill("经查属实，已立案查处。")
    item.get_by_role("button", name="办结").click()
    assert page.get_by_text(f"举报 {complaint.id} 已办结。").is_visible()
    _fresh(session)
    assert session.get(Complaint, complaint.id).status == "closed"

    _tab(page, "预警")
    item = page.locator(f"#alert-{alert.id}")
    assert item.get_by_text("涉嫌犯罪案件移送审查提示").is_visible()
    assert "criminal-transfer-check" not in page.content()
    _screens(page, "alerts", backend)
    item.get_by_role("radio", name="已移送公安机关").check()
    item.get_by_label("接受移送的公安机关").fill("深圳市公安局南山分局")
    item.get_by_label("案件编号").fill("深公南刑〔2026〕88号")
    item.get_by_role("button", name="提交").click()
    assert page.get_by_text(f"预警 {alert.id} 已处理：已记录移送。").is_visible()
    _fresh(session)
    transfer = session.execute(select(CaseTransfer)).scalar_one()
    assert transfer.police_unit == "深圳市公安局南山分局"

    _tab(page, "信用修复")
    _screens(page, "repairs", backend)
    page.locator(f"#repair-{repair.id}").get_by_role("button", name="批准修复").click()
    assert page.get_by_text(f"信用修复申请 {repair.id}：批准修复。").is_visible()
    _fresh(session)
    assert session.get(Repair, repair.id).status == "approved"

    _tab(page, "导入")
    assert page.get_by_role("cell", name="2026年11月处罚决定.csv").is_visible()
    assert "tmpab12cd" not in page.locator("table").inner_text()
    _screens(page, "imports", backend)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="下载报告").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".csv")
    body = Path(download.path()).read_bytes()
    assert body == work.REPORT.encode("utf-8")
    assert body.decode("utf-8").startswith("\ufeff")
    assert f"批次{batch}" in download.suggested_filename or download.suggested_filename
    page.goto("/dashboard")
    _screens(page, "overview", backend)
    assert page.dialogs == []
    assert page.console_errors == []


def test_admin_routes_a_complaint_and_sees_authorities_by_name(page, session, factory, backend):
    authority = factory.authority()
    factory.penalty(factory.entity().uscc, authority)  # the authority's name: its records'
    work.proposals(factory, authority, 3)
    complaint = work.complaint(factory, None)
    admin = factory.token("admin", None, name="平台管理员")
    factory.commit()
    _login(page, admin.secret)

    _tab(page, "待确认列入")
    assert page.get_by_role("cell", name=AUTHORITY_NAME).first.is_visible()
    assert page.get_by_role("button", name="确认列入").count() == 0
    _screens(page, "queue-admin", backend)

    _tab(page, "举报")
    item = page.locator(f"#complaint-{complaint.id}")
    assert item.get_by_text("处理机关：未分派").is_visible()
    _screens(page, "complaints-admin", backend)
    item.get_by_label("分派给").select_option(label=AUTHORITY_NAME)
    item.get_by_role("button", name="分派").click()
    assert page.get_by_text(f"举报 {complaint.id} 已分派给{AUTHORITY_NAME}。").is_visible()
    _fresh(session)
    assert session.get(Complaint, complaint.id).authority_uscc == authority
    assert page.dialogs == []
