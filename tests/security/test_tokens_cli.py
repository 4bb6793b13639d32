"""API tokens can be listed, revoked and made to expire from the command line.

``credit-registry token list`` shows every token — id, name, role, authority, created,
expires, last used, revoked — and never a secret; ``token revoke ID`` ends a token at
once (401 on its next request); ``token create --expires-in DAYS`` makes a token that
stops working when the registry clock passes its expiry.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text

from tests.security.seams import set_clock

COLUMNS = ("编号", "持有人", "角色", "机关", "创建", "到期", "最近使用", "撤销")


def _create(invoke, *args: str) -> str:
    result = invoke("token", "create", *args)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("cr_"), result.stdout
    return secret


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _token_id(session, name: str) -> int:
    session.expire_all()
    return int(
        session.execute(text("SELECT id FROM api_tokens WHERE name = :n"), {"n": name}).scalar_one()
    )


def test_token_list_shows_every_token_and_no_secret(invoke, session, factory):
    authority = factory.authority()
    regulator = _create(
        invoke, "--role", "regulator", "--name", "南山市场监管局-张三", "--authority", authority
    )
    department = _create(invoke, "--role", "department", "--name", "市财政局采购处")
    result = invoke("token", "list")
    assert result.exit_code == 0, result.output
    out = result.stdout
    header = re.sub(r"[_-]", " ", out.splitlines()[0].lower())
    for column in COLUMNS:
        assert column in header, (column, header)
    for name, role in (("南山市场监管局-张三", "regulator"), ("市财政局采购处", "department")):
        line = next((line for line in out.splitlines() if name in line), None)
        assert line is not None, out
        assert role in line
        assert str(_token_id(session, name)) in line
    assert authority in out
    for secret in (regulator, department):
        assert secret not in result.output
        assert secret[3:] not in result.output  # not even without its prefix


def test_token_revoke_ends_the_token_at_once(invoke, client, session, today):
    _create(invoke, "--role", "department", "--name", "仍有效的令牌")
    secret = _create(invoke, "--role", "department", "--name", "被撤销的令牌")
    assert client.get("/api/v1/subscriptions", headers=_bearer(secret)).status_code == 200
    token_id = _token_id(session, "被撤销的令牌")
    revoked = invoke("token", "revoke", str(token_id))
    assert revoked.exit_code == 0, revoked.output
    answer = client.get("/api/v1/subscriptions", headers=_bearer(secret))
    assert answer.status_code == 401, answer.json
    listed = invoke("token", "list").stdout.splitlines()
    gone = next(line for line in listed if "被撤销的令牌" in line)
    kept = next(line for line in listed if "仍有效的令牌" in line)
    day = today.isoformat()
    # The list says it is revoked: a revocation time (today) the other line lacks, or a word.
    assert gone.count(day) > kept.count(day) or re.search(r"yes|revoked|是|已撤销", gone, re.I), (
        gone,
        kept,
    )


def test_token_with_expiry_stops_working_after_it(invoke, client, today):
    secret = _create(invoke, "--role", "department", "--name", "x", "--expires-in", "1")
    assert client.get("/api/v1/subscriptions", headers=_bearer(secret)).status_code == 200
    set_clock(today + timedelta(days=2))
    answer = client.get("/api/v1/subscriptions", headers=_bearer(secret))
    assert answer.status_code == 401, answer.json


# --- added with the implementation ------------------------------------------------------


def _dashboard_login(client, secret: str) -> int:
    page = client.get("/dashboard/login")
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/dashboard/login", data={"csrf_token": csrf, "token": secret, "next": "/dashboard"}
    )
    return done.status_code


def test_an_expired_token_ends_its_dashboard_session_and_cannot_log_in(invoke, client, today):
    secret = _create(invoke, "--role", "admin", "--name", "值班管理员", "--expires-in", "1")
    assert _dashboard_login(client, secret) == 303
    assert client.get("/dashboard").status_code == 200
    set_clock(today + timedelta(days=2))
    gone = client.get("/dashboard")
    assert gone.status_code in (302, 303)
    assert "/dashboard/login" in gone.headers["Location"]
    assert _dashboard_login(client, secret) == 401
    listed = invoke("token", "list").stdout
    assert "已过期" in next(line for line in listed.splitlines() if "值班管理员" in line)


def test_a_revoked_token_cannot_log_in_to_the_dashboard(invoke, client, session):
    secret = _create(invoke, "--role", "admin", "--name", "离职管理员")
    assert invoke("token", "revoke", str(_token_id(session, "离职管理员"))).exit_code == 0
    assert _dashboard_login(client, secret) == 401


def test_token_commands_refuse_what_they_cannot_do(invoke, session):
    unknown = invoke("token", "revoke", "999999")
    assert unknown.exit_code == 2
    assert "999999" in unknown.stderr
    assert "Traceback" not in unknown.output
    for days in ("0", "-3", "100000"):
        refused = invoke("token", "create", "--role", "admin", "--name", "x", "--expires-in", days)
        assert refused.exit_code == 2, refused.output
        assert "--expires-in" in refused.stderr
    _create(invoke, "--role", "department", "--name", "两次撤销")
    token_id = str(_token_id(session, "两次撤销"))
    first = invoke("token", "revoke", token_id)
    second = invoke("token", "revoke", token_id)
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "已于" in second.stdout
