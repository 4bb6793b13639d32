"""Identifiers: the unified social credit code (统一社会信用代码, GB 32100-2015) and
resident identity numbers (居民身份证号码, GB 11643).

python-stdnum does most of the work.  On top of it this module adds what the standard
allows or requires and stdnum does not check: letter registration-authority codes
(A 军队编制, N 农业, Y 其他) in position 1, and the check character of the embedded
body identifier (GB 11714, position 17).  Every failure says which check failed, so a
regulator can fix the row and a member of the public understands the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric as _ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
AUTHORITY_CODES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "军队编制",
    "N": "农业",
    "Y": "其他",
}
# Entity type (position 2) within the registering authority (position 1).
ENTITY_TYPES = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
}
#: An individual business without a code is written with this placeholder; it fails the
#: check character on purpose and must be accepted as "no code", never as a code.
NO_CODE_PLACEHOLDER = "00000000000000000X"

_BODY_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ALPHABET_SET = frozenset(ALPHABET)


class CodeError(ValueError):
    """A malformed identifier.  ``check`` names the check that failed (machine-readable),
    ``message`` says it in words a person can act on."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.message = message


def normalise(value: str) -> str:
    """Strip, fold full-width characters to half-width, drop inner spaces and hyphens,
    upper-case.  This is the form codes are stored and compared in."""
    if value and value.isascii() and value.isalnum():
        return value.upper()  # nothing to fold or drop: the common case, quickly
    folded = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in folded if not ch.isspace() and ch != "-").upper()


def _body_check_character(body8: str) -> str:
    total = sum(_BODY_VALUES[ch] * w for ch, w in zip(body8, _BODY_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


#: GB 11714 character values: digits as themselves, letters A=10 … Z=35.
_BODY_VALUES = {
    ch: int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
    for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
}
_VALUES = {ch: n for n, ch in enumerate(ALPHABET)}
_CHECK_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _check_character(code: str) -> str:
    """GB 32100 position 18 for the first 17 characters (all in :data:`ALPHABET`) — the
    sum python-stdnum's ``cn.uscc`` computes, without its re-cleaning of the input."""
    total = sum(_VALUES[ch] * w for ch, w in zip(code, _CHECK_WEIGHTS, strict=False))
    return ALPHABET[-total % 31]


def validate_uscc(value: str) -> str:
    """Return the normalised code, or raise :class:`CodeError` naming the failed check:
    ``length``, ``character`` (with the position), ``authority``, ``division``,
    ``body_check`` (position 17) or ``check`` (position 18)."""
    code = normalise(value)
    if len(code) != 18:
        raise CodeError("length", f"统一社会信用代码应为18位，实际为{len(code)}位")
    if not _ALPHABET_SET.issuperset(code):
        pos, ch = next((pos, ch) for pos, ch in enumerate(code, 1) if ch not in _ALPHABET_SET)
        raise CodeError(
            "character",
            f"第{pos}位字符“{ch}”不允许（只能是数字和除I、O、S、V、Z以外的大写字母）",
        )
    if code[0] not in AUTHORITY_CODES:
        raise CodeError("authority", f"第1位登记管理部门代码“{code[0]}”无效")
    if not code[2:8].isdigit():
        raise CodeError("division", "第3-8位行政区划码应为6位数字")
    # Every character is in the alphabet and 3-8 are digits, so what is left of
    # GB 32100 (and of stdnum's validate) is the check character.
    if code[17] != _check_character(code):
        raise CodeError("check", "第18位校验码错误")
    if code[16] != _body_check_character(code[8:16]):
        raise CodeError("body_check", "第17位（主体标识码校验码）错误")
    return code


def is_valid_uscc(value: str) -> bool:
    try:
        validate_uscc(value)
    except CodeError:
        return False
    return True


def uscc_check_character(first17: str) -> str:
    """The check character (position 18) for 17 leading characters; used to make codes."""
    return _check_character(first17)


def body_check_character(body8: str) -> str:
    """The body-identifier check character (position 17) for positions 9-16."""
    return _body_check_character(body8)


@dataclass(frozen=True, slots=True)
class Region:
    division_code: str
    province: str | None
    city: str | None
    county: str | None

    @property
    def label(self) -> str:
        parts = [p for p in (self.province, self.city, self.county) if p]
        deduped = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
        return "".join(deduped) or ("国家级登记" if self.division_code == "100000" else "")


def _current_name(raw: str | None) -> str | None:
    """python-stdnum keeps historical names as ``[1983-1989]A,[1990-]B``; take the latest."""
    if not raw:
        return None
    last = raw.split(",")[-1]
    return last.split("]", 1)[1] if last.startswith("[") else last


@lru_cache(maxsize=8192)
def region_of(division_code: str) -> Region:
    """Decode positions 3-8 of a code with python-stdnum's GB/T 2260 table."""
    if division_code == "100000":
        return Region(division_code, None, None, None)
    db = numdb.get("cn/loc")

    def name_of(code: str) -> tuple[str | None, str | None]:
        province = county = None
        for _part, info in db.info(code):
            province = _current_name(info.get("province")) or province
            county = _current_name(info.get("county")) or county
        return province, county

    province, own = name_of(division_code)
    city = county = None
    if division_code[2:] == "0000":
        pass
    elif division_code[4:] == "00":
        city = own
    else:
        county = own
        _prov, parent = name_of(division_code[:4] + "00")
        city = parent
    if city in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", province):
        city = None
    return Region(division_code, province, city, county)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    uscc: str
    authority: str
    entity_type: str | None
    region: Region


def describe_uscc(code: str) -> CodeInfo:
    """What a valid code says about its holder: registering authority, entity type, region."""
    code = validate_uscc(code)
    authority, entity_type, region = head_facts(code[:8])
    return CodeInfo(uscc=code, authority=authority, entity_type=entity_type, region=region)


@lru_cache(maxsize=4096)
def head_facts(head: str) -> tuple[str, str | None, Region]:
    """Registering authority, entity type and region of a valid code's first 8
    characters (position 1, position 2, positions 3-8)."""
    return (
        AUTHORITY_CODES[head[0]],
        ENTITY_TYPES.get(head[0], {}).get(head[1]),
        region_of(head[2:8]),
    )


# --- resident identity numbers -------------------------------------------------------


def validate_resident_id(value: str) -> str:
    """Return the normalised 18-character resident ID number or raise :class:`CodeError`."""
    number = normalise(value)
    try:
        return _ric.validate(number)
    except InvalidLength as exc:
        raise CodeError("length", "身份证号码应为18位") from exc
    except InvalidChecksum as exc:
        raise CodeError("check", "身份证号码校验码错误") from exc
    except (InvalidFormat, InvalidComponent) as exc:
        raise CodeError("format", "身份证号码格式或出生日期错误") from exc


def check_resident_id(value: str, today: date | None = None) -> str:
    """The normalised 18-character resident ID number, checked for what a typing error
    breaks — length, digits, the check digit and a real birth date (not in the future) —
    but not the birth place, whose division codes change over time (a legal
    representative's old card keeps a code since retired).  Raises :class:`CodeError`
    with the reason in words: ``身份证号码应为18位，实际为5位``."""
    number = normalise(value)
    if len(number) == 15 and number.isdigit():
        raise CodeError("length", "身份证号码应为18位（15位的旧号码请换为18位的新号码填写）")
    if len(number) != 18:
        raise CodeError("length", f"身份证号码应为18位，实际为{len(number)}位")
    if not number[:-1].isdigit() or not (number[-1].isdigit() or number[-1] == "X"):
        raise CodeError("format", "身份证号码只能是数字，最后一位可以是X")
    if number[-1] != _ric.calc_check_digit(number):
        raise CodeError("check", "身份证号码校验码错误")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise CodeError("format", f"身份证号码中的出生日期{number[6:14]}不存在") from None
    if born.year < 1900 or (today is not None and born > today):
        raise CodeError("format", f"身份证号码中的出生日期{born.isoformat()}不合理")
    return number


#: Runs of digits shaped like a resident ID number: 18 characters (the last may be X)
#: or the first generation's 15 digits, not part of a longer run of letters or digits.
_ID_SHAPED = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def find_resident_id(text: str) -> str | None:
    """The first resident ID number in free text, if any: 18 characters with a valid
    check character, or 15 digits with a region and a valid birth date (YYMMDD) — a
    number that must never be kept in clear outside its own column."""
    for match in _ID_SHAPED.finditer(unicodedata.normalize("NFKC", text)):
        candidate = match.group(1)
        if len(candidate) == 18:
            try:
                return validate_resident_id(candidate)
            except CodeError:
                continue
        elif candidate[0] in "12345678" and _is_yymmdd(candidate[6:12]):
            return candidate
    return None


def _is_yymmdd(value: str) -> bool:
    try:
        date(1900 + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return False
    return True


def mask_id_number(value: str | None) -> str | None:
    """Mask a personal ID number for display: ``110105********002X`` (first 6, last 4)."""
    if not value:
        return value
    number = normalise(value)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def person_key(id_number: str, key: bytes) -> str:
    """The keyed hash that identifies a natural person without storing the number.

    HMAC-SHA256 under the deployment's ID-hash key (``Runtime.keys.id_hash``, derived
    for this purpose alone: registry.core.keys), so the key cannot be reversed by
    hashing every possible ID number (there are only about 10^11 of them) without it."""
    return hmac.new(key, normalise(id_number).encode(), hashlib.sha256).hexdigest()
