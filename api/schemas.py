"""HTTP schemas of the JSON API (marshmallow), one module for every blueprint.

Request bodies reject unknown fields (marshmallow's default ``RAISE``); query strings
ignore them.  Response schemas document exactly what is dumped: dates as ISO 8601
strings, amounts in 万元 as decimal strings, every field that can be empty marked
nullable — schemathesis checks the answers against this document.

The penalty record itself is :class:`registry.records.schema.PenaltyRecordSchema`, the one
record schema of every door; the API takes it without the fields only a restored full
export may carry (state, keyed hashes), see :data:`RESTORE_ONLY_FIELDS`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from registry.records.parsing import format_amount
from registry.records.schema import PenaltyRecordSchema

# --- examples --------------------------------------------------------------------------

EXAMPLE_USCC = "914403054JURQ2830R"
EXAMPLE_AUTHORITY = "11440305FQEFLCR611"
EXAMPLE_DAY = "2026-11-29"

# --- fields ------------------------------------------------------------------------------


class IsoDate(fields.Date):
    """A date dumped as ``YYYY-MM-DD`` from a ``date`` or an ISO string."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value[:10]
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat() if isinstance(value, date) else str(value)


class IsoDateTime(fields.DateTime):
    """A timestamp dumped as ISO 8601 from a ``datetime`` or an ISO string."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return value.isoformat()


class AmountOut(fields.String):
    """An amount in 万元, dumped as a decimal string (never a float)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return format_amount(value)
        return str(value)


class Str(fields.String):
    """Text without NUL characters (PostgreSQL cannot store them; no record needs them)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        return text


def _n(field: fields.Field) -> fields.Field:
    """Mark an output field nullable (documents ``nullable: true``)."""
    field.allow_none = True
    return field


# --- errors and paging -------------------------------------------------------------------


class ErrorBodySchema(Schema):
    code = Str(required=True, metadata={"description": "machine code, e.g. not_found, invalid"})
    message = Str(required=True, metadata={"description": "for people"})
    details = fields.Raw(
        required=True,
        metadata={"description": "field-level problems or context (an object; may be empty)"},
    )


class ErrorSchema(Schema):
    """The one error shape: ``{"error": {"code", "message", "details"}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"code": "bad_request", "message": "统一社会信用代码应为18位，实际为5位", "details": {}},
    401: {"code": "unauthorized", "message": "missing bearer token", "details": {}},
    403: {"code": "forbidden", "message": "this token's role may not do this", "details": {}},
    404: {"code": "not_found", "message": "not found", "details": {}},
    409: {"code": "conflict", "message": "名单条目 7 的状态为 active", "details": {}},
    413: {"code": "too_large", "message": "at most 1000 codes in one call", "details": {}},
    422: {
        "code": "invalid",
        "message": "Unprocessable Entity",
        "details": {"json": {"decision_number": ["必填项缺失"]}},
    },
    429: {"code": "rate_limited", "message": "120 per 1 minute", "details": {}},
    503: {"code": "unavailable", "message": "the database is unavailable", "details": {}},
}


class PageArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=100_000), metadata={"example": 1}
    )
    per_page = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "page size (capped by api.max_page_size)", "example": 20},
    )


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


# --- sanctions ---------------------------------------------------------------------------


class SanctionsArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    scenario = Str(
        validate=validate.Length(max=40),
        metadata={"description": "e.g. procurement, bidding, finance", "example": "procurement"},
    )
    as_of = fields.Date(
        metadata={"description": "the day to answer for (default today)", "example": EXAMPLE_DAY},
    )


class BasisPenaltySchema(Schema):
    penalty_id = fields.Integer(required=True)
    decision_number = Str(required=True)
    decided_on = IsoDate(required=True)
    authority = Str(required=True)
    status = Str(required=True, metadata={"description": "active | revoked"})
    under_objection = fields.Boolean(
        metadata={"description": "an objection (异议) to this record is open; never public"}
    )


class BecauseSchema(Schema):
    rule_id = _n(Str())
    rule_title = _n(Str())
    pack_version = _n(Str())
    decided_at = _n(IsoDateTime())
    penalties = fields.List(fields.Nested(BasisPenaltySchema), required=True)
    under_objection = fields.Boolean(
        metadata={"description": "the entry or one of these records is under objection"}
    )
    basis = _n(
        Str(
            metadata={
                "description": "for an entry an authority named (no rule): its basis text, "
                "e.g. the certification decision"
            }
        )
    )
    authority_uscc = _n(Str(metadata={"description": "the naming authority (with basis)"}))


class MeasureSchema(Schema):
    measure_id = Str(required=True)
    title = Str(required=True)
    department = Str(required=True)
    legal_basis = Str(required=True)
    scenarios = fields.List(Str(), required=True)
    list_type = Str(required=True)
    list_entry_id = fields.Integer(required=True)
    since = IsoDate(required=True)
    until = _n(IsoDate(metadata={"description": "last day it binds; null: open-ended"}))
    because = fields.List(fields.Nested(BecauseSchema), required=True)


MEASURE_EXAMPLE = {
    "measure_id": "procurement-ban",
    "title": "限制参加政府采购活动",
    "department": "财政部门",
    "legal_basis": "《市场监督管理严重违法失信名单管理办法》",
    "scenarios": ["procurement"],
    "list_type": "samr_serious",
    "list_entry_id": 7,
    "since": "2026-06-01",
    "until": "2029-06-01",
    "because": [
        {
            "rule_id": "heavy-penalty",
            "rule_title": "知识产权侵权、假冒伪劣违法行为受到较重行政处罚",
            "pack_version": "d2e81c59…",
            "decided_at": "2026-05-20T08:00:00+00:00",
            "penalties": [
                {
                    "penalty_id": 12,
                    "decision_number": "深市监罚〔2026〕12号",
                    "decided_on": "2026-05-18",
                    "authority": "深圳市市场监督管理局",
                    "status": "active",
                }
            ],
        }
    ],
}


class GradeExplanationSchema(Schema):
    rule_id = _n(Str(metadata={"description": "grading row that matched; default: none did"}))
    rule_title = _n(Str())
    when = _n(Str(metadata={"description": "the row's condition"}))
    facts = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={"description": "the aggregate values the row tested"},
    )
    pack_version = Str(required=True)


class GradeSchema(Schema):
    grade = Str(required=True, metadata={"description": "A (low risk) … D (serious)"})
    title = Str(required=True)
    since = IsoDate(required=True)
    until = _n(IsoDate(metadata={"description": "last day of this grade; null: current"}))
    explanation = fields.Nested(GradeExplanationSchema)


class WithheldSchema(Schema):
    reason = Str(required=True, metadata={"description": "under_punishment"})
    message = Str(required=True)
    list_entry_ids = fields.List(fields.Integer(), required=True)
    list_types = fields.List(Str(), required=True)


GRADE_EXAMPLE = {
    "grade": "D",
    "title": "信用风险高（D类）",
    "since": "2026-06-01",
    "until": None,
    "explanation": {
        "rule_id": "serious-list",
        "rule_title": "列入严重违法失信名单",
        "when": "serious_listed >= 1",
        "facts": {"serious_listed": 1},
        "pack_version": "d2e81c59…",
    },
}

INCENTIVE_EXAMPLE = {
    "measure_id": "green-channel",
    "title": "行政审批“绿色通道”，优先办理",
    "department": "各行政审批机关",
    "legal_basis": "《关于对海关高级认证企业实施联合激励的合作备忘录》（发改财金〔2016〕2190号）",
    "scenarios": ["licensing"],
    "list_type": "customs_aeo",
    "list_entry_id": 9,
    "since": "2026-01-01",
    "until": "2028-12-31",
    "because": [
        {
            "rule_id": None,
            "rule_title": None,
            "pack_version": None,
            "decided_at": None,
            "penalties": [],
            "basis": "海关高级认证企业证书 AEOCN4403000001",
            "authority_uscc": EXAMPLE_AUTHORITY,
        }
    ],
}


class SanctionsSchema(Schema):
    uscc = Str(required=True)
    name = _n(Str(metadata={"description": "null when the registry does not know it"}))
    as_of = IsoDate(required=True)
    scenario = _n(Str())
    sanctioned = fields.Boolean(required=True)
    measures = fields.List(fields.Nested(MeasureSchema), required=True)
    grade = _n(
        fields.Nested(
            GradeSchema,
            metadata={"description": "credit grade on the day (信用分类); null: not graded"},
        )
    )
    incentives = fields.List(
        fields.Nested(MeasureSchema),
        required=True,
        metadata={
            "description": "joint incentives to grant (守信激励), from red-list entries; "
            "always empty while any punishment binds"
        },
    )
    incentives_withheld = _n(
        fields.Nested(
            WithheldSchema,
            metadata={"description": "why incentives are withheld; null: they are not"},
        )
    )


SANCTIONS_EXAMPLE = {
    "uscc": EXAMPLE_USCC,
    "name": "深圳市华鑫科技有限公司",
    "as_of": EXAMPLE_DAY,
    "scenario": "procurement",
    "sanctioned": True,
    "measures": [MEASURE_EXAMPLE],
    "grade": GRADE_EXAMPLE,
    "incentives": [],
    "incentives_withheld": {
        "reason": "under_punishment",
        "message": "该主体列入市场监督管理严重违法失信名单，正在实施联合惩戒，不适用守信激励措施",
        "list_entry_ids": [7],
        "list_types": ["samr_serious"],
    },
}

CREDIT_EXAMPLE = {
    "uscc": "91440300MA5FXT0K8L",
    "name": "深圳市诚信贸易有限公司",
    "as_of": EXAMPLE_DAY,
    "scenario": "licensing",
    "sanctioned": False,
    "measures": [],
    "grade": {
        "grade": "A",
        "title": "信用风险低（A类）",
        "since": "2026-01-01",
        "until": None,
        "explanation": {
            "rule_id": "clean",
            "rule_title": "36个月内无行政处罚且未列入失信名单",
            "when": "clean_months >= 36 and dishonesty_listed 0",
            "facts": {"clean_months": 40, "dishonesty_listed": 0},
            "pack_version": "d2e81c59…",
        },
    },
    "incentives": [INCENTIVE_EXAMPLE],
    "incentives_withheld": None,
}


class CheckRequestSchema(Schema):
    codes = fields.List(
        Str(validate=validate.Length(max=100)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "codes to check, in order (at most api.batch_check_limit)"},
    )
    scenario = Str(load_default=None, validate=validate.Length(max=40))
    as_of = fields.Date(load_default=None)


class CodeProblemSchema(Schema):
    code = Str(required=True, metadata={"description": "malformed_code"})
    check = Str(
        required=True,
        metadata={"description": "length | character | authority | division | body_check | check"},
    )
    message = Str(required=True)


class CheckResultSchema(Schema):
    uscc = Str(required=True, metadata={"description": "as given, or normalised"})
    name = _n(Str())
    as_of = _n(IsoDate())
    scenario = _n(Str())
    sanctioned = _n(fields.Boolean(metadata={"description": "null for a malformed code"}))
    measures = fields.List(fields.Nested(MeasureSchema), required=True)
    grade = _n(fields.Nested(GradeSchema))
    incentives = fields.List(fields.Nested(MeasureSchema), required=True)
    incentives_withheld = _n(fields.Nested(WithheldSchema))
    error = _n(fields.Nested(CodeProblemSchema))


class CheckResponseSchema(Schema):
    as_of = IsoDate(required=True)
    scenario = _n(Str())
    results = fields.List(fields.Nested(CheckResultSchema), required=True)


class PersonCheckRequestSchema(Schema):
    id_number = Str(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "居民身份证号码 (never echoed back; only the masked form is)"},
    )
    id_type = Str(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={"description": "证件类型; default 居民身份证 (checked)"},
    )
    scenario = Str(load_default=None, validate=validate.Length(max=40))
    as_of = fields.Date(load_default=None)


class PersonLinkSchema(Schema):
    uscc = Str(required=True)
    role = Str(required=True)


class PersonSchema(Schema):
    id_masked = _n(Str(metadata={"example": "110105********002X"}))
    known = fields.Boolean(required=True)
    links = fields.List(fields.Nested(PersonLinkSchema), required=True)


class PersonMeasureSchema(MeasureSchema):
    uscc = _n(Str(metadata={"description": "the listed entity; null: the person"}))
    role = Str(required=True, metadata={"description": "party | legal_representative"})


class PersonSanctionsSchema(Schema):
    person = fields.Nested(PersonSchema, required=True)
    as_of = IsoDate(required=True)
    scenario = _n(Str())
    sanctioned = fields.Boolean(required=True)
    measures = fields.List(fields.Nested(PersonMeasureSchema), required=True)


class FeedbackRequestSchema(Schema):
    uscc = Str(required=True, validate=validate.Length(max=40))
    measure_id = Str(required=True, validate=validate.Length(max=60))
    action = Str(required=True, validate=validate.OneOf(("applied", "not_applied", "lifted")))
    list_entry_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    note = Str(load_default=None, validate=validate.Length(max=5000))
    acted_on = fields.Date(load_default=None)


class FeedbackSchema(Schema):
    id = fields.Integer(required=True)
    uscc = Str(required=True)
    measure_id = Str(required=True)
    list_entry_id = _n(fields.Integer())
    department = Str(required=True)
    action = Str(required=True)
    note = _n(Str())
    acted_on = IsoDate(required=True)
    created_at = IsoDateTime(required=True)


# --- subscriptions and deliveries ----------------------------------------------------


class SubscriptionRequestSchema(Schema):
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=1000),
        metadata={"example": "https://procurement.example.gov.cn/hooks/credit"},
    )
    codes = fields.List(
        Str(validate=validate.Length(max=40)),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "codes to follow; empty: every code"},
    )
    list_types = fields.List(
        Str(validate=validate.Length(max=40)),
        load_default=list,
        metadata={"description": "lists to follow; empty: every list"},
    )


class SubscriptionSchema(Schema):
    id = fields.Integer(required=True)
    url = Str(required=True)
    codes = fields.List(Str(), required=True)
    list_types = fields.List(Str(), required=True)
    active = fields.Boolean(required=True)
    created_at = IsoDateTime(required=True)


class SubscriptionCreatedSchema(SubscriptionSchema):
    secret = Str(
        required=True,
        metadata={"description": "signing secret, shown only in this answer; store it"},
    )
    signature_header = Str(required=True, metadata={"example": "X-Registry-Signature"})
    signature_scheme = Str(
        required=True, metadata={"example": "sha256=hex(HMAC-SHA256(secret, raw body))"}
    )


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema), required=True)


class DeliveryArgsSchema(PageArgsSchema):
    status = Str(validate=validate.OneOf(("pending", "delivered", "failed")))


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    subscription_id = fields.Integer(required=True)
    change_id = _n(fields.Integer())
    status = Str(required=True, metadata={"description": "pending|delivered|failed"})
    attempts = fields.Integer(required=True)
    next_attempt_at = IsoDateTime(required=True)
    last_status_code = _n(fields.Integer())
    last_error = _n(Str())
    created_at = IsoDateTime(required=True)
    delivered_at = _n(IsoDateTime())
    payload = fields.Dict(required=True)


class DeliveryPageSchema(PageSchema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)


# --- penalties -----------------------------------------------------------------------

#: Fields a record may carry only when a full export is restored (CLI import): the API
#: never sets state or keyed hashes directly — revocation has its own path.
RESTORE_ONLY_FIELDS: tuple[str, ...] = (
    "status",
    "revoked_on",
    "revoked_reason",
    "person_key",
    "id_masked",
    "legal_representative_key",
    "legal_representative_id_masked",
)


def penalty_record_schema() -> PenaltyRecordSchema:
    """The shared record schema as the API takes it."""
    return PenaltyRecordSchema(exclude=RESTORE_ONLY_FIELDS)


PENALTY_EXAMPLE_IN = {
    "party_name": "深圳市华鑫科技有限公司",
    "party_type": "organisation",
    "uscc": EXAMPLE_USCC,
    "legal_representative": "王伟",
    "decision_number": "深市监罚〔2026〕12号",
    "violation_type": "销售侵犯注册商标专用权的商品",
    "facts": "经查，当事人销售假冒注册商标的商品。",
    "basis": "《中华人民共和国商标法》第六十条",
    "categories": ["罚款", "没收违法所得"],
    "content": "罚款5万元，没收违法所得0.8万元",
    "fine_wan": "5",
    "confiscated_wan": "0.8",
    "decided_on": "2026-05-18",
    "authority": "深圳市市场监督管理局",
    "authority_uscc": EXAMPLE_AUTHORITY,
}


class PenaltySchema(Schema):
    """A penalty record as the registry holds it (ID numbers only masked)."""

    id = fields.Integer(required=True)
    subject_key = Str(required=True)
    uscc = _n(Str())
    party_name = Str(required=True)
    party_type = Str(required=True)
    registration_number = _n(Str())
    legal_representative = _n(Str())
    legal_representative_id_type = _n(Str())
    legal_representative_id_masked = _n(Str())
    id_type = _n(Str())
    id_masked = _n(Str())
    decision_number = Str(required=True)
    violation_type = Str(required=True)
    facts = Str(required=True)
    basis = Str(required=True)
    categories = fields.List(Str(), required=True)
    content = Str(required=True)
    fine_wan = _n(AmountOut())
    confiscated_wan = _n(AmountOut())
    licence_affected = _n(Str())
    decided_on = IsoDate(required=True)
    valid_until = _n(IsoDate())
    disclosure_deadline = _n(IsoDate())
    authority = Str(required=True)
    authority_uscc = Str(required=True)
    source_unit = _n(Str())
    source_unit_uscc = _n(Str())
    remarks = _n(Str())
    business_volume_wan = _n(AmountOut())
    illegal_gains_wan = _n(AmountOut())
    transferred_to_police = fields.Boolean(required=True)
    transferred_on = _n(IsoDate())
    aggravated = fields.Boolean(required=True)
    status = Str(required=True, metadata={"description": "active | revoked"})
    revoked_on = _n(IsoDate())
    revoked_reason = _n(Str())
    version = fields.Integer(required=True)
    severity = _n(Str(metadata={"description": "minor | general | serious"}))
    disclosure_until = _n(IsoDate(metadata={"description": "null: not disclosed"}))
    repair_allowed_from = _n(IsoDate())
    repaired_on = _n(IsoDate())
    created_at = IsoDateTime(required=True)
    updated_at = IsoDateTime(required=True)
    under_objection = fields.Boolean(
        metadata={"description": "an objection (异议) to this record is open (listings)"}
    )


class PenaltyWriteSchema(Schema):
    result = Str(required=True, metadata={"description": "created|updated|unchanged"})
    penalty = fields.Nested(PenaltySchema, required=True)


class PenaltyArgsSchema(PageArgsSchema):
    uscc = Str(validate=validate.Length(max=40))
    decision_number = Str(validate=validate.Length(max=200))
    status = Str(validate=validate.OneOf(("active", "revoked")))


class PenaltyPageSchema(PageSchema):
    items = fields.List(fields.Nested(PenaltySchema), required=True)


class ReasonRequiredSchema(Schema):
    reason = Str(
        required=True, validate=validate.Length(min=1, max=5000), metadata={"example": "复议撤销"}
    )


class ReasonOptionalSchema(Schema):
    reason = Str(load_default=None, validate=validate.Length(max=5000))


# --- imports -------------------------------------------------------------------------


class ImportUploadSchema(Schema):
    """``multipart/form-data``: the file and the CLI's options as form fields."""

    class Meta:
        unknown = EXCLUDE

    file = Upload(required=True, metadata={"description": "CSV, XLSX or JSONL penalty file"})
    format = Str(
        validate=validate.OneOf(("csv", "xlsx", "jsonl")),
        metadata={"description": "default: from the file name"},
    )
    strict = fields.Boolean(
        load_default=False, metadata={"description": "any rejected row rejects the whole file"}
    )
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check, write nothing"})


class RejectionSchema(Schema):
    line = fields.Integer(required=True, metadata={"description": "file line; header is line 1"})
    field = Str(required=True)
    reason = Str(required=True)


class ImportReportSchema(Schema):
    source = Str(required=True)
    format = _n(Str())
    batch_id = _n(fields.Integer())
    rows = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    problems = fields.Integer(required=True)
    strict = fields.Boolean(required=True)
    dry_run = fields.Boolean(required=True)
    written = fields.Boolean(required=True)
    warnings = fields.List(Str(), required=True)
    report = fields.List(
        fields.Nested(RejectionSchema),
        required=True,
        metadata={"description": "the CLI's report rows (line, field, reason)"},
    )
    report_truncated = fields.Boolean(required=True)


# --- list entries --------------------------------------------------------------------

ENTRY_STATUSES = ("proposed", "active", "removed", "rejected")


class ListEntryArgsSchema(PageArgsSchema):
    status = Str(
        load_default="proposed",
        validate=validate.OneOf(ENTRY_STATUSES),
        metadata={"example": "proposed"},
    )
    uscc = Str(validate=validate.Length(max=80))
    list_type = Str(validate=validate.Length(max=40))


class ListEntrySchema(Schema):
    id = fields.Integer(required=True)
    uscc = Str(required=True, metadata={"description": "subject key of the party"})
    list_type = Str(required=True)
    status = Str(required=True, metadata={"description": "|".join(ENTRY_STATUSES)})
    rule_id = _n(Str())
    pack_version = _n(Str())
    authority_uscc = _n(Str())
    basis_penalty_ids = fields.List(fields.Integer(), required=True)
    proposed_on = _n(IsoDate())
    since = _n(IsoDate())
    until = _n(IsoDate())
    early_removal_from = _n(IsoDate())
    confirmed_by = _n(Str())
    ended_on = _n(IsoDate())
    ended_by = _n(Str())
    end_reason = _n(Str())
    note = _n(Str())


class ListEntryPageSchema(PageSchema):
    items = fields.List(fields.Nested(ListEntrySchema), required=True)


class RemoveRequestSchema(Schema):
    reason_code = Str(
        load_default="manual",
        validate=validate.OneOf(("term_ended", "repaired", "basis_revoked", "corrected", "manual")),
    )
    reason = Str(
        load_default=None,
        validate=validate.Length(max=5000),
        metadata={"description": "required for reason_code manual"},
    )


# --- repairs -------------------------------------------------------------------------


class RepairRequestSchema(Schema):
    target_type = Str(required=True, validate=validate.OneOf(("penalty", "list_entry")))
    target_id = fields.Integer(required=True, validate=validate.Range(min=1))
    applicant = Str(load_default=None, validate=validate.Length(max=200))
    statement = Str(required=True, validate=validate.Length(min=1, max=20000))


class RepairArgsSchema(PageArgsSchema):
    status = Str(
        validate=validate.OneOf(("pending", "overdue", "approved", "rejected")),
    )


class RepairSchema(Schema):
    id = fields.Integer(required=True)
    uscc = Str(required=True)
    target_type = Str(required=True)
    target_id = fields.Integer(required=True)
    authority_uscc = Str(required=True)
    status = Str(required=True)
    applied_on = IsoDate(required=True)
    due_on = _n(IsoDate())
    decided_on = _n(IsoDate())
    decided_by = _n(Str())
    applicant = _n(Str())
    statement = _n(Str())
    reason = _n(Str())


class RepairPageSchema(PageSchema):
    items = fields.List(fields.Nested(RepairSchema), required=True)


# --- alerts --------------------------------------------------------------------------


class AlertArgsSchema(PageArgsSchema):
    status = Str(load_default="open", validate=validate.OneOf(("open", "resolved")))
    kind = Str(validate=validate.Length(max=60))


class AlertPenaltySchema(Schema):
    id = fields.Integer(required=True)
    party_name = Str(required=True)
    violation_type = Str(required=True)
    decided_on = IsoDate(required=True)
    fine_wan = _n(AmountOut())
    business_volume_wan = _n(AmountOut())
    illegal_gains_wan = _n(AmountOut())
    transferred_to_police = fields.Boolean(required=True)
    status = Str(required=True)


class AlertSchema(Schema):
    id = fields.Integer(required=True)
    kind = Str(required=True, metadata={"example": "criminal-transfer-check"})
    uscc = Str(required=True)
    decision_number = Str(required=True)
    penalty_id = fields.Integer(required=True)
    authority_uscc = Str(required=True)
    rule_id = Str(required=True)
    pack_version = Str(required=True)
    threshold = fields.Dict(required=True, metadata={"description": "the threshold reached"})
    status = Str(required=True)
    resolution = _n(Str())
    resolved_at = _n(IsoDateTime())
    resolved_by = _n(Str())
    created_at = IsoDateTime(required=True)
    penalty = _n(fields.Nested(AlertPenaltySchema))


class AlertPageSchema(PageSchema):
    items = fields.List(fields.Nested(AlertSchema), required=True)


class TransferSchema(Schema):
    police_unit = Str(required=True, validate=validate.Length(min=1, max=200))
    transferred_on = fields.Date(load_default=None)
    case_number = Str(load_default=None, validate=validate.Length(max=100))
    outcome = Str(
        load_default=None,
        validate=validate.Length(max=2000),
        metadata={"description": "what became of the case, if already known (e.g. 已立案侦查)"},
    )


class ResolveRequestSchema(Schema):
    transfer = fields.Nested(TransferSchema, load_default=None)
    reason = Str(
        load_default=None,
        validate=validate.Length(min=1, max=5000),
        metadata={"description": "why the case is not transferred (instead of transfer)"},
    )

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("transfer") is None) == (data.get("reason") is None):
            raise ValidationError("give either transfer or reason", "_schema")


# --- public --------------------------------------------------------------------------


class PublicArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    as_of = fields.Date(metadata={"description": "default today"})


class PublicPageArgsSchema(PublicArgsSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchArgsSchema(PublicPageArgsSchema):
    q = Str(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "name (characters, pinyin or initials) or code prefix"},
    )


class ChangesArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    cursor = Str(
        validate=validate.Length(max=200),
        metadata={"description": "opaque; the next_cursor of the previous answer"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PublicListRefSchema(Schema):
    id = fields.Integer(required=True)
    list_type = Str(required=True)
    title = Str(required=True)
    since = _n(IsoDate())
    until = _n(IsoDate())


class PublicPenaltySchema(Schema):
    id = fields.Integer(required=True)
    uscc = _n(Str())
    party_name = Str(required=True, metadata={"description": "persons masked"})
    party_type = Str(required=True)
    legal_representative = _n(Str(metadata={"description": "masked"}))
    decision_number = Str(required=True)
    authority = Str(required=True)
    authority_uscc = Str(required=True)
    violation_type = Str(required=True)
    facts = Str(required=True)
    basis = Str(required=True)
    categories = fields.List(Str(), required=True)
    content = Str(required=True)
    fine_wan = _n(AmountOut())
    confiscated_wan = _n(AmountOut())
    licence_affected = _n(Str())
    decided_on = IsoDate(required=True)
    disclosure_until = _n(IsoDate())
    severity = _n(Str())
    repair_allowed_from = _n(IsoDate())


class PublicEntityListSchema(PublicListRefSchema):
    kind = Str(
        required=True,
        validate=validate.OneOf(("dishonesty", "incentive")),
        metadata={
            "description": "dishonesty: a dishonesty list (失信名单); incentive: a red list "
            "(守信激励名单)",
            "example": "dishonesty",
        },
    )


class PublicGradeSchema(Schema):
    grade = Str(required=True, metadata={"example": "A"})
    title = Str(required=True, metadata={"example": "信用风险低（A类）"})
    since = IsoDate(required=True, metadata={"description": "in force since this day"})


class PublicEntitySchema(Schema):
    uscc = Str(required=True)
    name = Str(required=True)
    party_type = Str(required=True)
    region = _n(Str(metadata={"description": "from positions 3-8 of the code"}))
    division_code = _n(Str())
    registration_authority = _n(Str())
    entity_type = _n(Str())
    lists = fields.List(
        fields.Nested(PublicEntityListSchema),
        required=True,
        metadata={"description": "public lists the entity is on; `kind` tells red lists apart"},
    )
    grade = fields.Nested(
        PublicGradeSchema,
        allow_none=True,
        metadata={
            "description": "the credit grade on `as_of`; present only when the rule pack "
            "makes grades public (`grading.public: true`), null if the entity has none yet"
        },
    )
    penalties = fields.List(fields.Nested(PublicPenaltySchema), required=True)
    as_of = IsoDate(required=True)


class SearchListRefSchema(Schema):
    list_type = Str(required=True)
    title = Str(required=True)


class SearchItemSchema(Schema):
    uscc = Str(required=True)
    name = Str(required=True)
    party_type = Str(required=True)
    region = _n(Str())
    division_code = _n(Str())
    registration_authority = _n(Str())
    entity_type = _n(Str())
    lists = fields.List(fields.Nested(SearchListRefSchema), required=True)
    penalty_count = fields.Integer(required=True)
    matched_by = Str(required=True, metadata={"description": "code | name"})


class SearchPageSchema(PageSchema):
    items = fields.List(fields.Nested(SearchItemSchema), required=True)


class PublishedEntrySchema(PublicListRefSchema):
    uscc = _n(Str())
    name = _n(Str(metadata={"description": "persons masked"}))
    region = _n(Str())


class PublishedListPageSchema(PageSchema):
    list_type = Str(required=True)
    items = fields.List(fields.Nested(PublishedEntrySchema), required=True)


class ChangeSchema(Schema):
    id = fields.Integer(required=True)
    kind = Str(required=True, metadata={"description": "penalty | list_entry | entity"})
    uscc = Str(required=True)
    object_id = _n(fields.Integer())
    action = Str(required=True)
    at = _n(IsoDateTime())
    disclosed = fields.Boolean(
        required=True, metadata={"description": "false: drop it from a mirror"}
    )
    record = _n(fields.Dict(metadata={"description": "the public record now, or null"}))


class ChangesSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema), required=True)
    next_cursor = Str(required=True)


# --- documentation and paging helpers --------------------------------------------------

ERROR_DESCRIPTIONS = {
    400: "malformed request (e.g. a malformed code: details.check names the failed check)",
    404: "unknown resource",
    409: "the resource's state does not allow it",
    413: "too large (upload size or number of codes)",
    422: "invalid input, with field-level details",
    429: "rate limited; Retry-After says when to come back",
    503: "the database is unavailable",
}


def documents_errors(blp: Any, *statuses: int) -> Any:
    """Document error answers of a view in the one error shape, with examples."""

    def decorator(func: Any) -> Any:
        for status in statuses:
            func = blp.alt_response(
                status,
                schema=ErrorSchema,
                description=ERROR_DESCRIPTIONS.get(status, "error"),
                example={"error": ERROR_EXAMPLES[status]},
            )(func)
        return func

    return decorator


def page_window(args: dict[str, Any]) -> tuple[int, int]:
    """``(page, per_page)`` from paging arguments, per_page capped by api.max_page_size."""
    from flask import current_app

    cap = current_app.extensions["registry"].config.api.max_page_size
    return int(args.get("page") or 1), min(int(args.get("per_page") or 20), cap)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_amount(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def json_answer(data: Any, status: int = 200) -> Any:
    """A JSON response written straight from plain data (dates ISO 8601, amounts as
    decimal strings), for large answers whose shape the domain function already gives
    exactly as documented (batch checks: marshmallow would spend most of the time).
    The documented schema still describes it and the schemathesis run checks it."""
    from flask import current_app

    body = json.dumps(data, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json")
