"""Request and answer shapes of the regulators' endpoints."""

from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

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
    uscc = nullable(Str())
    party_name = Str(required=True)
    party_type = Str(required=True)
    registration_number = nullable(Str())
    legal_representative = nullable(Str())
    legal_representative_id_type = nullable(Str())
    legal_representative_id_masked = nullable(Str())
    id_type = nullable(Str())
    id_masked = nullable(Str())
    decision_number = Str(required=True)
    violation_type = Str(required=True)
    facts = Str(required=True)
    basis = Str(required=True)
    categories = fields.List(Str(), required=True)
    content = Str(required=True)
    fine_wan = nullable(AmountOut())
    confiscated_wan = nullable(AmountOut())
    licence_affected = nullable(Str())
    decided_on = IsoDate(required=True)
    valid_until = nullable(IsoDate())
    disclosure_deadline = nullable(IsoDate())
    authority = Str(required=True)
    authority_uscc = Str(required=True)
    source_unit = nullable(Str())
    source_unit_uscc = nullable(Str())
    remarks = nullable(Str())
    business_volume_wan = nullable(AmountOut())
    illegal_gains_wan = nullable(AmountOut())
    transferred_to_police = fields.Boolean(required=True)
    transferred_on = nullable(IsoDate())
    aggravated = fields.Boolean(required=True)
    status = Str(required=True, metadata={"description": "active | revoked"})
    revoked_on = nullable(IsoDate())
    revoked_reason = nullable(Str())
    version = fields.Integer(required=True)
    severity = nullable(Str(metadata={"description": "minor | general | serious"}))
    disclosure_until = nullable(IsoDate(metadata={"description": "null: not disclosed"}))
    repair_allowed_from = nullable(IsoDate())
    repaired_on = nullable(IsoDate())
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
    line = fields.Integer(
        required=True, metadata={"description": "行号：文件中的行（表头为第1行）"}
    )
    decision_number = Str(
        required=True, metadata={"description": "决定书文号：该行填写的文号（无则为空）"}
    )
    field = Str(required=True, metadata={"description": "字段的英文名（如 fine_wan）"})
    column = Str(
        required=True,
        metadata={"description": "字段：按上传文件自己的表头命名（如 罚款金额（万元））"},
    )
    reason = Str(required=True, metadata={"description": "原因"})


class RulesSummarySchema(Schema):
    """导入之后规则评估的结果。"""

    subjects = fields.Integer(required=True, metadata={"description": "评估的主体数"})
    proposed = fields.Integer(required=True, metadata={"description": "拟列入名单的条目数"})
    activated = fields.Integer(required=True, metadata={"description": "生效的名单条目数"})
    withdrawn = fields.Integer(required=True, metadata={"description": "撤回的拟列入条目数"})
    removed = fields.Integer(required=True, metadata={"description": "移出名单的条目数"})
    alerts = fields.Integer(required=True, metadata={"description": "新开的预警数"})
    failed = fields.Boolean(
        required=True, metadata={"description": "规则评估失败（主体仍在待处理队列中）"}
    )


class ImportReportSchema(Schema):
    source = Str(required=True)
    format = nullable(Str())
    batch_id = nullable(fields.Integer())
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
    rules = nullable(
        fields.Nested(
            RulesSummarySchema,
            metadata={"description": "导入后规则评估的结果；试运行或未写入时为 null"},
        )
    )
    rules_text = nullable(Str(metadata={"description": "同上，一句中文"}))


class ImportBatchSchema(Schema):
    """一个导入批次：各项计数、状态和导入后规则评估的结果。"""

    id = fields.Integer(required=True)
    source = Str(required=True, metadata={"description": "文件名"})
    format = Str(required=True)
    authority_uscc = nullable(Str())
    status = Str(required=True, metadata={"description": "running | completed | failed"})
    status_label = Str(required=True, metadata={"description": "状态：进行中、已完成或失败"})
    rows = fields.Integer(required=True, metadata={"description": "读取的行数"})
    accepted = fields.Integer(required=True, metadata={"description": "新增"})
    updated = fields.Integer(required=True, metadata={"description": "更新"})
    unchanged = fields.Integer(required=True, metadata={"description": "未变"})
    rejected = fields.Integer(required=True, metadata={"description": "拒收"})
    rejection_reasons = fields.Dict(
        keys=Str(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "按字段统计的拒收问题数"},
    )
    rules = nullable(fields.Nested(RulesSummarySchema))
    rules_text = nullable(Str(metadata={"description": "规则评估结果，一句中文"}))
    started_at = fields.DateTime(required=True)
    finished_at = nullable(fields.DateTime())


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
    rule_id = nullable(Str())
    pack_version = nullable(Str())
    authority_uscc = nullable(Str())
    basis_penalty_ids = fields.List(fields.Integer(), required=True)
    proposed_on = nullable(IsoDate())
    since = nullable(IsoDate())
    until = nullable(IsoDate())
    early_removal_from = nullable(IsoDate())
    confirmed_by = nullable(Str())
    ended_on = nullable(IsoDate())
    ended_by = nullable(Str())
    end_reason = nullable(Str())
    note = nullable(Str())


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
    due_on = nullable(IsoDate())
    decided_on = nullable(IsoDate())
    decided_by = nullable(Str())
    applicant = nullable(Str())
    statement = nullable(Str())
    reason = nullable(Str())


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
    fine_wan = nullable(AmountOut())
    business_volume_wan = nullable(AmountOut())
    illegal_gains_wan = nullable(AmountOut())
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
    resolution = nullable(Str())
    resolved_at = nullable(IsoDateTime())
    resolved_by = nullable(Str())
    created_at = IsoDateTime(required=True)
    penalty = nullable(fields.Nested(AlertPenaltySchema))


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
            raise ValidationError(
                "移送信息（transfer）与不移送理由（reason）须且只能填写其一", "_schema"
            )
