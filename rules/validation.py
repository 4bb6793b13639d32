"""The problem collector every section of a pack is read through: each problem
names where it is (``rules[3].when``) and what is wrong, and reading goes on so that one
run lists them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")  # usable as a zen identifier
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Names zen's expression language or the entity context already use.
RESERVED_NAMES = frozenset(
    (
        "and",
        "or",
        "not",
        "in",
        "true",
        "false",
        "null",
        "date",
        "len",
        "max",
        "min",
        "sum",
        "avg",
        "abs",
        "round",
        "floor",
        "ceil",
        "rand",
        "contains",
        "some",
        "all",
        "none",
        "filter",
        "map",
        "count",
        "flatMap",
        "one",
        "upper",
        "lower",
        "trim",
        "startsWith",
        "endsWith",
        "matches",
        "extract",
        "number",
        "string",
        "bool",
        "isNumeric",
        "keys",
        "values",
        "type",
        "duration",
        "party_type",
        "uscc",
        "as_of",
        "grade",
    )
)


# ---------------------------------------------------------------------- checking


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


class Checker:
    """Collects problems as ``file: key.path: what is wrong``."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    # typed readers: return the value, or None (after recording a problem)

    def mapping(self, where: str, value: Any, *, required: bool = True) -> dict[str, Any] | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.add(where, f"must be a mapping, not {kind_of(value)}")
            return None
        return value

    def keys(
        self,
        where: str,
        value: dict[str, Any],
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> None:
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                self.add(f"{where}.{key}", f"unknown key (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.add(where, f"missing required key {key!r}")

    def text(
        self,
        where: str,
        value: Any,
        *,
        required: bool = True,
        pattern: re.Pattern[str] | None = None,
    ) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(where, f"must be non-empty text, not {kind_of(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.add(where, f"{value!r} is not a valid id (pattern {pattern.pattern})")
            return None
        return value

    def number(self, where: str, value: Any, *, required: bool = True) -> float | None:
        return self._not_negative(where, value, required, int | float, "a number ≥ 0")

    def months(self, where: str, value: Any, *, required: bool = True) -> int | None:
        return self._not_negative(where, value, required, int, "a whole number of months ≥ 0")

    def _not_negative(
        self, where: str, value: Any, required: bool, kind: Any, what: str
    ) -> Any | None:
        """``value`` if it is a ``kind`` (never a bool) ≥ 0; None if it is not, or if it is
        missing and not ``required``."""
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, kind) or value < 0:
            self.add(where, f"must be {what}, not {value!r}")
            return None
        return value

    def boolean(self, where: str, value: Any, *, default: bool | None = None) -> bool:
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, not {value!r}")
            return bool(default)
        return value

    def names(
        self, where: str, mapping: Mapping[str, Any], key: str, allowed: Iterable[str], what: str
    ) -> tuple[str, ...]:
        """``mapping[key]`` (reported as ``where.key``): an optional list of known
        ``what`` names, none repeated."""
        return self.text_list(
            f"{where}.{key}", mapping.get(key), allowed=allowed, what=what, required=False
        )

    def text_list(
        self,
        where: str,
        value: Any,
        *,
        allowed: Iterable[str] | None = None,
        what: str = "value",
        unsafe: re.Pattern[str] | None = None,
        required: bool = True,
    ) -> tuple[str, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            self.add(where, f"must be a non-empty list, not {kind_of(value)}")
            return ()
        known = tuple(allowed) if allowed is not None else None
        items: list[str] = []
        for position, item in enumerate(value):
            here = f"{where}[{position}]"
            if not isinstance(item, str) or not item.strip():
                self.add(here, f"must be non-empty text, not {kind_of(item)}")
            elif known is not None and item not in known:
                self.add(here, f"unknown {what} {item!r} (known: {', '.join(known) or 'none'})")
            elif unsafe is not None and unsafe.search(item):
                self.add(here, f"{item!r} may not contain quotes, backslashes, % or _")
            elif item in items:
                self.add(here, f"{item!r} is listed twice")
            else:
                items.append(item)
        return tuple(items)

    def known(self, where: str, value: Any, known: Iterable[str], what: str) -> str | None:
        names = tuple(known)
        if not isinstance(value, str):
            self.add(where, f"must name a {what}, not {kind_of(value)}")
            return None
        if value not in names:
            self.add(where, f"unknown {what} {value!r} (known: {', '.join(names) or 'none'})")
            return None
        return value

    def mappings(self, where: str, value: Any) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """The items of the optional list ``value`` that are mappings, each with its
        position and key path (``where[position]``); a ``value`` that is not a list, and
        each item that is not a mapping, is reported as the iteration reaches it."""
        if value is None:
            return
        if not isinstance(value, list):
            self.add(where, f"must be a list, not {kind_of(value)}")
            return
        for position, item in enumerate(value):
            here = f"{where}[{position}]"
            mapping = self.mapping(here, item)
            if mapping is not None:
                yield position, here, mapping

    def items(self, where: str, value: Any) -> list[tuple[str, dict[str, Any]]]:
        """A list of mappings each with a unique ``id``, as (key path, item) pairs."""
        if not isinstance(value, list):
            self.add(where, f"must be a list, not {kind_of(value)}")
            return []
        found: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for position, item in enumerate(value):
            here = f"{where}[{position}]"
            if not isinstance(item, dict):
                self.add(here, f"must be a mapping, not {kind_of(item)}")
                continue
            item_id = item.get("id")
            if isinstance(item_id, str) and item_id in seen:
                self.add(f"{here}.id", f"duplicate id {item_id!r}")
                continue
            if isinstance(item_id, str):
                seen.add(item_id)
            found.append((here, item))
        return found

    def entries(
        self, where: str, value: Any, pattern: re.Pattern[str] = NAME_PATTERN
    ) -> list[tuple[str, str, Any]]:
        """A mapping of named entries, as (key path, name, entry) triples."""
        mapping = self.mapping(where, value)
        if mapping is None:
            return []
        found = []
        for name, entry in mapping.items():
            here = f"{where}.{name}"
            if not pattern.match(name):
                self.add(here, f"{name!r} is not a valid name (lower case, digits, _)")
            elif name in RESERVED_NAMES:
                self.add(here, f"{name!r} is reserved in the expression language; pick another")
            else:
                found.append((here, name, entry))
        return found


def zen_error(exc: Exception) -> str:
    """zen's error text without the Rust backtrace."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    try:
        detail = json.loads(text)
    except ValueError:
        return text
    if isinstance(detail, dict) and "source" in detail:
        return f"{detail.get('type', 'error')}: {detail['source']}"
    return text


def compiles(check: Checker, where: str, source: str, compile_: Callable[[str], Any]) -> bool:
    try:
        compile_(source)
    except Exception as exc:  # zen raises plain exceptions carrying JSON
        check.add(where, f"not a valid zen expression ({zen_error(exc)}): {source!r}")
        return False
    return True
