"""Rate limiting of the public API (flask-limiter), per client address.

The limit is ``api.public_rate_limit`` (environment ``REGISTRY_PUBLIC_RATE_LIMIT``,
default ``120/minute``), counted in ``api.rate_limit_storage`` (``memory://`` counts per
process; point several workers at one store, e.g. ``redis://…``, to share the count).
A client over the limit gets the one error shape with status 429 and ``Retry-After``
(seconds).  Only the public blueprint is limited; token holders are not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.exceptions import TooManyRequests

from api.common.messages import rate_text
from registry.core.config import ConfigError
from registry.core.runtime import Runtime

EXTENSION = "registry_limiter"


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
    limiter = Limiter(
        get_remote_address,
        storage_uri=cfg.rate_limit_storage,
        headers_enabled=False,
        on_breach=_breached,
        key_prefix="credit-registry",
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    return limiter


def limit_blueprint(app: Flask, blueprint) -> None:
    """Apply the public limit to every route of ``blueprint`` (call before registering)."""
    app.extensions[EXTENSION].limit(_public_limit)(blueprint)


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


def guard_filing_blueprint(blueprint: Any) -> Callable[[Any], Any]:
    """Make ``blueprint`` a public filing door (objections, complaints): every POST
    counts against the filing limit before its body is even parsed (so malformed
    attempts count too), no answer is cached on the way (receipts and statuses are one
    person's business).  Returns the decorator that documents its 429."""
    from api.common.schemas import ERROR_EXAMPLES, ErrorSchema

    @blueprint.before_request
    def _count_filings() -> None:
        if request.method == "POST":
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
