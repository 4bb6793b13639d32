"""The public pages through the Flask test client, on both backends."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.web.factories import TODAY

XSS_NAME = "<script>alert(1)</script>恶意名称有限公司"


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def listed(session, factory, authority):
    """An entity on samr_serious with one disclosed and several hidden penalties."""
    entity = factory.entity("深圳市华鑫科技有限公司")
    factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕88号",
        fine_wan="12.5",
        categories=("罚款", "没收违法所得"),
        confiscated_wan="3",
        decided_on=TODAY - timedelta(days=40),
        disclosure_until=TODAY + timedelta(days=325),
        repairable=True,
        repair_allowed_from=TODAY + timedelta(days=50),
    )
    factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕99号撤销",
        status="revoked",
        revoked_on=TODAY - timedelta(days=1),
    )
    factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2025〕7号已过期",
        decided_on=TODAY - timedelta(days=400),
        disclosure_until=TODAY - timedelta(days=35),
    )
    factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕5号轻微",
        disclosure_until=None,
        severity="minor",
    )
    factory.list_entry(entity.uscc, "samr_serious", since=TODAY - timedelta(days=30))
    factory.list_entry(entity.uscc, "ip_serious", status="proposed")
    session.commit()
    return entity


def test_home_has_one_labelled_search_box(client):
    response = client.get("/")
    html = _text(response)
    assert response.status_code == 200
    assert 'lang="zh-CN"' in html
    assert html.count("<form") == 1
    assert '<label for="q">' in html
    assert 'id="q" name="q"' in html
    assert "/lists/samr_serious" in html
    assert "<script" not in html
    assert "style=" not in html


def test_entity_page_shows_the_disclosed_profile(client, listed):
    response = client.get(f"/entities/{listed.uscc}")
    html = _text(response)
    assert response.status_code == 200
    assert "深圳市华鑫科技有限公司" in html
    assert listed.uscc in html
    assert "广东省深圳市南山区" in html
    assert "市场监督管理部门（原工商行政管理部门）" in html
    assert "企业" in html
    assert "市场监督管理严重违法失信名单" in html
    assert "深市监罚〔2026〕88号" in html
    assert "深圳市市场监督管理局" in html
    assert "罚款；没收违法所得" in html
    assert "12.5 万元" in html
    assert "3 万元" in html
    decided = TODAY - timedelta(days=40)
    assert f"{decided.year}年{decided.month}月{decided.day}日" in html
    assert "公示截止日期" in html
    assert "信用修复" in html
    # Hidden records and unconfirmed entries never reach the page.
    for hidden in ("撤销</h3>", "已过期", "轻微</h3>", "知识产权（专利）领域严重失信主体"):
        assert hidden not in html
    assert "深市监罚〔2026〕99号" not in html
    # Personal data: the legal representative is masked, no ID number at all.
    assert "张**" in html
    assert "张三丰" not in html
    assert "110105" not in html


def test_report_page_is_printable(client, listed):
    response = client.get(f"/entities/{listed.uscc}/report")
    html = _text(response)
    assert response.status_code == 200
    assert "信用报告" in html  # issue 20: the report is a numbered 信用报告
    assert "深市监罚〔2026〕88号" in html
    assert "《中华人民共和国广告法》第五十五条" in html  # the full record
    assert "深市监罚〔2026〕99号" not in html
    with client.get("/static/site.css") as css:
        assert "@media print" in css.get_data(as_text=True)


def test_malformed_code_page_says_which_check_failed(client):
    response = client.get("/entities/914403001922038217")
    html = _text(response)
    assert response.status_code == 400
    assert "第18位校验码错误" in html
    assert "校验码检查（第18位）" in html

    short = client.get("/entities/91440300")
    assert short.status_code == 400
    assert "长度检查" in _text(short)
    assert "实际为8位" in _text(short)

    bad_char = client.get("/entities/91440300192203821O")
    assert bad_char.status_code == 400
    assert "第18位字符“O”不允许" in _text(bad_char)


def test_unknown_code_page_is_404(client):
    response = client.get("/entities/914403001922038216")
    assert response.status_code == 404
    assert "未找到该主体" in _text(response)
    assert response.content_type.startswith("text/html")


def test_code_in_another_spelling_redirects_to_the_canonical_page(client, listed):
    response = client.get(f"/entities/{listed.uscc.lower()}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/entities/{listed.uscc}")


def test_search_by_name_fragment_highlights_the_match(client, listed):
    response = client.get("/search", query_string={"q": "华鑫"})
    html = _text(response)
    assert response.status_code == 200
    assert "<mark>华鑫</mark>" in html
    assert f'href="/entities/{listed.uscc}"' in html
    assert "公示中的行政处罚 1 条" in html


@pytest.mark.parametrize("query", ["huaxin", "szshx", "华鑫科技有限责任公司"])
def test_search_by_pinyin_initials_or_other_suffix(client, listed, query):
    html = _text(client.get("/search", query_string={"q": query}))
    assert f'href="/entities/{listed.uscc}"' in html
    assert "<mark>" in html


def test_search_by_code_prefix(client, listed):
    html = _text(client.get("/search", query_string={"q": listed.uscc[:10].lower()}))
    assert f'href="/entities/{listed.uscc}"' in html
    assert f"<mark>{listed.uscc[:10]}</mark>" in html


def test_search_for_a_malformed_full_code_explains(client):
    html = _text(client.get("/search", query_string={"q": "914403001922038217"}))
    assert "不是有效的统一社会信用代码" in html
    assert "第18位校验码错误" in html


def test_search_paginates(client, session, factory):
    for n in range(25):
        factory.entity(f"成都分页{n:02d}餐饮有限公司", factory.uscc("510100"))
    session.commit()
    first = _text(client.get("/search", query_string={"q": "分页"}))
    second = _text(client.get("/search", query_string={"q": "分页", "page": 2}))
    assert "共找到 <strong>25</strong>" in first
    assert first.count('class="result"') == 20
    assert second.count('class="result"') == 5
    past_the_end = _text(client.get("/search", query_string={"q": "分页", "page": 99}))
    assert past_the_end.count('class="result"') == 5
    assert 'rel="next"' in first
    assert 'rel="prev"' in second


def test_a_name_with_markup_stays_text(client, session, factory):
    entity = factory.entity(XSS_NAME)
    session.commit()
    for path in (f"/entities/{entity.uscc}", f"/entities/{entity.uscc}/report"):
        html = _text(client.get(path))
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = _text(client.get("/search", query_string={"q": "恶意"}))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>恶意</mark>" in html
    # The query itself is echoed escaped too.
    html = _text(client.get("/search", query_string={"q": "<script>x</script>"}))
    assert "<script>x</script>" not in html


def test_list_page_shows_confirmed_entries_only(client, session, factory):
    listed = factory.entity("青岛海滨食品有限公司", factory.uscc("370200"))
    proposed = factory.entity("青岛待定食品有限公司", factory.uscc("370200"))
    factory.list_entry(listed.uscc)
    factory.list_entry(proposed.uscc, status="proposed")
    session.commit()
    response = client.get("/lists/samr_serious")
    html = _text(response)
    assert response.status_code == 200
    assert "市场监督管理严重违法失信名单" in html
    assert "青岛海滨食品有限公司" in html
    assert "青岛待定食品有限公司" not in html
    assert "共 <strong>1</strong>" in html
    assert client.get("/lists/no_such_list").status_code == 404


@pytest.mark.parametrize(
    "path", ["/", "/search?q=x", "/entities/914403001922038216", "/lists", "/healthz"]
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]


def test_pages_use_no_inline_script_style_or_foreign_asset(client, listed):
    for path in ("/", "/search?q=%E5%8D%8E", f"/entities/{listed.uscc}", "/lists/samr_serious"):
        html = _text(client.get(path))
        assert "<script" not in html
        assert "<style" not in html
        assert " style=" not in html
        for url in re.findall(r'(?:href|src)="([^"]+)"', html):
            assert url.startswith(("/", "#")), url


def test_data_update_time_shows_the_first_change_at_once(client, session):
    """数据更新时间 on every page: 暂无数据 while nothing was ever disclosed, then the
    change feed's newest time in Beijing time at once (an empty feed is not remembered
    for the 30 s the time is cached)."""
    from datetime import UTC, datetime

    from registry.core.models import Change

    assert 'class="data-updated">暂无数据<' in _text(client.get("/"))
    session.add(
        Change(
            uscc="91440300MA5EXAMPL1",
            kind="penalty",
            object_id=1,
            action="create",
            at=datetime(2026, 11, 28, 16, 5, tzinfo=UTC),
        )
    )
    session.commit()
    assert 'class="data-updated">2026年11月29日 00:05<' in _text(client.get("/"))
