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
    description="Public, no token: disclosed penalties and list status (rate-limited per "
    "client; ETag and Cache-Control on every answer).",
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
    "registration_authority": "工商",
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
        """The disclosed profile of an entity

        Code, name, region (from positions 3-8 of the code), current list memberships
        (`kind`: `dishonesty` for a dishonesty list, `incentive` for a red list) and the
        penalties inside their disclosure window.  `grade` is there only when the rule
        pack makes credit grades public.  A malformed code is 400 with the failed check
        in `details.check` (length, character, authority, division, body_check, check);
        a well-formed unknown code is 404."""
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
            raise NotFound("该统一社会信用代码不在登记簿中", details={"uscc": uscc})
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
        """Search entities by name or code prefix

        Name: characters (substring, forgiving the legal-form suffix), pinyin or
        initials; code: any prefix.  Paginated."""
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
        """A published list: entries binding today (or `as_of`), newest first"""
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
        """The change feed of disclosed data, for sync

        Oldest first from the opaque `cursor` (none: from the start); pass
        `next_cursor` next time.  `disclosed: false` with `record: null` means the
        record left the public view: drop it from a mirror."""
        items, cursor = changes_since(db(), args.get("cursor"), args["limit"], pack=runtime().pack)
        return {"items": items, "next_cursor": cursor}
