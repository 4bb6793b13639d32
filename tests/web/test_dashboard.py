"""The operator dashboard: login with a token, CSRF, scope by authority, the figures."""

from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from registry.core.tokens import create_token
from registry.evaluation.models import Alert
from registry.lists.models import Repair
from registry.records.models import ImportBatch
from tests.web.factories import TODAY


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _token(session, role: str, authority: str | None = None) -> str:
    secret = create_token(
        session, role=role, name=f"{role} 测试", authority=authority, actor="test"
    )
    session.commit()
    return secret


def _login(client, secret: str):
    page = client.get("/dashboard/login")
    return client.post(
        "/dashboard/login",
        data={"token": secret, "csrf_token": _csrf(page.get_data(as_text=True))},
    )


def _session_cookie(client) -> dict:
    cookie = client.get_cookie("session")
    assert cookie is not None
    payload = cookie.value.split(".")[0 if not cookie.value.startswith(".") else 1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):
        raw = zlib.decompress(raw)
    return json.loads(raw)


@pytest.fixture
def figures(session, factory, authority):
    """Data of two authorities: ours and another bureau's."""
    other = factory.authority_code()
    ours = factory.entity("广州天河贸易有限公司", factory.uscc("440106"))
    theirs = factory.entity("杭州西湖茶叶有限公司", factory.uscc("330106"))
    for entity, auth in ((ours, authority), (theirs, other)):
        p = factory.penalty(entity.uscc, authority_uscc=auth, decided_on=TODAY - timedelta(days=20))
        factory.list_entry(entity.uscc, "samr_serious", status="proposed", authority_uscc=auth)
        session.add(
            Alert(
                uscc=entity.uscc,
                kind="criminal-transfer-check",
                penalty_id=p.id,
                decision_number=p.decision_number,
                authority_uscc=auth,
                rule_id="criminal-transfer-check",
                pack_version="test",
            )
        )
        session.add(
            Repair(
                uscc=entity.uscc,
                target_type="penalty",
                target_id=p.id,
                authority_uscc=auth,
                status="pending",
                applied_on=TODAY - timedelta(days=20),
                due_on=TODAY - timedelta(days=2),
            )
        )
        session.add(
            ImportBatch(
                source=f"{auth}.csv",
                format="csv",
                authority_uscc=auth,
                actor="test",
                status="done",
                rows_total=12,
                accepted=10,
                rejected=2,
                rejection_reasons={"decided_on: 日期格式错误": 2},
                started_at=datetime(2026, 11, 28, 3, tzinfo=UTC),
            )
        )
    session.commit()
    return {"ours": ours, "theirs": theirs, "other": other}


def test_dashboard_requires_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert "/dashboard/login" in response.headers["Location"]
    login = client.get("/dashboard/login")
    assert login.status_code == 200
    assert 'type="password"' in login.get_data(as_text=True)


def test_bad_or_department_token_cannot_log_in(client, session):
    assert _login(client, "cr_not-a-token").status_code == 401
    department = _token(session, "department")
    response = _login(client, department)
    assert response.status_code == 403
    assert client.get("/dashboard").status_code == 302


def test_login_needs_the_csrf_token(client, session):
    admin = _token(session, "admin")
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"token": admin})
    assert response.status_code == 400
    response = client.post("/dashboard/login", data={"token": admin, "csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_admin_sees_everything_and_the_cookie_holds_no_secret(client, session, figures):
    admin = _token(session, "admin")
    response = _login(client, admin)
    assert response.status_code == 303
    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "广州天河贸易有限公司" in html
    assert "杭州西湖茶叶有限公司" in html
    assert "<svg" in html
    assert "<script" not in html
    assert " style=" not in html
    assert "日期格式错误" in html
    assert "广东省" in html
    assert "浙江省" in html
    assert 'class="overdue"' in html
    # Only the token id is kept, in a signed HttpOnly cookie.
    cookie = _session_cookie(client)
    assert admin not in json.dumps(cookie)
    assert isinstance(cookie["dashboard_token_id"], int)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_regulator_sees_own_authority_only(client, session, figures, authority):
    regulator = _token(session, "regulator", authority)
    _login(client, regulator)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "广州天河贸易有限公司" in html
    assert "杭州西湖茶叶有限公司" not in html
    assert figures["other"] not in html
    assert "仅显示本机关的数据" in html


def test_logout_needs_csrf_and_ends_the_session(client, session):
    admin = _token(session, "admin")
    _login(client, admin)
    page = client.get("/dashboard").get_data(as_text=True)
    assert client.post("/dashboard/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200
    response = client.post("/dashboard/logout", data={"csrf_token": _csrf(page)})
    assert response.status_code == 303
    assert client.get("/dashboard").status_code == 302


def test_a_revoked_token_ends_its_session(client, session):
    from registry.core.models import ApiToken

    admin = _token(session, "admin")
    _login(client, admin)
    assert client.get("/dashboard").status_code == 200
    for row in session.query(ApiToken).all():
        row.revoked_at = datetime.now(UTC)
    session.commit()
    assert client.get("/dashboard").status_code == 302


def test_login_redirects_only_inside_the_dashboard(client, session):
    admin = _token(session, "admin")
    page = client.get("/dashboard/login").get_data(as_text=True)
    response = client.post(
        "/dashboard/login",
        data={"token": admin, "csrf_token": _csrf(page), "next": "https://evil.example/"},
    )
    assert response.headers["Location"].rstrip("/").endswith("/dashboard")
