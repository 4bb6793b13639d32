"""Loading a rule pack: YAML → checked, resolved, frozen :class:`~rules.model.RulePack`.

Every problem is reported with the file, the key path and what is wrong, and all
problems are reported at once, so that an operator fixes a pack in one pass. The
format is documented in ``docs/rule-packs.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import yaml
import zen

from rules.errors import PackError
from rules.model import (
    AGGREGATE_KINDS,
    BINDS,
    GRADES,
    LIST_KINDS,
    MEASURE_KIND_OF_LIST,
    MEASURE_KINDS,
    PARTY_TYPES,
    SEVERITIES,
    Action,
    Aggregate,
    AlertExample,
    AlertRule,
    DisclosurePolicy,
    FieldRule,
    GradeExample,
    GradeRule,
    Grading,
    ListType,
    Measure,
    Offence,
    PackExample,
    Period,
    Regime,
    Rule,
    RuleExample,
    RulePack,
    SeverityPolicy,
    Threshold,
)

PACKS_DIR = Path(__file__).resolve().parent / "packs"
#: The shipped default pack (DOMAIN.md §3–§5).
DEFAULT_PACK_PATH = PACKS_DIR / "default.yaml"
FORMAT = 1

#: Penalty facts (one dict per penalty) the engine reads; see ``rules.evaluate``.
PENALTY_FACT_KEYS: tuple[str, ...] = (
    "penalty_id",
    "decision_number",
    "decided_on",
    "party_type",
    "categories",
    "fine_wan",
    "confiscated_wan",
    "business_volume_wan",
    "illegal_gains_wan",
    "aggravated",
    "transferred_to_police",
    "violation_type",
    "keyword_sets",
)
AMOUNT_FIELDS: tuple[str, ...] = (
    "fine_wan",
    "confiscated_wan",
    "business_volume_wan",
    "illegal_gains_wan",
)
BOOLEAN_FACTS: tuple[str, ...] = ("aggravated", "transferred_to_police")
PENALTY_OUTCOME_KEYS: tuple[str, ...] = (
    "severity",
    "disclosed",
    "disclosure_min_months",
    "disclosure_max_months",
    "repairable",
    "regime",
    "alerts",
)

_TOP_KEYS = (
    "format",
    "name",
    "title",
    "description",
    "extends",
    "lists",
    "keyword_sets",
    "severity",
    "disclosure",
    "aggregates",
    "on_basis_revoked",
    "rules",
    "rules_model",
    "alerts",
    "measures",
    "examples",
    "grading",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # usable as a zen identifier
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Names zen's expression language or the entity context already use.
_RESERVED = frozenset(
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
_UNSAFE_TEXT = re.compile(r"['\"\\]")
_UNSAFE_KEYWORD = re.compile(r"['\"\\%_]")
_ON_BASIS_REVOKED = ("remove", "keep")


# ------------------------------------------------------------------- YAML reading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (YAML would keep the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError([f"{path}: cannot read the pack: {exc.strerror or exc}"]) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PackError([f"{path}: not valid YAML: {exc}"]) from exc


def _plain(value: Any) -> Any:
    """YAML values as JSON-able data (dates become ISO strings)."""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# ----------------------------------------------------------------------- extends

_BY_ID_SECTIONS = ("rules", "alerts", "measures")
_ENTRY_SECTIONS = ("lists", "keyword_sets", "aggregates", "severity")


def _shallow(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **override}
    return override


def _merge_by_id(base: Any, override: Any) -> Any:
    if not (isinstance(base, list) and isinstance(override, list)):
        return override
    if not all(isinstance(item, dict) and "id" in item for item in [*base, *override]):
        return override
    merged = list(base)
    index = {item["id"]: position for position, item in enumerate(merged)}
    for item in override:
        if item["id"] in index:
            merged[index[item["id"]]] = _shallow(merged[index[item["id"]]], item)
        else:
            index[item["id"]] = len(merged)
            merged.append(item)
    return merged


def _merge_packs(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Apply a child pack (``extends``) on top of its base; see docs/rule-packs.md."""
    merged = dict(base)
    for key, value in child.items():
        if key == "extends":
            continue
        if key not in base:
            merged[key] = value
        elif key in _BY_ID_SECTIONS:
            merged[key] = _merge_by_id(base[key], value)
        elif key in _ENTRY_SECTIONS and isinstance(value, dict) and isinstance(base[key], dict):
            merged[key] = {
                **base[key],
                **{name: _shallow(base[key].get(name), entry) for name, entry in value.items()},
            }
        elif key == "grading" and isinstance(value, dict) and isinstance(base[key], dict):
            merged[key] = {**base[key], **value}  # e.g. only `public: true`
        elif key == "disclosure" and isinstance(value, dict) and isinstance(base[key], dict):
            section = dict(base[key])
            for name, entry in value.items():
                section[name] = _merge_by_id(section.get(name), entry)
            merged[key] = section
        else:
            merged[key] = value
    return merged


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The pack at ``path`` with its ``extends`` chain applied, paths made absolute."""
    if path in chain:
        cycle = " → ".join(str(p) for p in (*chain, path))
        raise PackError([f"{chain[0]}: extends: cycle {cycle}"])
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise PackError([f"{path}: the pack must be a YAML mapping, not {_kind(raw)}"])
    raw = _plain(raw)
    if isinstance(raw.get("rules_model"), str):
        raw["rules_model"] = str((path.parent / raw["rules_model"]).resolve())
    base_ref = raw.get("extends")
    if base_ref is None:
        return cast(dict[str, Any], raw)
    if not isinstance(base_ref, str) or not base_ref:
        raise PackError(
            [f"{path}: extends: must be the path of another pack, not {_kind(base_ref)}"]
        )
    base_path = (path.parent / base_ref).resolve()
    if not base_path.is_file():
        raise PackError([f"{path}: extends: no pack file at {base_path}"])
    return _merge_packs(_resolve(base_path, (*chain, path)), raw)


# ---------------------------------------------------------------------- checking


def _kind(value: Any) -> str:
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


class _Checker:
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
            self.add(where, f"must be a mapping, not {_kind(value)}")
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
            self.add(where, f"must be non-empty text, not {_kind(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.add(where, f"{value!r} is not a valid id (pattern {pattern.pattern})")
            return None
        return value

    def number(self, where: str, value: Any, *, required: bool = True) -> float | None:
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.add(where, f"must be a number ≥ 0, not {value!r}")
            return None
        return value

    def months(self, where: str, value: Any, *, required: bool = True) -> int | None:
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.add(where, f"must be a whole number of months ≥ 0, not {value!r}")
            return None
        return value

    def boolean(self, where: str, value: Any, *, default: bool | None = None) -> bool:
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, not {value!r}")
            return bool(default)
        return value

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
            self.add(where, f"must be a non-empty list, not {_kind(value)}")
            return ()
        known = tuple(allowed) if allowed is not None else None
        items: list[str] = []
        for position, item in enumerate(value):
            here = f"{where}[{position}]"
            if not isinstance(item, str) or not item.strip():
                self.add(here, f"must be non-empty text, not {_kind(item)}")
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
            self.add(where, f"must name a {what}, not {_kind(value)}")
            return None
        if value not in names:
            self.add(where, f"unknown {what} {value!r} (known: {', '.join(names) or 'none'})")
            return None
        return value

    def items(self, where: str, value: Any) -> list[tuple[str, dict[str, Any]]]:
        """A list of mappings each with a unique ``id``, as (key path, item) pairs."""
        if not isinstance(value, list):
            self.add(where, f"must be a list, not {_kind(value)}")
            return []
        found: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for position, item in enumerate(value):
            here = f"{where}[{position}]"
            if not isinstance(item, dict):
                self.add(here, f"must be a mapping, not {_kind(item)}")
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
        self, where: str, value: Any, pattern: re.Pattern[str] = _NAME
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
            elif name in _RESERVED:
                self.add(here, f"{name!r} is reserved in the expression language; pick another")
            else:
                found.append((here, name, entry))
        return found


def _zen_error(exc: Exception) -> str:
    """zen's error text without the Rust backtrace."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    try:
        detail = json.loads(text)
    except ValueError:
        return text
    if isinstance(detail, dict) and "source" in detail:
        return f"{detail.get('type', 'error')}: {detail['source']}"
    return text


def _compiles(check: _Checker, where: str, source: str, compile_: Callable[[str], Any]) -> bool:
    try:
        compile_(source)
    except Exception as exc:  # zen raises plain exceptions carrying JSON
        check.add(where, f"not a valid zen expression ({_zen_error(exc)}): {source!r}")
        return False
    return True


# ------------------------------------------------------------------ sections


def _lists(check: _Checker, raw: Any) -> dict[str, ListType]:
    lists: dict[str, ListType] = {}
    for where, name, entry in check.entries("lists", raw):
        mapping = check.mapping(where, entry)
        if mapping is None:
            continue
        check.keys(
            where,
            mapping,
            (
                "title",
                "kind",
                "term_months",
                "early_removal_months",
                "requires_confirmation",
                "public",
                "legal_basis",
                "description",
            ),
            ("title", "kind", "term_months", "requires_confirmation", "public"),
        )
        kind = mapping.get("kind")
        if kind not in LIST_KINDS:
            check.add(f"{where}.kind", f"must be one of {', '.join(LIST_KINDS)}, not {kind!r}")
        term = check.months(f"{where}.term_months", mapping.get("term_months"), required=False)
        early = check.months(
            f"{where}.early_removal_months", mapping.get("early_removal_months", 0)
        )
        if term is not None and early is not None and early > term:
            check.add(
                f"{where}.early_removal_months",
                f"{early} exceeds the term of {term} months",
            )
        lists[name] = ListType(
            id=name,
            title=check.text(f"{where}.title", mapping.get("title")) or name,
            kind=str(kind),
            term_months=term,
            early_removal_months=early or 0,
            requires_confirmation=check.boolean(
                f"{where}.requires_confirmation", mapping.get("requires_confirmation")
            ),
            public=check.boolean(f"{where}.public", mapping.get("public")),
            legal_basis=check.text(
                f"{where}.legal_basis", mapping.get("legal_basis"), required=False
            )
            or "",
        )
    if not lists and not check.problems:
        check.add("lists", "a pack needs at least one list type")
    return lists


def _keyword_sets(check: _Checker, raw: Any) -> dict[str, tuple[str, ...]]:
    return {
        name: check.text_list(where, entry, unsafe=_UNSAFE_KEYWORD)
        for where, name, entry in check.entries("keyword_sets", raw)
    }


def _severity(check: _Checker, raw: Any) -> SeverityPolicy:
    mapping = check.mapping("severity", raw) or {}
    check.keys("severity", mapping, ("serious", "minor"), ("serious", "minor"))
    serious = check.mapping("severity.serious", mapping.get("serious")) or {}
    check.keys("severity.serious", serious, ("categories", "aggravated", "fine_at_least_wan"))
    minor = check.mapping("severity.minor", mapping.get("minor")) or {}
    check.keys(
        "severity.minor",
        minor,
        ("categories", "fine_category", "fine_below_wan"),
        ("categories", "fine_category", "fine_below_wan"),
    )
    below: dict[str, float] = {}
    below_raw = check.mapping("severity.minor.fine_below_wan", minor.get("fine_below_wan"))
    if below_raw is not None:
        check.keys("severity.minor.fine_below_wan", below_raw, PARTY_TYPES, PARTY_TYPES)
        for party_type in PARTY_TYPES:
            if party_type in below_raw:
                amount = check.number(
                    f"severity.minor.fine_below_wan.{party_type}", below_raw[party_type]
                )
                below[party_type] = float(amount or 0)
    fine_category = check.text("severity.minor.fine_category", minor.get("fine_category"))
    if fine_category and _UNSAFE_TEXT.search(fine_category):
        check.add("severity.minor.fine_category", "may not contain quotes or backslashes")
    serious_fine = check.number(
        "severity.serious.fine_at_least_wan", serious.get("fine_at_least_wan"), required=False
    )
    return SeverityPolicy(
        serious_categories=check.text_list(
            "severity.serious.categories",
            serious.get("categories"),
            unsafe=_UNSAFE_TEXT,
            required=False,
        ),
        serious_if_aggravated=check.boolean(
            "severity.serious.aggravated", serious.get("aggravated"), default=False
        ),
        serious_fine_at_least_wan=None if serious_fine is None else float(serious_fine),
        minor_categories=check.text_list(
            "severity.minor.categories", minor.get("categories"), unsafe=_UNSAFE_TEXT
        ),
        fine_category=fine_category or "罚款",
        minor_fine_below_wan=below,
    )


def _period(check: _Checker, where: str, raw: Any) -> Period | None:
    mapping = check.mapping(where, raw)
    if mapping is None:
        return None
    if mapping.get("disclosed", True) is False:
        check.keys(where, mapping, ("disclosed",))
        return None
    check.keys(
        where, mapping, ("disclosed", "min_months", "max_months"), ("min_months", "max_months")
    )
    low = check.months(f"{where}.min_months", mapping.get("min_months"))
    high = check.months(f"{where}.max_months", mapping.get("max_months"))
    if low is None or high is None:
        return None
    if high == 0 or low > high:
        check.add(
            where, f"needs 0 ≤ min_months ≤ max_months and max_months > 0 (got {low}, {high})"
        )
    return Period(min_months=low, max_months=high)


def _disclosure(
    check: _Checker, raw: Any, keyword_sets: dict[str, tuple[str, ...]]
) -> DisclosurePolicy:
    mapping = check.mapping("disclosure", raw) or {}
    check.keys("disclosure", mapping, ("regimes", "field_rules"), ("regimes",))
    regimes: list[Regime] = []
    for where, item in check.items("disclosure.regimes", mapping.get("regimes", [])):
        check.keys(
            where,
            item,
            ("id", "title", "effective_from", "periods"),
            ("id", "effective_from", "periods"),
        )
        start = item.get("effective_from")
        try:
            start = date.fromisoformat(start).isoformat() if isinstance(start, str) else None
        except ValueError:
            start = None
        if start is None:
            check.add(
                f"{where}.effective_from",
                f"must be a date (YYYY-MM-DD), not {item.get('effective_from')!r}",
            )
        periods_raw = check.mapping(f"{where}.periods", item.get("periods")) or {}
        check.keys(f"{where}.periods", periods_raw, SEVERITIES, SEVERITIES)
        regimes.append(
            Regime(
                id=check.text(f"{where}.id", item.get("id"), pattern=_ID) or "?",
                title=check.text(f"{where}.title", item.get("title"), required=False) or "",
                effective_from=start or "0001-01-01",
                periods={
                    severity: _period(
                        check, f"{where}.periods.{severity}", periods_raw.get(severity)
                    )
                    for severity in SEVERITIES
                    if severity in periods_raw
                },
            )
        )
    if not regimes:
        check.add("disclosure.regimes", "at least one regime is needed")
    starts = [regime.effective_from for regime in regimes]
    if len(set(starts)) != len(starts):
        check.add("disclosure.regimes", "two regimes take effect on the same date")
    regimes.sort(key=lambda regime: regime.effective_from)

    field_rules: list[FieldRule] = []
    for where, item in check.items("disclosure.field_rules", mapping.get("field_rules", [])):
        check.keys(
            where,
            item,
            ("id", "title", "keyword_set", "min_months", "repairable"),
            ("id", "keyword_set"),
        )
        minimum = check.months(f"{where}.min_months", item.get("min_months"), required=False)
        repairable = item.get("repairable")
        if repairable is not None and repairable is not False:
            check.add(
                f"{where}.repairable", "may only be false (a field rule forbids early repair)"
            )
        if minimum is None and repairable is None:
            check.add(where, "needs min_months, repairable: false, or both")
        for regime in regimes:
            for severity, period in regime.periods.items():
                if minimum is not None and period is not None and minimum > period.max_months:
                    check.add(
                        f"{where}.min_months",
                        f"{minimum} exceeds the maximum of {period.max_months} months of "
                        f"{severity} penalties under regime {regime.id}",
                    )
        field_rules.append(
            FieldRule(
                id=check.text(f"{where}.id", item.get("id"), pattern=_ID) or "?",
                title=check.text(f"{where}.title", item.get("title"), required=False) or "",
                keyword_set=check.known(
                    f"{where}.keyword_set", item.get("keyword_set"), keyword_sets, "keyword set"
                )
                or "?",
                min_months=minimum,
                repairable=False if repairable is False else None,
            )
        )
    return DisclosurePolicy(regimes=tuple(regimes), field_rules=tuple(field_rules))


def _aggregates(
    check: _Checker, raw: Any, keyword_sets: dict[str, tuple[str, ...]], lists: dict[str, ListType]
) -> dict[str, Aggregate]:
    aggregates: dict[str, Aggregate] = {}
    for where, name, entry in check.entries("aggregates", raw):
        mapping = check.mapping(where, entry)
        if mapping is None:
            continue
        kind = mapping.get("kind")
        if kind not in AGGREGATE_KINDS:
            check.add(f"{where}.kind", f"must be one of {', '.join(AGGREGATE_KINDS)}, not {kind!r}")
            continue
        allowed = {
            "count": ("kind", "title", "keyword_set", "severity", "months"),
            "max_count_within": ("kind", "title", "keyword_set", "severity", "months"),
            "list_held": ("kind", "title", "list_type", "months"),
            "listed": ("kind", "title", "list_types"),
            "months_since": ("kind", "title", "keyword_set"),
        }[kind]
        required = {
            "count": (),
            "max_count_within": ("keyword_set", "months"),
            "list_held": ("list_type", "months"),
            "listed": ("list_types",),
            "months_since": (),
        }[kind]
        check.keys(where, mapping, allowed, required)
        keyword_set = None
        if "keyword_set" in mapping:
            keyword_set = check.known(
                f"{where}.keyword_set", mapping["keyword_set"], keyword_sets, "keyword set"
            )
        list_type = None
        if "list_type" in mapping:
            list_type = check.known(f"{where}.list_type", mapping["list_type"], lists, "list type")
        months = None
        if "months" in mapping:
            months = check.months(f"{where}.months", mapping["months"])
            if kind in ("max_count_within", "count") and months == 0:
                check.add(f"{where}.months", "a window needs at least one month")
        list_types: tuple[str, ...] = ()
        if kind == "listed":
            list_types = check.text_list(
                f"{where}.list_types", mapping.get("list_types"), allowed=lists, what="list type"
            )
        aggregates[name] = Aggregate(
            name=name,
            kind=kind,
            title=check.text(f"{where}.title", mapping.get("title"), required=False) or name,
            keyword_set=keyword_set,
            severity=check.text_list(
                f"{where}.severity",
                mapping.get("severity"),
                allowed=SEVERITIES,
                what="severity",
                required=False,
            ),
            months=months,
            list_type=list_type,
            list_types=list_types,
        )
    return aggregates


_IDENTIFIER = re.compile(r"(?<![.\w$#])([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_EXPRESSION_WORDS = frozenset(["and", "or", "not", "in", "true", "false", "null"])


def expression_names(expression: str) -> set[str]:
    """The bare names an expression reads (strings, functions and keywords left out)."""
    stripped = _STRING.sub("''", expression)
    return {name for name in _IDENTIFIER.findall(stripped) if name not in _EXPRESSION_WORDS}


def _condition_cell(check: _Checker, where: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        check.add(where, f'must be a zen test such as ">= 2", not {_kind(value)}')
        return None
    cell = str(value).strip() if isinstance(value, str) else repr(value)
    if not cell:
        check.add(where, "an empty test matches everything; leave the key out instead")
        return None
    return cell if _compiles(check, where, cell, zen.compile_unary_expression) else None


def _then(
    check: _Checker, where: str, raw: Any, lists: dict[str, ListType]
) -> tuple[Action, str] | None:
    mapping = check.mapping(where, raw)
    if mapping is None:
        return None
    present = [key for key in ("propose", "activate", "list") if key in mapping]
    check.keys(where, mapping, ("propose", "activate", "list"))
    if len(present) != 1:
        check.add(where, "needs exactly one of propose, activate or list")
        return None
    key = present[0]
    list_type = check.known(f"{where}.{key}", mapping[key], lists, "list type")
    if list_type is None:
        return None
    listed = lists[list_type]
    if key == "activate" and listed.requires_confirmation:
        check.add(
            f"{where}.activate",
            f"list {list_type!r} requires confirmation by a regulator: use propose",
        )
    if key == "propose" and not listed.requires_confirmation:
        check.add(
            f"{where}.propose",
            f"list {list_type!r} does not require confirmation: use activate",
        )
    return listed.action, list_type


def _rule_examples(
    check: _Checker, where: str, raw: Any, aggregates: dict[str, Aggregate]
) -> tuple[RuleExample, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        check.add(where, f"must be a list, not {_kind(raw)}")
        return ()
    examples = []
    for position, item in enumerate(raw):
        here = f"{where}[{position}]"
        mapping = check.mapping(here, item)
        if mapping is None:
            continue
        check.keys(here, mapping, ("name", "aggregates", "party_type", "fires"), ("name", "fires"))
        values = _example_aggregates(
            check, f"{here}.aggregates", mapping.get("aggregates", {}), aggregates
        )
        party_type = mapping.get("party_type", "organisation")
        if party_type not in PARTY_TYPES:
            check.add(f"{here}.party_type", f"must be one of {', '.join(PARTY_TYPES)}")
        examples.append(
            RuleExample(
                name=check.text(f"{here}.name", mapping.get("name")) or f"example {position}",
                aggregates=values,
                party_type=str(party_type),
                fires=check.boolean(f"{here}.fires", mapping.get("fires")),
            )
        )
    return tuple(examples)


def _example_aggregates(
    check: _Checker, where: str, raw: Any, aggregates: dict[str, Aggregate]
) -> dict[str, float]:
    mapping = check.mapping(where, raw) or {}
    values: dict[str, float] = {}
    for name, value in mapping.items():
        if name not in aggregates:
            check.add(f"{where}.{name}", f"unknown aggregate (known: {', '.join(aggregates)})")
        elif (amount := check.number(f"{where}.{name}", value)) is not None:
            values[name] = amount
    return values


def _rules(
    check: _Checker,
    raw: Any,
    lists: dict[str, ListType],
    aggregates: dict[str, Aggregate],
    has_model: bool,
    graded: bool = False,
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    fact_names = (*aggregates, "party_type", *(("grade",) if graded else ()))
    for where, item in check.items("rules", raw if raw is not None else []):
        check.keys(
            where,
            item,
            ("id", "title", "description", "when", "then", "basis", "examples"),
            ("id", "title", "then"),
        )
        rule_id = check.text(f"{where}.id", item.get("id"), pattern=_ID) or "?"
        conditions: list[tuple[str, str]] = []
        expression = None
        referenced: list[str] = []
        when = item.get("when")
        if has_model:
            if when is not None:
                check.add(
                    f"{where}.when", "not allowed: the pack's rules_model decides when rules fire"
                )
        elif when is None:
            check.add(where, "missing required key 'when' (or give the pack a rules_model)")
        elif isinstance(when, dict):
            if not when:
                check.add(f"{where}.when", "an empty condition would always fire")
            for name, test in when.items():
                if name not in fact_names:
                    check.add(
                        f"{where}.when.{name}",
                        f"unknown aggregate (known: {', '.join(aggregates) or 'none'}; "
                        "or party_type"
                        + ("" if graded else "; grade needs a grading section")
                        + ")",
                    )
                    continue
                cell = _condition_cell(check, f"{where}.when.{name}", test)
                if cell is not None:
                    conditions.append((name, cell))
                    if name in aggregates:
                        referenced.append(name)
        elif isinstance(when, str) and when.strip():
            if _compiles(check, f"{where}.when", when, zen.compile_expression):
                expression = when.strip()
                for name in sorted(expression_names(expression)):
                    if name not in fact_names:
                        check.add(f"{where}.when", f"names unknown aggregate {name!r}")
                    elif name in aggregates:
                        referenced.append(name)
        else:
            check.add(
                f"{where}.when", f"must be a mapping of tests or an expression, not {_kind(when)}"
            )
        then = _then(check, f"{where}.then", item.get("then"), lists)
        basis = item.get("basis")
        if basis is None and len(referenced) == 1:
            basis = referenced[0]
        if then is not None and lists[then[1]].kind == "incentive" and then[0] == "propose":
            check.add(
                f"{where}.then",
                f"list {then[1]!r} is an incentive list: its rules activate entries at once "
                "(requires_confirmation: false) and remove them when the rule stops holding",
            )
        if basis is None:
            check.add(where, "missing 'basis': name the aggregate whose records form the basis")
        else:
            basis = check.known(f"{where}.basis", basis, aggregates, "aggregate")
            if basis is not None and referenced and basis not in referenced:
                check.add(f"{where}.basis", f"aggregate {basis!r} is not tested in 'when'")
        rules.append(
            Rule(
                id=rule_id,
                title=check.text(f"{where}.title", item.get("title")) or rule_id,
                action=then[0] if then else "propose",
                list_type=then[1] if then else "?",
                basis=basis or "?",
                conditions=tuple(conditions),
                expression=expression,
                description=check.text(
                    f"{where}.description", item.get("description"), required=False
                )
                or "",
                examples=_rule_examples(
                    check, f"{where}.examples", item.get("examples"), aggregates
                ),
            )
        )
    return tuple(rules)


def _penalty_example(check: _Checker, where: str, raw: Any) -> dict[str, Any]:
    mapping = check.mapping(where, raw) or {}
    check.keys(where, mapping, PENALTY_FACT_KEYS)
    return mapping


def _alerts(
    check: _Checker, raw: Any, keyword_sets: dict[str, tuple[str, ...]]
) -> tuple[AlertRule, ...]:
    alerts: list[AlertRule] = []
    for where, item in check.items("alerts", raw if raw is not None else []):
        check.keys(
            where,
            item,
            ("id", "kind", "title", "skip_when", "offences", "examples"),
            ("id", "title", "offences"),
        )
        alert_id = check.text(f"{where}.id", item.get("id"), pattern=_ID) or "?"
        offences: list[Offence] = []
        for here, offence in check.items(f"{where}.offences", item.get("offences", [])):
            check.keys(
                here,
                offence,
                ("id", "title", "keyword_set", "unless_keyword_sets", "thresholds"),
                ("id", "title", "keyword_set", "thresholds"),
            )
            thresholds: list[Threshold] = []
            raw_thresholds = offence.get("thresholds")
            if not isinstance(raw_thresholds, list) or not raw_thresholds:
                check.add(f"{here}.thresholds", "must be a non-empty list")
                raw_thresholds = []
            for position, threshold in enumerate(raw_thresholds):
                spot = f"{here}.thresholds[{position}]"
                mapping = check.mapping(spot, threshold)
                if mapping is None:
                    continue
                check.keys(spot, mapping, ("field", "at_least"), ("field", "at_least"))
                field_name = check.known(
                    f"{spot}.field", mapping.get("field"), AMOUNT_FIELDS, "amount field"
                )
                at_least = check.number(f"{spot}.at_least", mapping.get("at_least"))
                if field_name is not None and at_least is not None:
                    thresholds.append(Threshold(field=field_name, at_least=at_least))
            offences.append(
                Offence(
                    id=check.text(f"{here}.id", offence.get("id"), pattern=_NAME) or "?",
                    title=check.text(f"{here}.title", offence.get("title")) or "?",
                    keyword_set=check.known(
                        f"{here}.keyword_set",
                        offence.get("keyword_set"),
                        keyword_sets,
                        "keyword set",
                    )
                    or "?",
                    unless_keyword_sets=check.text_list(
                        f"{here}.unless_keyword_sets",
                        offence.get("unless_keyword_sets"),
                        allowed=keyword_sets,
                        what="keyword set",
                        required=False,
                    ),
                    thresholds=tuple(thresholds),
                )
            )
        examples: list[AlertExample] = []
        raw_examples = item.get("examples") or []
        if not isinstance(raw_examples, list):
            check.add(f"{where}.examples", f"must be a list, not {_kind(raw_examples)}")
            raw_examples = []
        offence_ids = [offence.id for offence in offences]
        for position, example in enumerate(raw_examples):
            here = f"{where}.examples[{position}]"
            mapping = check.mapping(here, example)
            if mapping is None:
                continue
            check.keys(
                here,
                mapping,
                ("name", "penalty", "fires", "offence", "field"),
                ("name", "penalty", "fires"),
            )
            offence_id = mapping.get("offence")
            if offence_id is not None:
                offence_id = check.known(f"{here}.offence", offence_id, offence_ids, "offence")
            field_name = mapping.get("field")
            if field_name is not None:
                field_name = check.known(f"{here}.field", field_name, AMOUNT_FIELDS, "amount field")
            examples.append(
                AlertExample(
                    name=check.text(f"{here}.name", mapping.get("name")) or f"example {position}",
                    penalty=_penalty_example(check, f"{here}.penalty", mapping.get("penalty")),
                    fires=check.boolean(f"{here}.fires", mapping.get("fires")),
                    offence=offence_id,
                    amount_field=field_name,
                )
            )
        alerts.append(
            AlertRule(
                id=alert_id,
                kind=check.text(f"{where}.kind", item.get("kind"), required=False, pattern=_ID)
                or alert_id,
                title=check.text(f"{where}.title", item.get("title")) or alert_id,
                skip_when=check.text_list(
                    f"{where}.skip_when",
                    item.get("skip_when"),
                    allowed=BOOLEAN_FACTS,
                    what="boolean fact",
                    required=False,
                ),
                offences=tuple(offences),
                examples=tuple(examples),
            )
        )
    return tuple(alerts)


def _measures(check: _Checker, raw: Any, lists: dict[str, ListType]) -> tuple[Measure, ...]:
    measures: list[Measure] = []
    for where, item in check.items("measures", raw if raw is not None else []):
        check.keys(
            where,
            item,
            (
                "id",
                "title",
                "department",
                "legal_basis",
                "scenarios",
                "lists",
                "binds",
                "description",
                "kind",
            ),
            ("id", "title", "department", "scenarios", "lists", "binds"),
        )
        kind = item.get("kind", "punishment")
        if kind not in MEASURE_KINDS:
            check.add(f"{where}.kind", f"must be one of {', '.join(MEASURE_KINDS)}, not {kind!r}")
            kind = "punishment"
        triggering = check.text_list(
            f"{where}.lists", item.get("lists"), allowed=lists, what="list type"
        )
        for position, list_type in enumerate(triggering):
            expected = MEASURE_KIND_OF_LIST.get(lists[list_type].kind)
            if expected is not None and expected != kind:
                check.add(
                    f"{where}.lists[{position}]",
                    f"a {kind} measure cannot be triggered by {lists[list_type].kind} list "
                    f"{list_type!r} (that list triggers {expected} measures)",
                )
        basis = item.get("legal_basis")
        bases: dict[str, str] = {}
        if isinstance(basis, dict):
            check.keys(f"{where}.legal_basis", basis, triggering)
            for list_type in triggering:
                text = basis.get(list_type, lists[list_type].legal_basis)
                bases[list_type] = check.text(f"{where}.legal_basis.{list_type}", text) or ""
        else:
            own = check.text(f"{where}.legal_basis", basis, required=False)
            for list_type in triggering:
                bases[list_type] = own or lists[list_type].legal_basis
                if not bases[list_type]:
                    check.add(
                        f"{where}.legal_basis",
                        f"missing, and list {list_type!r} gives no legal_basis either",
                    )
        measures.append(
            Measure(
                id=check.text(f"{where}.id", item.get("id"), pattern=_ID) or "?",
                title=check.text(f"{where}.title", item.get("title")) or "?",
                department=check.text(f"{where}.department", item.get("department")) or "?",
                scenarios=check.text_list(
                    f"{where}.scenarios", item.get("scenarios"), unsafe=re.compile(r"[^a-z0-9_-]")
                ),
                lists=triggering,
                binds=check.text_list(
                    f"{where}.binds", item.get("binds"), allowed=BINDS, what="role"
                ),
                legal_bases=bases,
                kind=str(kind),
            )
        )
    return tuple(measures)


def _pack_examples(
    check: _Checker,
    raw: Any,
    aggregates: dict[str, Aggregate],
    rules: tuple[Rule, ...],
    alerts: tuple[AlertRule, ...],
    graded: bool = False,
) -> tuple[PackExample, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        check.add("examples", f"must be a list, not {_kind(raw)}")
        return ()
    examples: list[PackExample] = []
    for position, item in enumerate(raw):
        where = f"examples[{position}]"
        mapping = check.mapping(where, item)
        if mapping is None:
            continue
        check.keys(where, mapping, ("name", "penalty", "entity", "expect"), ("name", "expect"))
        name = check.text(f"{where}.name", mapping.get("name")) or f"example {position}"
        expect = check.mapping(f"{where}.expect", mapping.get("expect")) or {}
        if ("penalty" in mapping) == ("entity" in mapping):
            check.add(where, "needs exactly one of penalty or entity")
            continue
        if "penalty" in mapping:
            facts = _penalty_example(check, f"{where}.penalty", mapping["penalty"])
            check.keys(f"{where}.expect", expect, PENALTY_OUTCOME_KEYS)
            if "alerts" in expect:
                check.text_list(
                    f"{where}.expect.alerts",
                    expect["alerts"],
                    allowed=[alert.id for alert in alerts],
                    what="alert",
                    required=False,
                )
            if expect.get("severity", "general") not in SEVERITIES:
                check.add(f"{where}.expect.severity", f"must be one of {', '.join(SEVERITIES)}")
            examples.append(PackExample(name=name, subject="penalty", facts=facts, expect=expect))
        else:
            entity = check.mapping(f"{where}.entity", mapping["entity"]) or {}
            check.keys(f"{where}.entity", entity, ("aggregates", "party_type", "uscc", "as_of"))
            values = _example_aggregates(
                check, f"{where}.entity.aggregates", entity.get("aggregates", {}), aggregates
            )
            check.keys(
                f"{where}.expect",
                expect,
                ("decisions", "grade") if graded else ("decisions",),
                () if "grade" in expect else ("decisions",),
            )
            if "grade" in expect and expect["grade"] not in GRADES:
                check.add(f"{where}.expect.grade", f"must be one of {', '.join(GRADES)}")
            check.text_list(
                f"{where}.expect.decisions",
                expect.get("decisions"),
                allowed=[rule.id for rule in rules],
                what="rule",
                required=False,
            )
            if entity.get("party_type", "organisation") not in PARTY_TYPES:
                check.add(f"{where}.entity.party_type", f"must be one of {', '.join(PARTY_TYPES)}")
            facts = {
                "party_type": entity.get("party_type", "organisation"),
                "aggregates": values,
            }
            examples.append(PackExample(name=name, subject="entity", facts=facts, expect=expect))
    return tuple(examples)


def _conditions(
    check: _Checker, where: str, when: Any, fact_names: tuple[str, ...]
) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """A ``when`` (mapping of zen tests, or one expression) as (conditions, expression)."""
    conditions: list[tuple[str, str]] = []
    if isinstance(when, dict):
        if not when:
            check.add(where, "an empty condition would always match; leave the row out")
        for name, test in when.items():
            if name not in fact_names:
                check.add(
                    f"{where}.{name}",
                    f"unknown aggregate (known: {', '.join(fact_names)})",
                )
                continue
            cell = _condition_cell(check, f"{where}.{name}", test)
            if cell is not None:
                conditions.append((name, cell))
        return tuple(conditions), None
    if isinstance(when, str) and when.strip():
        if _compiles(check, where, when, zen.compile_expression):
            for name in sorted(expression_names(when)):
                if name not in fact_names:
                    check.add(where, f"names unknown aggregate {name!r}")
            return (), when.strip()
        return (), None
    check.add(where, f"must be a mapping of tests or an expression, not {_kind(when)}")
    return (), None


def _grading(check: _Checker, raw: Any, aggregates: dict[str, Aggregate]) -> Grading | None:
    """The ``grading`` section: credit grades A–D as a first-hit table (DOMAIN.md §6)."""
    if raw is None:
        return None
    mapping = check.mapping("grading", raw)
    if mapping is None:
        return None
    check.keys(
        "grading",
        mapping,
        ("grades", "rules", "default", "public", "examples", "description"),
        ("grades", "rules", "default"),
    )
    titles: dict[str, str] = {}
    grades_raw = check.mapping("grading.grades", mapping.get("grades"))
    if grades_raw is not None:
        for grade, title in grades_raw.items():
            if grade not in GRADES:
                check.add(
                    f"grading.grades.{grade}", f"unknown grade (allowed: {', '.join(GRADES)})"
                )
                continue
            titles[grade] = check.text(f"grading.grades.{grade}", title) or grade
        if not titles:
            check.add("grading.grades", "name at least one grade")
    known = tuple(titles) or GRADES
    default = mapping.get("default")
    if default not in known:
        check.add(
            "grading.default",
            f"must be one of the grades ({', '.join(known)}), not {default!r}",
        )
    fact_names = (*aggregates, "party_type")
    rules: list[GradeRule] = []
    raw_rules = mapping.get("rules")
    if isinstance(raw_rules, list) and not raw_rules:
        check.add("grading.rules", "needs at least one row (else every entity gets the default)")
    for where, item in check.items("grading.rules", raw_rules if raw_rules is not None else []):
        check.keys(
            where, item, ("id", "grade", "title", "when", "description"), ("id", "grade", "when")
        )
        rule_grade = item.get("grade")
        if rule_grade not in known:
            check.add(
                f"{where}.grade",
                f"must be one of the grades ({', '.join(known)}), not {rule_grade!r}",
            )
        conditions, expression = _conditions(check, f"{where}.when", item.get("when"), fact_names)
        rule_id = check.text(f"{where}.id", item.get("id"), pattern=_ID) or "?"
        if rule_id == "default":
            check.add(f"{where}.id", "'default' names the row of no match; pick another id")
        rules.append(
            GradeRule(
                id=rule_id,
                grade=str(rule_grade),
                title=check.text(f"{where}.title", item.get("title"), required=False) or rule_id,
                conditions=conditions,
                expression=expression,
            )
        )
    examples: list[GradeExample] = []
    raw_examples = mapping.get("examples") or []
    if not isinstance(raw_examples, list):
        check.add("grading.examples", f"must be a list, not {_kind(raw_examples)}")
        raw_examples = []
    for position, example in enumerate(raw_examples):
        here = f"grading.examples[{position}]"
        fields = check.mapping(here, example)
        if fields is None:
            continue
        check.keys(here, fields, ("name", "aggregates", "party_type", "grade"), ("name", "grade"))
        if fields.get("grade") not in known:
            check.add(f"{here}.grade", f"must be one of the grades ({', '.join(known)})")
        party_type = fields.get("party_type", "organisation")
        if party_type not in PARTY_TYPES:
            check.add(f"{here}.party_type", f"must be one of {', '.join(PARTY_TYPES)}")
        examples.append(
            GradeExample(
                name=check.text(f"{here}.name", fields.get("name")) or f"example {position}",
                aggregates=_example_aggregates(
                    check, f"{here}.aggregates", fields.get("aggregates", {}), aggregates
                ),
                party_type=str(party_type),
                grade=str(fields.get("grade")),
            )
        )
    return Grading(
        titles=titles,
        rules=tuple(rules),
        default=str(default),
        public=check.boolean("grading.public", mapping.get("public"), default=False),
        examples=tuple(examples),
    )


def _rules_model(check: _Checker, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        check.add("rules_model", f"must be the path of a zen JSON model, not {_kind(raw)}")
        return None
    path = Path(raw)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        check.add("rules_model", f"cannot read {path}: {exc.strerror or exc}")
        return None
    except ValueError as exc:
        check.add("rules_model", f"{path} is not valid JSON: {exc}")
        return None
    if not isinstance(content, dict) or not isinstance(content.get("nodes"), list):
        check.add("rules_model", f"{path} is not a JSON decision model (no 'nodes' list)")
        return None
    text = json.dumps(content, ensure_ascii=False, sort_keys=True)
    try:
        zen.ZenEngine().create_decision(text).validate()
    except Exception as exc:  # zen raises plain exceptions carrying JSON
        check.add("rules_model", f"{path} is not a valid zen model: {_zen_error(exc)}")
        return None
    return text


# ------------------------------------------------------------------------ load


def _canonical(content: dict[str, Any], rules_model: str | None) -> str:
    data = dict(content)
    if rules_model is not None:
        data["rules_model"] = json.loads(rules_model)
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _build(path: Path) -> tuple[RulePack | None, list[str]]:
    """The pack at ``path`` and the problems found while building it."""
    content = _resolve(path)
    check = _Checker(path)
    check.keys(
        "(top level)", content, _TOP_KEYS, ("name", "lists", "severity", "disclosure", "rules")
    )
    if content.get("format", FORMAT) != FORMAT:
        check.add(
            "format", f"this version reads pack format {FORMAT}, not {content.get('format')!r}"
        )
    name = check.text("name", content.get("name"), pattern=_PACK_NAME) or "?"
    lists = _lists(check, content.get("lists"))
    keyword_sets = _keyword_sets(check, content.get("keyword_sets", {}))
    severity = _severity(check, content.get("severity"))
    disclosure = _disclosure(check, content.get("disclosure"), keyword_sets)
    aggregates = _aggregates(check, content.get("aggregates", {}), keyword_sets, lists)
    rules_model = _rules_model(check, content.get("rules_model"))
    has_model = content.get("rules_model") is not None
    grading = _grading(check, content.get("grading"), aggregates)
    rules = _rules(check, content.get("rules"), lists, aggregates, has_model, grading is not None)
    alerts = _alerts(check, content.get("alerts"), keyword_sets)
    measures = _measures(check, content.get("measures"), lists)
    examples = _pack_examples(
        check, content.get("examples"), aggregates, rules, alerts, grading is not None
    )
    on_revoked = content.get("on_basis_revoked", "remove")
    if on_revoked not in _ON_BASIS_REVOKED:
        check.add(
            "on_basis_revoked", f"must be one of {', '.join(_ON_BASIS_REVOKED)}, not {on_revoked!r}"
        )
    if check.problems:
        return None, check.problems
    canonical = _canonical(content, rules_model)
    pack = RulePack(
        name=name,
        title=check.text("title", content.get("title"), required=False) or name,
        version=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        path=str(path),
        lists=lists,
        keyword_sets=keyword_sets,
        severity=severity,
        disclosure=disclosure,
        aggregates=aggregates,
        rules=rules,
        alerts=alerts,
        measures=measures,
        on_basis_revoked=str(on_revoked),
        examples=examples,
        rules_model=rules_model,
        canonical=canonical,
        grading=grading,
    )
    return pack, []


def load_pack(path: str | Path = DEFAULT_PACK_PATH) -> RulePack:
    """Load, resolve (``extends``) and check the rule pack at ``path``.

    Raises :class:`~rules.errors.PackError` naming the file, the key path and what is
    wrong for every structural problem (unknown keys, unknown list types, aggregates
    or keyword sets, bad expressions, inconsistent periods). Semantic checks that need
    the engine — examples, unreachable rules — are :func:`rules.check_pack`'s.
    """
    pack, problems = _build(Path(path).resolve())
    if pack is None:
        raise PackError(problems)
    return pack
