"""The credit report (信用报告) as pages: the print-ready report, the same report as PDF
(WeasyPrint, with Debian's Noto Sans CJK embedded), and the verification page.

The report itself — its number, facts and verification code — is made once in
:mod:`registry.disclosure.reports`; these views only render it.  Issuing a report
writes a row (its number must be checkable later), so the report views use a unit of
work of their own rather than the request's reading session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, redirect, render_template, request, url_for

from api.common.context import db, runtime
from api.common.pages import blp
from api.public.credit import list_groups
from api.public.pages import CHECK_LABELS
from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.disclosure.reports import BadReportNumber, issue_report, verify_report

STATIC = Path(__file__).resolve().parent.parent / "static"


def _issued(uscc: str, endpoint: str) -> tuple[dict[str, Any] | None, Any]:
    """The issued report, or the response to send instead (malformed code 400,
    non-canonical spelling redirected)."""
    try:
        code = validate_uscc(uscc)
    except CodeError as exc:
        page = render_template(
            "code_error.html",
            code=uscc[:64],
            check=exc.check,
            check_label=CHECK_LABELS.get(exc.check, exc.check),
            message=exc.message,
        )
        return None, (page, 400)
    if code != uscc:
        return None, redirect(url_for(endpoint, uscc=code), code=301)
    rt = runtime()
    with rt.unit_of_work() as session:
        report = issue_report(
            session, rt.keys.report, code, pack=rt.pack, issuer=rt.config.records.report_issuer
        )
    return report, None


def _context(report: dict[str, Any]) -> dict[str, Any]:
    profile = report["profile"]
    return {
        "r": report,
        "e": profile,
        "groups": list_groups(profile["lists"]),
        "issued_at": report["issued_at"].astimezone(clock.CHINA),
    }


@blp.get("/entities/<uscc>/report")
def report(uscc: str):
    issued, other = _issued(uscc, "web.report")
    if issued is None:
        return other
    response = Response(render_template("report.html", **_context(issued)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/entities/<uscc>/report.pdf")
def report_pdf(uscc: str):
    issued, other = _issued(uscc, "web.report_pdf")
    if issued is None:
        return other
    from weasyprint import CSS, HTML

    html = render_template("report_pdf.html", **_context(issued))
    pdf = HTML(string=html, base_url=str(STATIC)).write_pdf(
        stylesheets=[CSS(filename=str(STATIC / "report.css"))]
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{issued["number"]}.pdf"'  # the number is ASCII
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/reports/verify")
def verify_page():
    number = (request.args.get("number") or "").strip()[:64]
    code = (request.args.get("code") or "").strip()[:40]
    result: dict[str, Any] | None = None
    problem = None
    if number or code:
        if not number or not code:
            problem = "请同时填写报告编号和验证码。"
        else:
            try:
                result = verify_report(
                    db(), runtime().keys.report, number, code, pack=runtime().pack
                )
            except BadReportNumber as exc:
                problem = exc.message
    response = Response(
        render_template(
            "report_verify.html", number=number, code=code, result=result, problem=problem
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response
