"""Files the API and the dashboard hand out as downloads (kept import reports)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response


def report_response(kept: Any) -> Response:
    """A kept report as a download (the dashboard's link serves the same)."""
    response = Response(kept.text.encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    ascii_name = f"import-{kept.batch.id}-report.csv"
    response.headers["Content-Disposition"] = (
        f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(kept.file_name)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
