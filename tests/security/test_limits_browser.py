"""Over the public limit, a person in a browser gets a page in Chinese saying when to
come back — not a JSON error or a blank page — at desktop and phone widths, and the
page's own files (style sheet, icon) do not use up the budget."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import conftest as browser_fixtures
from tests.security.seams import create_app, runtime_of

pytestmark = pytest.mark.browser

live_server = browser_fixtures.live_server
SCREENS = Path(os.environ.get("REGISTRY_SCREENS_DIR", "/work/notes/screens/trust-keys"))


@pytest.fixture
def app(rt, database_url) -> Iterator[object]:
    """The suite's app with a public limit of three requests a minute."""
    runtime = runtime_of(database_url, api={"public_rate_limit": "3/minute"})
    application = create_app(runtime=runtime)
    application.config["TESTING"] = True
    yield application
    runtime.dispose()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_person_over_the_limit_sees_when_to_come_back(browser, live_server, width):
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": width, "height": 900}
    )
    tab = context.new_page()
    try:
        for _ in range(3):  # each load also fetches the style sheet and the icon
            answer = tab.goto("/search?q=华鑫")
            assert answer is not None
            assert answer.status == 200
        over = tab.goto("/search?q=华鑫")
        assert over is not None
        assert over.status == 429
        assert 1 <= int(over.headers["retry-after"]) <= 60
        heading = tab.get_by_role("heading", level=1)
        assert heading.inner_text() == "访问过于频繁"
        assert "秒后再试" in tab.locator("main").inner_text()
        assert tab.get_by_role("link", name="返回首页").is_visible()
        # Styled like every page (the style sheet was not refused).
        assert tab.evaluate("document.styleSheets.length") >= 1
        if SCREENS.parent.exists():
            SCREENS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENS / f"rate-limited-{width}.png"), full_page=True)
    finally:
        context.close()
