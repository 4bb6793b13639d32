"""Regulators: import a penalty file over HTTP — the CLI's engine, rules and report.

`POST /api/v1/imports` takes `multipart/form-data` with the file and the CLI's
options (`format`, `strict`, `dry_run`) and runs :func:`importers.run.import_file`
with the token's authority: rows of another authority are rejected, as with
`credit-registry import --authority`.  The answer is the CLI's summary with the
report rows inline (`line, decision_number, field, column, reason` — the CSV report's
`行号, 决定书文号, 字段, 原因`, with the field's English name beside the file's own header)
and what the rules did after the import.  `GET /api/v1/imports/<id>` gives a batch's
counts, status and rules summary again, to its authority.  A body over `api.max_upload_mb` is 413;
a file that cannot be read at all, or (`strict`) any rejected row, is 422 with the
report in `details`.  The touched subjects wait in the rules' queue for the scheduler.
"""

from __future__ import annotations

import io
import os
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from api.common import auth, metrics
from api.common.context import db, runtime
from api.common.downloads import report_response
from api.common.errors import ApiError
from api.common.schemas import documents_errors
from api.regulators.schemas import ImportBatchSchema, ImportReportSchema, ImportUploadSchema
from importers.run import ImportSummary, ReportWriter, import_file
from registry.evaluation.history import rules_sentence
from registry.records.batches import batch_view
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
    description="监管部门：导入《行政处罚信息》数据标准格式的处罚记录文件（CSV、XLSX、JSONL），"
    "查看导入批次。",
)


def report_view(summary: ImportSummary, writer: ReportWriter) -> dict[str, Any]:
    rows = writer.kept[:MAX_REPORT_ROWS]
    truncated = writer.rows > len(rows)
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
            {
                "line": row.line,
                "decision_number": row.decision_number,
                "field": row.field,
                "column": row.column,
                "reason": row.reason,
            }
            for row in rows
        ],
        "report_truncated": truncated,
        "rules": summary.rules,
        "rules_text": summary.rules_line(),
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
            "report": [
                {
                    "line": 4,
                    "decision_number": "苏市监罚〔2026〕17号",
                    "field": "uscc",
                    "column": "统一社会信用代码",
                    "reason": "第18位校验码错误",
                }
            ],
            "report_truncated": False,
            "rules": {
                "subjects": 2,
                "proposed": 1,
                "activated": 0,
                "withdrawn": 0,
                "removed": 0,
                "alerts": 0,
                "failed": False,
            },
            "rules_text": "规则评估 2 个主体：拟列入 1，生效 0，撤回 0，移出 0，新预警 0",
        },
    )
    @documents_errors(blp, 413, 422, 503)
    def post(self, form: dict[str, Any]) -> dict[str, Any]:
        """导入处罚记录文件

        与 `credit-registry import --authority <令牌所属机关>` 相同的引擎、规则和报告：
        新增、更新、未变、拒收的行数，每个拒收行的行号、决定书文号、字段和原因，以及导入后
        规则评估的结果（拟列入、生效、撤回、移出、新预警）。`strict`：任何一行被拒收则整个
        文件不写入（422）。`dry_run`：同样的校验，不写入。"""
        principal = auth.current_principal()
        upload = form["file"]
        name = os.path.basename(upload.filename or "") or "upload"
        buffer = io.StringIO()
        writer = ReportWriter(buffer, keep=MAX_REPORT_ROWS)
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
        view = report_view(summary, writer)
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


@blp.route("/<id:batch_id>")
class Batch(MethodView):
    @auth.required(blp, "regulator", "admin")
    @blp.response(
        200,
        ImportBatchSchema,
        example={
            "id": 17,
            "source": "penalties-2026-11.csv",
            "format": "csv",
            "authority_uscc": "11320500NTDF6XDB6G",
            "status": "completed",
            "status_label": "已完成",
            "rows": 3,
            "accepted": 1,
            "updated": 1,
            "unchanged": 0,
            "rejected": 1,
            "rejection_reasons": {"uscc": 1},
            "rules": {
                "subjects": 2,
                "proposed": 1,
                "activated": 0,
                "withdrawn": 0,
                "removed": 0,
                "alerts": 0,
                "failed": False,
            },
            "rules_text": "规则评估 2 个主体：拟列入 1，生效 0，撤回 0，移出 0，新预警 0",
            "started_at": "2026-11-20T08:00:00+00:00",
            "finished_at": "2026-11-20T08:00:04+00:00",
        },
    )
    @documents_errors(blp, 404, 503)
    def get(self, batch_id: int) -> dict[str, Any]:
        """查看一个导入批次

        该批次的新增、更新、未变、拒收行数，状态，以及导入后规则评估的结果。监管部门只能
        查看本机关的批次（其他机关的批次答复 403）；管理员可查看全部批次。"""
        principal = auth.current_principal()
        authority = None if principal.role == "admin" else principal.authority_uscc
        view = batch_view(db(), batch_id, authority)
        view["rules_text"] = None if view["rules"] is None else rules_sentence(view["rules"])
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
        """导入批次的拒收行报告（CSV）

        导入（API 或命令行）时保存的报告，与当时生成的内容逐字节相同。监管部门只能下载
        本机关的批次（否则 403）。"""

        principal = auth.current_principal()
        authority = principal.authority_uscc if principal.role == "regulator" else None
        kept = report_of(db(), batch_id, authority)
        return report_response(kept)
