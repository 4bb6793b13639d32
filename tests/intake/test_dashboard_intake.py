"""Overdue objections on the dashboard of the deciding authority (and only there)."""

from __future__ import annotations

import re
from datetime import date

from registry.core import clock

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client, secret):
    page = client.get("/dashboard/login").get_data(as_text=True)
    answer = client.post(
        "/dashboard/login",
        data={"token": secret, "csrf_token": TOKEN.search(page).group(1)},
    )
    assert answer.status_code == 303


def test_overdue_objections_on_the_authoritys_dashboard(
    client, app, write_record, regulator, other_regulator
):
    record = write_record()
    filed = client.post(
        "/api/v1/public/objections",
        json={
            "uscc": record["uscc"],
            "penalty_id": record["id"],
            "statement": "有误",
            "contact": "x",
        },
    )
    assert filed.status_code == 201
    login(client, regulator.secret)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "逾期未答复的异议（0）" in page
    assert "待答复的异议共 1 件" in page

    clock.set_clock(date(2026, 12, 14))  # past the deadline of 2026-12-11
    page = client.get("/dashboard").get_data(as_text=True)
    assert "逾期未答复的异议（1）" in page
    assert record["decision_number"] in page

    other = app.test_client()
    login(other, other_regulator.secret)
    page = other.get("/dashboard").get_data(as_text=True)
    assert "逾期未答复的异议（0）" in page
    assert record["decision_number"] not in page
