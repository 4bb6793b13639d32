"""Reading the deciding sections of a pack: rules (conditions, outcomes, examples),
alerts, the pack's own examples, the grading table and a zen model drawn in the editor.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import zen

from rules.model import (
    GRADES,
    PARTY_TYPES,
    SEVERITIES,
    Action,
    Aggregate,
    AlertExample,
    AlertRule,
    GradeExample,
    GradeRule,
    Grading,
    ListType,
    Offence,
    PackExample,
    Rule,
    RuleExample,
    Threshold,
)
from rules.validation import ID_PATTERN, NAME_PATTERN, Checker, compiles, kind_of, zen_error

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


_IDENTIFIER = re.compile(r"(?<![.\w$#])([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_EXPRESSION_WORDS = frozenset(["and", "or", "not", "in", "true", "false", "null"])


def expression_names(expression: str) -> set[str]:
    """The bare names an expression reads (strings, functions and keywords left out)."""
    stripped = _STRING.sub("''", expression)
    return {name for name in _IDENTIFIER.findall(stripped) if name not in _EXPRESSION_WORDS}


def _condition_cell(check: Checker, where: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        check.add(where, f'must be a zen test such as ">= 2", not {kind_of(value)}')
        return None
    cell = str(value).strip() if isinstance(value, str) else repr(value)
    if not cell:
        check.add(where, "an empty test matches everything; leave the key out instead")
        return None
    return cell if compiles(check, where, cell, zen.compile_unary_expression) else None


def _then(
    check: Checker, where: str, raw: Any, lists: dict[str, ListType]
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


def _party_type(check: Checker, where: str, mapping: dict[str, Any]) -> str:
    """An example's ``party_type`` (default organisation), checked."""
    party_type = mapping.get("party_type", "organisation")
    if party_type not in PARTY_TYPES:
        check.add(f"{where}.party_type", f"must be one of {', '.join(PARTY_TYPES)}")
    return str(party_type)


def _rule_examples(
    check: Checker, where: str, raw: Any, aggregates: dict[str, Aggregate]
) -> tuple[RuleExample, ...]:
    examples = []
    for position, here, mapping in check.mappings(where, raw):
        check.keys(here, mapping, ("name", "aggregates", "party_type", "fires"), ("name", "fires"))
        values = _example_aggregates(
            check, f"{here}.aggregates", mapping.get("aggregates", {}), aggregates
        )
        party_type = _party_type(check, here, mapping)
        examples.append(
            RuleExample(
                name=check.text(f"{here}.name", mapping.get("name")) or f"example {position}",
                aggregates=values,
                party_type=party_type,
                fires=check.boolean(f"{here}.fires", mapping.get("fires")),
            )
        )
    return tuple(examples)


def _example_aggregates(
    check: Checker, where: str, raw: Any, aggregates: dict[str, Aggregate]
) -> dict[str, float]:
    mapping = check.mapping(where, raw) or {}
    values: dict[str, float] = {}
    for name, value in mapping.items():
        if name not in aggregates:
            check.add(f"{where}.{name}", f"unknown aggregate (known: {', '.join(aggregates)})")
        elif (amount := check.number(f"{where}.{name}", value)) is not None:
            values[name] = amount
    return values


def read_rules(
    check: Checker,
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
        rule_id = check.text(f"{where}.id", item.get("id"), pattern=ID_PATTERN) or "?"
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
            if compiles(check, f"{where}.when", when, zen.compile_expression):
                expression = when.strip()
                for name in sorted(expression_names(expression)):
                    if name not in fact_names:
                        check.add(f"{where}.when", f"names unknown aggregate {name!r}")
                    elif name in aggregates:
                        referenced.append(name)
        else:
            check.add(
                f"{where}.when", f"must be a mapping of tests or an expression, not {kind_of(when)}"
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


def _penalty_example(check: Checker, where: str, raw: Any) -> dict[str, Any]:
    mapping = check.mapping(where, raw) or {}
    check.keys(where, mapping, PENALTY_FACT_KEYS)
    return mapping


def read_alerts(
    check: Checker, raw: Any, keyword_sets: dict[str, tuple[str, ...]]
) -> tuple[AlertRule, ...]:
    alerts: list[AlertRule] = []
    for where, item in check.items("alerts", raw if raw is not None else []):
        check.keys(
            where,
            item,
            ("id", "kind", "title", "skip_when", "offences", "examples"),
            ("id", "title", "offences"),
        )
        alert_id = check.text(f"{where}.id", item.get("id"), pattern=ID_PATTERN) or "?"
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
            for _, spot, mapping in check.mappings(f"{here}.thresholds", raw_thresholds):
                check.keys(spot, mapping, ("field", "at_least"), ("field", "at_least"))
                field_name = check.known(
                    f"{spot}.field", mapping.get("field"), AMOUNT_FIELDS, "amount field"
                )
                at_least = check.number(f"{spot}.at_least", mapping.get("at_least"))
                if field_name is not None and at_least is not None:
                    thresholds.append(Threshold(field=field_name, at_least=at_least))
            offences.append(
                Offence(
                    id=check.text(f"{here}.id", offence.get("id"), pattern=NAME_PATTERN) or "?",
                    title=check.text(f"{here}.title", offence.get("title")) or "?",
                    keyword_set=check.known(
                        f"{here}.keyword_set",
                        offence.get("keyword_set"),
                        keyword_sets,
                        "keyword set",
                    )
                    or "?",
                    unless_keyword_sets=check.names(
                        here, offence, "unless_keyword_sets", keyword_sets, "keyword set"
                    ),
                    thresholds=tuple(thresholds),
                )
            )
        examples: list[AlertExample] = []
        offence_ids = [offence.id for offence in offences]
        for position, here, mapping in check.mappings(
            f"{where}.examples", item.get("examples") or []
        ):
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
                kind=check.text(
                    f"{where}.kind", item.get("kind"), required=False, pattern=ID_PATTERN
                )
                or alert_id,
                title=check.text(f"{where}.title", item.get("title")) or alert_id,
                skip_when=check.names(where, item, "skip_when", BOOLEAN_FACTS, "boolean fact"),
                offences=tuple(offences),
                examples=tuple(examples),
            )
        )
    return tuple(alerts)


def read_pack_examples(
    check: Checker,
    raw: Any,
    aggregates: dict[str, Aggregate],
    rules: tuple[Rule, ...],
    alerts: tuple[AlertRule, ...],
    graded: bool = False,
) -> tuple[PackExample, ...]:
    examples: list[PackExample] = []
    for position, where, mapping in check.mappings("examples", raw):
        check.keys(where, mapping, ("name", "penalty", "entity", "expect"), ("name", "expect"))
        name = check.text(f"{where}.name", mapping.get("name")) or f"example {position}"
        expect = check.mapping(f"{where}.expect", mapping.get("expect")) or {}
        if ("penalty" in mapping) == ("entity" in mapping):
            check.add(where, "needs exactly one of penalty or entity")
            continue
        if "penalty" in mapping:
            facts = _penalty_example(check, f"{where}.penalty", mapping["penalty"])
            check.keys(f"{where}.expect", expect, PENALTY_OUTCOME_KEYS)
            check.names(f"{where}.expect", expect, "alerts", [a.id for a in alerts], "alert")
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
            check.names(f"{where}.expect", expect, "decisions", [r.id for r in rules], "rule")
            _party_type(check, f"{where}.entity", entity)
            facts = {
                "party_type": entity.get("party_type", "organisation"),
                "aggregates": values,
            }
            examples.append(PackExample(name=name, subject="entity", facts=facts, expect=expect))
    return tuple(examples)


def _conditions(
    check: Checker, where: str, when: Any, fact_names: tuple[str, ...]
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
        if compiles(check, where, when, zen.compile_expression):
            for name in sorted(expression_names(when)):
                if name not in fact_names:
                    check.add(where, f"names unknown aggregate {name!r}")
            return (), when.strip()
        return (), None
    check.add(where, f"must be a mapping of tests or an expression, not {kind_of(when)}")
    return (), None


def read_grading(check: Checker, raw: Any, aggregates: dict[str, Aggregate]) -> Grading | None:
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
        rule_id = check.text(f"{where}.id", item.get("id"), pattern=ID_PATTERN) or "?"
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
    for position, here, fields in check.mappings("grading.examples", mapping.get("examples") or []):
        check.keys(here, fields, ("name", "aggregates", "party_type", "grade"), ("name", "grade"))
        if fields.get("grade") not in known:
            check.add(f"{here}.grade", f"must be one of the grades ({', '.join(known)})")
        party_type = _party_type(check, here, fields)
        examples.append(
            GradeExample(
                name=check.text(f"{here}.name", fields.get("name")) or f"example {position}",
                aggregates=_example_aggregates(
                    check, f"{here}.aggregates", fields.get("aggregates", {}), aggregates
                ),
                party_type=party_type,
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


def read_rules_model(check: Checker, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        check.add("rules_model", f"must be the path of a zen JSON model, not {kind_of(raw)}")
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
        check.add("rules_model", f"{path} is not a valid zen model: {zen_error(exc)}")
        return None
    return text
