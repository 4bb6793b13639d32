"""Regulators: import a penalty file over HTTP — the CLI's engine, rules and report.

`POST /api/v1/imports` takes `multipart/form-data` with the file and the CLI's
options (`format`, `strict`, `dry_run`) and runs :func:`importers.run.import_file`
with the token's authority: rows of another authority are rejected, as with
`credit-registry import --authority`.  The answer is the CLI's summary with the
report rows (`line, field, reason`) inline.  A body over `api.max_upload_mb` is 413;
a file that cannot be read at all, or (`strict`) any rejected row, is 422 with the
report in `details`.  The touched subjects wait in the rules' queue for the scheduler.
"""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from api.common import auth, metrics
from api.common.context import runtime
from api.common.downloads import report_response
from api.common.errors import ApiError
from api.common.schemas import documents_errors
from api.regulators.schemas import ImportReportSchema, ImportUploadSchema
from importers.run import ImportSummary, ReportWriter, import_file
from registry.records.reports import keep_report, report_of

#: Report rows returned inline at most (the counts always cover every row).
MAX_REPORT_ROWS = 10_000


class _MultipartParser(FlaskParser):
    """The `files` location reads the whole multipart body: files and form fields."""

    def load_files(self, req: Any, schema: Any) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class _UploadBlueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()


blp = _UploadBlueprint(
    "imports",
    __name__,
    url_prefix="/api/v1/imports",
    description="Regulators: penalty files (CSV, XLSX, JSONL) in the national layout.",
)


def report_view(summary: ImportSummary, report_text: str) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO(report_text)))[1:]
    truncated = len(rows) > MAX_REPORT_ROWS
    return {
        "source": summary.source,
        "format": summary.format,
        "batch_id": summary.batch_id,
        "rows": summary.rows,
        "accepted": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "rejected": summary.rejected,
        "problems": summary.problems,
        "strict": summary.strict,
        "dry_run": summary.dry_run,
        "written": summary.written,
        "warnings": list(summary.warnings),
        "report": [
            {"line": int(line), "field": field, "reason": reason}
            for line, field, reason in rows[:MAX_REPORT_ROWS]
        ],
        "report_truncated": truncated,
    }


def keep_batch_report(summary: ImportSummary, text: str, rows: int) -> None:
    """Keep a written batch's rejection report, as produced, for later download."""
    if summary.batch_id is None or summary.dry_run or not rows:
        return
    with runtime().unit_of_work() as session:
        keep_report(session, summary.batch_id, text, rows)


@blp.route("")
class Imports(MethodView):
    @auth.required(blp, "regulator", request_writes=False)
    @blp.arguments(ImportUploadSchema, location="files", content_type="multipart/form-data")
    @blp.response(
        200,
        ImportReportSchema,
        example={
            "source": "penalties-2026-11.csv",
            "format": "csv",
            "batch_id": 17,
            "rows": 3,
            "accepted": 1,
            "updated": 1,
            "unchanged": 0,
            "rejected": 1,
            "problems": 1,
            "strict": False,
            "dry_run": False,
            "written": True,
            "warnings": [],
            "report": [{"line": 4, "field": "uscc", "reason": "第18位校验码错误"}],
            "report_truncated": False,
        },
    )
    @documents_errors(blp, 413, 422, 503)
    def post(self, form: dict[str, Any]) -> dict[str, Any]:
        """Import a penalty file

        Same engine, rules and report as `credit-registry import --authority <token's
        authority>`: accepted / updated / unchanged / rejected counts and every rejected
        row with its line and reason.  `strict`: any rejected row rejects the whole
        file (422, nothing written).  `dry_run`: the same checks, nothing written."""
        principal = auth.current_principal()
        upload = form["file"]
        name = os.path.basename(upload.filename or "") or "upload"
        buffer = io.StringIO()
        writer = ReportWriter(buffer)
        try:
            summary = import_file(
                runtime(),
                upload.stream,
                name=name,
                fmt=form.get("format"),
                authority=principal.authority_uscc,
                strict=form["strict"],
                dry_run=form["dry_run"],
                report=writer,
                actor=f"{principal.actor}:api-import",
            )
        finally:
            writer.close()
        metrics.count_import(summary)
        keep_batch_report(summary, buffer.getvalue(), writer.rows)
        view = report_view(summary, buffer.getvalue())
        if summary.fatal:
            raise ApiError(summary.fatal, context=view, status=422, code="unreadable_file")
        if not summary.ok:
            raise ApiError(
                f"严格模式：{summary.rejected} 行被拒收，整个文件未写入",
                context=view,
                status=422,
                code="rows_rejected",
            )
        return view


@blp.route("/<id:batch_id>/report")
class BatchReport(MethodView):
    @auth.required(blp, "regulator", "admin")
    @blp.doc(
        responses={
            "200": {
                "description": "the rejection report as the import produced it (CSV)",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    )
    @documents_errors(blp, 404, 503)
    def get(self, batch_id: int) -> Response:
        """An import batch's rejection report (CSV)

        The report kept when the batch was imported (API or CLI), byte for byte as it
        was produced.  Regulators: their authority's batches only (403)."""
        from api.common.context import db

        principal = auth.current_principal()
        authority = principal.authority_uscc if principal.role == "regulator" else None
        kept = report_of(db(), batch_id, authority)
        return report_response(kept)
