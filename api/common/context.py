"""Request-scoped access to the registry runtime and one unit of work per request."""

from __future__ import annotations

import logging

from flask import current_app, g, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.core.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["registry"]


def db() -> Session:
    """The request's session; committed once by the view that writes, rolled back on error."""
    if "db" not in g:
        rt = runtime()
        reading = request.method in ("GET", "HEAD", "OPTIONS")
        g.db = (rt.sessions if reading else rt.write_sessions)()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
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
