"""Column headers of penalty files → the record's English field names.

Authorities write the national layout's Chinese headers (行政相对人名称 …), provincial
platforms its field codes (CF_XDR_MC …), our own exports the English names; extension
columns (违法经营额, 是否移送公安 …) come in Chinese or English.  Matching ignores
surrounding and inner spaces, case, full-width/half-width forms (（万元） = (万元)) and a
required-column asterisk.

An unknown extra column is never fatal: it is reported once per file as a warning and
its values are kept in ``remarks`` as ``列名: 值``.  A missing required column is fatal
and named.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from registry.records.layout import ALL_COLUMNS
from registry.records.schema import EXPORT_ONLY_FIELDS, RECORD_FIELDS, REQUIRED_FIELDS

#: Spellings beyond the layout's header and field code (registry.records.layout).
_MORE_ALIASES: dict[str, tuple[str, ...]] = {
    "party_name": ("相对人名称", "当事人名称"),
    "party_type": ("相对人类别",),
    "uscc": ("行政相对人代码_1(统一社会信用代码)", "行政相对人统一社会信用代码"),
    "registration_number": ("行政相对人代码_2(工商注册号)",),
    "legal_representative": ("法定代表人姓名",),
    # ID numbers however a sheet heads them: mapped to the person fields (hashed and
    # masked, never kept), never left to fall into remarks in clear.
    "legal_representative_id_number": (
        "法定代表人身份证号",
        "法定代表人身份证号码",
        "法定代表人身份证",
        "法定代表人证件号",
        "法定代表人（负责人）身份证号",
        "法定代表人（负责人）身份证号码",
        "法定代表人（负责人）证件号码",
        "法人身份证号",
        "法人身份证号码",
        "法人代表身份证号",
        "法人代表身份证号码",
    ),
    "id_number": (
        "身份证号",
        "身份证号码",
        "身份证",
        "居民身份证号码",
        "公民身份号码",
        "证件号",
        "当事人身份证号",
        "当事人身份证号码",
        "当事人证件号码",
        "相对人证件号码",
        "行政相对人证件号码",
    ),
    "decision_number": ("决定书文号", "处罚决定书文号"),
    "categories_original": ("原处罚类别",),
    "fine_wan": ("罚款金额",),
    "confiscated_wan": ("没收违法所得、没收非法财物的金额", "没收金额（万元）", "没收金额"),
    "business_volume_wan": (
        "违法经营额（万元）",
        "货值金额（万元）",
        "货值金额",
        "违法经营额/货值金额（万元）",
        "business_volume",
    ),
    "illegal_gains_wan": ("违法所得（万元）", "违法所得金额（万元）", "illegal_gains"),
    "transferred_to_police": ("是否移送公安机关", "移送公安"),
    "transferred_on": ("移送公安日期",),
    "aggravated": ("是否从重处罚",),
}

#: Every accepted spelling of each field; the first is the national Chinese header.
ALIASES: dict[str, tuple[str, ...]] = {
    name: tuple(
        dict.fromkeys(
            [
                *(a for c in ALL_COLUMNS if c.field == name for a in (c.header, c.code) if a),
                *_MORE_ALIASES.get(name, ()),
            ]
        )
    )
    for name in RECORD_FIELDS
}
assert set(ALIASES) == set(RECORD_FIELDS), set(ALIASES) ^ set(RECORD_FIELDS)

_NOISE = re.compile(r"[\s*\"'\ufeff]+")


def header_key(header: str) -> str:
    """The comparable form of a header: NFKC (full-width → half-width), no spaces,
    quotes or asterisks, lower-case."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", str(header))).lower()


#: Marks a column that is deliberately dropped (a full export's bookkeeping columns).
IGNORED = ""

_BY_KEY: dict[str, str] = {header_key(name): IGNORED for name in EXPORT_ONLY_FIELDS}
for _name, _aliases in ALIASES.items():
    for _alias in (_name, *_aliases):
        _BY_KEY.setdefault(header_key(_alias), _name)


def field_for_header(header: str) -> str | None:
    """The record field a header stands for, ``None`` for an unknown column, or
    :data:`IGNORED` for a column a full export adds (dropped without a warning)."""
    key = header_key(header)
    found = _BY_KEY.get(key)
    if found is None and key.endswith("(万元)"):
        # Amounts are in 万元 anyway; a column in any other unit (元) stays unknown.
        found = _BY_KEY.get(key.removesuffix("(万元)"))
    return found


def display_name(field_name: str) -> str:
    """How to name a field to a person: ``处罚决定日期（decided_on）``."""
    return f"{ALIASES[field_name][0]}（{field_name}）"


class FileError(ValueError):
    """A file that cannot be imported at all (fatal): unreadable, wrong format, unusable
    header.  The message says what is wrong in words the sender can act on."""


class HeaderError(FileError):
    """A file whose header cannot be used (fatal for the whole file)."""


class MissingColumns(HeaderError):
    """A recognisable header that lacks a required column."""


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """How one file's columns map to record fields."""

    headers: tuple[str, ...]
    fields: tuple[str | None, ...]  # per column: a field, None (unknown) or IGNORED
    unknown: tuple[str, ...] = field(default=())
    #: ``(column index, field)`` of the known columns, and ``(column index, header)`` of
    #: the unknown ones: the per-row work reads only these.
    known: tuple[tuple[int, str], ...] = field(default=())
    unknown_at: tuple[tuple[int, str], ...] = field(default=())

    @property
    def warning(self) -> str | None:
        """The once-per-file warning about columns we do not know, if any."""
        if not self.unknown:
            return None
        names = "、".join(f"“{h}”" for h in self.unknown)
        return f"未识别的列{names}：其内容已并入备注（remarks）"

    def to_raw(self, values: Sequence[Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """A raw record from one row of cells, and any problem with the row's shape.

        Blank cells stay blank (the schema treats them as absent); unknown columns'
        values are appended to remarks as ``列名: 值``."""
        width = len(self.fields)
        count = len(values)
        if count > width:
            extra_cells = [v for v in values[width:] if _filled(v)]
            if extra_cells:
                return {}, [
                    (
                        "_row",
                        f"本行比表头多{count - width}列（其中{len(extra_cells)}列有内容），"
                        "可能含未加引号的分隔符",
                    )
                ]
        if count >= width:
            raw = {name: values[i] for i, name in self.known}
        else:
            raw = {name: values[i] for i, name in self.known if i < count}
        if self.unknown_at:
            extra = [
                f"{header}: {values[i]}"
                for i, header in self.unknown_at
                if i < count and _filled(values[i])
            ]
            if extra:
                remarks = raw.get("remarks")
                if _filled(remarks):
                    extra.insert(0, str(remarks).strip())
                raw["remarks"] = "；".join(extra)
        return raw, []


def file_columns(header: HeaderMap | None) -> dict[str, str]:
    """``{field: the header the file wrote for it}`` of a file's header row (for naming
    fields to the person who sent the file, in its own words)."""
    if header is None:
        return {}
    return {name: header.headers[i] for i, name in header.known}


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and (not value or value.isspace()))


def map_headers(
    headers: Sequence[Any], *, provided: Iterable[str] = (), required: Iterable[str] | None = None
) -> HeaderMap:
    """Map a header row; raise :class:`HeaderError` naming any required column missing.

    ``provided``: fields the caller fills when a file lacks them (``--authority``)."""
    names = ["" if h is None else str(h).strip().lstrip("\ufeff") for h in headers]
    fields_: list[str | None] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for i, header in enumerate(names):
        found = field_for_header(header) if header else None
        if found == IGNORED:
            fields_.append(IGNORED)
            continue
        if found is None or found in seen:
            # A duplicate of a known column is kept like an unknown one (in remarks).
            if header:
                unknown.append(header)
            fields_.append(None)
            if not header:
                names[i] = f"第{i + 1}列"
            continue
        seen.add(found)
        fields_.append(found)
    if not seen:
        raise HeaderError(
            "表头行不可识别（应为《行政处罚信息》数据标准的中文列名、字段代码或英文字段名）"
        )
    need = set(REQUIRED_FIELDS if required is None else required) - set(provided)
    missing = [f for f in RECORD_FIELDS if f in need and f not in seen]
    if missing:
        raise MissingColumns("缺少必需的列：" + "、".join(display_name(f) for f in missing))
    return HeaderMap(
        tuple(names),
        tuple(fields_),
        tuple(unknown),
        known=tuple((i, f) for i, f in enumerate(fields_) if f),
        unknown_at=tuple((i, names[i]) for i, f in enumerate(fields_) if f is None),
    )


@lru_cache(maxsize=256)
def _keys_map(keys: tuple[str, ...]) -> HeaderMap:
    return map_headers(keys, required=())


def map_keys(obj: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]], str | None]:
    """A JSON object's keys (English names, Chinese headers or field codes) → a raw
    record, problems, and the warning about unknown keys (if any)."""
    keys = tuple(str(k) for k in obj)
    try:
        hmap = _keys_map(keys)
    except HeaderError as exc:
        return {}, [("_record", str(exc))], None
    raw, problems = hmap.to_raw(list(obj.values()))
    return raw, problems, hmap.warning
