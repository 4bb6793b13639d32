"""The operator dashboard in headless Chromium: log in with a token, see the charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from registry.core.tokens import create_token
from registry.records.models import ImportBatch
from tests.browser.conftest import shot
from tests.web.factories import TODAY

pytestmark = pytest.mark.browser


def test_login_see_figures_and_log_out(page, session, factory, backend):
    authority = factory.authority_code()
    for n, division in enumerate(("440305", "310115", "330106", "110108")):
        entity = factory.entity(f"测试{n}号商贸有限公司", factory.uscc(division))
        for months in range(n + 1):
            factory.penalty(
                entity.uscc,
                authority_uscc=authority,
                decided_on=TODAY - timedelta(days=30 * months + 3),
            )
        factory.list_entry(entity.uscc, "samr_serious", status="proposed" if n % 2 else "active")
    for day in range(5):
        session.add(
            ImportBatch(
                source=f"batch-{day}.csv",
                format="csv",
                actor="test",
                status="done",
                accepted=20 + day * 5,
                updated=day,
                rejected=day,
                rejection_reasons={"decided_on: 日期格式错误": day, "uscc: 第18位校验码错误": 1},
                started_at=datetime(2026, 11, 20 + day, 2, tzinfo=UTC),
            )
        )
    secret = create_token(session, role="admin", name="运维", authority=None, actor="test")
    session.commit()

    page.goto("/dashboard")
    page.wait_for_url(re.compile(r"/dashboard/login(\?.*)?$"))
    page.get_by_label("API 令牌（管理员或监管部门）").fill(secret)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/dashboard/?$"))
    shot(page, f"dashboard-{backend}")
    assert page.get_by_role("heading", name="运行看板").is_visible()
    assert page.locator("svg.chart").count() >= 4
    assert page.locator("svg.chart text", has_text="日期格式错误").is_visible()
    assert page.dialogs == []
    assert page.console_errors == []

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/dashboard/login$"))
    page.goto("/dashboard")
    page.wait_for_url(re.compile(r"/dashboard/login(\?.*)?$"))
