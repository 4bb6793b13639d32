"""Evaluation of penalties and entities on zen-engine.

Facts are plain dicts (the registry builds them from its records and its SQL
aggregates); outcomes are frozen dataclasses. One :class:`Evaluator` holds a pack's
compiled zen models and answers whole batches: each engine call runs a single-item
model in loop mode over up to ``batch_size`` items, and items whose engine-relevant
facts repeat are answered from a memo instead of the engine.

Penalty facts (one dict per penalty)::

    penalty_id, decision_number, decided_on ("YYYY-MM-DD" or a date), party_type
    ("organisation" | "natural_person" | "individual_business"), categories (list of
    2021 category names), fine_wan, confiscated_wan, business_volume_wan,
    illegal_gains_wan (float, Decimal or None), aggravated, transferred_to_police
    (bool), violation_type (str), keyword_sets (matched set names; computed from
    violation_type when missing or None)

Entity facts (one dict per entity)::

    uscc, as_of, party_type, aggregates: {name: {"value": number, "ids": [int, ...]}}

An aggregate left out counts as 0 with no ids; a bare number is accepted for
``{"value": number, "ids": []}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import zen

from rules.compile import (
    ENTITY_MODEL_KEY,
    GRADING_MODEL_KEY,
    PENALTY_MODEL_KEY,
    batch_model,
    entity_model,
    grading_model,
    penalty_model,
)
from rules.errors import FactsError, ModelOutputError
from rules.keywords import match_keyword_sets
from rules.model import PARTY_TYPES, Action, Rule, RulePack
from rules.pack_rules import expression_names


@dataclass(frozen=True)
class AlertHit:
    """An alert raised by a penalty, and the threshold that raised it.

    ``threshold`` e.g. ``{"offence": "trademark_counterfeit", "offence_title": "假冒注册商标",
    "field": "business_volume_wan", "threshold": 5, "value": 7.2}``.
    """

    kind: str
    rule_id: str
    title: str
    threshold: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class _PenaltyResult:
    """The engine's answer for one distinct penalty context (memoised)."""

    severity: str
    disclosed: bool
    disclosure_min_months: int | None
    disclosure_max_months: int | None
    repairable: bool
    regime: str
    alerts: tuple[AlertHit, ...]
    trace: dict[str, Any] = field(hash=False)


@dataclass(frozen=True, kw_only=True)
class PenaltyOutcome(_PenaltyResult):
    """What the pack decides about one penalty: severity, disclosure window, alerts.

    ``disclosure_min_months`` is the minimum before credit repair (信用修复),
    ``disclosure_max_months`` the maximum disclosure period, both None when the
    penalty is not disclosed. ``trace`` names the table rows that decided.
    """

    penalty_id: int | None


@dataclass(frozen=True)
class Decision:
    """A rule fired for an entity: propose or activate an entry on ``list_type``.

    ``basis_ids`` are the ids (penalties or list entries) of the aggregate the rule
    names as its basis — the records that justify the entry.
    """

    rule_id: str
    rule_title: str
    action: Action
    list_type: str
    basis_ids: tuple[int, ...]
    trace: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class EntityOutcome:
    """Every decision the entity rules make for one entity (empty: none)."""

    uscc: str | None
    decisions: tuple[Decision, ...]


@dataclass(frozen=True)
class GradeOutcome:
    """An entity's credit grade and why: the grading row that matched (``default`` when
    none did), its condition and the facts it tested."""

    uscc: str | None
    grade: str
    title: str
    rule_id: str
    rule_title: str
    when: str
    facts: dict[str, Any] = field(hash=False)

    def explanation(self) -> dict[str, Any]:
        """The stored explanation: rule, condition and facts (plain JSON)."""
        return {
            "grade_title": self.title,
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "when": self.when,
            "facts": dict(self.facts),
        }


_V = TypeVar("_V")


def _keep(memo: dict[Any, _V], keys: Iterable[Any]) -> dict[Any, _V]:
    """A new memo holding only ``memo``'s entries for ``keys``: what a call that is
    replacing a full memo still has to read."""
    return {key: memo[key] for key in keys if key in memo}


def _amount(value: Any, penalty_id: Any, name: str) -> float | None:
    """An amount as float for the engine (Decimal is converted only here)."""
    if value is None or type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FactsError(f"penalty {penalty_id}: {name} must be a number or None, not {value!r}")
    return float(value)


def _number(value: float) -> int | float:
    """Whole numbers as int, for readable traces."""
    return int(value) if value.is_integer() else value


def _day(value: Any, what: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise FactsError(f"{what}: decided_on must be a date or 'YYYY-MM-DD', not {value!r}")


def _engine_error(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    try:
        detail = json.loads(text)
    except ValueError:
        return text
    return str(detail.get("source", detail)) if isinstance(detail, dict) else text


class Evaluator:
    """A pack's compiled zen models, ready to evaluate penalties and entities.

    Create one per process and reuse it (compiling takes milliseconds; evaluating is
    tens of microseconds per item in batches). It is safe to share between threads:
    the zen decisions are immutable and the memos are dicts updated with single,
    GIL-atomic assignments. zen holds the GIL while it evaluates, so threads do not add
    throughput: bulk runs use processes. An evaluator cannot be pickled (it holds
    engine handles); a worker process builds its own from the pack, which pickles.

    ``memo_size``: entries each memo holds before it starts afresh.  10,000 answer the
    repeats of real data as well as 20,000 did (``bench/rules_engine_bench.py``:
    17–19 µs a penalty either way) for 14 MB less a process (99 against 113 MB draining
    100,000 queued subjects) — and an import's rules run in two such processes.
    """

    def __init__(self, pack: RulePack, *, batch_size: int = 2000, memo_size: int = 10_000) -> None:
        self.pack = pack
        self.batch_size = batch_size
        self.memo_size = memo_size
        self.penalty_model = penalty_model(pack)
        self.entity_model = entity_model(pack)
        self.grading_model = grading_model(pack)
        content = {PENALTY_MODEL_KEY: self.penalty_model, ENTITY_MODEL_KEY: self.entity_model}
        if self.grading_model is not None:
            content[GRADING_MODEL_KEY] = self.grading_model
        engine = zen.ZenEngine({"loader": {"type": "static", "content": content}})
        self._engine = engine
        self._penalty_batch = engine.create_decision(
            json.dumps(batch_model(PENALTY_MODEL_KEY, "penalties"), ensure_ascii=False)
        )
        self._entity_batch = engine.create_decision(
            json.dumps(batch_model(ENTITY_MODEL_KEY, "entities"), ensure_ascii=False)
        )
        self._grading_batch = (
            None
            if self.grading_model is None
            else engine.create_decision(
                json.dumps(batch_model(GRADING_MODEL_KEY, "entities"), ensure_ascii=False)
            )
        )
        self._grade_memo: dict[tuple[Any, ...], tuple[str, str]] = {}
        grading = pack.grading
        # per grading row: the aggregates its explanation reports
        self._grade_traits: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        if grading is not None:
            tested_by_any: list[str] = []
            for row in grading.rules:
                names = tuple(
                    name
                    for name in pack.aggregates
                    if name in row.references
                    or (row.expression is not None and name in expression_names(row.expression))
                )
                tested_by_any.extend(n for n in names if n not in tested_by_any)
                self._grade_traits[row.id] = (row.title, row.when, names)
            self._grade_traits["default"] = (
                f"其他（默认等级 {grading.default}）",
                "no grading row matched",
                tuple(n for n in pack.aggregates if n in tested_by_any),
            )
        self._rules = {rule.id: rule for rule in pack.rules}
        # per rule: the condition as text and the aggregates its trace reports
        self._rule_traits = {
            rule.id: (
                rule.when or "(rules_model)",
                tuple(
                    name
                    for name in pack.aggregates
                    if name in rule.references
                    or (rule.expression is not None and name in expression_names(rule.expression))
                )
                or tuple(pack.aggregates),
            )
            for rule in pack.rules
        }
        self._aggregate_names = tuple(pack.aggregates)
        self._aggregate_index = {name: index for index, name in enumerate(self._aggregate_names)}
        # only what the penalty model reads goes into its context (and its memo key)
        self._penalty_sets = frozenset(
            {rule.keyword_set for rule in pack.disclosure.field_rules}
            | {
                keyword_set
                for alert in pack.alerts
                for offence in alert.offences
                for keyword_set in (offence.keyword_set, *offence.unless_keyword_sets)
            }
        )
        self._alert_amounts = tuple(
            sorted(
                {
                    threshold.field
                    for alert in pack.alerts
                    for offence in alert.offences
                    for threshold in offence.thresholds
                }
                - {"fine_wan"}
            )
        )
        self._regime_starts = tuple(regime.effective_from for regime in pack.disclosure.regimes)
        self._offence_sets = frozenset(
            offence.keyword_set for alert in pack.alerts for offence in alert.offences
        )
        self._penalty_memo: dict[tuple[Any, ...], _PenaltyResult] = {}
        self._keyword_memo: dict[str, frozenset[str]] = {}
        self._entity_memo: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._zero_fires = {
            party_type: self._fired_rules([self._entity_key(party_type, {})])[0]
            for party_type in PARTY_TYPES
        }

    # ------------------------------------------------------------- penalties

    def _regime_bucket(self, decided_on: str) -> str:
        """The start of the regime period ``decided_on`` falls in (part of the memo key)."""
        bucket = self._regime_starts[0]
        for start in self._regime_starts:
            if start <= decided_on:
                bucket = start
        return bucket

    def _penalty_key(self, facts: Mapping[str, Any]) -> tuple[Any, ...]:
        """The engine-relevant facts of a penalty, as a hashable memo key.

        Only what the penalty model reads is kept: the decision date becomes the start
        of its disclosure regime (the model decides by ``date >= start``, so any date
        in a regime's period is answered alike), keyword sets narrow to those the
        model tests, and the alert amounts are dropped when no alert offence matches.
        """
        penalty_id = facts.get("penalty_id")
        party_type = facts.get("party_type")
        if party_type not in PARTY_TYPES:
            raise FactsError(
                f"penalty {penalty_id}: party_type must be one of {', '.join(PARTY_TYPES)}, "
                f"not {party_type!r}"
            )
        decided_on = _day(facts.get("decided_on"), f"penalty {penalty_id}")
        categories = facts.get("categories") or ()
        if isinstance(categories, str) or not all(isinstance(c, str) for c in categories):
            raise FactsError(
                f"penalty {penalty_id}: categories must be a list of category names, "
                f"not {categories!r}"
            )
        keyword_sets = facts.get("keyword_sets")
        if keyword_sets is None:
            keyword_sets = self._match(facts.get("violation_type"))
        elif isinstance(keyword_sets, str):
            raise FactsError(
                f"penalty {penalty_id}: keyword_sets must be a list of set names, "
                f"not {keyword_sets!r}"
            )
        relevant_sets = tuple(sorted(self._penalty_sets.intersection(keyword_sets)))
        if self._offence_sets.isdisjoint(relevant_sets):
            amounts: tuple[float | None, ...] = (None,) * len(self._alert_amounts)
        else:
            amounts = tuple(
                _amount(facts.get(name), penalty_id, name) for name in self._alert_amounts
            )
        return (
            party_type,
            self._regime_bucket(decided_on),
            tuple(categories),
            _amount(facts.get("fine_wan"), penalty_id, "fine_wan"),
            bool(facts.get("aggravated")),
            bool(facts.get("transferred_to_police")),
            relevant_sets,
            *amounts,
        )

    def _penalty_context(self, key: tuple[Any, ...]) -> dict[str, Any]:
        """The penalty model's input for a memo key (see :meth:`_penalty_key`)."""
        party_type, decided_on, categories, fine, aggravated, transferred, sets, *amounts = key
        context: dict[str, Any] = {
            "party_type": party_type,
            "decided_on": decided_on,
            "categories": list(categories),
            "fine_wan": fine,
            "aggravated": aggravated,
            "transferred_to_police": transferred,
            "keyword_sets": list(sets),
        }
        context.update(zip(self._alert_amounts, amounts, strict=True))
        return context

    def _match(self, violation_type: str | None) -> frozenset[str]:
        """:func:`match_keyword_sets` memoised on the text (violation types repeat)."""
        text = violation_type or ""
        found = self._keyword_memo.get(text)
        if found is None:
            if len(self._keyword_memo) >= self.memo_size:
                self._keyword_memo = {}
            found = self._keyword_memo[text] = match_keyword_sets(self.pack, text)
        return found

    def _alert_hits(
        self, answer: Mapping[str, Any], context: Mapping[str, Any]
    ) -> tuple[AlertHit, ...]:
        if not answer:
            return ()
        hits = []
        for alert in self.pack.alerts:
            hit = answer.get(alert.id)
            if not hit:
                continue
            offence = alert.offence(hit["offence"])
            threshold = next(t for t in offence.thresholds if t.field == hit["field"])
            hits.append(
                AlertHit(
                    kind=alert.kind,
                    rule_id=alert.id,
                    title=alert.title,
                    threshold={
                        "offence": offence.id,
                        "offence_title": offence.title,
                        "field": threshold.field,
                        "threshold": threshold.at_least,
                        "value": context.get(threshold.field),
                    },
                )
            )
        return tuple(hits)

    def _penalty_result(
        self, answer: Mapping[str, Any], context: Mapping[str, Any]
    ) -> _PenaltyResult:
        outcome = answer.get("outcome") or {}
        try:
            disclosed = bool(outcome["disclosed"])
            low, high = outcome.get("disclosure_min_months"), outcome.get("disclosure_max_months")
            trace = dict(outcome.get("trace") or {})
            alerts = self._alert_hits(answer.get("alerts") or {}, context)
            trace["alerts"] = {
                hit.rule_id: f"{hit.rule_id}/{hit.threshold['offence']}/{hit.threshold['field']}"
                for hit in alerts
            }
            return _PenaltyResult(
                severity=str(outcome["severity"]),
                disclosed=disclosed,
                disclosure_min_months=int(low) if disclosed and low is not None else None,
                disclosure_max_months=int(high) if disclosed and high is not None else None,
                repairable=bool(outcome.get("repairable")),
                regime=str(outcome["regime"]),
                alerts=alerts,
                trace=trace,
            )
        except (KeyError, TypeError, ValueError, StopIteration) as exc:
            raise ModelOutputError(
                f"the penalty model answered outside its contract: {answer!r}"
            ) from exc

    def evaluate_penalties(self, facts: Iterable[Mapping[str, Any]]) -> list[PenaltyOutcome]:
        """Severity, disclosure window, repairability and alerts of each penalty, in order."""
        facts = list(facts)
        keys = [self._penalty_key(fact) for fact in facts]
        memo = self._penalty_memo  # a local reference: another thread may swap the memo
        pending = [key for key in dict.fromkeys(keys) if key not in memo]
        if pending:
            contexts = [self._penalty_context(key) for key in pending]
            answers = self._run(self._penalty_batch, "penalties", contexts)
            if len(memo) + len(pending) > self.memo_size:
                # Start afresh, keeping the entries this call still reads.
                memo = self._penalty_memo = _keep(memo, keys)
            for key, context, answer in zip(pending, contexts, answers, strict=True):
                memo[key] = self._penalty_result(answer, context)
        outcomes = []
        for fact, key in zip(facts, keys, strict=True):
            result = memo[key]
            outcomes.append(PenaltyOutcome(penalty_id=fact.get("penalty_id"), **vars(result)))
        return outcomes

    def evaluate_penalty(self, facts: Mapping[str, Any]) -> PenaltyOutcome:
        """:meth:`evaluate_penalties` for one penalty."""
        return self.evaluate_penalties([facts])[0]

    # -------------------------------------------------------------- entities

    def _values(self, facts: Mapping[str, Any]) -> dict[str, tuple[float, tuple[int, ...]]]:
        """Each aggregate handed in, as (value, ids); unknown names are a contract error."""
        aggregates = facts.get("aggregates") or {}
        if not isinstance(aggregates, Mapping):
            raise FactsError(f"entity {facts.get('uscc')}: aggregates must be a mapping")
        values: dict[str, tuple[float, tuple[int, ...]]] = {}
        for name, item in aggregates.items():
            if isinstance(item, dict) or isinstance(item, Mapping):  # noqa: SIM101 - dict first: fast
                value, ids = item.get("value", 0), item.get("ids") or ()
            else:
                value, ids = item, ()
            if (
                name not in self._aggregate_index
                or isinstance(value, bool)
                or not isinstance(value, int | float | Decimal)
            ):
                raise FactsError(self._bad_aggregate(facts, name, value))
            values[name] = (float(value), tuple(ids))
        return values

    def _bad_aggregate(self, facts: Mapping[str, Any], name: str, value: Any) -> str:
        if name not in self._aggregate_index:
            known = ", ".join(self._aggregate_names)
            return (
                f"entity {facts.get('uscc')}: unknown aggregate {name!r} "
                f"(pack {self.pack.name} declares {known})"
            )
        return f"entity {facts.get('uscc')}: aggregate {name} must be a number, not {value!r}"

    def _entity_key(
        self, party_type: Any, values: Mapping[str, tuple[float, tuple[int, ...]]]
    ) -> tuple[Any, ...]:
        return (
            party_type,
            *(values[name][0] if name in values else 0.0 for name in self._aggregate_names),
        )

    def _fired_rules(self, keys: Sequence[tuple[Any, ...]]) -> list[tuple[str, ...]]:
        """The rule ids each entity key fires, in pack order (memoised)."""
        memo = self._entity_memo  # a local reference: another thread may swap the memo
        pending = list(dict.fromkeys(key for key in keys if key not in memo))
        if pending:
            contexts = [
                {"party_type": key[0], **dict(zip(self._aggregate_names, key[1:], strict=True))}
                for key in pending
            ]
            if self._grading_batch is not None:
                for context, (grade, _) in zip(contexts, self._grades(pending), strict=True):
                    context["grade"] = grade
            answers = self._run(self._entity_batch, "entities", contexts)
            if len(memo) + len(pending) > self.memo_size:
                # Start afresh, keeping the entries this call still reads.
                memo = self._entity_memo = _keep(memo, keys)
            for key, answer in zip(pending, answers, strict=True):
                memo[key] = self._rule_ids(answer)
        return [memo[key] for key in keys]

    def _grades(self, keys: Sequence[tuple[Any, ...]]) -> list[tuple[str, str]]:
        """(grade, grading row id) for each entity key (memoised)."""
        memo = self._grade_memo  # a local reference: another thread may swap the memo
        pending = list(dict.fromkeys(key for key in keys if key not in memo))
        if pending:
            contexts = [
                {"party_type": key[0], **dict(zip(self._aggregate_names, key[1:], strict=True))}
                for key in pending
            ]
            answers = self._run(self._grading_batch, "entities", contexts)
            if len(memo) + len(pending) > self.memo_size:
                # Start afresh, keeping the entries this call still reads.
                memo = self._grade_memo = _keep(memo, keys)
            grades = self.pack.grading.titles if self.pack.grading else {}
            for key, answer in zip(pending, answers, strict=True):
                grade = answer.get("grade") if isinstance(answer, Mapping) else None
                row = answer.get("grade_rule") if isinstance(answer, Mapping) else None
                if grade not in grades or row not in self._grade_traits:
                    raise ModelOutputError(f"the grading model answered {answer!r}")
                memo[key] = (str(grade), str(row))
        return [memo[key] for key in keys]

    def grade_entities(self, facts: Iterable[Mapping[str, Any]]) -> list[GradeOutcome]:
        """The credit grade of each entity, in order (empty when the pack has no grading)."""
        grading = self.pack.grading
        if grading is None:
            return []
        facts = list(facts)
        values = [self._values(fact) for fact in facts]
        keys = [
            self._entity_key(fact.get("party_type", "organisation"), value)
            for fact, value in zip(facts, values, strict=True)
        ]
        outcomes = []
        for fact, value, (grade, row) in zip(facts, values, self._grades(keys), strict=True):
            title, when, tested = self._grade_traits[row]
            outcomes.append(
                GradeOutcome(
                    uscc=fact.get("uscc"),
                    grade=grade,
                    title=grading.title(grade),
                    rule_id=row,
                    rule_title=title,
                    when=when,
                    facts={
                        name: _number(value[name][0]) if name in value else 0 for name in tested
                    },
                )
            )
        return outcomes

    def grade_entity(self, facts: Mapping[str, Any]) -> GradeOutcome | None:
        """:meth:`grade_entities` for one entity (None without grading)."""
        found = self.grade_entities([facts])
        return found[0] if found else None

    def _rule_ids(self, answer: Any) -> tuple[str, ...]:
        rows = answer.get("decisions") if isinstance(answer, Mapping) else answer
        if rows is None and isinstance(answer, Mapping):
            # a first-hit table answers one row, or {} when nothing matched
            rows = [answer] if "rule_id" in answer else [] if not answer else None
        if not isinstance(rows, list):
            raise ModelOutputError(
                "the entity rules model must answer a list of {'rule_id': ...} "
                f"(or {{'decisions': [...]}}), not {answer!r}"
            )
        fired = set()
        for row in rows:
            rule_id = row.get("rule_id") if isinstance(row, Mapping) else None
            if rule_id not in self._rules:
                raise ModelOutputError(
                    f"the entity rules model answered {row!r}: 'rule_id' must name a rule of pack "
                    f"{self.pack.name} ({', '.join(self._rules)})"
                )
            fired.add(rule_id)
        return tuple(rule.id for rule in self.pack.rules if rule.id in fired)

    def _decision(
        self, rule: Rule, values: Mapping[str, tuple[float, tuple[int, ...]]]
    ) -> Decision:
        when, tested = self._rule_traits[rule.id]
        basis = values.get(rule.basis)
        return Decision(
            rule_id=rule.id,
            rule_title=rule.title,
            action=rule.action,
            list_type=rule.list_type,
            basis_ids=tuple(sorted(basis[1])) if basis else (),
            trace={
                "rule": rule.id,
                "when": when,
                "facts": {
                    name: _number(values[name][0]) if name in values else 0 for name in tested
                },
                "basis": rule.basis,
            },
        )

    def evaluate_entities(self, facts: Iterable[Mapping[str, Any]]) -> list[EntityOutcome]:
        """The decisions the entity rules make for each entity, in order."""
        facts = list(facts)
        values = [self._values(fact) for fact in facts]
        keys = [
            self._entity_key(fact.get("party_type", "organisation"), value)
            for fact, value in zip(facts, values, strict=True)
        ]
        fired = self._fired_rules(keys)
        return [
            EntityOutcome(
                uscc=fact.get("uscc"),
                decisions=tuple(
                    self._decision(self._rules[rule_id], value) for rule_id in rule_ids
                ),
            )
            for fact, value, rule_ids in zip(facts, values, fired, strict=True)
        ]

    def evaluate_entity(self, facts: Mapping[str, Any]) -> EntityOutcome:
        """:meth:`evaluate_entities` for one entity."""
        return self.evaluate_entities([facts])[0]

    def can_skip(self, entity_facts: Mapping[str, Any]) -> bool:
        """True when every aggregate is zero and such an entity provably gets no decision.

        The all-zero case was evaluated once per party type when the evaluator was
        built; bulk runs skip those entities without calling the engine.
        """
        for item in (entity_facts.get("aggregates") or {}).values():
            value = item.get("value", 0) if isinstance(item, Mapping) else item
            if value:
                return False
        party_type = entity_facts.get("party_type", "organisation")
        if party_type not in self._zero_fires:
            self._zero_fires[party_type] = self._fired_rules([self._entity_key(party_type, {})])[0]
        return not self._zero_fires[party_type]

    # ---------------------------------------------------------------- engine

    def _run(self, decision: Any, field_name: str, contexts: list[dict[str, Any]]) -> list[Any]:
        answers: list[Any] = []
        for start in range(0, len(contexts), self.batch_size):
            chunk = contexts[start : start + self.batch_size]
            try:
                response = decision.evaluate({field_name: chunk})
            except Exception as exc:  # zen raises plain exceptions carrying JSON
                raise ModelOutputError(
                    f"zen could not evaluate the {field_name}: {_engine_error(exc)}"
                ) from exc
            results = response["result"].get("results")
            if not isinstance(results, list) or len(results) != len(chunk):
                raise ModelOutputError(
                    f"zen answered {len(results or [])} results for {len(chunk)} {field_name}"
                )
            answers.extend(results)
        return answers
