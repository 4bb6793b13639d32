"""Compilation of a rule pack into zen JSON decision models (JDM).

Two single-item models, each openable in GoRules' editor:

- the **penalty model** reads one penalty's facts and answers
  ``{"outcome": {...}, "alerts": {alert_id: {"offence", "field"}}}``. Its graph:
  input → severity table → disclosure table → field-minimum table → repairable
  table → outcome expression → output, with one table per alert rule read straight
  from the input;
- the **entity model** reads one entity's aggregate values (plus ``party_type``) and
  answers the list of matching rules — a decision table with hit policy ``collect``,
  one row per rule. A pack may bring its own entity model (``rules_model``) instead.

For bulk work each is wrapped in a batch model whose decision node runs the
single-item model in loop mode over an input array, so one engine call evaluates
thousands of items.

Row ids (``_id``) are the trace ids the outcomes report, e.g. ``severity/large-fine``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rules.model import PARTY_TYPES, RulePack

PENALTY_MODEL_KEY = "penalty.json"
ENTITY_MODEL_KEY = "entity-rules.json"
GRADING_MODEL_KEY = "grading.json"
_FACT_TITLES = {"party_type": "当事人类别", "grade": "信用等级"}


def _quote(text: str) -> str:
    """A zen string literal (the loader refuses quotes and backslashes in such text)."""
    return "'" + text + "'"


def _text_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_quote(item) for item in items) + "]"


def _number(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


class _Table:
    """Builds one decision-table node: named input columns, output columns, rows."""

    def __init__(self, node_id: str, name: str, hit_policy: str = "first") -> None:
        self.node_id, self.name, self.hit_policy = node_id, name, hit_policy
        self.inputs: list[dict[str, str]] = []
        self.outputs: list[dict[str, str]] = []
        self.rules: list[dict[str, str]] = []
        self._input_ids: dict[str, str] = {}
        self._output_ids: dict[str, str] = {}

    def input(self, key: str, name: str, field: str | None) -> str:
        """Declare (once) an input column; ``field`` None makes cells full expressions."""
        if key not in self._input_ids:
            column_id = f"{self.node_id}-in{len(self.inputs)}"
            column = {"id": column_id, "name": name}
            if field is not None:
                column["field"] = field
            self.inputs.append(column)
            self._input_ids[key] = column_id
        return self._input_ids[key]

    def output(self, field: str, name: str) -> str:
        if field not in self._output_ids:
            column_id = f"{self.node_id}-out{len(self.outputs)}"
            self.outputs.append({"id": column_id, "name": name, "field": field})
            self._output_ids[field] = column_id
        return self._output_ids[field]

    def row(
        self,
        row_id: str,
        description: str,
        tests: dict[str, str],
        results: dict[str, str],
    ) -> None:
        """Add a row; ``tests`` are keyed by input column id, ``results`` by output field."""
        self.rules.append(
            {
                "_id": row_id,
                "_description": description,
                **tests,
                **{self._output_ids[field]: cell for field, cell in results.items()},
            }
        )

    def node(self, x: int, y: int, *, pass_through: bool) -> dict[str, Any]:
        for row in self.rules:  # every cell present: the editor expects a full grid
            for column in (*self.inputs, *self.outputs):
                row.setdefault(column["id"], "")
        return {
            "id": self.node_id,
            "name": self.name,
            "type": "decisionTableNode",
            "position": {"x": x, "y": y},
            "content": {
                "hitPolicy": self.hit_policy,
                "inputs": self.inputs,
                "outputs": self.outputs,
                "rules": self.rules,
                "passThrough": pass_through,
                "executionMode": "single",
                "inputField": None,
                "outputPath": None,
            },
        }


def _graph(nodes: list[dict[str, Any]], edges: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": nodes,
        "edges": [
            {"id": f"edge-{number}", "sourceId": source, "targetId": target, "type": "edge"}
            for number, (source, target) in enumerate(edges)
        ],
    }


def _io(node_id: str, kind: str, x: int, y: int) -> dict[str, Any]:
    name = "request" if kind == "inputNode" else "response"
    return {"id": node_id, "name": name, "type": kind, "position": {"x": x, "y": y}}


# --------------------------------------------------------------- penalty model


def _severity_table(pack: RulePack) -> _Table:
    policy = pack.severity
    table = _Table("severity", "严重程度 severity")
    table.output("calc.severity", "severity")
    table.output("calc.trace.severity", "trace")
    fine = table.input("fine", "罚款金额（万元）", "fine_wan ?? 0")
    if policy.serious_categories:
        column = table.input(
            "serious_category",
            "含较重处罚类别",
            f"some(categories, # in {_text_list(policy.serious_categories)})",
        )
        table.row(
            "severity/serious-category",
            "较重处罚类别",
            {column: "true"},
            {"calc.severity": "'serious'", "calc.trace.severity": "'severity/serious-category'"},
        )
    if policy.serious_if_aggravated:
        column = table.input("aggravated", "从重处罚", "aggravated == true")
        table.row(
            "severity/aggravated",
            "从重处罚",
            {column: "true"},
            {"calc.severity": "'serious'", "calc.trace.severity": "'severity/aggravated'"},
        )
    if policy.serious_fine_at_least_wan is not None:
        table.row(
            "severity/large-fine",
            "大额罚款",
            {fine: f">= {_number(policy.serious_fine_at_least_wan)}"},
            {"calc.severity": "'serious'", "calc.trace.severity": "'severity/large-fine'"},
        )
    minor = table.input(
        "minor_only",
        "仅警告、通报批评",
        f"len(categories) > 0 and all(categories, # in {_text_list(policy.minor_categories)})",
    )
    table.row(
        "severity/minor-categories",
        "仅警告、通报批评",
        {minor: "true"},
        {"calc.severity": "'minor'", "calc.trace.severity": "'severity/minor-categories'"},
    )
    # cheap columns first: zen stops testing a row at its first failing cell
    party = table.input("party_type", "当事人类别", "party_type")
    with_fine = (*policy.minor_categories, policy.fine_category)
    low_fine = table.input(
        "minor_with_fine",
        "仅警告、通报批评、罚款",
        f"some(categories, # == {_quote(policy.fine_category)}) and "
        f"all(categories, # in {_text_list(with_fine)})",
    )
    for party_type in PARTY_TYPES:
        row_id = f"severity/low-fine/{party_type}"
        table.row(
            row_id,
            "较低数额罚款",
            {
                low_fine: "true",
                party: _quote(party_type),
                fine: f"< {_number(policy.minor_fine_below_wan[party_type])}",
            },
            {"calc.severity": "'minor'", "calc.trace.severity": _quote(row_id)},
        )
    table.row(
        "severity/general",
        "其他",
        {},
        {"calc.severity": "'general'", "calc.trace.severity": "'severity/general'"},
    )
    return table


def _disclosure_table(pack: RulePack) -> _Table:
    table = _Table("disclosure", "公示期限 disclosure")
    decided = table.input("decided", "处罚决定日期", "date(decided_on)")
    severity = table.input("severity", "严重程度", "calc.severity")
    for field in ("calc.regime", "calc.disclosed", "calc.min", "calc.max", "calc.trace.disclosure"):
        table.output(field, field.rsplit(".", 1)[-1])
    regimes = pack.disclosure.regimes
    for position, regime in reversed(list(enumerate(regimes))):
        since = f">= date({_quote(regime.effective_from)})" if position else ""
        for name, period in regime.periods.items():
            row_id = f"disclosure/{regime.id}/{name}"
            tests = {severity: _quote(name)}
            if since:
                tests[decided] = since
            table.row(
                row_id,
                regime.title,
                tests,
                {
                    "calc.regime": _quote(regime.id),
                    "calc.disclosed": "true" if period else "false",
                    "calc.min": str(period.min_months) if period else "null",
                    "calc.max": str(period.max_months) if period else "null",
                    "calc.trace.disclosure": _quote(row_id),
                },
            )
    return table


def _keyword_column(table: _Table, keyword_set: str) -> str:
    return table.input(
        f"set:{keyword_set}", f"关键词集 {keyword_set}", f"{_quote(keyword_set)} in keyword_sets"
    )


def _minimum_table(pack: RulePack) -> _Table | None:
    field_rules = [rule for rule in pack.disclosure.field_rules if rule.min_months is not None]
    if not field_rules:
        return None
    table = _Table("minimum", "领域最短公示期 minimum")
    table.output("calc.floor", "floor")
    table.output("calc.trace.minimum", "trace")
    for rule in sorted(field_rules, key=lambda rule: -(rule.min_months or 0)):
        column = _keyword_column(table, rule.keyword_set)
        table.row(
            f"field/{rule.id}",
            rule.title,
            {column: "true"},
            {"calc.floor": str(rule.min_months), "calc.trace.minimum": _quote(f"field/{rule.id}")},
        )
    return table


def _repairable_table(pack: RulePack) -> _Table:
    table = _Table("repairable", "可否提前修复 repairable")
    table.output("calc.repairable", "repairable")
    table.output("calc.trace.repairable", "trace")
    for rule in pack.disclosure.field_rules:
        if rule.repairable is False:
            column = _keyword_column(table, rule.keyword_set)
            table.row(
                f"field/{rule.id}",
                rule.title,
                {column: "true"},
                {"calc.repairable": "false", "calc.trace.repairable": _quote(f"field/{rule.id}")},
            )
    table.row(
        "repairable/default",
        "其他",
        {},
        {"calc.repairable": "true", "calc.trace.repairable": "'repairable/default'"},
    )
    return table


def _alert_table(pack: RulePack, position: int) -> _Table:
    alert = pack.alerts[position]
    table = _Table(f"alert-{position}", f"提示 {alert.id}")
    table.output(f"alerts.{alert.id}.offence", "offence")
    table.output(f"alerts.{alert.id}.field", "field")
    skips = {fact: table.input(f"skip:{fact}", fact, f"{fact} == true") for fact in alert.skip_when}
    for offence in alert.offences:
        tests = dict.fromkeys(skips.values(), "false")
        tests[_keyword_column(table, offence.keyword_set)] = "true"
        for excluded in offence.unless_keyword_sets:
            tests[_keyword_column(table, excluded)] = "false"
        for threshold in offence.thresholds:
            amount = table.input(
                f"amount:{threshold.field}", threshold.field, f"{threshold.field} ?? 0"
            )
            table.row(
                f"{alert.id}/{offence.id}/{threshold.field}",
                offence.title,
                {**tests, amount: f">= {_number(threshold.at_least)}"},
                {
                    f"alerts.{alert.id}.offence": _quote(offence.id),
                    f"alerts.{alert.id}.field": _quote(threshold.field),
                },
            )
    return table


_OUTCOME_EXPRESSIONS = (
    ("outcome.severity", "calc.severity"),
    ("outcome.regime", "calc.regime"),
    ("outcome.disclosed", "calc.disclosed"),
    ("outcome.disclosure_min_months", "calc.disclosed ? max([calc.min, calc.floor ?? 0]) : null"),
    ("outcome.disclosure_max_months", "calc.disclosed ? calc.max : null"),
    ("outcome.repairable", "calc.disclosed and calc.repairable"),
    ("outcome.trace", "calc.trace"),
)


def penalty_model(pack: RulePack) -> dict[str, Any]:
    """The single-penalty JDM: facts of one penalty in, its outcome and alerts out."""
    chain = [_severity_table(pack), _disclosure_table(pack)]
    minimum = _minimum_table(pack)
    if minimum is not None:
        chain.append(minimum)
    chain.append(_repairable_table(pack))
    nodes = [_io("input", "inputNode", 0, 200)]
    edges: list[tuple[str, str]] = []
    previous = "input"
    for step, table in enumerate(chain, start=1):
        nodes.append(table.node(step * 280, 200, pass_through=True))
        edges.append((previous, table.node_id))
        previous = table.node_id
    outcome_x = (len(chain) + 1) * 280
    nodes.append(
        {
            "id": "outcome",
            "name": "结果 outcome",
            "type": "expressionNode",
            "position": {"x": outcome_x, "y": 200},
            "content": {
                "expressions": [
                    {"id": f"outcome-{number}", "key": key, "value": value}
                    for number, (key, value) in enumerate(_OUTCOME_EXPRESSIONS)
                ],
                "passThrough": False,
                "executionMode": "single",
                "inputField": None,
                "outputPath": None,
            },
        }
    )
    edges.append((previous, "outcome"))
    output_x = outcome_x + 280
    nodes.append(_io("output", "outputNode", output_x, 200))
    edges.append(("outcome", "output"))
    for position in range(len(pack.alerts)):
        table = _alert_table(pack, position)
        nodes.append(table.node(output_x // 2, 420 + 160 * position, pass_through=False))
        edges.extend([("input", table.node_id), (table.node_id, "output")])
    return _graph(nodes, edges)


# ---------------------------------------------------------------- entity model


def _declare_inputs(table: _Table, pack: RulePack, rules: Sequence[Any]) -> None:
    """One input column per fact a rule tests (titled from the pack's aggregates or the
    built-in facts), and one for rules written as a free expression."""
    for rule in rules:
        for name, _ in rule.conditions:
            title = (
                pack.aggregates[name].title
                if name in pack.aggregates
                else _FACT_TITLES.get(name, name)
            )
            table.input(name, f"{name}（{title}）", name)
        if rule.expression is not None:
            table.input("expression", "条件表达式", None)


def _tests(table: _Table, rule: Any) -> dict[str, str]:
    """A rule's cells keyed by the table's input ids (its conditions, then its expression)."""
    tests = dict(rule.conditions)
    if rule.expression is not None:
        tests["expression"] = rule.expression
    return {table.input(key, key, key): cell for key, cell in tests.items()}


def _one_table_graph(table: _Table) -> dict[str, Any]:
    """input → the table → output."""
    nodes = [
        _io("input", "inputNode", 0, 200),
        table.node(300, 200, pass_through=False),
        _io("output", "outputNode", 600, 200),
    ]
    return _graph(nodes, [("input", table.node_id), (table.node_id, "output")])


def entity_model(pack: RulePack) -> dict[str, Any]:
    """The single-entity JDM: aggregate values in, the matching rules out.

    The pack's own ``rules_model`` when it has one; otherwise a ``collect`` table with
    one row per rule answering ``[{"rule_id": ...}, ...]``.
    """
    if pack.rules_model is not None:
        return json.loads(pack.rules_model)  # type: ignore[no-any-return]
    table = _Table("rules", "主体规则 entity rules", hit_policy="collect")
    table.output("rule_id", "rule_id")
    _declare_inputs(table, pack, pack.rules)
    for rule in pack.rules:
        table.row(rule.id, rule.title, _tests(table, rule), {"rule_id": _quote(rule.id)})
    return _one_table_graph(table)


def grading_model(pack: RulePack) -> dict[str, Any] | None:
    """The single-entity grading JDM: aggregate values in, ``{"grade", "grade_rule"}`` out.

    A ``first`` table with one row per grading rule in pack order and a last row without
    tests giving the default grade (``grade_rule: 'default'``).  None when the pack has no
    grading section.
    """
    grading = pack.grading
    if grading is None:
        return None
    table = _Table("grading", "信用等级 grading", hit_policy="first")
    table.output("grade", "grade")
    table.output("grade_rule", "grade_rule")
    _declare_inputs(table, pack, grading.rules)
    for rule in grading.rules:
        table.row(
            f"grade/{rule.id}",
            rule.title,
            _tests(table, rule),
            {"grade": _quote(rule.grade), "grade_rule": _quote(rule.id)},
        )
    table.row(
        "grade/default",
        "其他",
        {},
        {"grade": _quote(grading.default), "grade_rule": "'default'"},
    )
    return _one_table_graph(table)


def batch_model(key: str, input_field: str) -> dict[str, Any]:
    """A model running the model stored under ``key`` over the array ``input_field``.

    It answers ``{"results": [...]}``, one result per input item, in order.
    """
    return _graph(
        [
            _io("input", "inputNode", 0, 200),
            {
                "id": "batch",
                "name": f"loop over {input_field}",
                "type": "decisionNode",
                "position": {"x": 300, "y": 200},
                "content": {
                    "key": key,
                    "inputField": input_field,
                    "outputPath": "results",
                    "executionMode": "loop",
                    "passThrough": False,
                },
            },
            _io("output", "outputNode", 600, 200),
        ],
        [("input", "batch"), ("batch", "output")],
    )
