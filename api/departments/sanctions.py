"""Departments: sanctions checks (联合惩戒) for a code, a batch of codes or a person, and
feedback on what the department did.  Role `department` (or `admin`)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db, runtime
from api.common.errors import ApiError
from api.common.schemas import EXAMPLE_USCC, documents_errors, json_answer
from api.departments.schemas import (
    CREDIT_EXAMPLE,
    MEASURE_EXAMPLE,
    SANCTIONS_EXAMPLE,
    CheckRequestSchema,
    CheckResponseSchema,
    FeedbackRequestSchema,
    FeedbackSchema,
    PersonCheckRequestSchema,
    PersonSanctionsSchema,
    SanctionsArgsSchema,
    SanctionsSchema,
)
from registry.core import clock
from registry.core.codes import (
    CodeError,
    mask_id_number,
    person_key,
    validate_resident_id,
    validate_uscc,
)
from registry.disclosure.sanctions import (
    check_scenario,
    sanctions_for,
    sanctions_for_many,
    sanctions_for_person,
)
from registry.intake.feedback import record_feedback

blp = Blueprint(
    "sanctions",
    __name__,
    url_prefix="/api/v1/sanctions",
    description="协同部门：某一天约束某代码或某人的联合惩戒措施、来源的名单条目和理由；措施执行情况的反馈。",
)

ROLES = ("department", "admin")
#: 证件类型 values meaning the resident identity card (checked with its check digit).
RESIDENT_ID_TYPES = frozenset({"", "身份证", "居民身份证", "中华人民共和国居民身份证", "01", "111"})


def malformed_code(exc: CodeError, given: str) -> ApiError:
    """400 naming the failed check of a malformed code."""
    return ApiError(
        exc.message,
        details={"uscc": [exc.message]},
        context={"check": exc.check},
        status=400,
        code="malformed_code",
    )


def valid_code(given: str) -> str:
    try:
        return validate_uscc(given)
    except CodeError as exc:
        raise malformed_code(exc, given) from None


@blp.route("/<string:uscc>")
class EntitySanctions(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(SanctionsArgsSchema, location="query")
    @blp.response(
        200,
        SanctionsSchema,
        examples={
            "punished": {"summary": "on a dishonesty list", "value": SANCTIONS_EXAMPLE},
            "red_list": {"summary": "on a red list, no punishment", "value": CREDIT_EXAMPLE},
        },
    )
    @documents_errors(blp, 400, 422, 503)
    def get(self, args: dict[str, Any], uscc: str) -> Any:
        """某一天某代码的信用核查：惩戒措施、信用等级、激励措施

        `as_of` defaults to today; past days answer from the dated history, future
        days from the terms already set.  `scenario` keeps the measures and incentives
        of one scenario (e.g. procurement, licensing).  `measures` are the punishments
        to apply (联合惩戒), `incentives` the benefits to grant (守信激励, from red lists),
        `grade` the credit grade (A–D) with its explanation.  An entity under any
        punishment gets no incentive: `incentives` is empty and `incentives_withheld`
        says why.  A well-formed code the registry does not know answers
        `known: false` (and `sanctioned: false`: nothing binds it).  An empty `as_of`
        means today."""
        code = valid_code(uscc)
        return json_answer(
            sanctions_for(db(), runtime().pack, code, args.get("as_of"), args.get("scenario"))
        )


@blp.route("/check")
class BatchCheck(MethodView):
    @auth.required(blp, *ROLES, request_writes=False)
    @blp.arguments(
        CheckRequestSchema,
        example={"codes": [EXAMPLE_USCC, "91440300X"], "scenario": "procurement"},
    )
    @blp.response(
        200,
        CheckResponseSchema,
        example={
            "as_of": "2026-11-29",
            "scenario": "procurement",
            "results": [
                {**SANCTIONS_EXAMPLE, "error": None},
                {
                    "uscc": "91440300X",
                    "name": None,
                    "known": None,
                    "as_of": None,
                    "scenario": "procurement",
                    "sanctioned": None,
                    "measures": [],
                    "grade": None,
                    "incentives": [],
                    "incentives_withheld": None,
                    "error": {
                        "code": "malformed_code",
                        "check": "length",
                        "message": "统一社会信用代码应为18位，实际为9位",
                    },
                },
            ],
        },
    )
    @documents_errors(blp, 413, 422, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """批量核查代码

        Up to `api.batch_check_limit` (1,000) codes, one answer per code in order; a
        malformed code is answered with its error (`error.check`) in place, without
        failing the batch.  More codes than the limit: 413."""
        rt = runtime()
        codes: list[str] = body["codes"]
        limit = rt.config.api.batch_check_limit
        if len(codes) > limit:
            raise ApiError(
                f"一次最多核查 {limit} 个代码，本次提交了 {len(codes)} 个",
                details={"codes": [f"最多 {limit} 个"]},
                context={"limit": limit, "given": len(codes)},
                status=413,
                code="too_large",
            )
        day = body["as_of"] or clock.today()
        scenario = check_scenario(rt.pack, body["scenario"])
        normalised: list[str | None] = []
        problems: dict[int, CodeError] = {}
        for i, given in enumerate(codes):
            try:
                normalised.append(validate_uscc(given))
            except CodeError as exc:
                normalised.append(None)
                problems[i] = exc
        answers = iter(
            sanctions_for_many(db(), rt.pack, [c for c in normalised if c], day, scenario)
        )
        results = []
        for i, given in enumerate(codes):
            if i in problems:
                exc = problems[i]
                results.append(
                    {
                        "uscc": given,
                        "name": None,
                        "known": None,
                        "as_of": None,
                        "scenario": scenario,
                        "sanctioned": None,
                        "measures": [],
                        "grade": None,
                        "incentives": [],
                        "incentives_withheld": None,
                        "error": {
                            "code": "malformed_code",
                            "check": exc.check,
                            "message": exc.message,
                        },
                    }
                )
            else:
                results.append({**next(answers), "error": None})
        return json_answer({"as_of": day, "scenario": scenario, "results": results})


@blp.route("/person-check")
class PersonCheck(MethodView):
    @auth.required(blp, *ROLES, request_writes=False)
    @blp.arguments(
        PersonCheckRequestSchema,
        example={"id_number": "11010519491231002X", "scenario": "personnel"},
    )
    @blp.response(
        200,
        PersonSanctionsSchema,
        example={
            "person": {
                "id_masked": "110105********002X",
                "known": True,
                "links": [{"uscc": EXAMPLE_USCC, "role": "legal_representative"}],
            },
            "as_of": "2026-11-29",
            "scenario": "personnel",
            "sanctioned": True,
            "measures": [
                {
                    **MEASURE_EXAMPLE,
                    "measure_id": "legal-rep-ban",
                    "scenarios": ["personnel"],
                    "uscc": EXAMPLE_USCC,
                    "role": "legal_representative",
                }
            ],
        },
    )
    @documents_errors(blp, 422, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """核查自然人

        The ID number goes in the body, never in a URL, and is never echoed back: the
        answer names the person by the masked number.  Measures that bind the person:
        entries in their own name, and measures binding their role (e.g. legal
        representative) at listed entities."""
        rt = runtime()
        number: str = body["id_number"]
        if (body["id_type"] or "").strip() in RESIDENT_ID_TYPES:
            try:
                number = validate_resident_id(number)
            except CodeError as exc:
                raise ApiError(
                    exc.message,
                    details={"id_number": [exc.message]},
                    context={"check": exc.check},
                    status=422,
                    code="invalid",
                ) from None
        key = person_key(number, rt.keys.id_hash)
        answer = sanctions_for_person(db(), rt.pack, key, body["as_of"], body["scenario"])
        if answer["person"]["id_masked"] is None:
            answer["person"]["id_masked"] = mask_id_number(number)
        return json_answer(answer)


@blp.route("/feedback")
class Feedback(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        FeedbackRequestSchema,
        example={
            "uscc": EXAMPLE_USCC,
            "measure_id": "procurement-ban",
            "list_entry_id": 7,
            "action": "applied",
            "note": "取消其参加本次采购的资格",
            "acted_on": "2026-11-28",
        },
    )
    @blp.response(201, FeedbackSchema)
    @documents_errors(blp, 404, 422, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """反馈部门依某项措施采取的行动"""
        principal = auth.current_principal()
        session = db()
        row = record_feedback(
            session,
            runtime().pack,
            token_id=principal.token_id,
            department=principal.name,
            actor=principal.actor,
            **body,
        )
        session.commit()
        return row
