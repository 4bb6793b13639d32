"""Rate limiting of everything public (flask-limiter), per client address.

The limit is ``api.public_rate_limit`` (environment ``REGISTRY_PUBLIC_RATE_LIMIT``,
default ``120/minute``): one budget per client shared by every public door — the public
JSON API (its short path in api/public/fastpath.py included), the public pages (``/``,
``/search``, ``/entities/…`` and their report, ``/lists/…``, ``/inspections…``) and the
filing forms — so a scraper gains nothing by switching between pages and API.  Static
files and the dashboard (behind a login) are not counted; token holders are not limited.

A client over the limit gets status 429 with ``Retry-After`` (seconds): the one error
shape from the API, a page in Chinese from the site.

The client is the socket's address (``REMOTE_ADDR``) unless ``api.trusted_proxies`` is
N > 0: then N proxies in front append to ``X-Forwarded-For`` and the client is the
address the outermost of them saw (Werkzeug's ProxyFix, ``x_for=N``); a client cannot
forge its way out by sending the header itself, since only the last N entries count.

Counts live in ``api.rate_limit_storage``: ``memory://`` counts per process, so with
several workers a client gets the limit once per worker; ``redis://host:6379`` shares one
count.  :func:`warn_if_counts_per_worker` says so at start (docs/security.md).
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from api.common.messages import rate_text
from registry.core.config import ConfigError
from registry.core.runtime import Runtime

EXTENSION = "registry_limiter"
#: The one bucket every public request of a client counts in (the short path's too).
PUBLIC_SCOPE = "public"
#: Endpoints under a limited blueprint that are not counted: a page's own files.
UNCOUNTED_ENDPOINTS = frozenset({"web.static", "web.favicon"})
log = logging.getLogger("registry")


class _SweptMemoryStorage(MemoryStorage):
    """``memory://`` without a timer thread per burst of requests: the library starts a
    ``threading.Timer`` whenever the previous one (10 ms) has ended, i.e. for about every
    other request under load, to drop expired counters.  Expired counters are already
    ignored when read; here the sweep runs inline at most once a second.  Registered
    under the same scheme, so ``memory://`` means this class."""

    STORAGE_SCHEME = ["memory"]  # noqa: RUF012 - the library's own declaration style
    _swept = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._swept >= 1.0:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _public_limit() -> str:
    return current_app.extensions["registry"].config.api.public_rate_limit


def _breached(request_limit) -> None:
    """Answer 429 with ``Retry-After`` (seconds until the window resets) in the one
    error shape (api.common.errors handles werkzeug's TooManyRequests)."""
    retry = max(1, int(request_limit.reset_at - time.time()))
    raise TooManyRequests(
        description=f"请求过于频繁（{rate_text(request_limit.limit)}），请 {retry} 秒后再试",
        retry_after=retry,
    )


def init_limiter(app: Flask, runtime: Runtime) -> Limiter:
    """One limiter per application (its own counters), configured from the runtime."""
    cfg = runtime.config.api
    try:
        parse_many(cfg.public_rate_limit)
    except ValueError as exc:
        raise ConfigError(
            f"api.public_rate_limit: {cfg.public_rate_limit!r} is not a rate limit "
            "(e.g. 120/minute)"
        ) from exc
    try:
        parse_many(cfg.public_filing_rate_limit)
    except ValueError as exc:
        raise ConfigError(
            f"api.public_filing_rate_limit: {cfg.public_filing_rate_limit!r} is not a rate "
            "limit (e.g. 10/hour)"
        ) from exc
    if cfg.trusted_proxies < 0:
        raise ConfigError(
            f"api.trusted_proxies: {cfg.trusted_proxies} — the number of proxies in front "
            "(0: none, clients connect directly)"
        )
    limiter = Limiter(
        get_remote_address,
        storage_uri=cfg.rate_limit_storage,
        headers_enabled=False,
        on_breach=_breached,
        key_prefix="credit-registry",
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    warn_if_counts_per_worker(cfg.rate_limit_storage)
    return limiter


def trust_proxies(app: Flask, runtime: Runtime) -> None:
    """With ``api.trusted_proxies`` N > 0, take the client's address from the last N
    ``X-Forwarded-For`` entries (the outermost wrapper, so the public lookup's short path
    and every limit see the same client).  Without it, the header is ignored."""
    count = runtime.config.api.trusted_proxies
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)  # type: ignore[method-assign]


def _uncounted() -> bool:
    return request.endpoint in UNCOUNTED_ENDPOINTS


def limit_blueprint(app: Flask, blueprint) -> None:
    """Count every route of ``blueprint`` against the public limit, in the client's one
    public bucket (call before registering)."""
    limiter = app.extensions[EXTENSION]
    limiter.shared_limit(_public_limit, scope=PUBLIC_SCOPE, exempt_when=_uncounted)(blueprint)


def exempt_blueprint(app: Flask, blueprint) -> None:
    """Leave ``blueprint`` (nested under a limited one) out of the public limit."""
    app.extensions[EXTENSION].exempt(blueprint)


# --- several workers, one count? -----------------------------------------------------


def _workers_option(args: Sequence[str]) -> str | None:
    """The value of the last ``-w N`` / ``-wN`` / ``--workers N`` / ``--workers=N``."""
    found = None
    for i, arg in enumerate(args):
        if arg in ("-w", "--workers") and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--workers="):
            found = arg.removeprefix("--workers=")
        elif arg.startswith("-w") and arg[2:].isdigit():
            found = arg[2:]
    return found


def worker_count(
    environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None
) -> tuple[int, str] | None:
    """How many worker processes serve this application, and where that was read, when
    it can be told from inside a worker (it inherits its server's command line and
    environment): under gunicorn, ``-w``/``--workers`` on its command line, in
    ``GUNICORN_CMD_ARGS``, or ``WEB_CONCURRENCY`` (gunicorn's own default); under granian,
    ``--workers`` or ``GRANIAN_WORKERS``; under another server, ``WEB_CONCURRENCY`` (the
    platforms' convention).  ``credit-registry serve`` is one process.  A count set only
    in a gunicorn configuration file cannot be told: None then, and when nothing says."""
    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    program = PurePath(argv[0]).parts if argv else ()
    found: list[tuple[str | None, str]]  # the first that says wins, as for the servers
    if "gunicorn" in program:
        found = [
            (_workers_option(argv), "服务器命令行"),
            (
                _workers_option(shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))),
                "GUNICORN_CMD_ARGS",
            ),
            (environ.get("WEB_CONCURRENCY"), "WEB_CONCURRENCY"),
        ]
    elif "granian" in program:
        found = [
            (_workers_option(argv), "服务器命令行"),
            (environ.get("GRANIAN_WORKERS"), "GRANIAN_WORKERS"),
        ]
    elif program and program[-1].startswith("credit-registry"):
        return None
    else:
        found = [(environ.get("WEB_CONCURRENCY"), "WEB_CONCURRENCY")]
    for value, source in found:
        if value and value.strip().isdigit():
            return int(value), source
    return None


def warn_if_counts_per_worker(storage: str) -> None:
    """Log a warning when several workers each keep their own ``memory://`` counts: a
    client then gets the limit once per worker.  Each worker builds its application,
    so each says it once."""
    if not storage.startswith("memory://"):
        return
    workers = worker_count()
    if workers is None or workers[0] <= 1:
        return
    log.warning(
        "限流计数保存在各进程内存中（api.rate_limit_storage: memory://），而本服务有 %d 个"
        "工作进程（见 %s）：每个客户端实际可得 %d 倍的限额。请改为共享存储，例如 "
        "api.rate_limit_storage: redis://127.0.0.1:6379（REGISTRY_API_RATE_LIMIT_STORAGE）",
        workers[0],
        workers[1],
        workers[0],
    )


def hit_filing_limit() -> None:
    """Count one public filing (objection or complaint, API or web form) against the
    client's ``api.public_filing_rate_limit``; 429 with ``Retry-After`` once it is spent.
    One count per client address shared by every filing door, so switching between the
    API and the form gains nothing."""
    limiter = current_app.extensions[EXTENSION]
    cfg = current_app.extensions["registry"].config.api
    key = get_remote_address()
    for item in parse_many(cfg.public_filing_rate_limit):
        if not limiter.limiter.hit(item, "public-filing", key):
            stats = limiter.limiter.get_window_stats(item, "public-filing", key)
            retry = max(1, int(stats.reset_time - time.time()))
            raise TooManyRequests(
                description=f"提交过于频繁（{rate_text(item)}），请 {retry} 秒后再试",
                retry_after=retry,
            )


#: The last path segment of a filing blueprint's status lookup (a POST, so that the
#: receipt travels in the body): a lookup is not a filing and is not counted as one.
STATUS_LOOKUP = "/status"


def guard_filing_blueprint(blueprint: Any) -> Callable[[Any], Any]:
    """Make ``blueprint`` a public filing door (objections, complaints): every POST but
    a status lookup (``…/status``) counts against the filing limit before its body is
    even parsed (so malformed attempts count too), no answer is cached on the way
    (receipts and statuses are one person's business).  Returns the decorator that
    documents its 429."""
    from api.common.schemas import ERROR_EXAMPLES, ErrorSchema

    @blueprint.before_request
    def _count_filings() -> None:
        if request.method == "POST" and not request.path.endswith(STATUS_LOOKUP):
            hit_filing_limit()

    @blueprint.after_request
    def _private(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response

    def rate_limited(func: Any) -> Any:
        return blueprint.alt_response(
            429,
            schema=ErrorSchema,
            description="请求过于频繁；Retry-After（秒）说明何时可以再试",
            headers={"Retry-After": {"schema": {"type": "integer"}}},
            example={"error": ERROR_EXAMPLES[429]},
        )(func)

    return rate_limited
