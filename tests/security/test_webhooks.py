"""Webhooks reach public addresses only, are signed with a timestamp, and their log
says what went wrong as a category — no port scanner, no replay.

The tests' configuration allows private addresses (``webhooks.allow_private_addresses``)
so that deliveries reach a receiver on 127.0.0.1; these tests turn it off to show the
default."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from registry.core import migrate
from registry.delivery.webhooks import (
    REPLAY_WINDOW_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify,
)
from tests.security.helpers import STRONG_SECRET, Receiver, assert_error_shape, closed_port
from tests.security.seams import deliver_due, runtime_of

REFUSE = {"webhooks": {"allow_private_addresses": False}}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def proposal(factory, regulator):
    entity = factory.entity()
    entry = factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    factory.commit()
    return entity, entry


def subscribe(client, department, url: str):
    return client.post("/api/v1/subscriptions", json={"url": url}, headers=department.headers)


def confirm(client, regulator, entry) -> None:
    answer = client.post(
        f"/api/v1/list-entries/{entry.id}/confirm", json={}, headers=regulator.headers
    )
    assert answer.status_code == 200, answer.json


def deliveries(client, department, sub_id: int) -> list[dict]:
    answer = client.get(f"/api/v1/subscriptions/{sub_id}/deliveries", headers=department.headers)
    assert answer.status_code == 200
    return answer.json["items"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_the_default_refuses_internal_addresses_at_subscription(make_client, department, url):
    client = make_client(**REFUSE)
    error = assert_error_shape(subscribe(client, department, url), 422)
    assert "url" in error["details"]
    if "[" not in url:  # the schema may refuse an IPv6 literal before the address check
        assert "内部或保留地址" in error["message"]


def test_https_is_required_outside_development(make_client, department):
    client = make_client(security={"development": False, "secret_key": STRONG_SECRET}, **REFUSE)
    error = assert_error_shape(subscribe(client, department, "http://example.com/hook"), 422)
    assert "https" in error["message"]


def test_each_delivery_checks_the_address_again(
    client, database_url, department, regulator, receiver, proposal
):
    """Subscribed while private addresses were allowed (or while the name pointed
    elsewhere): the delivery is checked again and not sent."""
    _entity, entry = proposal
    created = subscribe(client, department, receiver.url)
    assert created.status_code == 201, created.json
    confirm(client, regulator, entry)
    rt = runtime_of(database_url, **REFUSE)
    try:
        run = deliver_due(rt)
    finally:
        rt.dispose()
    assert run.delivered == 0
    assert receiver.received == []
    [item] = deliveries(client, department, created.json["id"])
    assert item["last_error"] == "address_refused"
    assert item["last_status_code"] is None


def test_the_connection_goes_to_the_checked_address_with_the_host_named(
    rt, client, department, regulator, receiver, proposal
):
    _entity, entry = proposal
    port = receiver.server.server_address[1]
    created = subscribe(client, department, f"http://localhost:{port}/hook")
    assert created.status_code == 201, created.json
    confirm(client, regulator, entry)
    assert deliver_due(rt).delivered == 1
    [(headers, body)] = receiver.received
    assert headers["Host"] == f"localhost:{port}"
    # signed over "<timestamp>.<body>", the timestamp in its header
    stamp = headers[TIMESTAMP_HEADER]
    assert abs(int(stamp) - time.time()) < 60
    secret = created.json["secret"]
    assert headers[SIGNATURE_HEADER] == sign(secret, body, int(stamp))
    assert verify(secret, body, headers[SIGNATURE_HEADER], stamp)
    assert created.json["timestamp_header"] == TIMESTAMP_HEADER
    assert created.json["replay_window_seconds"] == REPLAY_WINDOW_S == 300


def test_a_replayed_or_altered_delivery_fails_verification():
    secret, body, stamp = "whsec_x", b'{"event":"list_entry.confirmed"}', 1_790_000_000
    signature = sign(secret, body, stamp)
    assert verify(secret, body, signature, stamp, now=stamp + 299)
    assert not verify(secret, body, signature, stamp, now=stamp + 301)  # replayed later
    assert not verify(secret, body, signature, stamp + 1, now=stamp)  # timestamp changed
    assert not verify(secret, body, sign(secret, body, stamp + 1), stamp, now=stamp)
    assert not verify(secret, body, signature, "soon", now=stamp)


def test_failures_are_stored_as_categories(rt, client, department, regulator, receiver, proposal):
    _entity, entry = proposal
    closed = subscribe(client, department, f"http://127.0.0.1:{closed_port()}/hook")
    failing = subscribe(client, department, receiver.url)
    confirm(client, regulator, entry)
    receiver.statuses = [503]
    deliver_due(rt)
    [refused] = deliveries(client, department, closed.json["id"])
    [http] = deliveries(client, department, failing.json["id"])
    assert refused["last_error"] == "refused"
    assert http["last_error"] == "http_5xx"


def test_the_migration_rewrites_stored_error_texts(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    from alembic import command

    cfg = migrate.alembic_config(engine)
    command.upgrade(cfg, "0007")
    texts = [
        "HTTP 503",
        "HTTP 404",
        "URLError: [Errno 111] Connection refused",
        "TimeoutError: timed out",
        "URLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
        "subscription cancelled",
        "URLError: [Errno -2] Name or service not known",
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_tokens (id, name, role, token_hash, prefix, created_at) "
                "VALUES (1, 'd', 'department', 'h', 'cr_x', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO subscriptions (id, token_id, url, codes, list_types, active, "
                "created_at, updated_at) VALUES (1, 1, 'http://10.0.0.1:22/', '[]', '[]', 1, "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
        for i, error in enumerate(texts, start=1):
            conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, subscription_id, payload, status, "
                    "attempts, next_attempt_at, last_error, created_at) VALUES "
                    "(:i, 1, '{}', 'failed', 6, '2026-11-01 00:00:00', :e, "
                    "'2026-11-01 00:00:00')"
                ),
                {"i": i, "e": error},
            )
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT last_error FROM webhook_deliveries ORDER BY id")
        ).scalars()
        assert list(stored) == [
            "http_5xx",
            "http_4xx",
            "refused",
            "timeout",
            "tls",
            "cancelled",
            "dns",
        ]
    engine.dispose()
