"""HTTP schemas of the intake workflows: objections (异议申诉) and complaints (举报投诉)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.common.schemas import (
    EXAMPLE_AUTHORITY,
    EXAMPLE_USCC,
    IsoDate,
    PageArgsSchema,
    PageSchema,
    Str,
    nullable,
    penalty_record_schema,
)
from registry.intake.complaints import KINDS, STATUSES
from registry.intake.objections import OUTCOMES

EXAMPLE_OBJECTION_RECEIPT = "YY-7K3M-Q9DX-2HTB-W4NE"
EXAMPLE_COMPLAINT_RECEIPT = "JB-4N8P-ZC2T-M6QR-1VKD"

# --- receipts ---------------------------------------------------------------------------


class ReceiptSchema(Schema):
    """A status lookup: the receipt travels in the body, never in a URL (URLs end up in
    access logs, proxies and browser histories)."""

    receipt = Str(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={
            "description": "the receipt given when filing (case, spaces and hyphens do not matter)",
            "example": EXAMPLE_OBJECTION_RECEIPT,
        },
    )


# --- objections ------------------------------------------------------------------------


class ObjectionFileSchema(Schema):
    uscc = Str(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the code the record is about", "example": EXAMPLE_USCC},
    )
    decision_number = Str(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "决定书文号, as on the decision document"},
    )
    penalty_id = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "id of a disclosed penalty, as on the public page"},
    )
    list_entry_id = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "id of a published list entry"},
    )
    statement = Str(
        required=True,
        validate=validate.Length(min=1, max=20000),
        metadata={"description": "which part of the record is wrong, and why"},
    )
    contact = Str(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "how the authority reaches the filer (phone, e-mail, address)"},
    )


OBJECTION_FILE_EXAMPLE = {
    "uscc": EXAMPLE_USCC,
    "decision_number": "深市监罚〔2026〕12号",
    "statement": "处罚决定已于2026年8月经行政复议变更，罚款金额应为2万元。",
    "contact": "0755-12345678 王先生",
}


class ObjectionRecordRefSchema(Schema):
    penalty_id = nullable(fields.Integer())
    decision_number = nullable(Str())
    list_entry_id = nullable(fields.Integer())
    list_type = nullable(Str())


class ObjectionStatusSchema(Schema):
    """What the filer sees with their receipt."""

    uscc = Str(required=True)
    record = fields.Nested(ObjectionRecordRefSchema, required=True)
    status = Str(required=True, metadata={"description": "open | answered"})
    filed_on = IsoDate(required=True)
    due_on = IsoDate(required=True, metadata={"description": "the authority answers by"})
    overdue = fields.Boolean(required=True)
    answered_on = nullable(IsoDate())
    outcome = nullable(Str(metadata={"description": "corrected | revoked | rejected"}))
    answer = nullable(Str())


class ObjectionFiledSchema(ObjectionStatusSchema):
    receipt = Str(
        required=True,
        metadata={
            "description": "shown once: keep it to follow the objection (stored only hashed)"
        },
    )


OBJECTION_STATUS_EXAMPLE = {
    "uscc": EXAMPLE_USCC,
    "record": {
        "penalty_id": 12,
        "decision_number": "深市监罚〔2026〕12号",
        "list_entry_id": None,
        "list_type": None,
    },
    "status": "open",
    "filed_on": "2026-11-27",
    "due_on": "2026-12-11",
    "overdue": False,
    "answered_on": None,
    "outcome": None,
    "answer": None,
}


class ObjectionArgsSchema(PageArgsSchema):
    status = Str(validate=validate.OneOf(("open", "answered")))
    overdue = fields.Boolean(
        metadata={"description": "true: only open objections past their deadline"}
    )


class ObjectionSchema(Schema):
    """An objection as the deciding authority sees it."""

    id = fields.Integer(required=True)
    uscc = Str(required=True)
    penalty_id = nullable(fields.Integer())
    decision_number = nullable(Str())
    list_entry_id = nullable(fields.Integer())
    authority_uscc = Str(required=True)
    contact = Str(required=True)
    statement = Str(required=True)
    status = Str(required=True)
    filed_on = IsoDate(required=True)
    due_on = IsoDate(required=True)
    overdue = fields.Boolean(required=True)
    answered_on = nullable(IsoDate())
    outcome = nullable(Str())
    answer = nullable(Str())
    answered_by = nullable(Str())
    corrected_version = nullable(fields.Integer())


class ObjectionPageSchema(PageSchema):
    items = fields.List(fields.Nested(ObjectionSchema), required=True)


class ObjectionAnswerSchema(Schema):
    outcome = Str(required=True, validate=validate.OneOf(OUTCOMES))
    answer = Str(
        load_default=None,
        validate=validate.Length(max=20000),
        metadata={"description": "the reasons; required for revoked and rejected"},
    )
    record = fields.Nested(
        penalty_record_schema(),
        load_default=None,
        metadata={
            "description": "corrected: the whole corrected record (same authority_uscc and "
            "decision_number); written as a new version"
        },
    )


# --- complaints ------------------------------------------------------------------------


class ComplaintFileSchema(Schema):
    uscc = Str(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the code reported", "example": EXAMPLE_USCC},
    )
    kind = Str(required=True, validate=validate.OneOf(KINDS))
    description = Str(
        required=True,
        validate=validate.Length(min=1, max=20000),
        metadata={"description": "what was seen, where and when"},
    )
    contact = Str(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "optional: how the authority may reach the reporter"},
    )


COMPLAINT_FILE_EXAMPLE = {
    "uscc": EXAMPLE_USCC,
    "kind": "counterfeit",
    "description": "该公司门店销售的运动鞋疑似假冒注册商标，购买凭证已保存。",
    "contact": "13800000000",
}


class ComplaintStatusSchema(Schema):
    """What the reporter sees with their receipt: the status only."""

    status = Str(required=True, metadata={"description": "received|accepted|investigating|closed"})
    filed_on = IsoDate(required=True)
    status_on = nullable(IsoDate())


class ComplaintFiledSchema(ComplaintStatusSchema):
    receipt = Str(
        required=True,
        metadata={"description": "shown once: keep it to follow the report (stored only hashed)"},
    )


class ComplaintArgsSchema(PageArgsSchema):
    status = Str(validate=validate.OneOf(STATUSES))
    unrouted = fields.Boolean(
        metadata={"description": "administrators: only complaints no authority was found for"}
    )


class ComplaintSchema(Schema):
    id = fields.Integer(required=True)
    uscc = Str(required=True)
    kind = Str(required=True)
    description = Str(required=True)
    contact = nullable(Str())
    authority_uscc = nullable(Str(metadata={"description": "null: in the administrators' queue"}))
    routed_by = Str(required=True, metadata={"description": "table | regulators | admin | none"})
    status = Str(required=True)
    filed_on = IsoDate(required=True)
    status_on = nullable(IsoDate())
    status_note = nullable(Str())
    handled_by = nullable(Str())


class ComplaintPageSchema(PageSchema):
    items = fields.List(fields.Nested(ComplaintSchema), required=True)


class ComplaintStatusChangeSchema(Schema):
    status = Str(required=True, validate=validate.OneOf(("accepted", "investigating", "closed")))
    note = Str(
        load_default=None,
        validate=validate.Length(max=20000),
        metadata={"description": "required when closing: what was found and done"},
    )


class ComplaintRouteSchema(Schema):
    authority_uscc = Str(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"example": EXAMPLE_AUTHORITY},
    )
