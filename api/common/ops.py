"""Operations endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from flask import Blueprint, jsonify

from api.common.context import runtime
from api.common.errors import error_response
from registry.core.db import DatabaseUnavailable, check_connection

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify({"status": "ok"})


@blp.get("/readyz")
def readyz():
    """The database is reachable."""
    try:
        check_connection(runtime().engine)
    except DatabaseUnavailable:
        return error_response(503, "unavailable", "the database is unavailable")
    return jsonify({"status": "ready"})
