"""The public API: disclosed data only, no token, rate-limited per client.

What is public is decided in one place, :mod:`registry.disclosure` (disclosure windows,
confirmed entries on public lists, no ID numbers, natural persons' names masked); this
blueprint parses, calls and serialises.  Every successful GET carries an `ETag` (a
conditional GET with `If-None-Match` answers 304) and `Cache-Control`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import DBAPIError

from api.common.context import close_db, db, on_replica, replica_failed, runtime
from api.common.errors import ApiError, NotFound
from api.common.schemas import ERROR_EXAMPLES, EXAMPLE_USCC, ErrorSchema, documents_errors
from api.public.credit import grade_is_public, public_grade, with_kinds
from api.public.schemas import (
    ChangesArgsSchema,
    ChangesSchema,
    PublicArgsSchema,
    PublicEntitySchema,
    PublicPageArgsSchema,
    PublishedListPageSchema,
    ReportVerdictSchema,
    ReportVerifySchema,
    SearchArgsSchema,
    SearchPageSchema,
)
from registry.core.codes import CodeError, normalise
from registry.core.db import read_outside_transaction
from registry.disclosure.profile import public_profile
from registry.disclosure.queries import changes_since, published_list, search_entities

blp = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public",
    description="公众（无需令牌）：公示的处罚记录和名单状态（按客户端限流）。",
)

#: Disclosed data changes at most a few times a day; a minute of caching is harmless.
CACHE_CONTROL = "public, max-age=60"
CACHE_HEADERS = {
    "ETag": {"description": "entity tag of the answer", "schema": {"type": "string"}},
    "Cache-Control": {"description": CACHE_CONTROL, "schema": {"type": "string"}},
}


@blp.after_request
def _cacheable(response: Response) -> Response:
    if request.method == "GET" and response.status_code == 200:
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.add_etag()
        response.make_conditional(request)
    return response


def _not_modified(func: Any) -> Any:
    return blp.alt_response(304, description="未改变（If-None-Match 与 ETag 相同）")(
        blp.alt_response(
            429,
            schema=ErrorSchema,
            description="请求过于频繁；Retry-After（秒）说明何时可以再试",
            headers={"Retry-After": {"schema": {"type": "integer"}}},
            example={"error": ERROR_EXAMPLES[429]},
        )(func)
    )


ENTITY_EXAMPLE: dict[str, Any] = {
    "uscc": EXAMPLE_USCC,
    "name": "深圳市华鑫科技有限公司",
    "party_type": "organisation",
    "region": "广东省深圳市南山区",
    "division_code": "440305",
    "registration_authority": "市场监督管理部门（原工商行政管理部门）",
    "entity_type": "企业",
    "penalties": [],
    "as_of": "2026-11-29",
}


@blp.route("/entities/<string:uscc>")
class Entity(MethodView):
    @blp.arguments(PublicArgsSchema, location="query")
    @blp.response(
        200,
        PublicEntitySchema,
        headers=CACHE_HEADERS,
        examples={
            "on a dishonesty list": {
                "summary": "grades not public (the default pack): no `grade` key",
                "value": {
                    **ENTITY_EXAMPLE,
                    "lists": [
                        {
                            "id": 7,
                            "list_type": "samr_serious",
                            "title": "市场监督管理严重违法失信名单",
                            "since": "2026-06-01",
                            "until": "2029-06-01",
                            "kind": "dishonesty",
                        }
                    ],
                },
            },
            "on a red list, grades public": {
                "summary": "a pack with `grading.public: true`: `grade` is present",
                "value": {
                    **ENTITY_EXAMPLE,
                    "lists": [
                        {
                            "id": 12,
                            "list_type": "customs_aeo",
                            "title": "海关高级认证企业",
                            "since": "2026-03-01",
                            "until": "2029-03-01",
                            "kind": "incentive",
                        }
                    ],
                    "grade": {"grade": "A", "title": "信用风险低（A类）", "since": "2026-03-01"},
                },
            },
        },
    )
    @documents_errors(blp, 400, 404, 422, 503)
    @_not_modified
    def get(self, args: dict[str, Any], uscc: str) -> dict[str, Any]:
        """主体的公示信息

        代码、名称、地区（由代码第3–8位得出）、当前所在的名单（`kind`：`dishonesty`
        失信名单，`incentive` 红名单）以及仍在公示期内的处罚。只有规则包公开信用等级时才
        有 `grade`。格式错误的代码答复 400，未通过的校验项见 `context.check`（length、
        character、authority、division、body_check、check）；格式正确但登记簿中没有的代码
        答复 404（`context.known: false`）。`as_of` 不填或留空为今天。"""
        try:
            profile = _profile(uscc, args.get("as_of"))
        except CodeError as exc:
            raise ApiError(
                exc.message,
                details={"uscc": [exc.message]},
                context={"check": exc.check},
                status=400,
                code="malformed_code",
            ) from None
        if profile is None:
            raise NotFound("该统一社会信用代码不在登记簿中", details={"uscc": uscc, "known": False})
        return _with_credit(profile)


def _with_credit(profile: dict[str, Any]) -> dict[str, Any]:
    """``kind`` on each list item, and ``grade`` only when the pack makes grades public."""
    pack = runtime().pack
    answer = {**profile, "lists": with_kinds(profile["lists"], pack)}  # never alter its dict
    if grade_is_public(pack):
        day = date.fromisoformat(profile["as_of"])
        answer["grade"] = public_grade(db(), profile["uscc"], day, pack)
    return answer


def _profile(uscc: str, as_of: Any) -> dict[str, Any] | None:
    """The profile, read outside a transaction on PostgreSQL (one statement, so one
    snapshot; no BEGIN and ROLLBACK round trips).  The pool does not ping connections
    before use: a connection the server dropped (a restart) fails its first statement,
    the pool replaces it, and the lookup is tried once more on a new one."""
    for attempt in (1, 2):
        session = db()
        try:
            read_outside_transaction(session)
            return public_profile(session, uscc, as_of, pack=runtime().pack)
        except DBAPIError as exc:
            if attempt == 2 or not (exc.connection_invalidated or on_replica()):
                raise
            replica_failed()
            close_db()
    return None  # pragma: no cover - the loop returns or raises


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchPageSchema, headers=CACHE_HEADERS)
    @documents_errors(blp, 422, 503)
    @_not_modified
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """按名称或代码前缀搜索主体

        名称：汉字（包含即可，不计较“有限公司”等组织形式后缀）、拼音或拼音首字母；
        代码：任意前缀。分页。"""
        if not normalise(args["q"]):
            # Only spaces and hyphens: nothing to look for (and registry.records.search cannot
            # take it yet: analyse_query indexes the empty normalised code).
            return {"items": [], "page": args["page"], "per_page": args["per_page"], "total": 0}
        items, total = search_entities(
            db(),
            args["q"],
            args["page"],
            args["per_page"],
            as_of=args.get("as_of"),
            pack=runtime().pack,
        )
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


@blp.route("/lists/<string:list_type>/entries")
class PublishedList(MethodView):
    @blp.arguments(PublicPageArgsSchema, location="query")
    @blp.response(200, PublishedListPageSchema, headers=CACHE_HEADERS)
    @documents_errors(blp, 404, 422, 503)
    @_not_modified
    def get(self, args: dict[str, Any], list_type: str) -> dict[str, Any]:
        """公示的名单：今天（或 `as_of` 当天）有效的条目，最新的在前"""
        items, total = published_list(
            db(), list_type, args["page"], args["per_page"], args.get("as_of"), pack=runtime().pack
        )
        return {
            "list_type": list_type,
            "items": items,
            "page": args["page"],
            "per_page": args["per_page"],
            "total": total,
        }


@blp.route("/changes")
class Changes(MethodView):
    @blp.arguments(ChangesArgsSchema, location="query")
    @blp.response(200, ChangesSchema, headers=CACHE_HEADERS)
    @documents_errors(blp, 400, 422, 503)
    @_not_modified
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """公示数据的变更流（供同步）

        从不透明的 `cursor` 开始按时间先后返回（不给：从头开始）；下次请求传入
        `next_cursor`。`disclosed: false` 且 `record: null` 表示该记录已不再公示：请从
        镜像中删除。"""
        items, cursor = changes_since(db(), args.get("cursor"), args["limit"], pack=runtime().pack)
        return {"items": items, "next_cursor": cursor}


@blp.route("/reports/verify")
class ReportVerify(MethodView):
    @blp.arguments(ReportVerifySchema)
    @blp.response(200, ReportVerdictSchema)
    @documents_errors(blp, 422, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Verify a credit report (信用报告) by its number and verification code

        `genuine`：登记簿签发过此编号、此验证码的报告（编号不存在与验证码错误的答复相同）；
        `facts_hold`：今天的公示事实仍与报告所载相同（`changed` 说明哪些不同）。"""
        from registry.disclosure.reports import verify_report

        rt = runtime()
        return verify_report(db(), rt.keys.report, body["number"], body["code"], pack=rt.pack)
