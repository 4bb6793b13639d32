"""Competence: which authorities may name, confirm, reject or remove the entries of a list.

A pack names kinds of authority once (``authority_categories``: market regulation, tax,
customs, … each with the code prefixes of its authorities' 统一社会信用代码) and each list
says who is competent for it (``competent:``, a list of category names or code
prefixes).  A list without ``competent:`` is open to the deciding authority of each
entry, as before.  A category that lists no codes admits nobody: a pack that has not
said who the tax authorities are lets no one act on the tax authority's lists (fail
closed).

Pure data: the registry asks :func:`competence` and raises its own refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rules.validation import Checker

#: A prefix of a 统一社会信用代码 (digits and the upper-case letters the code uses).
CODE_PREFIX = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{1,18}$")


@dataclass(frozen=True)
class AuthorityCategory:
    """A kind of authority (e.g. ``tax``: 税务部门) and the code prefixes of its members."""

    id: str
    title: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Competence:
    """Who may act on one list: code prefixes, and the names of what admitted them."""

    list_type: str
    list_title: str
    #: every admitted code prefix (empty: nobody)
    prefixes: tuple[str, ...]
    #: what the pack named, in Chinese (category titles and bare prefixes)
    named: tuple[str, ...]
    #: categories named that list no codes (fail closed)
    empty: tuple[str, ...]

    def admits(self, authority_uscc: str | None) -> bool:
        code = (authority_uscc or "").strip().upper()
        return bool(code) and any(code.startswith(prefix) for prefix in self.prefixes)

    def describe(self) -> str:
        """Who is competent, in Chinese, for a refusal."""
        names = "、".join(self.named) or "（无）"
        text = f"{self.list_title}：有权机关为{names}"
        if self.empty:
            text += f"；规则包未列出{'、'.join(self.empty)}的机关代码"
        return text


def read_authority_categories(check: Checker, raw: Any) -> dict[str, AuthorityCategory]:
    """The pack's ``authority_categories`` section (optional)."""
    if raw is None:
        return {}
    categories: dict[str, AuthorityCategory] = {}
    for where, name, entry in check.entries("authority_categories", raw):
        mapping = check.mapping(where, entry)
        if mapping is None:
            continue
        check.keys(where, mapping, ("title", "codes", "description"), ("title", "codes"))
        codes = mapping.get("codes")
        prefixes: list[str] = []
        if not isinstance(codes, list):
            check.add(f"{where}.codes", "must be a list of code prefixes (may be empty)")
        else:
            for position, code in enumerate(codes):
                text = str(code).strip().upper() if isinstance(code, str | int) else ""
                if not CODE_PREFIX.match(text):
                    check.add(
                        f"{where}.codes[{position}]",
                        f"{code!r} is not a prefix of a unified social credit code",
                    )
                elif text not in prefixes:
                    prefixes.append(text)
        categories[name] = AuthorityCategory(
            id=name,
            title=check.text(f"{where}.title", mapping.get("title")) or name,
            codes=tuple(prefixes),
        )
    return categories


def read_competent(
    check: Checker, where: str, raw: Any, categories: dict[str, AuthorityCategory]
) -> tuple[str, ...] | None:
    """A list's ``competent:`` (None when absent): category names or code prefixes."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        check.add(where, "must be a non-empty list of authority categories or code prefixes")
        return ()
    found: list[str] = []
    for position, item in enumerate(raw):
        text = str(item).strip() if isinstance(item, str | int) else ""
        if text in categories:
            found.append(text)
        elif CODE_PREFIX.match(text.upper()) and not text.islower():
            found.append(text.upper())
        else:
            known = ", ".join(categories) or "none"
            check.add(
                f"{where}[{position}]",
                f"{item!r} is neither an authority category (known: {known}) "
                "nor a prefix of a unified social credit code",
            )
    return tuple(found)


def competence(
    list_type: str,
    list_title: str,
    competent: tuple[str, ...] | None,
    categories: dict[str, AuthorityCategory],
) -> Competence | None:
    """Who may act on ``list_type``; None when the list names no competence (open)."""
    if competent is None:
        return None
    prefixes: list[str] = []
    named: list[str] = []
    empty: list[str] = []
    for item in competent:
        category = categories.get(item)
        if category is None:
            prefixes.append(item)
            named.append(f"代码以 {item} 开头的机关")
            continue
        named.append(category.title)
        if not category.codes:
            empty.append(category.title)
        prefixes.extend(category.codes)
    return Competence(list_type, list_title, tuple(prefixes), tuple(named), tuple(empty))
