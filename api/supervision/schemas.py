"""HTTP schemas of the supervision workflows: random inspections (双随机、一公开), case
transfers to the police and quality commitments.  Same conventions as api/*/schemas.py:
request bodies reject unknown fields, every nullable output is marked, dates are ISO."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.common.schemas import (
    EXAMPLE_AUTHORITY,
    EXAMPLE_USCC,
    AmountOut,
    IsoDate,
    IsoDateTime,
    PageArgsSchema,
    PageSchema,
    Str,
    nullable,
)
from registry.supervision.inspections import LIST_STATUSES, OUTCOMES

RATIO = validate.Regexp(r"^(0(\.\d{1,6})?|1(\.0{1,6})?)$", error="应为 0 到 1 之间的比例，如 0.05")
REGION = validate.Regexp(r"^\d{2}(\d{2}){0,2}$", error="应为行政区划代码的前 2、4 或 6 位数字")
USCC = validate.Regexp(r"^[0-9A-Za-z]{18}$", error="应为18位统一社会信用代码")

# --- inspections ---------------------------------------------------------------------


class ScopeSchema(Schema):
    regions = fields.List(
        Str(validate=REGION),
        validate=validate.Length(max=50),
        metadata={
            "description": "division-code prefixes (2, 4 or 6 digits); default: the "
            "authority's own jurisdiction",
            "example": ["440305"],
        },
    )
    name_keywords = fields.List(
        Str(validate=validate.Length(min=1, max=40)),
        validate=validate.Length(max=20),
        metadata={
            "description": "industry keywords matched in the entity name",
            "example": ["食品"],
        },
    )
    list_status = Str(
        validate=validate.OneOf(LIST_STATUSES),
        metadata={"description": "any | listed (on a list that day) | not_listed"},
    )
    list_types = fields.List(
        Str(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=10)
    )
    committed_only = fields.Boolean(
        metadata={"description": "only entities with a quality commitment (质量承诺) in force"}
    )


class ScopeOutSchema(Schema):
    regions = fields.List(Str(), required=True)
    name_keywords = fields.List(Str(), required=True)
    list_status = Str(required=True)
    list_types = fields.List(Str(), required=True)
    committed_only = fields.Boolean(required=True)


class RatiosSchema(Schema):
    A = Str(validate=RATIO, metadata={"example": "0.03"})
    B = Str(validate=RATIO, metadata={"example": "0.05"})
    C = Str(validate=RATIO, metadata={"example": "0.1"})
    D = Str(validate=RATIO, metadata={"example": "0.3"})


class TaskCreateSchema(Schema):
    title = Str(required=True, validate=validate.Length(min=1, max=200))
    authority_name = Str(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the authority's name as published"},
    )
    scope = fields.Nested(ScopeSchema, load_default=dict)
    ratios = fields.Nested(
        RatiosSchema,
        load_default=None,
        metadata={"description": "sample ratio per credit grade; default from configuration"},
    )
    inspectors_per_entity = fields.Integer(
        load_default=None, validate=validate.Range(min=1, max=10)
    )
    seed_sha256 = Str(
        load_default=None,
        validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="应为64位十六进制数字"),
        metadata={"description": "SHA-256 of the seed, committed before the draw (optional)"},
    )


TASK_EXAMPLE = {
    "title": "2026年第四季度食品经营者双随机抽查",
    "authority_name": "深圳市南山区市场监督管理局",
    "scope": {"regions": ["440305"], "name_keywords": ["食品"], "list_status": "any"},
    "ratios": {"A": "0.03", "B": "0.05", "C": "0.1", "D": "0.3"},
    "inspectors_per_entity": 2,
}


class InspectorSchema(Schema):
    code = Str(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "law-enforcement certificate number (执法证号)"},
    )
    name = Str(required=True, validate=validate.Length(min=1, max=100))
    region = Str(
        required=True,
        validate=REGION,
        metadata={"description": "division-code prefix of the inspector's office"},
    )


class PoolSchema(Schema):
    inspectors = fields.List(
        fields.Nested(InspectorSchema), required=True, validate=validate.Length(min=1, max=2000)
    )


POOL_EXAMPLE = {
    "inspectors": [
        {"code": "44030500101", "name": "李明", "region": "440305"},
        {"code": "44030500102", "name": "陈芳", "region": "440305"},
        {"code": "44030000201", "name": "张伟", "region": "4403"},
    ]
}


class DrawRequestSchema(Schema):
    seed = Str(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "published with the task; default: a random one"},
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "compute (or re-run) the draw without recording it"},
    )


class StratumSchema(Schema):
    grade = Str(required=True)
    population = fields.Integer(required=True)
    ratio = Str(required=True)
    sample = fields.Integer(required=True)


class DrawnSchema(Schema):
    position = fields.Integer(required=True)
    uscc = Str(required=True)
    grade = Str(required=True)
    rank = Str(required=True, metadata={"description": "HMAC-SHA256(seed, 'task|uscc'), hex"})
    inspectors = fields.List(Str(), required=True)


class DrawSchema(Schema):
    task_id = fields.Integer(required=True)
    recorded = fields.Boolean(required=True, metadata={"description": "false: computed only"})
    seed = Str(required=True)
    drawn_on = IsoDate(required=True)
    population_count = fields.Integer(required=True)
    population_sha256 = Str(required=True)
    strata = fields.List(fields.Nested(StratumSchema), required=True)
    sample = fields.List(fields.Nested(DrawnSchema), required=True)
    draw_sha256 = Str(required=True, metadata={"description": "SHA-256 of `text`"})
    text = Str(required=True, metadata={"description": "the canonical draw (what the CLI prints)"})
    matches_recorded = nullable(
        fields.Boolean(metadata={"description": "a re-run: equal to the recorded draw?"})
    )


class ResultRequestSchema(Schema):
    uscc = Str(required=True, validate=USCC, metadata={"example": EXAMPLE_USCC})
    outcome = Str(
        required=True,
        validate=validate.OneOf(tuple(OUTCOMES)),
        metadata={"description": "; ".join(f"{k}: {v}" for k, v in OUTCOMES.items())},
    )
    findings = Str(load_default=None, validate=validate.Length(max=5000))
    inspected_on = fields.Date(required=True)


class TaskItemSchema(Schema):
    position = fields.Integer(required=True)
    uscc = Str(required=True)
    name = nullable(Str())
    inspectors = fields.List(Str(), required=True)
    outcome = nullable(Str())
    outcome_label = nullable(Str())
    findings = nullable(Str())
    inspected_on = nullable(IsoDate())
    published_on = nullable(IsoDate())
    grade = Str(metadata={"description": "authority view only"})
    rank = Str(metadata={"description": "authority view only"})
    entered_by = nullable(Str(metadata={"description": "authority view only"}))


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    title = Str(required=True)
    authority_uscc = Str(required=True, metadata={"example": EXAMPLE_AUTHORITY})
    authority_name = Str(required=True)
    scope = fields.Nested(ScopeOutSchema, required=True)
    ratios = fields.Dict(keys=Str(), values=Str(), required=True)
    ungraded_as = Str(required=True)
    inspectors_per_entity = fields.Integer(required=True)
    seed_sha256 = nullable(Str())
    status = Str(required=True, metadata={"description": "planned | drawn"})
    seed = nullable(Str())
    drawn_on = nullable(IsoDate())
    population_count = nullable(fields.Integer())
    population_sha256 = nullable(Str())
    strata = fields.List(fields.Nested(StratumSchema), required=True)
    draw_sha256 = nullable(Str())
    published_on = nullable(IsoDate())
    inspectors = fields.List(fields.Nested(InspectorSchema), required=True)
    created_by = Str(metadata={"description": "authority view only"})
    created_at = IsoDateTime(metadata={"description": "authority view only"})
    items = fields.List(fields.Nested(TaskItemSchema))


class TaskSummarySchema(TaskSchema):
    """A task in a list: without its entities (they are on the task's own page)."""

    class Meta:
        # Left out, not merely absent: marshmallow would otherwise read a view dict
        # without "items" through the dict's own ``items`` method.
        exclude = ("items",)


class TaskPageSchema(PageSchema):
    items = fields.List(fields.Nested(TaskSummarySchema), required=True)


# --- transfers -----------------------------------------------------------------------


class TransferRequestSchema(Schema):
    police_unit = Str(required=True, validate=validate.Length(min=1, max=200))
    transferred_on = fields.Date(load_default=None, metadata={"description": "default today"})
    case_number = Str(load_default=None, validate=validate.Length(max=100))
    outcome = Str(load_default=None, validate=validate.Length(max=2000))


class OutcomeRequestSchema(Schema):
    outcome = Str(required=True, validate=validate.Length(min=1, max=2000))
    outcome_on = fields.Date(load_default=None, metadata={"description": "default today"})


class TransferOutSchema(Schema):
    id = fields.Integer(required=True)
    penalty_id = fields.Integer(required=True)
    uscc = Str(required=True)
    police_unit = nullable(Str())
    transferred_on = nullable(IsoDate())
    case_number = nullable(Str())
    outcome = nullable(Str())
    outcome_on = nullable(IsoDate())
    not_transferred_reason = nullable(Str())
    recorded_by = Str(required=True)
    created_at = IsoDateTime(required=True)


class TransferListSchema(Schema):
    items = fields.List(fields.Nested(TransferOutSchema), required=True)


class UntransferredItemSchema(Schema):
    penalty_id = fields.Integer(required=True)
    uscc = nullable(Str())
    party_name = Str(required=True)
    decision_number = Str(required=True)
    violation_type = Str(required=True)
    decided_on = IsoDate(required=True)
    business_volume_wan = nullable(AmountOut())
    illegal_gains_wan = nullable(AmountOut())
    threshold = fields.Dict(required=True, metadata={"description": "the threshold reached"})
    alert_id = fields.Integer(required=True)
    alert_status = Str(required=True, metadata={"description": "open | resolved (declined)"})
    not_transferred_reason = nullable(Str())


class UntransferredSchema(PageSchema):
    authority_uscc = Str(required=True)
    open = fields.Integer(required=True, metadata={"description": "no decision recorded yet"})
    declined = fields.Integer(
        required=True, metadata={"description": "closed with a reason for not transferring"}
    )
    items = fields.List(fields.Nested(UntransferredItemSchema), required=True)


# --- commitments ---------------------------------------------------------------------


class CommitmentRequestSchema(Schema):
    uscc = Str(required=True, validate=USCC, metadata={"example": EXAMPLE_USCC})
    products = Str(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "the products committed to"},
    )
    standard = Str(
        load_default=None,
        validate=validate.Length(max=300),
        metadata={"description": "the enterprise standard, stricter than the national one"},
    )
    statement = Str(required=True, validate=validate.Length(min=1, max=5000))
    made_on = fields.Date(required=True)


class WithdrawRequestSchema(Schema):
    reason = Str(required=True, validate=validate.Length(min=1, max=2000))


class CommitmentSchema(Schema):
    id = fields.Integer(required=True)
    uscc = Str(required=True)
    products = Str(required=True)
    standard = nullable(Str())
    statement = Str(required=True)
    made_on = IsoDate(required=True)
    authority_uscc = nullable(Str())
    recorded_by = Str(required=True)
    withdrawn_on = nullable(IsoDate())
    withdrawn_reason = nullable(Str())


class CommitmentArgsSchema(PageArgsSchema):
    uscc = Str(validate=validate.Length(max=40))


class CommitmentPageSchema(PageSchema):
    items = fields.List(fields.Nested(CommitmentSchema), required=True)


# --- public --------------------------------------------------------------------------


class PublicCommitmentSchema(Schema):
    id = fields.Integer(required=True)
    products = Str(required=True)
    standard = nullable(Str())
    statement = Str(required=True)
    made_on = IsoDate(required=True)


class PublicResultSchema(Schema):
    task_id = fields.Integer(required=True)
    title = Str(required=True)
    authority_name = Str(required=True)
    inspected_on = nullable(IsoDate())
    outcome = nullable(Str())
    outcome_label = nullable(Str())
    findings = nullable(Str())
    published_on = nullable(IsoDate())


class PublicSupervisionSchema(Schema):
    uscc = Str(required=True)
    commitments = fields.List(fields.Nested(PublicCommitmentSchema), required=True)
    inspections = fields.List(fields.Nested(PublicResultSchema), required=True)
