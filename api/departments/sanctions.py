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

        `as_of` 不填或留空为今天；过去的日期按有日期的历史答复，将来的日期按已定的期限
        答复。`scenario` 只保留某一场景（如 procurement 政府采购、licensing 行政许可）的
        措施和激励。`measures` 是应采取的联合惩戒措施，`incentives` 是应给予的守信激励
        （来自红名单），`grade` 是信用等级（A–D）及其说明。受到任何惩戒的主体不享受激励：
        `incentives` 为空，`incentives_withheld` 说明原因。格式正确但登记簿中没有的代码
        答复 `known: false`（同时 `sanctioned: false`：没有任何措施约束它）。"""
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

        一次最多 `api.batch_check_limit`（1,000）个代码，按顺序每个代码一个答复；格式错误
        的代码在原位置答复其错误（`error.check`），不影响整批；登记簿中没有的代码答复
        `known: false`。超过上限：413。`as_of` 不填或留空为今天。"""
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

        身份证号码放在请求体中，绝不放在 URL 中，也不会原样返回：答复只用脱敏后的号码
        指称此人。约束此人的措施：以其本人名义列入的名单条目，以及因其在被列入名单的主体
        中担任的职务（如法定代表人）而约束其本人的措施。`person.known: false`：登记簿中
        没有此人。"""
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
