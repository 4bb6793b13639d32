"""Every authorisation boundary: no token, a bad or revoked token, the wrong role (401/403),
taken from the OpenAPI document so no protected path is forgotten."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import update

from api import create_app
from registry.core import clock
from registry.core.models import ApiToken

SAMPLE_CODE = "914403054JURQ2830R"


def _operations() -> list[tuple[str, str]]:
    from tests.conftest import make_config

    app = create_app(make_config("sqlite:///:memory:"))
    spec = app.test_client().get("/api/v1/openapi.json").json
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete") and op.get("security"):
                ops.append((method.upper(), path))
    return ops


OPERATIONS = _operations()


def _url(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", lambda m: SAMPLE_CODE if m.group(0) == "{uscc}" else "1", path)


def _role_for(path: str) -> str:
    return (
        "department"
        if path.startswith(("/api/v1/sanctions", "/api/v1/subscriptions"))
        else "regulator"
    )


def test_every_non_public_operation_is_protected():
    spec_paths = {p for _, p in OPERATIONS}
    assert len(OPERATIONS) >= 25
    assert not any(p.startswith("/api/v1/public") for p in spec_paths)
    for prefix in (
        "sanctions",
        "subscriptions",
        "penalties",
        "imports",
        "list-entries",
        "repairs",
        "alerts",
    ):
        assert any(p.startswith(f"/api/v1/{prefix}") for p in spec_paths), prefix


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_bad_and_wrong_role_tokens(client, factory, regulator, department, method, path):
    url = _url(path)
    no_token = client.open(url, method=method, json={})
    assert no_token.status_code == 401, no_token.json
    assert no_token.json["error"]["code"] == "unauthorized"
    bad = client.open(url, method=method, json={}, headers={"Authorization": "Bearer cr_nope"})
    assert bad.status_code == 401
    basic = client.open(
        url, method=method, json={}, headers={"Authorization": "Basic " + regulator.secret}
    )
    assert basic.status_code == 401
    in_query = client.open(url + "?access_token=" + regulator.secret, method=method, json={})
    assert in_query.status_code == 401
    wrong = department if _role_for(path) == "regulator" else regulator
    forbidden = client.open(url, method=method, json={}, headers=wrong.headers)
    assert forbidden.status_code == 403, forbidden.json
    assert forbidden.json["error"]["code"] == "forbidden"


def test_revoked_token_is_401(client, session, regulator):
    assert client.get("/api/v1/penalties", headers=regulator.headers).status_code == 200
    session.execute(update(ApiToken).values(revoked_at=clock.now()))
    session.commit()
    assert client.get("/api/v1/penalties", headers=regulator.headers).status_code == 401


def test_tokens_never_reach_the_logs(client, regulator, caplog):
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/penalties", headers=regulator.headers)
    client.get("/api/v1/penalties", headers={"Authorization": "Bearer cr_wrong-secret"})
    client.post("/api/v1/penalties", json={"x": 1}, headers=regulator.headers)
    text = caplog.text
    assert regulator.secret not in text
    assert "cr_wrong-secret" not in text


def test_public_needs_no_token(client):
    assert client.get(f"/api/v1/public/entities/{SAMPLE_CODE}").status_code == 404
