"""Reading the declarative sections of a pack: lists and their terms, keyword sets,
severity, disclosure periods, aggregates and measures.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rules.competence import AuthorityCategory, read_competent
from rules.model import (
    AGGREGATE_KINDS,
    BINDS,
    DEFAULT_GROUP_OF_KIND,
    LIST_GROUPS,
    LIST_KINDS,
    MEASURE_KIND_OF_LIST,
    MEASURE_KINDS,
    PARTY_TYPES,
    SEVERITIES,
    Aggregate,
    DisclosurePolicy,
    FieldRule,
    ListType,
    Measure,
    Period,
    Regime,
    SeverityPolicy,
)
from rules.validation import ID_PATTERN, Checker

_UNSAFE_TEXT = re.compile(r"['\"\\]")
_UNSAFE_KEYWORD = re.compile(r"['\"\\%_]")


# ------------------------------------------------------------------ sections


def read_lists(
    check: Checker, raw: Any, categories: dict[str, AuthorityCategory] | None = None
) -> dict[str, ListType]:
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
                "competent",
                "group",
            ),
            ("title", "kind", "term_months", "requires_confirmation", "public"),
        )
        kind = mapping.get("kind")
        if kind not in LIST_KINDS:
            check.add(f"{where}.kind", f"must be one of {', '.join(LIST_KINDS)}, not {kind!r}")
        group = mapping.get("group", DEFAULT_GROUP_OF_KIND.get(str(kind), "serious"))
        if group not in LIST_GROUPS:
            check.add(f"{where}.group", f"must be one of {', '.join(LIST_GROUPS)}, not {group!r}")
        elif (group == "incentive") != (kind == "incentive"):
            check.add(f"{where}.group", f"group {group!r} does not fit a {kind} list")
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
            competent=read_competent(
                check, f"{where}.competent", mapping.get("competent"), categories or {}
            ),
            group=str(group),
        )
    if not lists and not check.problems:
        check.add("lists", "a pack needs at least one list type")
    return lists


def read_keyword_sets(check: Checker, raw: Any) -> dict[str, tuple[str, ...]]:
    return {
        name: check.text_list(where, entry, unsafe=_UNSAFE_KEYWORD)
        for where, name, entry in check.entries("keyword_sets", raw)
    }


def read_severity(check: Checker, raw: Any) -> SeverityPolicy:
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


def _period(check: Checker, where: str, raw: Any) -> Period | None:
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


def read_disclosure(
    check: Checker, raw: Any, keyword_sets: dict[str, tuple[str, ...]]
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
                id=check.text(f"{where}.id", item.get("id"), pattern=ID_PATTERN) or "?",
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
                id=check.text(f"{where}.id", item.get("id"), pattern=ID_PATTERN) or "?",
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


def read_aggregates(
    check: Checker, raw: Any, keyword_sets: dict[str, tuple[str, ...]], lists: dict[str, ListType]
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


def read_measures(check: Checker, raw: Any, lists: dict[str, ListType]) -> tuple[Measure, ...]:
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
                id=check.text(f"{where}.id", item.get("id"), pattern=ID_PATTERN) or "?",
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
