"""Values as files and bodies write them, read into one shape: the vocabularies and
parsers under the record schema (:mod:`registry.records.schema`).

Values arrive in many shapes — CSV text, XLSX cells (numbers, datetimes), JSON numbers —
and leave in one: text stripped, amounts as :class:`~decimal.Decimal` (a float is never
computed with: JSON numbers are parsed as decimals, and a float that reaches us anyway is
read through its shortest decimal text), dates as :class:`~datetime.date`, party types as
our codes, categories as a list of names from the 2021 list (older names mapped).  Each
parser raises ``ValueError`` with a reason in words a regulator can act on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from registry.records.layout import CATEGORIES_2021, CATEGORIES_OLD

# --- vocabularies --------------------------------------------------------------------

ORGANISATION = "organisation"
NATURAL_PERSON = "natural_person"
INDIVIDUAL_BUSINESS = "individual_business"
PARTY_TYPES = (ORGANISATION, NATURAL_PERSON, INDIVIDUAL_BUSINESS)

#: 行政相对人类别 as written in files and bodies → our code.
PARTY_TYPE_NAMES = {
    ORGANISATION: ORGANISATION,
    "organization": ORGANISATION,
    "法人及非法人组织": ORGANISATION,
    "法人和非法人组织": ORGANISATION,
    "法人及其他组织": ORGANISATION,
    "法人": ORGANISATION,
    "非法人组织": ORGANISATION,
    NATURAL_PERSON: NATURAL_PERSON,
    "自然人": NATURAL_PERSON,
    INDIVIDUAL_BUSINESS: INDIVIDUAL_BUSINESS,
    "个体工商户": INDIVIDUAL_BUSINESS,
    "个体户": INDIVIDUAL_BUSINESS,
}
PARTY_TYPE_CHINESE = {
    ORGANISATION: "法人及非法人组织",
    NATURAL_PERSON: "自然人",
    INDIVIDUAL_BUSINESS: "个体工商户",
}

#: 处罚类别 since the 2021 Administrative Penalty Law.
CATEGORIES = CATEGORIES_2021
_CATEGORY_SET = frozenset(CATEGORIES)
FINE = "罚款"
CONFISCATION_CATEGORIES = frozenset({"没收违法所得", "没收非法财物"})

#: Names from the pre-2021 list (registry.records.layout) and common spellings of them → the
#: 2021 categories.  The old "暂扣或者吊销许可证、执照" maps to both licence categories,
#: as the layout says; the original wording is kept beside the mapped names.
OLD_CATEGORIES: dict[str, tuple[str, ...]] = {
    **{old: new for old, new in CATEGORIES_OLD.items() if (old,) != new},
    "没收违法所得和非法财物": ("没收违法所得", "没收非法财物"),
    "没收违法所得及非法财物": ("没收违法所得", "没收非法财物"),
    "暂扣或吊销许可证、执照": CATEGORIES_OLD["暂扣或者吊销许可证、执照"],
    "暂扣许可证": ("暂扣许可证件",),
    "暂扣执照": ("暂扣许可证件",),
    "暂扣营业执照": ("暂扣许可证件",),
    "吊销许可证": ("吊销许可证件",),
    "吊销执照": ("吊销许可证件",),
    "吊销营业执照": ("吊销许可证件",),
}
# Old names that themselves contain the list separator 、, matched before splitting.
_OLD_WITH_COMMA = tuple(sorted((n for n in OLD_CATEGORIES if "、" in n), key=len, reverse=True))
CATEGORY_SPLIT = re.compile(r"[;；,，|/]+")


DEFAULT_VALID_UNTIL = date(2099, 12, 31)
MAX_INTEGER_DIGITS = 12
MAX_DECIMAL_PLACES = 6

SHORT_TEXT = 200  # the column widths of registry.schema
LONG_TEXT = 20_000

# --- conversions (pure; shared with the readers) -------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL_RE = re.compile(r"\d{1,5}(?:\.\d+)?")
_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９．－／：　",
    "0123456789.-/: ",
)


def excel_serial_to_date(serial: int | Decimal) -> date:
    """A date from an Excel serial day number (1900 date system, as Excel writes it).

    Serial 60 is Excel's fictitious 29 February 1900; days before it are one off."""
    days = int(serial)
    if not 1 <= days <= 2_958_465:
        raise ValueError("serial out of range")
    if days < 60:
        days += 1
    return _EXCEL_EPOCH + timedelta(days=days)


def parse_date(value: Any) -> date:
    """A calendar date from any form files use: ``2024-03-01``, ``2024/3/1``,
    ``2024年3月1日``, ``20240301``, an Excel serial number, a datetime or date.

    Raises ``ValueError`` with a reason in words."""
    if value.__class__ is str:
        return _parse_date_text(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"无法识别的日期“{value}”")
    if isinstance(value, int | Decimal):
        try:
            return excel_serial_to_date(value)
        except (ValueError, OverflowError, InvalidOperation):
            raise ValueError(f"无法识别的日期“{value}”（Excel日期序号超出范围）") from None
    if isinstance(value, float):
        return parse_date(Decimal(repr(value)))
    return _parse_date_text(str(value))


@lru_cache(maxsize=1 << 14)
def _parse_date_text(value: str) -> date:
    # Files repeat a few thousand distinct dates: each is parsed once.
    text = value.strip().translate(_FULLWIDTH)
    m = _DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            return date(y, mo, d)
        except ValueError:
            raise ValueError(f"日期“{text}”不存在（年{y}、月{mo}、日{d}）") from None
    if _SERIAL_RE.fullmatch(text):
        return parse_date(Decimal(text))
    raise ValueError(
        f"无法识别的日期“{text}”（应为2024-03-01、2024/3/1、2024年3月1日或Excel日期序号）"
    )


_AMOUNT_STRIP = str.maketrans("", "", ", _'")


_PLAIN_AMOUNT = re.compile(r"\d{1,12}(?:\.\d{1,6})?")


def parse_amount(value: Any) -> Decimal:
    """An amount in 万元 as a Decimal: ≥ 0, at most 12 digits before the point and 6
    after.  Text may carry thousands separators or a trailing ``万元``/``万``."""
    if value.__class__ is str and _PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value)  # the common case, already within every bound
    if isinstance(value, Decimal):
        num = value
    elif isinstance(value, bool):
        raise ValueError("金额应为数字")
    elif isinstance(value, int):
        num = Decimal(value)
    elif isinstance(value, float):
        num = Decimal(repr(value))
    else:
        text = str(value).strip().translate(_FULLWIDTH).translate(_AMOUNT_STRIP)
        for unit in ("万元", "万"):
            if text.endswith(unit):
                text = text[: -len(unit)].rstrip()
                break
        try:
            num = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"金额“{value}”不是数字") from None
    if not num.is_finite():
        raise ValueError(f"金额“{value}”不是数字")
    if num < 0:
        raise ValueError(f"金额不能为负数（{value}）")
    _sign, digits, exponent = num.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    places = max(0, -exponent)
    integer_digits = len(digits) + exponent
    if places > MAX_DECIMAL_PLACES:
        # Trailing zeros beyond six places are harmless (0.1000000 is 0.1).
        reduced = num.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES))
        if reduced != num:
            raise ValueError(f"金额小数位数超过{MAX_DECIMAL_PLACES}位（{value}）")
        num = reduced
    if num != 0 and integer_digits > MAX_INTEGER_DIGITS:
        raise ValueError(f"金额整数部分超过{MAX_INTEGER_DIGITS}位（{value}）")
    return num


_TRUE = frozenset({"是", "true", "1", "y", "yes", "t", "已移送", "√", "✓"})
_FALSE = frozenset({"否", "false", "0", "n", "no", "f", "未移送", "×", "无"})


def parse_bool(value: Any) -> bool:
    """是/否, true/false, 1/0, yes/no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"应为“是”或“否”，实际为“{value}”")


def parse_party_type(value: Any) -> str:
    found = PARTY_TYPE_NAMES.get(value) if value.__class__ is str else None
    if found is not None:
        return found
    text = unicodedata.normalize("NFKC", str(value)).strip()
    found = PARTY_TYPE_NAMES.get(text) or PARTY_TYPE_NAMES.get(text.lower())
    if found is None:
        raise ValueError(
            f"未知的行政相对人类别“{text}”（应为法人及非法人组织、自然人或个体工商户）"
        )
    return found


def parse_categories(value: Any) -> tuple[list[str], list[str] | None]:
    """Categories from a list or a separated string (see :func:`_parse_categories`)."""
    if value.__class__ is str:
        names, original = _parse_category_text(value)
        return list(names), (list(original) if original is not None else None)
    return _parse_categories(value)


@lru_cache(maxsize=4096)
def _parse_category_text(value: str) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    # A file uses a handful of category combinations: each is parsed once.
    names, original = _parse_categories(value)
    return tuple(names), (tuple(original) if original is not None else None)


def _parse_categories(value: Any) -> tuple[list[str], list[str] | None]:
    """Categories from a list or a separated string.

    Returns ``(categories, original)``: the 2021 names in order without repeats, and the
    original wording when an old name was translated (else ``None``)."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value)
        tokens: list[str] = []
        for part in CATEGORY_SPLIT.split(text):
            part = part.strip()
            if not part:
                continue
            if part in _CATEGORY_SET or part in OLD_CATEGORIES:
                tokens.append(part)
                continue
            for old in _OLD_WITH_COMMA:  # keep old names containing 、 whole
                part = part.replace(old, "\x00" + old + "\x00")
            for piece in part.split("\x00"):
                if piece in OLD_CATEGORIES:
                    tokens.append(piece)
                else:
                    tokens.extend(p.strip() for p in piece.split("、") if p.strip())
    elif isinstance(value, Iterable):
        tokens = [str(v).strip() for v in value if v is not None and str(v).strip()]
    else:
        raise ValueError("处罚类别应为文本或列表")
    if not tokens:
        raise ValueError("处罚类别不能为空")
    result: list[str] = []
    unknown: list[str] = []
    translated = False
    for token in tokens:
        if token in _CATEGORY_SET:
            mapped: tuple[str, ...] = (token,)
        elif token in OLD_CATEGORIES:
            mapped = OLD_CATEGORIES[token]
            translated = True
        else:
            unknown.append(token)
            continue
        for name in mapped:
            if name not in result:
                result.append(name)
    if unknown:
        names = "、".join(f"“{u}”" for u in unknown)
        raise ValueError(f"未知的处罚类别{names}（应为《行政处罚法》规定的处罚种类）")
    return result, (list(dict.fromkeys(tokens)) if translated else None)


def format_amount(value: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros (``0.2405``, ``3``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
