"""Public pages are rate-limited per real client, and the count is shared.

The public HTML pages (``/search``, ``/entities/<uscc>``) count against
``api.public_rate_limit`` like the public API.  The client is the socket's address
unless ``api.trusted_proxies: N`` says N proxies in front append ``X-Forwarded-For``:
then the client is the address they saw, so clients behind the proxy count apart — and
with the default (0) a forged ``X-Forwarded-For`` gains nothing.  With
``api.rate_limit_storage: redis://…`` every worker counts in one place; a server of
several workers that each count alone (``memory://``) says so when it starts.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import (
    DEVELOPMENT_ENV,
    PG_REQUIRED,
    free_port,
    server_command,
    start_server,
    stop_server,
)
from tests.security.seams import ROOT

LIMIT = {"public_rate_limit": "2/minute"}
REDIS = "redis://127.0.0.1:6379"


@pytest.fixture
def known(factory):
    entity = factory.entity()
    factory.commit()
    return entity.uscc


def _paths(uscc: str) -> dict[str, str]:
    return {
        "search-page": "/search?q=x",
        "entity-page": f"/entities/{uscc}",
        "public-api-lookup": f"/api/v1/public/entities/{uscc}",
    }


def _client_ip() -> str:
    return f"198.51.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"


@pytest.mark.parametrize("page", ["search-page", "entity-page"])
def test_public_html_pages_are_rate_limited(make_client, known, page):
    client = make_client(api=LIMIT)
    path = _paths(known)[page]
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]
    assert client.get(path).status_code == 429


@pytest.mark.parametrize("page", ["search-page", "public-api-lookup"])
def test_forged_forwarded_for_does_not_escape_the_limit(make_client, known, page):
    client = make_client(api=LIMIT)  # trusted_proxies: 0, the default
    path = _paths(known)[page]
    answers = [
        client.get(path, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(1, 4)
    ]
    assert answers == [200, 200, 429]


@pytest.mark.parametrize("page", ["search-page", "public-api-lookup"])
def test_behind_a_trusted_proxy_clients_count_apart(make_client, known, page):
    client = make_client(api={"public_rate_limit": "1/minute", "trusted_proxies": 1})
    path = _paths(known)[page]

    def get(ip: str) -> int:
        return client.get(path, headers={"X-Forwarded-For": ip}).status_code

    assert get("203.0.113.5") == 200
    assert get("203.0.113.6") == 200  # another client behind the same proxy
    assert get("203.0.113.5") == 429


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_server() -> str:
    """The local Redis; its absence skips — except in CI (REGISTRY_TEST_REQUIRE_POSTGRES,
    where .ci/run has checked Redis too), where it fails."""
    if not _redis_up():
        message = "no Redis server on 127.0.0.1:6379"
        if PG_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return REDIS


@pytest.mark.parametrize("page", ["search-page", "public-api-lookup"])
def test_redis_storage_counts_across_workers(make_client, known, page, redis_server):
    first = make_client(api={**LIMIT, "rate_limit_storage": REDIS})
    second = make_client(api={**LIMIT, "rate_limit_storage": REDIS})
    path = _paths(known)[page]
    me = {"REMOTE_ADDR": _client_ip()}  # a fresh client: Redis keeps counts between runs
    assert first.get(path, environ_base=me).status_code == 200
    assert second.get(path, environ_base=me).status_code == 200
    assert first.get(path, environ_base=me).status_code == 429
    assert second.get(path, environ_base=me).status_code == 429


# --- added with the implementation ------------------------------------------------------


def _every_public_page(uscc: str) -> list[str]:
    return [
        "/",
        "/search?q=x",
        f"/entities/{uscc}",
        f"/entities/{uscc}/report",
        "/lists",
        "/lists/no-such-list",
        "/inspections",
        "/objections/new",
        "/complaints/new",
    ]


def test_every_public_page_counts(make_client, known):
    """Each public page, the report and the filing forms count against the limit."""
    for path in _every_public_page(known):
        client = make_client(api={"public_rate_limit": "1/minute"})
        assert client.get(path).status_code in (200, 404), path
        assert client.get(path).status_code == 429, path


def test_pages_and_api_share_one_budget(make_client, known):
    """One budget per client for every public door: switching gains nothing."""
    client = make_client(api=LIMIT)
    assert client.get(f"/entities/{known}").status_code == 200
    assert client.get(f"/api/v1/public/entities/{known}").status_code == 200
    assert client.get("/search?q=x").status_code == 429
    assert client.get(f"/api/v1/public/entities/{known}").status_code == 429


def test_a_page_over_the_limit_is_a_page_in_chinese(make_client, known):
    client = make_client(api={"public_rate_limit": "1/minute"})
    assert client.get("/search?q=x").status_code == 200
    over = client.get("/search?q=x")
    assert over.status_code == 429
    assert over.mimetype == "text/html"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    text = over.get_data(as_text=True)
    assert "访问过于频繁" in text
    assert "Traceback" not in text


def test_static_files_and_the_dashboard_are_not_counted(make_client, known):
    client = make_client(api={"public_rate_limit": "1/minute"})
    assert client.get(f"/entities/{known}").status_code == 200
    for _ in range(3):
        with client.get("/static/site.css") as asset:
            assert asset.status_code == 200
        with client.get("/favicon.ico") as icon:
            assert icon.status_code == 200
        assert client.get("/dashboard/login").status_code == 200
    # The budget of one went to the page alone: the next page is over it.
    assert client.get(f"/entities/{known}").status_code == 429


def test_trusted_proxies_must_be_a_count(make_client):
    with pytest.raises(Exception, match=r"api\.trusted_proxies: -1"):
        make_client(api={"trusted_proxies": -1})


def test_worker_count_is_read_where_servers_take_it():
    from api.common.limiter import worker_count

    gunicorn, granian = "/srv/venv/bin/gunicorn", "/x/granian/__main__.py"
    assert worker_count({}, [gunicorn, "-w", "4", "api:create_app()"])[0] == 4
    assert worker_count({}, [granian, "--workers=3", "api:create_app"])[0] == 3
    assert worker_count({"WEB_CONCURRENCY": "5"}, [gunicorn])[0] == 5
    assert worker_count({"GUNICORN_CMD_ARGS": "--bind :8000 -w3"}, [gunicorn])[0] == 3
    assert worker_count({"GRANIAN_WORKERS": "2"}, [granian])[0] == 2
    assert worker_count({"WEB_CONCURRENCY": "6"}, ["/usr/bin/waitress-serve"])[0] == 6
    # the command line wins over the environment, as it does for the server
    assert worker_count({"WEB_CONCURRENCY": "8"}, [gunicorn, "-w", "2"])[0] == 2
    # granian does not read WEB_CONCURRENCY; `serve` is one process whatever it says
    assert worker_count({"WEB_CONCURRENCY": "8"}, [granian]) is None
    assert worker_count({"WEB_CONCURRENCY": "8"}, ["/usr/bin/credit-registry", "serve"]) is None
    assert worker_count({}, ["pytest", "-w", "4"]) is None  # not a server's command line


WARNING = "memory://"


def _server_stderr(command: list[str], env: dict[str, str], port: int, during: Any = None) -> str:
    """Start a real server, wait for /healthz, call ``during()`` if given, stop it; its
    standard error."""
    proc = start_server(command, env, port)
    try:
        time.sleep(1)  # every worker has built its application
        if during is not None:
            during()
    finally:
        stop_server(proc)
    assert proc.stderr is not None
    out = proc.stderr.read()
    proc.stderr.close()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_several_workers_counting_in_memory_warn_at_start(tmp_path, server):
    env = {  # the server starts without touching its database: any URL will do
        **os.environ,
        **DEVELOPMENT_ENV,
        "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("WEB_CONCURRENCY", None)
    port = free_port()
    warned = _server_stderr(server_command(server, port, 2), env, port)
    assert WARNING in warned, warned[-2000:]
    assert "redis://127.0.0.1:6379" in warned
    assert "2 个工作进程" in warned
    port = free_port()
    single = _server_stderr(server_command(server, port, 1), env, port)
    assert WARNING not in single, single[-2000:]


@pytest.mark.slow
def test_several_workers_sharing_redis_count_once_and_do_not_warn(database_url, redis_server):
    env = {
        **os.environ,
        **DEVELOPMENT_ENV,
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_CONFIG": str(ROOT / "config.yaml"),
        "REGISTRY_API_RATE_LIMIT_STORAGE": redis_server,
        "REGISTRY_PUBLIC_RATE_LIMIT": "2/minute",
        # A fresh client address for every run (Redis keeps counts for a minute).
        "REGISTRY_API_TRUSTED_PROXIES": "1",
        "PYTHONPATH": str(ROOT),
    }
    port = free_port()
    client = {"X-Forwarded-For": _client_ip()}
    statuses: list[int] = []

    def four_searches() -> None:
        for _ in range(4):  # a connection each: the two workers take them as they come
            request = urllib.request.Request(f"http://127.0.0.1:{port}/search?q=x", headers=client)
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
                    statuses.append(resp.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)

    out = _server_stderr(server_command("gunicorn", port, 2), env, port, during=four_searches)
    assert statuses == [200, 200, 429, 429], out[-2000:]
    assert WARNING not in out, out[-2000:]
