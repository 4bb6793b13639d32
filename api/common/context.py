"""Request-scoped access to the registry runtime and one unit of work per request."""

from __future__ import annotations

import hashlib
import logging

from flask import Response, current_app, g, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from registry.core.replicas import CHECK_EVERY_S
from registry.core.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["registry"]


#: Paths whose GETs may read a replica (docs/scaling.md): the public JSON API (lookup,
#: search, published lists, the change feed, …) and the public pages.
REPLICA_PATHS = ("/api/v1/public/", "/entities/", "/search", "/lists")
_READING = ("GET", "HEAD", "OPTIONS")


def db() -> Session:
    """The request's session; committed once by the view that writes, rolled back on error.
    A public read goes to a read replica when one is usable (registry.core.replicas)."""
    if "db" not in g:
        rt = runtime()
        reading = request.method in _READING
        g.db = None
        if reading and request.path.startswith(REPLICA_PATHS) and not _wrote_lately():
            replica = rt.replicas.sessions() if rt.replicas.configured else None
            if replica is not None:
                g.db = _open_replica(replica)
        if g.db is None:
            g.db = (rt.sessions if reading else rt.write_sessions)()
    return g.db


def _open_replica(replica: sessionmaker[Session]) -> Session | None:
    """A session on the replica, its connection checked (one round trip: a replica
    stopped since its last check is found here, and the primary answers instead)."""
    session = replica()
    try:
        session.connection().exec_driver_sql("SELECT 1")
    except DBAPIError:
        session.close()
        runtime().replicas.mark_failed(replica)
        return None
    g.db_replica = replica
    return session


def on_replica() -> bool:
    """Whether the request's session reads a replica."""
    return "db_replica" in g


def replica_failed() -> None:
    """A read on the request's replica failed: skip it until its next check (the view
    retries on the primary after :func:`close_db`)."""
    replica = g.get("db_replica")
    if replica is not None:
        runtime().replicas.mark_failed(replica)


def _token_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def _wrote_lately() -> bool:
    """Whether the calling token wrote recently enough that a usable replica may not have
    its write yet (a replica is used up to ``max_replica_lag`` seconds behind, checked
    once a second): its reads go to the primary, so it reads what it wrote.  Remembered
    where ``database.writers_storage`` says (api/common/writers.py)."""
    key = _token_key()
    if key is None:
        return False
    return bool(current_app.extensions["writers"].wrote_lately(key))


def remember_writer(response: Response) -> Response:
    """After a successful write by a token: its reads go to the primary for a while."""
    if request.method not in _READING and response.status_code < 400:
        key = _token_key()
        if key is not None and runtime().replicas.configured:
            window = runtime().config.database.max_replica_lag + CHECK_EVERY_S + 1
            current_app.extensions["writers"].remember(key, window)
    return response


def close_db(_exc: BaseException | None = None) -> None:
    g.pop("db_replica", None)
    session = g.pop("db", None)
    if session is not None:
        try:
            session.rollback()
        except DBAPIError as exc:
            # The connection died after the answer was made (the database stopped):
            # the server dropped the transaction with it and the pool discards the
            # connection.  Raising here would turn a finished answer into a bare 500.
            logging.getLogger(__name__).warning("rollback at the end of a request: %s", exc)
        finally:
            session.close()
