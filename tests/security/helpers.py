"""Helpers of the security tests that need nothing from the project: request bodies,
a local webhook receiver, a look into every text cell of the database."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import column, inspect, select, table

#: A secret as production must have one: 32+ random bytes.
STRONG_SECRET = "Zq4uX8pT2mR7vL1kN9sB3dF6hJ0wC5yE-strong-test-secret"


def jsonl(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def upload(client, token, payload: bytes, name: str = "batch.jsonl", **form: str):
    """``POST /api/v1/imports`` with a file, as a regulator's script does."""
    data = {"file": (io.BytesIO(payload), name), **form}
    return client.post(
        "/api/v1/imports", data=data, content_type="multipart/form-data", headers=token.headers
    )


def assert_error_shape(resp, status: int) -> dict[str, Any]:
    """The API's one error shape, never a traceback or an HTML page."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    body = resp.json
    assert set(body) == {"error"}
    assert (
        {"code", "message", "details"}
        <= set(body["error"])
        <= {
            "code",
            "message",
            "details",
            "context",
        }
    )
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text
    assert "<html" not in text.lower()
    return body["error"]


def stored_where(engine, needle: str) -> list[str]:
    """``table.column`` of every cell of the database whose text contains ``needle``
    (every table, every column, JSON documents included): where a value that must not
    be kept is kept."""
    found: list[str] = []
    inspector = inspect(engine)
    with engine.connect() as conn:
        for name in inspector.get_table_names():
            columns = [c["name"] for c in inspector.get_columns(name)]
            t = table(name, *(column(c) for c in columns))
            for row in conn.execute(select(t)):
                for col, value in zip(columns, row, strict=True):
                    if value is not None and needle in str(value):
                        found.append(f"{name}.{col}")
    return sorted(set(found))


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A webhook subscriber on 127.0.0.1: records each request (headers, raw body) and
    answers with the queued statuses (then 200), after ``delay`` seconds."""

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
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"
