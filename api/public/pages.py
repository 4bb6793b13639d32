"""Public web pages (server-rendered, Chinese, no JavaScript needed).

Every value shown comes from :mod:`registry.disclosure`, the same read model the public JSON
API uses, so a page can never show what the API would hide.  Templates autoescape every
value; the security headers below forbid inline scripts and styles and framing on every
response of the application.
"""

from __future__ import annotations

import csv
import io
from math import ceil
from typing import Any

from flask import (
    Response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from api.common.context import db, runtime
from api.common.pages import blp, int_arg, not_found_page, page_links
from registry.core import clock
from registry.core.codes import CodeError, normalise, validate_uscc
from registry.core.errors import NotFound
from registry.disclosure.profile import public_profile
from registry.disclosure.queries import (
    LIST_SORTS,
    list_filters,
    published_list,
    published_list_all,
    search_entities,
)
from registry.disclosure.views import public_lists
from registry.records.export import safe_cell

SEARCH_PER_PAGE = 20
LIST_PER_PAGE = 50
CHECK_LABELS = {
    "length": "长度检查",
    "character": "字符检查",
    "authority": "登记管理部门代码检查（第1位）",
    "division": "行政区划码检查（第3-8位）",
    "body_check": "主体标识码校验（第17位）",
    "check": "校验码检查（第18位）",
}


@blp.get("/")
def home():
    lists = public_lists(runtime().pack)
    return render_template("home.html", lists=lists)


@blp.get("/favicon.ico")
def favicon():
    return send_from_directory(
        blp.static_folder or "static", "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


@blp.get("/search")
def search():
    q = (request.args.get("q") or "").strip()[:100]
    page = int_arg("page")
    items: list[dict[str, Any]] = []
    total = 0
    code_problem: CodeError | None = None
    if q:
        items, total = search_entities(
            db(), q, page, SEARCH_PER_PAGE, as_of=clock.today(), pack=runtime().pack
        )
        last = max(1, ceil(total / SEARCH_PER_PAGE))
        if page > last:  # a page past the end shows the last one
            page = last
            items, total = search_entities(
                db(), q, page, SEARCH_PER_PAGE, as_of=clock.today(), pack=runtime().pack
            )
        code = normalise(q)
        # A full-length code that fails its checks: say why, rather than just "nothing".
        if not total and len(code) == 18:
            try:
                validate_uscc(code)
            except CodeError as exc:
                code_problem = exc
    return render_template(
        "search.html",
        q=q,
        items=items,
        pages=page_links(page, SEARCH_PER_PAGE, total),
        code_problem=code_problem,
        check_label=CHECK_LABELS.get(code_problem.check, "") if code_problem else "",
    )


def _profile_or_error(uscc: str, endpoint: str):
    """The profile, or the response to send instead (malformed 400, unknown 404,
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
    profile = public_profile(db(), code, clock.today(), pack=runtime().pack)
    if profile is None:
        page = render_template("unknown_code.html", code=code)
        return None, (page, 404)
    return profile, None


@blp.get("/entities/<uscc>")
def entity(uscc: str):
    profile, other = _profile_or_error(uscc, "web.entity")
    if profile is None:
        return other
    return render_template(
        "entity.html", e=profile, credit=_credit(profile), sup=_supervision(profile["uscc"])
    )


def _credit(profile: dict[str, Any]) -> dict[str, Any]:
    """Dishonesty and red lists apart (each shown once), and the grade if it is public."""
    from api.public.credit import entity_credit

    return entity_credit(db(), profile, runtime().pack, clock.today())


def _supervision(uscc: str) -> dict[str, Any]:
    """The entity's quality commitments and published inspection results."""
    from registry.supervision.commitments import entity_supervision

    return entity_supervision(db(), uscc, clock.today())


@blp.get("/lists")
def lists_index():
    return render_template("lists.html", lists=public_lists(runtime().pack))


def _list_args() -> dict[str, Any]:
    sort = request.args.get("sort", "date")
    region = (request.args.get("region") or "").strip()
    authority = (request.args.get("authority") or "").strip().upper()
    return {
        "sort": sort if sort in LIST_SORTS else "date",
        "region": region if region.isdigit() and len(region) <= 6 else None,
        "authority": authority if authority.isalnum() and len(authority) == 18 else None,
    }


@blp.get("/lists/<list_type>")
def list_page(list_type: str):
    page = int_arg("page")
    pack = runtime().pack
    args = _list_args()
    try:
        items, total = published_list(
            db(), list_type, page, LIST_PER_PAGE, clock.today(), pack=pack, **args
        )
    except NotFound:
        return not_found_page("名单不存在", "没有这个公开名单，请从名单目录中选择。")
    link_args = {k: v for k, v in args.items() if v and not (k == "sort" and v == "date")}
    return render_template(
        "list.html",
        list_type=public_lists(pack)[list_type],
        items=items,
        pages=page_links(page, LIST_PER_PAGE, total),
        args=args,
        link_args=link_args,
        filters=list_filters(db(), list_type, clock.today()),
    )


#: The CSV download's columns: header and the item's value.
LIST_CSV_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("名称", lambda i: i["name"] or ""),
    ("统一社会信用代码", lambda i: i["uscc"] or ""),
    ("登记地", lambda i: i["region"] or ""),
    ("名单类别", lambda i: i["group_title"]),
    ("名单", lambda i: i["title"]),
    ("列入机关", lambda i: i["authority"]["name"] or ""),
    (
        "列入依据",
        lambda i: (
            "；".join(g["decision_number"] for g in i["grounds"]["penalties"])
            or (i["grounds"]["naming_decision"] or "")
            or ((i["grounds"]["rule"] or {}).get("title") or "")
        ),
    ),
    ("法律依据", lambda i: i["legal_basis"]),
    ("列入日期", lambda i: i["since"] or ""),
    ("期限", lambda i: i["term"]["text"]),
    ("如何移出", lambda i: i["term"]["ends"]),
    ("异议处理中", lambda i: "是" if i["under_objection"] else ""),
)


@blp.get("/lists/<list_type>.csv")
def list_csv(list_type: str):
    """The whole list as CSV for a spreadsheet: UTF-8 with a BOM (Excel opens it as
    such), every cell formula-safe (:func:`registry.records.export.safe_cell`)."""
    pack = runtime().pack
    try:
        items = published_list_all(db(), list_type, clock.today(), pack=pack, **_list_args())
    except NotFound:
        return not_found_page("名单不存在", "没有这个公开名单，请从名单目录中选择。")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _ in LIST_CSV_COLUMNS])
    for item in items:
        writer.writerow([safe_cell(str(value(item))) for _, value in LIST_CSV_COLUMNS])
    body = "\ufeff" + out.getvalue()
    filename = f"{list_type}-{clock.today():%Y%m%d}.csv"
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blp.get("/inspections")
def inspections_page():
    from registry.supervision.inspections import list_tasks, task_view

    page = int_arg("page")
    session = db()
    tasks, total = list_tasks(session, published_only=True, page=page, per_page=LIST_PER_PAGE)
    items = [task_view(session, t, public=True, with_items=False) for t in tasks]
    return render_template(
        "inspections.html", items=items, pages=page_links(page, LIST_PER_PAGE, total)
    )


@blp.get("/inspections/<int:task_id>")
def inspection_page(task_id: int):
    from registry.supervision.inspections import published_task, task_view

    session = db()
    try:
        task = published_task(session, task_id)
    except NotFound:
        return not_found_page("抽查任务不存在", "没有这个已公示的抽查任务。")
    view = task_view(session, task, public=True)
    names = {m["code"]: m["name"] for m in view["inspectors"]}
    return render_template("inspection.html", t=view, inspector_names=names)
