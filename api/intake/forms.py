"""Public web forms of the intake workflows: objections (异议申诉) and complaints (举报投诉).

Plain HTML forms (no script needed), posted to the same origin.  They are account-less,
so what protects them is: a CSRF token kept in the signed session cookie (SameSite=Lax,
so another site's form cannot carry it), the same filing rate limit as the API (one
count per client for both doors), and the same domain operations as the API.  A receipt
is shown once, on the answer to the filing POST (never cached); the status pages take
the receipt in a POSTed form, so it never appears in a URL, a log or a browser history.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, render_template, request, session
from werkzeug.exceptions import TooManyRequests

from api.common.context import db, runtime
from api.common.csrf import csrf_token
from api.common.limiter import hit_filing_limit
from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.errors import DomainError
from registry.disclosure.profile import public_profile
from registry.disclosure.views import public_lists
from registry.intake.complaints import (
    KIND_LABELS,
    KINDS,
    STATUS_LABELS,
    file_complaint,
    reporter_view,
)
from registry.intake.complaints import find_by_receipt as find_complaint
from registry.intake.objections import file_objection, filer_view
from registry.intake.objections import find_by_receipt as find_objection

blp = Blueprint("intake", __name__)

OUTCOME_LABELS = {
    "corrected": "已更正记录",
    "revoked": "已撤销记录",
    "rejected": "不予采纳（维持原记录）",
}
OBJECTION_STATUS_LABELS = {"open": "处理中", "answered": "已答复"}


@blp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, csrf=csrf_token(), **context), status


def _refused(*, filing: bool = True) -> tuple[str, int] | None:
    """The answer when the form must not be processed (CSRF; the rate limit for a
    filing — a status lookup is not counted: receipts are far too many to guess), else
    None."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf_token", "")
    if not (expected and sent and hmac.compare_digest(sent, expected)):
        return render_template(
            "error.html",
            status=400,
            title="表单已失效",
            message="表单已过期或不是从本站提交的，请返回上一页刷新后重新填写。",
        ), 400
    if not filing:
        return None
    try:
        hit_filing_limit()
    except TooManyRequests as exc:
        return render_template(
            "error.html",
            status=429,
            title="提交过于频繁",
            message=f"为防止滥用，同一网络每小时可提交的次数有限。{exc.description}",
        ), 429
    return None


def _form(*names: str) -> dict[str, str]:
    return {name: (request.form.get(name) or "").strip() for name in names}


def _problem(exc: DomainError) -> dict[str, Any]:
    """A domain error for the form: the message and the fields it names."""
    details = exc.details if isinstance(exc.details, dict) else {}
    fields = details.get("json", {}) if isinstance(details.get("json"), dict) else {}
    return {"message": exc.message, "fields": sorted(fields)}


# --- objections --------------------------------------------------------------------------


def _records(uscc: str) -> tuple[str | None, dict[str, Any] | None]:
    """The normalised code and the public profile it has (records the filer can pick)."""
    try:
        code = validate_uscc(uscc)
    except CodeError:
        return None, None
    return code, public_profile(db(), code, clock.today(), pack=runtime().pack)


@blp.get("/objections/new")
def objection_form():
    code, profile = _records(request.args.get("uscc", ""))
    values = {
        "uscc": code or request.args.get("uscc", "")[:40],
        # a record's own link (异议 on an entry or penalty card) names it as the target
        "target": request.args.get("target", "")[:40],
    }
    return _page("intake/objection_form.html", profile=profile, values=values, problem=None)


@blp.post("/objections/new")
def objection_file():
    refused = _refused()
    if refused:
        return refused
    values = _form("uscc", "target", "decision_number", "statement", "contact")
    target = values["target"]
    kwargs: dict[str, Any] = {}
    kind, _, ident = target.partition(":")
    if kind in ("penalty", "list_entry") and ident.isdigit():
        kwargs["penalty_id" if kind == "penalty" else "list_entry_id"] = int(ident)
    else:
        kwargs["decision_number"] = values["decision_number"] or None
    rt = runtime()
    session_db = db()
    try:
        filed = file_objection(
            session_db,
            rt.config,
            rt.pack,
            uscc=values["uscc"],
            statement=values["statement"],
            contact=values["contact"],
            **kwargs,
        )
        view = filer_view(session_db, filed.objection)
        session_db.commit()
    except DomainError as exc:
        session_db.rollback()
        _code, profile = _records(values["uscc"])
        return _page(
            "intake/objection_form.html",
            422 if exc.status in (404, 409) else exc.status,
            profile=profile,
            values=values,
            problem=_problem(exc),
        )
    return _page("intake/receipt.html", 201, kind="objection", receipt=filed.receipt, view=view)


@blp.route("/objections/status", methods=["GET", "POST"])
def objection_status():
    if request.method == "GET":
        return _page("intake/status_form.html", kind="objection", problem=None)
    refused = _refused(filing=False)
    if refused:
        return refused
    session_db = db()
    try:
        receipt = _form("receipt")["receipt"]
        view = filer_view(session_db, find_objection(session_db, receipt, runtime().keys))
    except DomainError as exc:
        return _page("intake/status_form.html", 404, kind="objection", problem=_problem(exc))
    return _page(
        "intake/objection_status.html",
        view=view,
        status_label=OBJECTION_STATUS_LABELS.get(view["status"], view["status"]),
        outcome_label=OUTCOME_LABELS.get(view["outcome"] or "", ""),
        lists=public_lists(runtime().pack),
    )


# --- complaints --------------------------------------------------------------------------


@blp.get("/complaints/new")
def complaint_form():
    values = {"uscc": request.args.get("uscc", "")[:40], "kind": "counterfeit"}
    return _page("intake/complaint_form.html", kinds=_kinds(), values=values, problem=None)


def _kinds() -> list[tuple[str, str]]:
    return [(k, KIND_LABELS[k]) for k in KINDS]


@blp.post("/complaints/new")
def complaint_file():
    refused = _refused()
    if refused:
        return refused
    values = _form("uscc", "kind", "description", "contact")
    session_db = db()
    try:
        filed = file_complaint(
            session_db,
            runtime().config,
            uscc=values["uscc"],
            kind=values["kind"],
            description=values["description"],
            contact=values["contact"] or None,
        )
        view = reporter_view(filed.complaint)
        session_db.commit()
    except DomainError as exc:
        session_db.rollback()
        return _page(
            "intake/complaint_form.html",
            exc.status,
            kinds=_kinds(),
            values=values,
            problem=_problem(exc),
        )
    return _page("intake/receipt.html", 201, kind="complaint", receipt=filed.receipt, view=view)


@blp.route("/complaints/status", methods=["GET", "POST"])
def complaint_status():
    if request.method == "GET":
        return _page("intake/status_form.html", kind="complaint", problem=None)
    refused = _refused(filing=False)
    if refused:
        return refused
    try:
        view = reporter_view(find_complaint(db(), _form("receipt")["receipt"], runtime().keys))
    except DomainError as exc:
        return _page("intake/status_form.html", 404, kind="complaint", problem=_problem(exc))
    return _page(
        "intake/complaint_status.html",
        view=view,
        status_label=STATUS_LABELS.get(view["status"], view["status"]),
    )
