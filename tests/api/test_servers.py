"""The documented production commands serve the application: ``gunicorn
'api:create_app()'`` and ``granian --interface wsgi --factory api:create_app`` answer a
public lookup (through the short path on PostgreSQL) as the application itself does, and
a malformed code with the one error shape."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

import pytest

from registry.core import clock
from tests.conftest import DEVELOPMENT_ENV, free_port, server_command, start_server, stop_server
from tests.web.factories import WebFactory

ROOT = Path(__file__).resolve().parents[2]


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_production_server_answers_a_lookup(server, database_url, session, client):
    f = WebFactory(session, seed=21)
    entity = f.entity("杭州市西湖区某某贸易有限公司")
    f.penalty(entity.uscc, authority_uscc=f.authority_code(), party_name=entity.name)
    session.commit()
    port = free_port()
    env = {
        **os.environ,
        **DEVELOPMENT_ENV,
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
        "PYTHONPATH": str(ROOT),
    }
    proc = start_server(server_command(server, port), env, port)
    try:
        status, headers, body = _get(port, f"/api/v1/public/entities/{entity.uscc}")
        assert status == 200
        assert headers["content-type"] == "application/json"
        # The server runs on the wall clock (its "as_of" is China's date now, which is
        # not the tests' fixed day every evening UTC): so does the reference answer.
        clock.set_clock(None)
        assert json.loads(body) == client.get(f"/api/v1/public/entities/{entity.uscc}").json
        status, _headers, body = _get(port, "/api/v1/public/entities/91440300MA5ABCDE1Y")
        assert status == 400
        assert json.loads(body)["error"]["code"] == "malformed_code"
    finally:
        stop_server(proc)
        assert proc.stderr is not None
        proc.stderr.close()
