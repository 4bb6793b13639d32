"""The application factory's first endpoints."""

from __future__ import annotations


def test_health_and_ready(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_home_page_is_chinese_with_a_search_box(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert 'name="q"' in html


def test_unknown_path_is_json(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"
