"""Request and answer shapes of the departments' endpoints (sanctions, subscriptions)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from api.common.schemas import (
    EXAMPLE_AUTHORITY,
    EXAMPLE_DAY,
    EXAMPLE_USCC,
    AsOf,
    IsoDate,
    IsoDateTime,
    PageArgsSchema,
    PageSchema,
    Str,
    nullable,
)

# --- sanctions ---------------------------------------------------------------------------


class SanctionsArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    scenario = Str(
        validate=validate.Length(max=40),
        metadata={
            "description": "场景，如 procurement（政府采购）、bidding（招标投标）、"
            "finance（融资信贷）",
            "example": "procurement",
        },
    )
    as_of = AsOf(
        metadata={
            "description": "查询日期 YYYY-MM-DD；不填或留空为今天",
            "example": EXAMPLE_DAY,
        },
    )


class BasisPenaltySchema(Schema):
    penalty_id = fields.Integer(required=True)
    decision_number = Str(required=True)
    decided_on = IsoDate(required=True)
    authority = Str(required=True)
    status = Str(required=True, metadata={"description": "active（有效）| revoked（已撤销）"})
    under_objection = fields.Boolean(
        metadata={"description": "an objection (异议) to this record is open; never public"}
    )


class BecauseSchema(Schema):
    rule_id = nullable(Str())
    rule_title = nullable(Str())
    pack_version = nullable(Str())
    decided_at = nullable(IsoDateTime())
    penalties = fields.List(fields.Nested(BasisPenaltySchema), required=True)
    under_objection = fields.Boolean(metadata={"description": "该条目或其依据的记录正在异议处理中"})
    basis = nullable(
        Str(metadata={"description": "机关直接列入（非规则产生）的条目：其依据的文字，如认定决定"})
    )
    authority_uscc = nullable(Str(metadata={"description": "列入该名单的机关（与依据一起给出）"}))


class MeasureSchema(Schema):
    measure_id = Str(required=True)
    title = Str(required=True)
    department = Str(required=True)
    legal_basis = Str(required=True)
    scenarios = fields.List(Str(), required=True)
    list_type = Str(required=True)
    list_entry_id = fields.Integer(required=True)
    since = IsoDate(required=True)
    until = nullable(IsoDate(metadata={"description": "约束的最后一天；null：无期限"}))
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
    rule_id = nullable(Str(metadata={"description": "命中的评级规则行；default：没有任何一行命中"}))
    rule_title = nullable(Str())
    when = nullable(Str(metadata={"description": "该行的条件"}))
    facts = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={"description": "该行检验的汇总数值"},
    )
    pack_version = Str(required=True)


class GradeSchema(Schema):
    grade = Str(required=True, metadata={"description": "A（信用风险低）… D（严重失信）"})
    title = Str(required=True)
    since = IsoDate(required=True)
    until = nullable(IsoDate(metadata={"description": "该等级的最后一天；null：当前等级"}))
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
    name = nullable(Str(metadata={"description": "名称；登记簿中没有该代码时为 null"}))
    known = fields.Boolean(
        required=True,
        metadata={
            "description": "登记簿中是否有该代码的主体；false：从未有过记录（因此也没有"
            "任何惩戒措施），并非核查过后的“无惩戒”"
        },
    )
    as_of = IsoDate(required=True)
    scenario = nullable(Str())
    sanctioned = fields.Boolean(required=True)
    measures = fields.List(fields.Nested(MeasureSchema), required=True)
    grade = nullable(
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
    incentives_withheld = nullable(
        fields.Nested(
            WithheldSchema,
            metadata={"description": "不给予激励的原因；null：未被扣除"},
        )
    )


SANCTIONS_EXAMPLE = {
    "uscc": EXAMPLE_USCC,
    "name": "深圳市华鑫科技有限公司",
    "known": True,
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
    "known": True,
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
        metadata={"description": "要核查的代码，按顺序（最多 api.batch_check_limit 个）"},
    )
    scenario = Str(load_default=None, validate=validate.Length(max=40))
    as_of = AsOf()


class CodeProblemSchema(Schema):
    code = Str(required=True, metadata={"description": "malformed_code"})
    check = Str(
        required=True,
        metadata={
            "description": "未通过的校验：length 长度 | character 字符 | authority 登记管理"
            "部门 | division 行政区划 | body_check 主体标识码 | check 校验码"
        },
    )
    message = Str(required=True)


class CheckResultSchema(Schema):
    uscc = Str(required=True, metadata={"description": "按提交的原样，或规范化后的代码"})
    name = nullable(Str())
    known = nullable(
        fields.Boolean(
            metadata={
                "description": "登记簿中是否有该代码的主体（false：从未有过记录）；"
                "代码格式错误时为 null"
            }
        )
    )
    as_of = nullable(IsoDate())
    scenario = nullable(Str())
    sanctioned = nullable(fields.Boolean(metadata={"description": "代码格式错误时为 null"}))
    measures = fields.List(fields.Nested(MeasureSchema), required=True)
    grade = nullable(fields.Nested(GradeSchema))
    incentives = fields.List(fields.Nested(MeasureSchema), required=True)
    incentives_withheld = nullable(fields.Nested(WithheldSchema))
    error = nullable(fields.Nested(CodeProblemSchema))


class CheckResponseSchema(Schema):
    as_of = IsoDate(required=True)
    scenario = nullable(Str())
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
    as_of = AsOf()


class PersonLinkSchema(Schema):
    uscc = Str(required=True)
    role = Str(required=True)


class PersonSchema(Schema):
    id_masked = nullable(Str(metadata={"example": "110105********002X"}))
    known = fields.Boolean(required=True)
    links = fields.List(fields.Nested(PersonLinkSchema), required=True)


class PersonMeasureSchema(MeasureSchema):
    uscc = nullable(Str(metadata={"description": "被列入名单的主体；null：此人本人"}))
    role = Str(
        required=True,
        metadata={"description": "party（当事人本人）| legal_representative（法定代表人）"},
    )


class PersonSanctionsSchema(Schema):
    person = fields.Nested(PersonSchema, required=True)
    as_of = IsoDate(required=True)
    scenario = nullable(Str())
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
    list_entry_id = nullable(fields.Integer())
    department = Str(required=True)
    action = Str(required=True)
    note = nullable(Str())
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
        metadata={"description": "要关注的代码；为空：全部代码"},
    )
    list_types = fields.List(
        Str(validate=validate.Length(max=40)),
        load_default=list,
        metadata={"description": "要关注的名单；为空：全部名单"},
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
        metadata={"description": "签名密钥，只在此次答复中出示；请妥善保存"},
    )
    signature_header = Str(required=True, metadata={"example": "X-Registry-Signature"})
    signature_scheme = Str(
        required=True,
        metadata={"example": 'sha256=hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))'},
    )
    timestamp_header = Str(required=True, metadata={"example": "X-Registry-Timestamp"})
    replay_window_seconds = fields.Integer(
        required=True,
        metadata={
            "description": "refuse a delivery whose timestamp is further off",
            "example": 300,
        },
    )


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema), required=True)


class DeliveryArgsSchema(PageArgsSchema):
    status = Str(validate=validate.OneOf(("pending", "delivered", "failed")))


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    subscription_id = fields.Integer(required=True)
    change_id = nullable(fields.Integer())
    status = Str(
        required=True,
        metadata={"description": "pending（待推送）| delivered（已送达）| failed（失败）"},
    )
    attempts = fields.Integer(required=True)
    next_attempt_at = IsoDateTime(required=True)
    last_status_code = nullable(fields.Integer())
    last_error = nullable(Str())
    created_at = IsoDateTime(required=True)
    delivered_at = nullable(IsoDateTime())
    payload = fields.Dict(required=True)


class DeliveryPageSchema(PageSchema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)
