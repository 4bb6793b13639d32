"""The public lookup's short path: ``GET /api/v1/public/entities/<uscc>`` answered in
front of Flask.

The public lookup is the registry's busiest request by far, and the framework around it
(routing, argument and response schemas, the limiter's request context, the session)
costs several times what the lookup itself does.  This WSGI middleware answers the
plain case — a GET of a known, well-formed code without a query string or a conditional
header, from a client within its rate limit, on PostgreSQL — with the very same answer
the Flask view gives (same read model, :func:`registry.disclosure.profile.public_profile_on`; same
bytes, same headers; tested side by side), counted in the same rate-limit window and
the same request metrics.  It reads through its own libpq connection per server thread
with the statement prepared at the protocol level
(:class:`registry.disclosure.profile.LibpqProfile`), as pgbench does: psycopg2's
``EXECUTE`` cost the server ~40 µs more a lookup.

Everything else goes to the Flask application unchanged: a malformed or unknown code
(400/404 in the one error shape), ``as_of``, ``If-None-Match``, a client over its limit
(429 with Retry-After), a database error (the view retries once on a new connection,
then 503), SQLite, a pack that makes grades public.  So every error is made in one
place, and a request the short path is unsure of costs it nothing but the check.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask
from limits import parse_many
from sqlalchemy import Engine, event
from werkzeug.http import generate_etag, http_date, quote_etag

from api.public.credit import grade_is_public, with_kinds
from api.public.lookup import CACHE_CONTROL
from registry.core import clock
from registry.core.codes import CodeError
from registry.core.db import libpq_conninfo
from registry.disclosure.profile import LibpqProfile, public_profile_on

PREFIX = "/api/v1/public/entities/"
_USCC_LENGTH = 18
#: After a failure, how long the short path leaves every lookup to the view.
_PAUSE_S = 1.0
_log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class PublicLookup:
    """WSGI middleware in front of ``app.wsgi_app`` (see the module's docstring)."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        from api.common.limiter import EXTENSION as LIMITER
        from api.common.limiter import PUBLIC_SCOPE
        from api.common.metrics import EXTENSION as METRICS
        from api.common.pages import SECURITY_HEADERS

        self.wsgi_app = wsgi_app
        self.runtime = app.extensions["registry"]
        # With read replicas the lookup is the view's: it picks a replica or the
        # primary per request (registry.core.replicas).
        self.enabled = (
            self.runtime.engine.dialect.name == "postgresql"
            and not self.runtime.config.database.replica_urls
        )
        limiter = app.extensions[LIMITER]
        self.rate_limiter = limiter.limiter
        self.limits = parse_many(self.runtime.config.api.public_rate_limit)
        self.key_prefix = limiter._key_prefix
        # The client's one public bucket (api.common.limiter), and the Flask view's rule
        # for the metrics label.
        adapter = app.url_map.bind("localhost")
        endpoint, _ = adapter.match(PREFIX + "X" * _USCC_LENGTH, method="GET")
        self.scope = PUBLIC_SCOPE
        self.rule = next(r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        metrics = app.extensions.get(METRICS)
        self.counted = metrics.requests.labels("GET", self.rule, "200") if metrics else None
        self.timed = metrics.latency.labels("GET", self.rule) if metrics else None
        self.security_headers = list(SECURITY_HEADERS.items())
        self._date = ("", 0)
        self.connections = _ThreadConnections(
            self.runtime.engine, libpq_conninfo(self.runtime.config) if self.enabled else ""
        )
        self._resume_at = 0.0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (
            not self.enabled
            or environ.get("REQUEST_METHOD") != "GET"
            or not path.startswith(PREFIX)
            or len(path) != len(PREFIX) + _USCC_LENGTH
            or environ.get("QUERY_STRING")
            or "HTTP_IF_NONE_MATCH" in environ
            or time.monotonic() < self._resume_at
        ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            body = self._answer(path[len(PREFIX) :], environ.get("REMOTE_ADDR") or "127.0.0.1")
        except Exception as exc:
            # Whatever went wrong (the database down, most likely), the view answers —
            # retrying, or with 503 — and for a second the short path stands aside, so
            # an outage does not cost every request two failed connection attempts.
            _log.debug("public lookup handed to the view: %r", exc)
            self._resume_at = time.monotonic() + _PAUSE_S
            body = None
        if body is None:
            return self.wsgi_app(environ, start_response)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", CACHE_CONTROL),
                ("ETag", quote_etag(generate_etag(body))),
                ("Date", self._http_date()),
                *self.security_headers,
            ],
        )
        if self.counted is not None and self.timed is not None:
            self.counted.inc()
            self.timed.observe(time.perf_counter() - started)
        return [body]

    def _answer(self, code: str, client: str) -> bytes | None:
        """The 200 body, or None to let the Flask view answer."""
        pack = self.runtime.pack
        if grade_is_public(pack):
            return None
        # Within the client's limit?  Checked first, counted only when answering here:
        # a request handed to the view is counted there, once.
        args = (self.key_prefix, client, self.scope) if self.key_prefix else (client, self.scope)
        if not all(self.rate_limiter.test(item, *args) for item in self.limits):
            return None
        connection = self.connections.get()
        try:
            profile = public_profile_on(connection, code, clock.today(), pack)
        except CodeError:
            return None
        except Exception:
            self.connections.drop(connection)
            raise
        if profile is None:
            return None
        for item in self.limits:
            self.rate_limiter.hit(item, *args)
        profile["lists"] = with_kinds(profile["lists"], pack)
        return dumps(profile)

    def _http_date(self) -> str:
        now = int(time.time())
        text, at = self._date
        if at != now:
            text = http_date(now)
            self._date = (text, now)
        return text


def dumps(value: Any) -> bytes:
    """The bytes Flask's JSON provider writes for an answer (sorted keys, compact, UTF-8,
    a final newline) — orjson does it in a fraction of the time; tested byte for byte."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


class _ThreadConnections:
    """One database connection per server thread for the short path: libpq's own, with
    the profile statement prepared on it at the protocol level
    (:class:`registry.disclosure.profile.LibpqProfile`), opened on the thread's first lookup and
    kept — a lookup then costs no pool checkout and check-in, and the server no parsing.
    A connection that fails is closed and the thread's next lookup opens a new one; when
    the engine is disposed (tests, a worker shutting down) every one is closed.  Each
    thread of the server therefore holds one connection beside the pool's, with the
    same session settings (:func:`registry.core.db.libpq_conninfo`)."""

    def __init__(self, engine: Engine, conninfo: str) -> None:
        self.conninfo = conninfo
        self.local = threading.local()
        self.live: weakref.WeakSet[LibpqProfile] = weakref.WeakSet()
        self.lock = threading.Lock()
        #: Bumped when the engine is disposed: a thread's connection from before is
        #: closed, and the thread opens a new one instead of failing a lookup on it.
        self.generation = 0
        event.listen(engine, "engine_disposed", self._close_all)

    def get(self) -> LibpqProfile:
        held = getattr(self.local, "held", None)
        if held is not None and held[0] == self.generation and not held[1].broken:
            return held[1]
        if held is not None:
            self.drop(held[1])
        connection = LibpqProfile(self.conninfo)
        self.local.held = (self.generation, connection)
        with self.lock:
            self.live.add(connection)
        return connection

    def drop(self, connection: LibpqProfile) -> None:
        self.local.held = None
        with self.lock:
            self.live.discard(connection)
        with contextlib.suppress(Exception):
            connection.close()

    def _close_all(self, _engine: Engine) -> None:
        with self.lock:
            held, self.live = list(self.live), weakref.WeakSet()
            self.generation += 1
        for connection in held:
            with contextlib.suppress(Exception):
                connection.close()


def install(app: Flask) -> None:
    """Put the short path in front of the application."""
    app.wsgi_app = PublicLookup(app, app.wsgi_app)  # type: ignore[method-assign]
