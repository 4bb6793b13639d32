"""One error language: what the frameworks say, in the words of the people who read it.

Every error answer is Chinese, with a stable English ``code`` and ``details`` always a
mapping of field name to a list of messages (``{"decided_on": ["日期格式无效"]}``).  The
registry's own messages are written in Chinese where they are raised; what Werkzeug,
webargs, marshmallow and Flask-Limiter say is translated here, in one table, so that no
English framework sentence reaches a client.

- :data:`STATUS_MESSAGES`: the message of an HTTP status when nothing more specific is
  known (404 for an unknown URL, 405, 413, 415, 429, 503, 500…).
- :func:`translate`: one framework message → Chinese.  Chinese text passes through;
  marshmallow's and webargs' sentences (with their numbers and choices) are matched by
  pattern; anything else English becomes a generic "取值无效" rather than leak.
- :func:`field_messages`: webargs' nesting (``{"json": {"codes": {"3": ["…"]}}}``)
  flattened to dotted field names (``{"codes.3": ["…"]}``) and translated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

STATUS_MESSAGES: dict[int, str] = {
    400: "请求格式错误",
    401: "需要有效的 API 令牌",
    403: "无权进行此操作",
    404: "请求的地址或对象不存在",
    405: "该地址不支持此请求方法",
    409: "对象当前的状态不允许此操作",
    413: "请求内容过大",
    415: "请求内容类型不受支持，请以 application/json 提交",
    422: "请求内容未通过校验，详见 details",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误，已记录，请稍后再试",
    503: "数据库暂时不可用，请稍后再试",
}

#: The request locations webargs nests its messages under (dropped from field names).
LOCATIONS = frozenset(
    {"json", "query", "querystring", "form", "files", "headers", "view_args", "path"}
)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_COMPARISONS = {
    "greater than or equal to": "不小于",
    "greater than": "大于",
    "less than or equal to": "不大于",
    "less than": "小于",
}


def _comparison(text: str) -> str:
    return _COMPARISONS.get(text.strip(), text)


def _choices(text: str) -> str:
    return "、".join(part.strip() for part in text.split(",") if part.strip())


#: marshmallow's, webargs' and Werkzeug's sentences, most specific first.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern), render)
    for pattern, render in (
        (r"^Missing data for required field\.$", lambda m: "必填项缺失"),
        (r"^Field may not be null\.$", lambda m: "不能为空值（null）"),
        (r"^Unknown field\.$", lambda m: "未知字段"),
        (r"^Invalid input type\.$", lambda m: "输入类型无效，应为 JSON 对象"),
        (r"^Invalid JSON body\.$", lambda m: "请求体不是有效的 JSON"),
        (r"^Invalid type\.$", lambda m: "类型无效"),
        (r"^Invalid value\.$", lambda m: "取值无效"),
        (r"^Not a valid list\.$", lambda m: "应为列表"),
        (r"^Not a valid tuple\.$", lambda m: "应为列表"),
        (r"^Not a valid mapping type\.$", lambda m: "应为 JSON 对象"),
        (r"^Not a valid string\.$", lambda m: "应为文本"),
        (r"^Not a valid utf-8 string\.$", lambda m: "应为 UTF-8 编码的文本"),
        (r"^Not a valid integer\.$", lambda m: "应为整数"),
        (r"^Not a valid number\.$", lambda m: "应为数字"),
        (r"^Number too large\.$", lambda m: "数值过大"),
        (r"^Special numeric values .*are not permitted\.$", lambda m: "不接受 NaN 或无穷大"),
        (r"^Not a valid boolean\.$", lambda m: "应为 true 或 false"),
        (r"^Not a valid date\.$", lambda m: "日期无效，应为 YYYY-MM-DD，如 2026-11-29"),
        (r"^Not a valid (?:aware |naive )?datetime\.$", lambda m: "时间无效，应为 ISO 8601 格式"),
        (r"^Not a valid (?:aware |naive )?time\.$", lambda m: "时刻无效"),
        (r"^Not a valid period of time\.$", lambda m: "时长无效"),
        (r"^Not a valid email address\.$", lambda m: "电子邮件地址无效"),
        (r"^Not a valid URL\.$", lambda m: "网址无效"),
        (r"^Not a valid UUID\.$", lambda m: "UUID 无效"),
        (r"^Not a valid IP(?:v4|v6)? (?:address|interface)\.$", lambda m: "IP 地址无效"),
        (r'^".*" cannot be formatted as a (\w+)\.$', lambda m: "无法按要求的格式输出"),
        (r"^Shorter than minimum length (\d+)\.$", lambda m: f"长度不能少于 {m[1]} 个字符"),
        (r"^Longer than maximum length (\d+)\.$", lambda m: f"长度不能超过 {m[1]} 个字符"),
        (
            r"^Length must be between (\d+) and (\d+)\.$",
            lambda m: f"长度应在 {m[1]} 到 {m[2]} 之间",
        ),
        (r"^Length must be (\d+)\.$", lambda m: f"长度应为 {m[1]}"),
        (
            r"^Must be (greater than(?: or equal to)?) (\S+)"
            r" and (less than(?: or equal to)?) (\S+)\.$",
            lambda m: f"应{_comparison(m[1])} {m[2]} 且{_comparison(m[3])} {m[4]}",
        ),
        (
            r"^Must be ((?:greater|less) than(?: or equal to)?) (\S+)\.$",
            lambda m: f"应{_comparison(m[1])} {m[2]}",
        ),
        (r"^Must be one of: (.*)\.$", lambda m: f"应为以下之一：{_choices(m[1])}"),
        (r"^Must be equal to (.*)\.$", lambda m: f"应等于 {m[1]}"),
        (r"^String does not match expected pattern\.$", lambda m: "格式不符合要求"),
        (r"^must not contain NUL characters$", lambda m: "不能包含 NUL 字符"),
    )
)

GENERIC = "取值无效"


def is_chinese(text: str) -> bool:
    """True when ``text`` is written in Chinese (field names and codes may stand in it)."""
    return bool(_CJK.search(text))


def translate(message: Any) -> str:
    """One message for a person: Chinese as it is, a known framework sentence translated,
    anything else English replaced by :data:`GENERIC` (never leaked)."""
    text = str(message).strip()
    if not text or is_chinese(text):
        return text or GENERIC
    for pattern, render in _PATTERNS:
        match = pattern.match(text)
        if match:
            return render(match)
    return GENERIC


def field_messages(raw: Any, prefix: str = "") -> dict[str, list[str]]:
    """Framework or domain messages as ``{field: [messages]}``: location levels dropped,
    nested fields and list items as dotted names (``codes.3``), every message translated.
    Messages that belong to no field (marshmallow's ``_schema``) go under ``_schema``."""
    out: dict[str, list[str]] = {}

    def add(name: str, message: Any) -> None:
        out.setdefault(name or "_schema", []).append(translate(message))

    def walk(value: Any, name: str) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                key = str(key)
                if (not name and key in LOCATIONS) or key == "_schema":
                    walk(inner, name)
                else:
                    walk(inner, f"{name}.{key}" if name else key)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Mapping):
                    walk(item, name)
                else:
                    add(name, item)
        elif value is not None:
            add(name, value)

    walk(raw, prefix)
    return out


_UNITS = {
    "second": "秒",
    "minute": "分钟",
    "hour": "小时",
    "day": "天",
    "month": "月",
    "year": "年",
}


def rate_text(item: Any) -> str:
    """A limits ``RateLimitItem`` (``120 per 1 minute``) in words: 每分钟最多 120 次."""
    unit = _UNITS.get(item.GRANULARITY.name, item.GRANULARITY.name)
    every = unit if item.multiples == 1 else f"{item.multiples}{unit}"
    return f"每{every}最多 {item.amount} 次"
