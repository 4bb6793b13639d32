"""Fixtures of the browser tests: the app on a real port, a real headless Chromium.

- The browser is Debian's ``chromium`` at ``/usr/bin/chromium`` (CI installs it with
  ``fonts-noto-cjk``); Playwright never downloads one.  Without it the tests are skipped
  with the reason.
- ``live_server`` serves the suite's ``app`` (so the backend under test, with the
  registry clock fixed to the sample "today") with werkzeug on 127.0.0.1 and a free port,
  in a thread; the test writes rows with the ``factory`` and commits first.
- ``page`` is a fresh browser tab that records every JavaScript dialog in
  ``page.dialogs`` (there must never be one) and ``shot(page, name)`` saves a screenshot
  to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.factories import WebFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# ``browser`` (one headless Chromium for the whole session) is in tests/conftest.py, so
# browser tests in any directory share it: Playwright's sync API allows one at a time.


def _closed_at_once(app):
    """The app with each response body read whole and closed before werkzeug sends it.

    werkzeug's development server closes a body only after draining the request socket,
    and a browser that navigates away mid-response makes that drain raise first: the
    body (a static file) is then never closed, and its ResourceWarning fails whichever
    test is running when it is collected.  Bodies here are small pages and files."""

    def wrapped(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wrapped


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _closed_at_once(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    tab = context.new_page()
    tab.dialogs = []

    def on_dialog(dialog) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.console_errors = []
    tab.on(
        "console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None
    )
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def factory(session) -> WebFactory:
    return WebFactory(session, seed=23)


def shot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
