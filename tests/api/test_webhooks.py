"""Webhook deliveries against a real local HTTP server: signed, retried, given up, logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from registry.core import clock
from registry.delivery.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    deliver_due,
    verify,
)


class Receiver:
    """A subscriber on 127.0.0.1: answers with the queued statuses (then 200), records
    every request (headers and raw body)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.delay = 0.0
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append((dict(self.headers.items()), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


@pytest.fixture
def proposal(factory, regulator):
    entity = factory.entity()
    entry = factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    factory.commit()
    return entity, entry


def _subscribe(client, department, url, **body):
    resp = client.post(
        "/api/v1/subscriptions", json={"url": url, **body}, headers=department.headers
    )
    assert resp.status_code == 201, resp.json
    return resp.json


def test_delivery_signed_retried_then_delivered(
    rt, client, department, regulator, receiver, proposal
):
    entity, entry = proposal
    sub = _subscribe(client, department, receiver.url, codes=[entity.uscc])
    assert sub["secret"].startswith("whsec_")
    assert sub["signature_header"] == SIGNATURE_HEADER
    listed = client.get("/api/v1/subscriptions", headers=department.headers).json["items"]
    assert "secret" not in listed[0]
    confirmed = client.post(
        f"/api/v1/list-entries/{entry.id}/confirm", json={}, headers=regulator.headers
    )
    assert confirmed.status_code == 200
    receiver.statuses = [500]
    first = deliver_due(rt, base_delay=timedelta(seconds=30))
    assert (first.enqueued, first.delivered, first.retrying) == (1, 0, 1)
    log = client.get(
        f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=department.headers
    ).json
    assert log["total"] == 1
    assert log["items"][0]["status"] == "pending"
    assert (log["items"][0]["attempts"], log["items"][0]["last_status_code"]) == (1, 500)
    # Not due yet: nothing is sent.
    assert deliver_due(rt, base_delay=timedelta(seconds=30)).ids == []
    clock.advance(seconds=31)
    second = deliver_due(rt, base_delay=timedelta(seconds=30))
    assert second.delivered == 1
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    assert verify(sub["secret"], body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])
    assert not verify(
        sub["secret"], body + b" ", headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]
    )
    assert receiver.received[0][1] == body  # the same bytes on every attempt
    payload = json.loads(body)
    assert payload["event"] == "list_entry.confirmed"
    assert payload["uscc"] == entity.uscc
    assert payload["list_entry"]["id"] == entry.id
    assert payload["list_entry"]["status"] == "active"
    assert headers[DELIVERY_HEADER] == str(log["items"][0]["id"])
    done = client.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=department.headers)
    item = done.json["items"][0]
    assert (item["status"], item["attempts"], item["last_status_code"]) == ("delivered", 2, 200)
    assert deliver_due(rt).enqueued == 0  # each change once


def test_gives_up_after_max_attempts_and_times_out(
    rt, client, department, regulator, receiver, proposal
):
    _entity, entry = proposal
    sub = _subscribe(client, department, receiver.url, list_types=["samr_serious"])
    client.post(f"/api/v1/list-entries/{entry.id}/confirm", json={}, headers=regulator.headers)
    receiver.delay = 1.0
    run = deliver_due(rt, timeout=0.3, max_attempts=2, base_delay=timedelta(seconds=1))
    assert run.retrying == 1
    receiver.delay = 0.0
    receiver.statuses = [503]
    clock.advance(seconds=2)
    run = deliver_due(rt, max_attempts=2, base_delay=timedelta(seconds=1))
    assert run.failed == 1
    log = client.get(
        f"/api/v1/subscriptions/{sub['id']}/deliveries?status=failed", headers=department.headers
    ).json
    assert log["items"][0]["attempts"] == 2
    assert log["items"][0]["last_error"] == "http_5xx"
    clock.advance(hours=1)
    assert deliver_due(rt).ids == []


def test_only_matching_and_later_changes_are_delivered(
    rt, client, factory, department, regulator, receiver, proposal
):
    _entity, entry = proposal
    other_code = factory.uscc()
    _subscribe(client, department, receiver.url, codes=[other_code])
    _subscribe(client, department, receiver.url, list_types=["abnormal_operations"])
    client.post(f"/api/v1/list-entries/{entry.id}/confirm", json={}, headers=regulator.headers)
    clock.advance(seconds=5)
    _subscribe(client, department, receiver.url)  # after the change: not told of it
    assert deliver_due(rt).enqueued == 0
    assert receiver.received == []


def test_subscription_validation_and_ownership(client, factory, department, receiver):
    bad = client.post(
        "/api/v1/subscriptions", json={"url": "ftp://x/y"}, headers=department.headers
    )
    assert bad.status_code == 422
    wrong_code = client.post(
        "/api/v1/subscriptions",
        json={"url": receiver.url, "codes": ["91440300X"]},
        headers=department.headers,
    )
    assert wrong_code.status_code == 422
    wrong_list = client.post(
        "/api/v1/subscriptions",
        json={"url": receiver.url, "list_types": ["nope"]},
        headers=department.headers,
    )
    assert wrong_list.status_code == 422
    sub = _subscribe(client, department, receiver.url)
    other = factory.token("department")
    factory.commit()
    assert (
        client.get(f"/api/v1/subscriptions/{sub['id']}", headers=other.headers).status_code == 404
    )
    cancelled = client.delete(f"/api/v1/subscriptions/{sub['id']}", headers=department.headers)
    assert cancelled.status_code == 200
    assert cancelled.json["active"] is False
