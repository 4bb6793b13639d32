"""Request-scoped access to the registry runtime and one unit of work per request."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from registry.runtime import Runtime


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
        session.rollback()
        session.close()
