"""``check_pack``: validate a rule pack and run the examples it carries.

Beyond what :func:`rules.load_pack` refuses, this finds what only running the engine
shows: examples that fail, rules or alerts without an example that fires and one that
does not, rules no aggregate values can satisfy (unreachable), rules that fire for an
entity with no records at all, and declared aggregates or keyword sets nothing uses.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import zen

from rules.errors import PackError
from rules.evaluate import Evaluator
from rules.loading import load_pack
from rules.model import GRADES, PARTY_TYPES, Rule, RulePack
from rules.pack_rules import expression_names

#: Defaults of an example penalty; an example names only what matters to it.
EXAMPLE_PENALTY: dict[str, Any] = {
    "decision_number": "示例",
    "decided_on": "2024-06-01",
    "party_type": "organisation",
    "categories": ["罚款"],
    "fine_wan": None,
    "confiscated_wan": None,
    "business_volume_wan": None,
    "illegal_gains_wan": None,
    "aggravated": False,
    "transferred_to_police": False,
    "violation_type": "",
    "keyword_sets": None,
}

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def example_penalty(facts: dict[str, Any], penalty_id: int = 1) -> dict[str, Any]:
    """A full penalty facts dict: the example's facts over :data:`EXAMPLE_PENALTY`."""
    return {**EXAMPLE_PENALTY, "penalty_id": penalty_id, **facts}


def _entity(aggregates: dict[str, float], party_type: str) -> dict[str, Any]:
    return {
        "uscc": None,
        "party_type": party_type,
        "aggregates": {name: {"value": value, "ids": []} for name, value in aggregates.items()},
    }


def _candidates(source: str) -> list[float]:
    """Whole numbers ≥ 0 around every number a test mentions (aggregates are counts)."""
    values = {0.0, 1.0, 1e6}
    for text in _NUMBER.findall(source):
        number = float(text)
        for value in (
            math.floor(number) - 1,
            math.floor(number),
            math.ceil(number),
            math.ceil(number) + 1,
        ):
            if value >= 0:
                values.add(float(value))
    return sorted(values)


def _reachable(rule: Rule) -> bool:
    """Whether some whole, non-negative aggregate values (and a party type) satisfy ``when``."""
    for name, cell in rule.conditions:
        options: list[Any] = (
            list(PARTY_TYPES)
            if name == "party_type"
            else list(GRADES)
            if name == "grade"
            else _candidates(cell)
        )
        if not any(zen.evaluate_unary_expression(cell, {"$": option}) for option in options):
            return False
    if rule.expression is None:
        return True
    names = sorted(expression_names(rule.expression))
    choices = [
        list(PARTY_TYPES)
        if name == "party_type"
        else list(GRADES)
        if name == "grade"
        else _candidates(rule.expression)
        for name in names
    ]
    expression = zen.compile_expression(rule.expression)
    for combination in itertools.islice(itertools.product(*choices), 5000):
        try:
            if expression.evaluate(dict(zip(names, combination, strict=True))) is True:
                return True
        except Exception:  # noqa: S112 - a combination the expression cannot handle
            continue
    return False


def _both_ways(here: str, what: str, examples: Iterable[Any]) -> Iterator[str]:
    """A rule's or an alert's examples must show it firing and not firing."""
    fires = {example.fires for example in examples}
    if True not in fires:
        yield f"{here}: no example where the {what} fires"
    if False not in fires:
        yield f"{here}: no example where the {what} does not fire"


def _rule_problems(pack: RulePack, evaluator: Evaluator, where: str) -> Iterator[str]:
    for index, rule in enumerate(pack.rules):
        here = f"{where}: rules[{index}] ({rule.id})"
        yield from _both_ways(here, "rule", rule.examples)
        if pack.rules_model is None and not _reachable(rule):
            yield f"{here}: unreachable: no whole aggregate values ≥ 0 satisfy {rule.when!r}"
        if (
            pack.rules_model is None
            and rule.basis not in rule.references
            and rule.expression is None
        ):
            yield f"{here}: basis {rule.basis!r} is not tested in 'when'"
        for number, example in enumerate(rule.examples):
            outcome = evaluator.evaluate_entity(_entity(example.aggregates, example.party_type))
            fired = rule.id in {decision.rule_id for decision in outcome.decisions}
            if fired != example.fires:
                expected = "fire" if example.fires else "not fire"
                yield (
                    f"{here}.examples[{number}] ({example.name}): expected the rule to {expected}, "
                    f"it did{'' if fired else ' not'} (aggregates {example.aggregates}, "
                    f"party_type {example.party_type})"
                )
    for party_type in PARTY_TYPES:
        if not evaluator.can_skip({"party_type": party_type, "aggregates": {}}):
            decisions = evaluator.evaluate_entity(_entity({}, party_type)).decisions
            # a red list may well take a party with a clean record (守信激励)
            names = ", ".join(
                decision.rule_id
                for decision in decisions
                if pack.list_kind(decision.list_type) != "incentive"
            )
            if names:
                yield (
                    f"{where}: rules: {names} fire for a party ({party_type}) with no records "
                    "at all"
                )


def _grading_problems(pack: RulePack, evaluator: Evaluator, where: str) -> Iterator[str]:
    grading = pack.grading
    if grading is None:
        return
    if not grading.examples:
        yield f"{where}: grading: no examples; give at least one per grade the rules assign"
    seen: set[str] = set()
    for number, example in enumerate(grading.examples):
        outcome = evaluator.grade_entity(_entity(example.aggregates, example.party_type))
        assert outcome is not None  # the pack grades
        seen.add(outcome.rule_id)
        if outcome.grade != example.grade:
            yield (
                f"{where}: grading.examples[{number}] ({example.name}): expected grade "
                f"{example.grade}, got {outcome.grade} by {outcome.rule_id} "
                f"(aggregates {example.aggregates})"
            )
    for index, row in enumerate(grading.rules):
        if grading.examples and row.id not in seen:
            yield f"{where}: grading.rules[{index}] ({row.id}): no example is graded by this row"


def _alert_problems(pack: RulePack, evaluator: Evaluator, where: str) -> Iterator[str]:
    for index, alert in enumerate(pack.alerts):
        here = f"{where}: alerts[{index}] ({alert.id})"
        yield from _both_ways(here, "alert", alert.examples)
        covered: set[str] = set()
        for number, example in enumerate(alert.examples):
            outcome = evaluator.evaluate_penalty(example_penalty(example.penalty, number + 1))
            hits = [hit for hit in outcome.alerts if hit.rule_id == alert.id]
            spot = f"{here}.examples[{number}] ({example.name})"
            if bool(hits) != example.fires:
                expected = "fire" if example.fires else "not fire"
                got = f"it fired on {hits[0].threshold}" if hits else "it did not"
                yield f"{spot}: expected the alert to {expected}, {got}"
                continue
            if not hits:
                continue
            threshold = hits[0].threshold
            covered.add(threshold["offence"])
            if example.offence is not None and threshold["offence"] != example.offence:
                yield f"{spot}: expected offence {example.offence!r}, got {threshold['offence']!r}"
            if example.amount_field is not None and threshold["field"] != example.amount_field:
                yield f"{spot}: expected field {example.amount_field!r}, got {threshold['field']!r}"
        for offence in alert.offences:
            if offence.id not in covered:
                yield f"{here}: offence {offence.id!r} has no example where it fires"


def _pack_example_problems(pack: RulePack, evaluator: Evaluator, where: str) -> Iterator[str]:
    for index, example in enumerate(pack.examples):
        here = f"{where}: examples[{index}] ({example.name})"
        if example.subject == "entity":
            outcome = evaluator.evaluate_entity(
                _entity(example.facts["aggregates"], example.facts["party_type"])
            )
            got = sorted(decision.rule_id for decision in outcome.decisions)
            expected = sorted(example.expect.get("decisions") or [])
            if "decisions" in example.expect and got != expected:
                yield f"{here}: expected decisions {expected}, got {got}"
            if "grade" in example.expect:
                graded = evaluator.grade_entity(
                    _entity(example.facts["aggregates"], example.facts["party_type"])
                )
                grade = None if graded is None else graded.grade
                if grade != example.expect["grade"]:
                    yield f"{here}: expected grade {example.expect['grade']}, got {grade}"
            continue
        result = evaluator.evaluate_penalty(example_penalty(example.facts, index + 1))
        seen = {
            "severity": result.severity,
            "disclosed": result.disclosed,
            "disclosure_min_months": result.disclosure_min_months,
            "disclosure_max_months": result.disclosure_max_months,
            "repairable": result.repairable,
            "regime": result.regime,
            "alerts": sorted(hit.rule_id for hit in result.alerts),
        }
        for key, expected in example.expect.items():
            if key == "alerts":
                expected = sorted(expected or [])
            if seen[key] != expected:
                yield (
                    f"{here}: expected {key} {expected!r}, got {seen[key]!r} (trace {result.trace})"
                )


def _unused(pack: RulePack, where: str) -> Iterator[str]:
    used_aggregates = {rule.basis for rule in pack.rules} | {
        name for rule in pack.rules for name in rule.references
    }
    for rule in pack.rules:
        if rule.expression is not None:
            used_aggregates |= expression_names(rule.expression)
    for row in pack.grading.rules if pack.grading is not None else ():
        used_aggregates |= set(row.references)
        if row.expression is not None:
            used_aggregates |= expression_names(row.expression)
    if pack.rules_model is None:
        for name in pack.aggregates:
            if name not in used_aggregates:
                yield f"{where}: aggregates.{name}: declared but no rule uses it"
    used_sets = (
        {aggregate.keyword_set for aggregate in pack.aggregates.values()}
        | {rule.keyword_set for rule in pack.disclosure.field_rules}
        | {
            keyword_set
            for alert in pack.alerts
            for offence in alert.offences
            for keyword_set in (offence.keyword_set, *offence.unless_keyword_sets)
        }
    )
    for name in pack.keyword_sets:
        if name not in used_sets:
            yield f"{where}: keyword_sets.{name}: declared but nothing uses it"
    for list_type in pack.lists:
        if not pack.measures_for(list_type):
            yield f"{where}: lists.{list_type}: no measure is triggered by this list"


def check_pack(path: str | Path) -> list[str]:
    """Every problem of the pack at ``path``, one line each; an empty list means OK.

    Runs the structural checks of :func:`rules.load_pack`, then the pack's examples
    (rule, alert and pack-level), and looks for unreachable rules, rules firing on an
    entity with no records, rules or alerts missing a firing or non-firing example,
    and unused aggregates and keyword sets.
    """
    try:
        pack = load_pack(path)
    except PackError as exc:
        return exc.problems
    where = pack.path
    try:
        evaluator = pack.evaluator()
    except Exception as exc:  # the engine refused the compiled models
        return [f"{where}: the pack does not compile to a working zen model: {exc}"]
    problems: list[str] = list(_unused(pack, where))
    for section in (_rule_problems, _alert_problems, _pack_example_problems, _grading_problems):
        try:
            problems.extend(section(pack, evaluator, where))
        except Exception as exc:  # a model answering outside its contract, say
            problems.append(f"{where}: evaluating the examples failed: {exc}")
    return problems
