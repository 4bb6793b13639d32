"""Files served for download: an import batch's kept rejection report, the same bytes
through the API (``GET /api/v1/imports/<id>/report``) and the dashboard's link."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from registry.records.reports import KeptReport


def report_response(kept: KeptReport) -> Response:
    """A kept report as a CSV download, byte for byte as produced, named after the
    uploaded file (an ASCII name beside the UTF-8 one for old clients)."""
    response = Response(kept.text.encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    ascii_name = f"import-{kept.batch.id}-report.csv"
    response.headers["Content-Disposition"] = (
        f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(kept.file_name)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
