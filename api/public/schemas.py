"""Answer shapes of the public JSON API."""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from api.common.schemas import AmountOut, AsOf, IsoDate, IsoDateTime, PageSchema, Str, nullable

# --- public --------------------------------------------------------------------------


class PublicArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    as_of = AsOf()


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
    since = nullable(IsoDate())
    until = nullable(IsoDate())


class PublicPenaltySchema(Schema):
    id = fields.Integer(required=True)
    uscc = nullable(Str())
    party_name = Str(required=True, metadata={"description": "persons masked"})
    party_type = Str(required=True)
    legal_representative = nullable(Str(metadata={"description": "masked"}))
    decision_number = Str(required=True)
    authority = Str(required=True)
    authority_uscc = Str(required=True)
    violation_type = Str(required=True)
    facts = Str(required=True)
    basis = Str(required=True)
    categories = fields.List(Str(), required=True)
    content = Str(required=True)
    fine_wan = nullable(AmountOut())
    confiscated_wan = nullable(AmountOut())
    licence_affected = nullable(Str())
    decided_on = IsoDate(required=True)
    disclosure_until = nullable(IsoDate())
    severity = nullable(Str())
    repair_allowed_from = nullable(IsoDate())
    source_unit = nullable(Str(metadata={"description": "数据来源单位"}))
    under_objection = fields.Boolean(
        required=True, metadata={"description": "an objection to this record is open (异议处理中)"}
    )


class AuthoritySchema(Schema):
    uscc = nullable(Str())
    name = nullable(Str(metadata={"description": "the listing authority by name"}))


class GroundPenaltySchema(Schema):
    id = fields.Integer(required=True)
    decision_number = Str(required=True)
    decided_on = IsoDate(required=True)
    authority = Str(required=True)
    violation_type = Str(required=True)
    disclosed = fields.Boolean(
        required=True, metadata={"description": "still disclosed (in `penalties`)"}
    )


class RuleRefSchema(Schema):
    id = Str(required=True)
    title = Str(required=True)


class GroundsSchema(Schema):
    kind = Str(
        required=True,
        validate=validate.OneOf(("penalties", "naming", "rule")),
        metadata={
            "description": "penalties: the decisions behind it; naming: a red list "
            "named by an authority (`naming_decision`); rule: a published rule alone"
        },
    )
    rule = fields.Nested(RuleRefSchema, allow_none=True, required=True)
    penalties = fields.List(fields.Nested(GroundPenaltySchema), required=True)
    naming_decision = nullable(Str())


class EntryMeasureSchema(Schema):
    id = Str(required=True)
    title = Str(required=True)
    department = Str(required=True, metadata={"description": "the implementing department"})
    kind = Str(required=True, metadata={"description": "punishment | incentive"})
    legal_basis = Str(required=True)


class TermSchema(Schema):
    since = nullable(IsoDate())
    until = nullable(IsoDate())
    text = Str(required=True, metadata={"example": "至改正为止"})
    early_removal_from = nullable(
        IsoDate(metadata={"description": "early removal (credit repair) may be asked from"})
    )
    ends = Str(required=True, metadata={"description": "how the entry ends, in words"})


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
    group = Str(
        required=True,
        validate=validate.OneOf(("serious", "abnormal", "incentive")),
        metadata={
            "description": "serious: 严重失信主体名单; abnormal: 经营异常名录; "
            "incentive: 守信激励名单"
        },
    )
    group_title = Str(required=True)
    authority = fields.Nested(AuthoritySchema, required=True)
    grounds = fields.Nested(GroundsSchema, required=True)
    legal_basis = Str(required=True)
    measures = fields.List(fields.Nested(EntryMeasureSchema), required=True)
    term = fields.Nested(TermSchema, required=True)
    under_objection = fields.Boolean(required=True, metadata={"description": "异议处理中"})
    objection_target = Str(
        required=True, metadata={"description": "`target` of the objection form"}
    )


class PublicGradeSchema(Schema):
    grade = Str(required=True, metadata={"example": "A"})
    title = Str(required=True, metadata={"example": "信用风险低（A类）"})
    since = IsoDate(required=True, metadata={"description": "in force since this day"})


class PublicEntitySchema(Schema):
    uscc = Str(required=True)
    name = Str(required=True)
    party_type = Str(required=True)
    region = nullable(Str(metadata={"description": "from positions 3-8 of the code"}))
    division_code = nullable(Str())
    registration_authority = nullable(Str())
    entity_type = nullable(Str())
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
    region = nullable(Str())
    division_code = nullable(Str())
    registration_authority = nullable(Str())
    entity_type = nullable(Str())
    lists = fields.List(fields.Nested(SearchListRefSchema), required=True)
    penalty_count = fields.Integer(required=True)
    matched_by = Str(required=True, metadata={"description": "code | name"})


class SearchPageSchema(PageSchema):
    items = fields.List(fields.Nested(SearchItemSchema), required=True)


class PublishedEntrySchema(PublicEntityListSchema):
    uscc = nullable(Str())
    name = nullable(Str(metadata={"description": "persons masked"}))
    region = nullable(Str())


class PublishedListPageSchema(PageSchema):
    list_type = Str(required=True)
    items = fields.List(fields.Nested(PublishedEntrySchema), required=True)


class ChangeSchema(Schema):
    id = fields.Integer(required=True)
    kind = Str(required=True, metadata={"description": "penalty | list_entry | entity"})
    uscc = Str(required=True)
    object_id = nullable(fields.Integer())
    action = Str(required=True)
    at = nullable(IsoDateTime())
    disclosed = fields.Boolean(
        required=True, metadata={"description": "false: drop it from a mirror"}
    )
    record = nullable(fields.Dict(metadata={"description": "the public record now, or null"}))


class ChangesSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema), required=True)
    next_cursor = Str(required=True)


class ReportVerifySchema(Schema):
    class Meta:
        unknown = RAISE

    number = Str(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"example": "XYBG-20261205-91440300MA5FXXXXXX-001"},
    )
    code = Str(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"example": "ABCD-EFGH-JKLM-NPQR-STUV"},
    )


class VerifiedReportSchema(Schema):
    number = Str(required=True)
    uscc = Str(required=True)
    name = Str(required=True)
    as_of = IsoDate(required=True)
    issued_at = Str(required=True)
    counts = fields.Dict(keys=Str(), values=fields.Integer(), required=True)


class ReportVerdictSchema(Schema):
    genuine = fields.Boolean(
        required=True, metadata={"description": "issued by this registry with this code"}
    )
    facts_hold = fields.Boolean(
        allow_none=True,
        required=True,
        metadata={"description": "today's public facts are the report's; null if not genuine"},
    )
    report = fields.Nested(VerifiedReportSchema, allow_none=True, required=True)
    changed = fields.List(Str(), required=True, metadata={"description": "what changed, in words"})
