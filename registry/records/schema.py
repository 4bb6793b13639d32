"""The penalty record (行政处罚信息) as it enters the registry, whatever the door.

One marshmallow schema, :class:`PenaltyRecordSchema`, defines the record in the English
names of the product contract and every rule a record must satisfy (DOMAIN.md §2):
API bodies, files (CSV, XLSX, JSONL, after header mapping) and the CLI all load through
it, so a record accepted by one door is accepted by every other one.  The values
themselves are read by :mod:`registry.records.parsing`; :func:`validate_record` is the
same schema on the import's hot path.

Problems come out as a list of ``(field, reason)`` pairs with the reason in words a
regulator can act on, e.g. ``("uscc", "第18位校验码错误")``.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validates_schema,
)

from registry.core import clock
from registry.core.codes import (
    NO_CODE_PLACEHOLDER,
    CodeError,
    check_resident_id,
    find_resident_id,
    mask_id_number,
    normalise,
    validate_resident_id,
)
from registry.core.codes import validate_uscc as _validate_uscc
from registry.records.parsing import (
    CATEGORY_SPLIT,
    CONFISCATION_CATEGORIES,
    DEFAULT_VALID_UNTIL,
    FINE,
    INDIVIDUAL_BUSINESS,
    LONG_TEXT,
    NATURAL_PERSON,
    ORGANISATION,
    SHORT_TEXT,
    format_amount,
    parse_amount,
    parse_bool,
    parse_categories,
    parse_date,
    parse_party_type,
)

# --- fields --------------------------------------------------------------------------

_REQUIRED = "必填项缺失"
_MESSAGES = {"required": _REQUIRED, "null": _REQUIRED}


class RecordField(fields.Field):
    """A record field whose loading is one pure conversion, :meth:`convert`, raising
    ``ValueError`` with the reason.  Keeping the conversion apart from marshmallow's
    machinery lets :func:`validate_record` run the very same rules without it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", _MESSAGES)
        super().__init__(**kwargs)

    def convert(self, value: Any) -> Any:
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return self.convert(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Text(RecordField):
    """Stripped text with a length bound; numbers from spreadsheets become their text."""

    def __init__(self, max_length: int = SHORT_TEXT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    def convert(self, value: Any) -> str:
        if value.__class__ is not str:
            if isinstance(value, float):
                value = Decimal(repr(value))
            elif isinstance(value, datetime | date):
                value = value.isoformat()
            elif isinstance(value, list | dict):
                raise ValueError("应为文本")
            value = str(value)
        text = value.strip()
        if "\x00" in text:
            raise ValueError("含有不允许的空字符（NUL）")
        if len(text) > self.max_length:
            raise ValueError(f"超过{self.max_length}个字符（{len(text)}）")
        return text


class IdNumber(Text):
    """A personal ID number, normalised (the schema judges it with the party type)."""

    def convert(self, value: Any) -> str:
        return normalise(super().convert(value))


class FlexibleDate(RecordField):
    def convert(self, value: Any) -> date:
        return parse_date(value)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()


class Amount(RecordField):
    """万元 amount; dumps as a decimal string so no float ever carries it."""

    def convert(self, value: Any) -> Decimal:
        return parse_amount(value)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_amount(value)


class YesNo(RecordField):
    def convert(self, value: Any) -> bool:
        return parse_bool(value)


class PartyType(RecordField):
    def convert(self, value: Any) -> str:
        return parse_party_type(value)


@lru_cache(maxsize=1 << 14)
def _checked_uscc(value: str) -> tuple[str, str | None]:
    # Authorities' codes repeat on every row: validate each distinct code once.
    code = normalise(value)
    if code == NO_CODE_PLACEHOLDER:
        return code, None
    try:
        return _validate_uscc(code), None
    except CodeError as exc:
        return code, exc.message


class Uscc(RecordField):
    """A unified social credit code, normalised; the placeholder for "no code" passes
    through here and is judged with the party type."""

    def convert(self, value: Any) -> str:
        code, problem = _checked_uscc(value if value.__class__ is str else str(value))
        if problem is not None:
            raise ValueError(problem)
        return code


class Categories(RecordField):
    """Loads to ``(names, original wording or None)``; the record keeps the names."""

    def convert(self, value: Any) -> tuple[list[str], list[str] | None]:
        return parse_categories(value)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else list(value)


class Choice(RecordField):
    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices

    def convert(self, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in self.choices:
            raise ValueError(f"应为{' 或 '.join(self.choices)}，实际为“{value}”")
        return text


_KEY_RE = re.compile(r"[0-9a-f]{64}")


class PersonKey(RecordField):
    """A person key (HMAC-SHA256, 64 hex digits) as a full export writes it."""

    def convert(self, value: Any) -> str:
        text = str(value).strip().lower()
        if not _KEY_RE.fullmatch(text):
            raise ValueError("应为64位十六进制的人员标识（person_key）")
        return text


class OriginalCategories(RecordField):
    def convert(self, value: Any) -> list[str] | None:
        if isinstance(value, str):
            value = CATEGORY_SPLIT.split(value)
        if not isinstance(value, list | tuple):
            raise ValueError("应为列表")
        names = list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
        if len(";".join(names)) > 500:
            raise ValueError("超过500个字符")
        return names or None


# --- the schema ----------------------------------------------------------------------

_ID_CARD_TYPES = frozenset({"", "身份证", "居民身份证", "中华人民共和国居民身份证", "01", "111"})

#: The default of ``records.earliest_decision_date``: a decision before it is refused.
EARLIEST_DECISION_DATE = date(1990, 1, 1)
_earliest = [EARLIEST_DECISION_DATE]


def set_earliest_decision_date(day: date) -> None:
    """Configure the earliest decision date every door checks (``records.
    earliest_decision_date``): set by the import engine and the web app from their
    configuration, and by an import's reading process from what it is handed."""
    _earliest[0] = day


def earliest_decision_date() -> date:
    return _earliest[0]


class PenaltyRecordSchema(Schema):
    """A penalty record (行政处罚信息) in the national layout, English names.

    Unknown keys are rejected (API bodies); file readers map their headers first and
    move unknown columns into ``remarks``.  Empty strings count as absent."""

    class Meta:
        unknown = RAISE
        ordered = True

    party_name = Text(required=True, metadata={"description": "行政相对人名称 CF_XDR_MC"})
    party_type = PartyType(
        required=True,
        metadata={
            "description": "行政相对人类别 CF_XDR_LB: organisation | natural_person | "
            "individual_business (the Chinese names are accepted)"
        },
    )
    uscc = Uscc(
        load_default=None,
        metadata={
            "description": "统一社会信用代码 CF_XDR_SHXYM; required unless a natural person; "
            f"an individual business without a code writes {NO_CODE_PLACEHOLDER}"
        },
    )
    registration_number = Text(
        load_default=None, max_length=40, metadata={"description": "工商注册号 CF_XDR_GSZC"}
    )
    legal_representative = Text(
        load_default=None, max_length=100, metadata={"description": "法定代表人 CF_FRDB"}
    )
    legal_representative_id_type = Text(
        load_default=None, max_length=40, metadata={"description": "法定代表人证件类型 CF_FR_ZJLX"}
    )
    legal_representative_id_number = IdNumber(
        load_default=None,
        max_length=40,
        metadata={"description": "法定代表人证件号码 CF_FR_ZJHM (personal data, never public)"},
    )
    id_type = Text(
        load_default=None, max_length=40, metadata={"description": "证件类型 CF_XDR_ZJLX"}
    )
    id_number = IdNumber(
        load_default=None,
        max_length=40,
        metadata={"description": "证件号码 CF_XDR_ZJHM (natural persons; never public)"},
    )
    decision_number = Text(
        required=True, max_length=200, metadata={"description": "行政处罚决定书文号 CF_WSH"}
    )
    violation_type = Text(
        required=True, max_length=500, metadata={"description": "违法行为类型 CF_WFXW"}
    )
    facts = Text(required=True, max_length=LONG_TEXT, metadata={"description": "违法事实 CF_SY"})
    basis = Text(required=True, max_length=LONG_TEXT, metadata={"description": "处罚依据 CF_YJ"})
    categories = Categories(
        required=True,
        metadata={"description": "处罚类别 CF_CFLB: list of category names (2021 or old list)"},
    )
    categories_original = OriginalCategories(
        load_default=None,
        allow_none=True,
        metadata={"description": "the original wording when old category names were mapped"},
    )
    content = Text(required=True, max_length=LONG_TEXT, metadata={"description": "处罚内容 CF_NR"})
    fine_wan = Amount(load_default=None, metadata={"description": "罚款金额（万元） CF_NR_FK"})
    confiscated_wan = Amount(
        load_default=None,
        metadata={"description": "没收违法所得、没收非法财物的金额（万元） CF_NR_WFFF"},
    )
    licence_affected = Text(
        load_default=None,
        max_length=500,
        metadata={"description": "暂扣或吊销证照名称及编号 CF_NR_ZKDX"},
    )
    decided_on = FlexibleDate(
        required=True, metadata={"description": "处罚决定日期 CF_JDRQ; not in the future"}
    )
    valid_until = FlexibleDate(
        load_default=DEFAULT_VALID_UNTIL,
        metadata={"description": "处罚有效期 CF_YXQ (default 2099-12-31)"},
    )
    disclosure_deadline = FlexibleDate(
        load_default=None, metadata={"description": "公示截止期 CF_GSJZQ"}
    )
    authority = Text(required=True, metadata={"description": "处罚机关 CF_CFJG"})
    authority_uscc = Uscc(
        required=True, metadata={"description": "处罚机关统一社会信用代码 CF_CFJGDM"}
    )
    source_unit = Text(
        load_default=None,
        metadata={"description": "数据来源单位 CF_SJLY (default: the authority)"},
    )
    source_unit_uscc = Uscc(
        load_default=None,
        metadata={"description": "数据来源单位统一社会信用代码 CF_SJLYDM (default: the authority)"},
    )
    remarks = Text(load_default=None, max_length=LONG_TEXT, metadata={"description": "备注 BZ"})
    business_volume_wan = Amount(
        load_default=None, metadata={"description": "违法经营额 / 货值金额（万元） (extension)"}
    )
    illegal_gains_wan = Amount(
        load_default=None, metadata={"description": "违法所得（万元） (extension)"}
    )
    transferred_to_police = YesNo(
        load_default=False, metadata={"description": "是否移送公安 (extension)"}
    )
    transferred_on = FlexibleDate(
        load_default=None, metadata={"description": "移送日期 (extension)"}
    )
    aggravated = YesNo(load_default=False, metadata={"description": "从重处罚 (extension)"})

    # Restoring a full export (``export --scope full``): the registry never keeps ID
    # numbers, so a full export carries the keyed hash and the masked number instead,
    # and its status.  Without these fields a record keeps whatever status it has.
    status = Choice(
        ("active", "revoked"),
        load_default=None,
        metadata={"description": "active | revoked (restore); absent = keep the current status"},
    )
    revoked_on = FlexibleDate(load_default=None, metadata={"description": "revoked on (restore)"})
    revoked_reason = Text(
        load_default=None, max_length=LONG_TEXT, metadata={"description": "why (restore)"}
    )
    person_key = PersonKey(
        load_default=None,
        metadata={"description": "keyed hash of the party's ID number (restore, instead of it)"},
    )
    id_masked = Text(
        load_default=None, max_length=40, metadata={"description": "masked ID number (restore)"}
    )
    legal_representative_key = PersonKey(
        load_default=None,
        metadata={"description": "keyed hash of the legal representative's ID number (restore)"},
    )
    legal_representative_id_masked = Text(
        load_default=None,
        max_length=40,
        metadata={"description": "masked ID number of the legal representative (restore)"},
    )

    @pre_load
    def _drop_blank(self, data: Any, **_: Any) -> Any:
        """Blank cells are absent values, whatever the door."""
        if not isinstance(data, Mapping):
            return data
        return {
            k: v
            for k, v in data.items()
            if v is not None and not (isinstance(v, str) and (not v or v.isspace()))
        }

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field_rules(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        failed = {name for name in self.fields if name not in data and _given(original, name)}
        errors = check_record(data, failed)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _complete(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return complete_record(data)


#: Fields of free text: a resident ID number in one of them is refused (it would be kept
#: in clear); ID numbers go in ``id_number`` and ``legal_representative_id_number`` only,
#: which are never stored, only hashed and masked.
FREE_TEXT_FIELDS: tuple[str, ...] = (
    "party_name",
    "legal_representative",
    "legal_representative_id_type",
    "id_type",
    "decision_number",
    "violation_type",
    "facts",
    "basis",
    "content",
    "licence_affected",
    "authority",
    "source_unit",
    "remarks",
    "revoked_reason",
    "id_masked",
    "legal_representative_id_masked",
)


def check_record(data: Mapping[str, Any], failed: Container[str] = ()) -> dict[str, str]:
    """The rules between fields (DOMAIN.md §2) over converted values: ``{field: reason}``.

    ``failed``: fields given but rejected by their own conversion, so a field is never
    reported twice."""
    errors: dict[str, str] = {}
    party_type = data.get("party_type")
    uscc = data.get("uscc")
    if party_type == NATURAL_PERSON:
        if uscc is not None and uscc != NO_CODE_PLACEHOLDER:
            errors["uscc"] = "自然人没有统一社会信用代码，请留空并填写证件号码"
        number = data.get("id_number")
        if number is None:
            if "id_number" not in failed and data.get("person_key") is None:
                errors["id_number"] = "自然人须填写证件号码"
        elif (data.get("id_type") or "") in _ID_CARD_TYPES:
            try:
                validate_resident_id(number)
            except CodeError as exc:
                errors["id_number"] = exc.message
    elif party_type is not None:
        if uscc is None and "uscc" not in failed:
            errors["uscc"] = (
                "必填项缺失（个体工商户无代码时填写00000000000000000X并填写工商注册号）"
                if party_type == INDIVIDUAL_BUSINESS
                else _REQUIRED
            )
        elif uscc == NO_CODE_PLACEHOLDER:
            if party_type != INDIVIDUAL_BUSINESS:
                errors["uscc"] = "占位代码00000000000000000X只适用于无代码的个体工商户"
            elif not data.get("registration_number"):
                errors["registration_number"] = "个体工商户无统一社会信用代码时须填写工商注册号"
    representative = data.get("legal_representative_id_number")
    if representative is not None and (
        (data.get("legal_representative_id_type") or "") in _ID_CARD_TYPES
    ):
        try:
            check_resident_id(representative, clock.today())
        except CodeError as exc:
            errors["legal_representative_id_number"] = f"法定代表人的{exc.message}"
    if (
        party_type == ORGANISATION
        and not data.get("legal_representative")
        and "legal_representative" not in failed
    ):
        errors["legal_representative"] = "法人及非法人组织须填写法定代表人"

    parsed = data.get("categories")
    if parsed is not None:
        names, original = parsed
        if FINE in names and data.get("fine_wan") is None and "fine_wan" not in failed:
            errors["fine_wan"] = "处罚类别含“罚款”时须填写罚款金额"
        confiscation = CONFISCATION_CATEGORIES.intersection(names) or any(
            "没收" in t for t in original or ()
        )
        if confiscation and data.get("confiscated_wan") is None and "confiscated_wan" not in failed:
            errors["confiscated_wan"] = "处罚类别含“没收”时须填写没收金额"

    for name in FREE_TEXT_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and name not in errors:
            number = find_resident_id(value)
            if number is not None:
                errors[name] = (
                    f"含疑似居民身份证号码（{mask_id_number(number)}），不得写入此字段；"
                    "证件号码请填在证件号码列"
                )

    decided_on = data.get("decided_on")
    if decided_on is not None:
        today = clock.today()
        earliest = _earliest[0]
        if decided_on > today:
            errors["decided_on"] = (
                f"处罚决定日期{decided_on.isoformat()}晚于今天（{today.isoformat()}）"
            )
        elif decided_on < earliest:
            errors["decided_on"] = (
                f"处罚决定日期{decided_on.isoformat()}早于可登记的最早日期"
                f"{earliest.isoformat()}，请核对是否填写有误"
                "（更早的决定须由管理员调整配置项 records.earliest_decision_date）"
            )
        valid_until = data.get("valid_until")
        if valid_until is not None and valid_until < decided_on:
            errors["valid_until"] = "处罚有效期早于处罚决定日期"
        deadline = data.get("disclosure_deadline")
        if deadline is not None and deadline < decided_on and "decided_on" not in errors:
            errors["disclosure_deadline"] = "公示截止期早于处罚决定日期"
    return errors


def complete_record(data: dict[str, Any]) -> dict[str, Any]:
    """Final form of an accepted record: category names kept, placeholder code dropped,
    the data-supplying unit defaulting to the authority."""
    names, original = data["categories"]
    data["categories"] = names
    if data.get("categories_original") is None:
        data["categories_original"] = original
    if data.get("uscc") == NO_CODE_PLACEHOLDER:
        data["uscc"] = None  # stored as "no code", never as a code
    if data.get("source_unit") is None:
        data["source_unit"] = data["authority"]
    if data.get("source_unit_uscc") is None:
        data["source_unit_uscc"] = data["authority_uscc"]
    return data


def _given(original: Any, name: str) -> bool:
    if not isinstance(original, Mapping):
        return False
    value = original.get(name)
    return value is not None and not (isinstance(value, str) and (not value or value.isspace()))


#: Field names in contract order (the columns of exports and JSONL files).
RECORD_FIELDS: tuple[str, ...] = tuple(PenaltyRecordSchema().fields)
#: What a full export adds that is the registry's own bookkeeping, not part of a record:
#: a file carrying these columns (a full export being restored) has them ignored.
EXPORT_ONLY_FIELDS: tuple[str, ...] = (
    "id",
    "subject_key",
    "version",
    "history",
    "content_hash",
    "severity",
    "pack_version",
    "disclosure_regime",
    "disclosure_until",
    "repair_allowed_from",
    "repairable",
    "repaired_on",
    "import_batch_id",
    "created_at",
    "updated_at",
)
#: Fields a record may carry only when a full export is restored (``credit-registry import
#: --restore``, the operator's CLI): its state and the keyed hashes that stand in for ID
#: numbers.  Every other door — the API's records and uploads, the inbox — refuses a line
#: carrying one, naming it: revocation and repair have their own paths and audit trails.
RESTORE_ONLY_FIELDS: tuple[str, ...] = (
    "status",
    "revoked_on",
    "revoked_reason",
    "person_key",
    "id_masked",
    "legal_representative_key",
    "legal_representative_id_masked",
)
RESTORE_ONLY_REASON = "仅在恢复完整导出时可以提供此字段（credit-registry import --restore）"


def restore_only_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, reason)`` for each restore-only field ``raw`` carries (blank cells do
    not count: a file laid out like a full export may have the columns, empty)."""
    return [(name, RESTORE_ONLY_REASON) for name in RESTORE_ONLY_FIELDS if _given(raw, name)]


#: Fields a record cannot do without (a file missing one of these columns is refused).
REQUIRED_FIELDS: tuple[str, ...] = tuple(
    name for name, field in PenaltyRecordSchema().fields.items() if field.required
)

_schema = PenaltyRecordSchema()


def flatten_errors(messages: Any, prefix: str | None = None) -> list[tuple[str, str]]:
    """marshmallow's error messages as ``(field, reason)`` pairs (``_record`` for the
    record as a whole), unknown-field messages in the same words as everywhere else."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            field = "_record" if key == "_schema" else str(key) if prefix is None else prefix
            out.extend(flatten_errors(value, field))
    elif isinstance(messages, list | tuple):
        for value in messages:
            out.extend(flatten_errors(value, prefix))
    else:
        reason = str(messages)
        if reason == "Unknown field.":
            reason = "未知字段"
        out.append((prefix or "_record", reason))
    return out


# The schema read once into plain tables for the hot path.
_FIELDS = {name: f for name, f in _schema.fields.items() if isinstance(f, RecordField)}
_CONVERT = {name: f.convert for name, f in _FIELDS.items()}
_DEFAULTS = {name: f.load_default for name, f in _FIELDS.items() if not f.required}
_REQUIRED_NAMES = tuple(name for name, f in _FIELDS.items() if f.required)


def validate_record(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """Load one raw record: ``(record, [])`` when it is acceptable, else
    ``(None, [(field, reason), ...])`` with every problem found.

    Same fields, conversions and rules as ``PenaltyRecordSchema().load`` (the tables are
    read from the schema), without marshmallow's per-field machinery: this is the
    import hot path, run once per row of files with millions of rows."""
    errors: list[tuple[str, str]] = []
    data = dict(_DEFAULTS)
    failed: set[str] = set()
    convert_for = _CONVERT.get
    for name, value in raw.items():
        convert = convert_for(name)
        if convert is None:
            errors.append((str(name), "未知字段"))
            continue
        if value is None or (value.__class__ is str and (not value or value.isspace())):
            continue  # blank: the default stays, or the required check below reports it
        try:
            data[name] = convert(value)
        except ValueError as exc:
            errors.append((name, str(exc)))
            failed.add(name)
            data.pop(name, None)
    for name in _REQUIRED_NAMES:
        if name not in data and name not in failed:
            errors.append((name, _REQUIRED))
    cross = check_record(data, failed)
    if cross:
        errors.extend(cross.items())
    if errors:
        return None, errors
    return complete_record(data), []
