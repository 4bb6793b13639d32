"""The deployment secret is a real secret, and no key derived from it is the secret itself.

Outside development mode (``REGISTRY_DEVELOPMENT=1`` / ``security.development: true``)
neither the web application nor any CLI command starts with a missing, short (< 32
bytes) or the shipped development secret — so nobody can sign a dashboard session or
compute person keys and webhook secrets with the value printed in the README.  Person
keys, session cookies and webhook secrets each use their own key derived from the
secret (HKDF): knowing one use's key, or assuming the old scheme, gets an attacker
nothing — a session cookie signed with the raw secret is not a login, and a person key
is not HMAC-SHA256(secret, ID number).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text

from tests.security.helpers import STRONG_SECRET
from tests.security.seams import ROOT, create_app

DEV_DEFAULT = "dev-only-secret-change-me"
WEAK_SECRETS = {"missing": "", "short": "only-31-bytes-of-secret-1234567", "shipped": DEV_DEFAULT}
#: A database no command can reach: a command that refuses a weak secret before it
#: touches the database says so; one that goes on fails on the connection instead.
UNREACHABLE_DB = "postgresql+psycopg2://registry@127.0.0.1:1/registry"


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """The environment of a production host: development mode off, our config file."""
    monkeypatch.setenv("REGISTRY_DEVELOPMENT", "0")
    monkeypatch.setenv("REGISTRY_CONFIG", str(ROOT / "config.yaml"))
    monkeypatch.delenv("REGISTRY_SECRET_KEY", raising=False)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite3'}")
    return monkeypatch


@pytest.mark.parametrize("kind", sorted(WEAK_SECRETS))
def test_create_app_refuses_a_weak_secret_outside_development(production_env, kind):
    assert len(WEAK_SECRETS["short"].encode()) == 31
    with pytest.raises(Exception, match="REGISTRY_SECRET_KEY"):
        create_app({"security": {"secret_key": WEAK_SECRETS[kind]}})


def test_create_app_starts_with_a_strong_secret_or_in_development(production_env):
    # The refusal first (what is missing today), then what must keep working.
    with pytest.raises(Exception, match="REGISTRY_SECRET_KEY"):
        create_app({"security": {"secret_key": DEV_DEFAULT}})
    strong = create_app({"security": {"secret_key": STRONG_SECRET}})
    assert strong.test_client().get("/healthz").status_code == 200
    production_env.setenv("REGISTRY_DEVELOPMENT", "1")
    dev = create_app({"security": {"secret_key": DEV_DEFAULT}})
    assert dev.test_client().get("/healthz").status_code == 200
    production_env.setenv("REGISTRY_DEVELOPMENT", "0")
    by_config = create_app({"security": {"secret_key": DEV_DEFAULT, "development": True}})
    assert by_config.test_client().get("/healthz").status_code == 200


COMMANDS = {
    "serve": ("serve", "--no-scheduler", "--port", "1"),
    "scheduler": ("scheduler",),
    "evaluate": ("evaluate",),
    "export": ("export",),
    "import": ("import", "{file}"),
    "audit verify": ("audit", "verify"),
    "token create": ("token", "create", "--role", "admin", "--name", "ops"),
    "init": ("init",),
}


#: Each command with one of the weak secrets (every kind is used by several commands).
CASES = [
    (name, sorted(WEAK_SECRETS)[i % len(WEAK_SECRETS)]) for i, name in enumerate(sorted(COMMANDS))
]


@pytest.mark.parametrize(("command", "kind"), CASES)
def test_cli_refuses_a_weak_secret_before_touching_the_database(invoke, tmp_path, command, kind):
    records = tmp_path / "records.jsonl"
    records.write_text("", encoding="utf-8")
    args = [a.format(file=records) for a in COMMANDS[command]]
    result = invoke(
        *args,
        env={
            "REGISTRY_SECRET_KEY": WEAK_SECRETS[kind],
            "REGISTRY_DEVELOPMENT": "0",
            "REGISTRY_DATABASE_URL": UNREACHABLE_DB,
        },
    )
    assert "REGISTRY_SECRET_KEY" in result.stderr, (result.exit_code, result.output)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_cli_works_with_a_strong_secret_outside_development(invoke):
    # Refused with the shipped secret (missing today), then working with a strong one.
    weak = invoke(
        "audit", "verify", env={"REGISTRY_SECRET_KEY": DEV_DEFAULT, "REGISTRY_DEVELOPMENT": "0"}
    )
    assert weak.exit_code == 2, weak.output
    assert "REGISTRY_SECRET_KEY" in weak.stderr
    strong = invoke(
        "audit", "verify", env={"REGISTRY_SECRET_KEY": STRONG_SECRET, "REGISTRY_DEVELOPMENT": "0"}
    )
    assert strong.exit_code == 0, strong.output


# --- per-purpose keys ------------------------------------------------------------------


def _old_person_key(secret: str, number: str) -> str:
    """The scheme the registry used before: HMAC-SHA256(secret, ID number)."""
    return hmac.new(secret.encode(), number.upper().encode(), hashlib.sha256).hexdigest()


def test_person_key_is_not_hmac_of_the_raw_secret(make_client, session, factory, regulator):
    client = make_client(security={"secret_key": STRONG_SECRET})
    number = factory.id_number()
    body = factory.record(regulator.authority, legal_representative_id_number=number)
    written = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
    assert written.status_code == 201, written.json
    keys = session.execute(text("SELECT person_key, id_masked FROM persons")).all()
    assert len(keys) == 1, keys
    key, masked = keys[0]
    assert masked == number[:6] + "********" + number[-4:]
    assert len(key) == 64
    assert key != _old_person_key(STRONG_SECRET, number), (
        "the person key is HMAC-SHA256 keyed with the deployment secret itself"
    )
    stored = session.execute(text("SELECT legal_representative_key FROM penalties")).scalar_one()
    assert stored == key


def _cookie_signed_with(secret: str, data: dict) -> str:
    """A Flask session cookie as anyone holding ``secret`` can make one."""
    forger = Flask("forger")
    forger.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    return serializer.dumps(data)


def _login(client, token) -> None:
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/dashboard/login", data={"csrf_token": csrf, "token": token.secret, "next": "/dashboard"}
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:300]


def test_session_cookie_signed_with_the_raw_secret_is_not_an_admin_login(
    make_client, session, admin
):
    client = make_client(security={"secret_key": STRONG_SECRET})
    token_id = session.execute(text("SELECT id FROM api_tokens WHERE role = 'admin'")).scalar_one()
    forged = _cookie_signed_with(
        STRONG_SECRET, {"dashboard_token_id": int(token_id), "dashboard_since": int(time.time())}
    )
    client.set_cookie("session", forged, domain="localhost")
    answer = client.get("/dashboard")
    assert answer.status_code in (302, 303), (
        f"a cookie signed with the raw secret opened the admin dashboard ({answer.status_code})"
    )
    assert "/dashboard/login" in answer.headers["Location"]
    # The dashboard itself works: a real login with the token opens it.
    honest = make_client(security={"secret_key": STRONG_SECRET})
    _login(honest, admin)
    assert honest.get("/dashboard").status_code == 200


def test_webhook_secret_is_not_hmac_of_the_raw_secret(make_client, department):
    client = make_client(security={"secret_key": STRONG_SECRET})
    created = client.post(
        "/api/v1/subscriptions",
        json={"url": "https://93.184.216.34/credit"},  # a public address, no DNS needed
        headers=department.headers,
    )
    assert created.status_code == 201, created.json
    old = (
        "whsec_"
        + hmac.new(
            STRONG_SECRET.encode(),
            f"webhook-subscription:{created.json['id']}".encode(),
            hashlib.sha256,
        ).hexdigest()
    )
    assert created.json["secret"] != old
