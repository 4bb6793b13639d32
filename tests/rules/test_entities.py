"""Entity rules under the default pack, expression rules, and zen JSON model packs."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import (
    DEFAULT_PACK_PATH,
    PACKS_DIR,
    EntityOutcome,
    Evaluator,
    FactsError,
    check_pack,
    load_pack,
)
from rules.compile import entity_model


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return load_pack(DEFAULT_PACK_PATH).evaluator()


def entity(party_type: str = "organisation", **aggregates: Any) -> dict[str, Any]:
    return {
        "uscc": "914403001922038216",
        "as_of": "2026-11-29",
        "party_type": party_type,
        "aggregates": {
            name: value if isinstance(value, dict) else {"value": value, "ids": []}
            for name, value in aggregates.items()
        },
    }


def fired(evaluator: Evaluator, **aggregates: Any) -> list[str]:
    [result] = evaluator.evaluate_entities([entity(**aggregates)])
    return [decision.rule_id for decision in result.decisions]


@pytest.mark.parametrize(
    ("rule_id", "fires", "misses"),
    [
        ("heavy-penalty", {"serious_ip_penalties": 1}, {"serious_ip_penalties": 0}),
        # two IP penalties 24 months apart → 2 in the window; 24 months + 1 day → 1
        ("repeat-infringement", {"ip_penalties_in_window": 2}, {"ip_penalties_in_window": 1}),
        ("annual-report", {"annual_report_penalties": 1}, {"annual_report_penalties": 0}),
        ("abnormal-three-years", {"abnormal_held_long": 1}, {"abnormal_held_long": 0}),
    ],
)
def test_each_default_rule_fires_and_just_misses(
    evaluator: Evaluator, rule_id: str, fires: dict[str, int], misses: dict[str, int]
) -> None:
    assert fired(evaluator, **fires) == [rule_id]
    assert fired(evaluator, **misses) == []


def test_decision_carries_action_list_basis_and_trace(evaluator: Evaluator) -> None:
    [result] = evaluator.evaluate_entities(
        [
            entity(
                serious_ip_penalties={"value": 1, "ids": [42]},
                ip_penalties_in_window={"value": 2, "ids": [42, 17]},
                annual_report_penalties={"value": 1, "ids": [99]},
            )
        ]
    )
    assert isinstance(result, EntityOutcome)
    assert result.uscc == "914403001922038216"
    by_rule = {decision.rule_id: decision for decision in result.decisions}
    assert list(by_rule) == ["heavy-penalty", "repeat-infringement", "annual-report"]
    repeat = by_rule["repeat-infringement"]
    assert (repeat.action, repeat.list_type, repeat.basis_ids) == (
        "propose",
        "ip_serious",
        (17, 42),
    )
    assert repeat.rule_title == "24个月内两次以上知识产权侵权行政处罚"
    assert repeat.trace == {
        "rule": "repeat-infringement",
        "when": "ip_penalties_in_window >= 2",
        "facts": {"ip_penalties_in_window": 2},
        "basis": "ip_penalties_in_window",
    }
    annual = by_rule["annual-report"]
    assert (annual.action, annual.list_type, annual.basis_ids) == (
        "activate",
        "abnormal_operations",
        (99,),
    )
    assert json.dumps(repeat.trace)  # JSON-able


def test_many_entities_in_one_call_keep_order(evaluator: Evaluator) -> None:
    facts = [entity(serious_ip_penalties=n % 2) | {"uscc": f"U{n}"} for n in range(5000)]
    results = evaluator.evaluate_entities(facts)
    assert [r.uscc for r in results] == [f"U{n}" for n in range(5000)]
    assert [bool(r.decisions) for r in results] == [n % 2 == 1 for n in range(5000)]


def test_missing_aggregates_count_as_zero_and_bare_numbers_are_accepted(
    evaluator: Evaluator,
) -> None:
    assert evaluator.evaluate_entities([{"uscc": "X", "aggregates": {}}])[0].decisions == ()
    outcome = evaluator.evaluate_entities([{"uscc": "X", "aggregates": {"abnormal_held_long": 1}}])[
        0
    ]
    assert [d.rule_id for d in outcome.decisions] == ["abnormal-three-years"]
    assert outcome.decisions[0].basis_ids == ()


def test_can_skip_only_all_zero_facts(evaluator: Evaluator) -> None:
    assert evaluator.can_skip(entity())
    assert evaluator.can_skip(entity(serious_ip_penalties=0, ip_penalties_in_window=0))
    assert evaluator.can_skip({"uscc": "X"})
    assert not evaluator.can_skip(entity(ip_penalties_in_window=1))


def test_unknown_aggregate_is_a_contract_error(evaluator: Evaluator) -> None:
    with pytest.raises(FactsError, match="unknown aggregate 'serious_penalties'"):
        evaluator.evaluate_entities([entity(serious_penalties=1)])


def test_repeat36_pack_decides_on_the_same_aggregate_values() -> None:
    repeat36 = load_pack(PACKS_DIR / "repeat36.yaml").evaluator()
    assert fired(repeat36, ip_penalties_in_window=2) == ["repeat-infringement"]
    assert fired(repeat36, ip_penalties_in_window=1) == []


def write(tmp_path: Path, content: dict[str, Any], name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def default_content() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PACK_PATH.read_text(encoding="utf-8"))


def test_expression_conditions(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][1]["when"] = "ip_penalties_in_window >= 2 or serious_ip_penalties >= 3"
    content["rules"][1]["examples"].append(
        {"name": "三次严重侵权", "aggregates": {"serious_ip_penalties": 3}, "fires": True}
    )
    path = write(tmp_path, content)
    assert check_pack(path) == []
    evaluator = load_pack(path).evaluator()
    assert fired(evaluator, serious_ip_penalties=3) == ["heavy-penalty", "repeat-infringement"]
    assert fired(evaluator, serious_ip_penalties=0, ip_penalties_in_window=1) == []
    [result] = evaluator.evaluate_entities(
        [entity(serious_ip_penalties={"value": 3, "ids": [5, 6, 7]})]
    )
    repeat = result.decisions[1]
    assert repeat.basis_ids == ()  # the basis aggregate stays ip_penalties_in_window
    assert repeat.trace["when"] == "ip_penalties_in_window >= 2 or serious_ip_penalties >= 3"
    assert repeat.trace["facts"] == {"serious_ip_penalties": 3, "ip_penalties_in_window": 0}


def test_party_type_conditions(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][2]["when"] = {
        "annual_report_penalties": ">= 1",
        "party_type": "'organisation'",
    }
    evaluator = load_pack(write(tmp_path, content)).evaluator()
    [company, person] = evaluator.evaluate_entities(
        [
            entity(annual_report_penalties=1),
            entity("individual_business", annual_report_penalties=1),
        ]
    )
    assert [d.rule_id for d in company.decisions] == ["annual-report"]
    assert person.decisions == ()


def model_pack(tmp_path: Path, model: dict[str, Any]) -> Path:
    """The default pack with its entity rules decided by a zen JSON model file."""
    (tmp_path / "rules.json").write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    content = default_content()
    content["name"] = "jdm"
    content["rules_model"] = "rules.json"
    for rule in content["rules"]:
        del rule["when"]
    return write(tmp_path, content)


def test_a_zen_json_model_pack_decides_like_the_yaml(tmp_path: Path, evaluator: Evaluator) -> None:
    shutil.copy(PACKS_DIR / "default.entity-rules.json", tmp_path / "drawn.json")
    model = json.loads((tmp_path / "drawn.json").read_text(encoding="utf-8"))
    path = model_pack(tmp_path, model)
    assert check_pack(path) == []
    pack = load_pack(path)
    assert pack.rules_model is not None
    from_model = pack.evaluator()
    cases = [
        {"serious_ip_penalties": 1, "ip_penalties_in_window": 2},
        {"ip_penalties_in_window": 1},
        {"annual_report_penalties": 1, "abnormal_held_long": 1},
        {},
    ]
    for aggregates in cases:
        assert fired(from_model, **aggregates) == fired(evaluator, **aggregates)
    [result] = from_model.evaluate_entities([entity(serious_ip_penalties={"value": 1, "ids": [3]})])
    assert result.decisions[0].basis_ids == (3,)
    assert result.decisions[0].trace["when"] == "(rules_model)"


def test_model_content_is_part_of_the_version(tmp_path: Path) -> None:
    model = entity_model(load_pack(DEFAULT_PACK_PATH))
    first = load_pack(model_pack(tmp_path, model)).version
    model["nodes"][1]["content"]["rules"][0]["rules-in0"] = ">= 2"
    assert load_pack(model_pack(tmp_path, model)).version != first


def test_model_answering_an_unknown_rule_is_reported(tmp_path: Path) -> None:
    model = entity_model(load_pack(DEFAULT_PACK_PATH))
    model["nodes"][1]["content"]["rules"][0]["rules-out0"] = "'heavy'"
    problems = check_pack(model_pack(tmp_path, model))
    assert any("'rule_id' must name a rule of pack jdm" in problem for problem in problems)


def test_rules_model_and_when_together_are_refused(tmp_path: Path) -> None:
    path = model_pack(tmp_path, entity_model(load_pack(DEFAULT_PACK_PATH)))
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["rules"][0]["when"] = {"serious_ip_penalties": ">= 1"}
    problems = check_pack(write(tmp_path, content))
    assert any("rules[0].when: not allowed" in problem for problem in problems)


def test_invalid_model_file_is_reported(tmp_path: Path) -> None:
    path = model_pack(tmp_path, {"nodes": [{"id": "x", "type": "whatever"}], "edges": []})
    [problem] = check_pack(path)
    assert "rules_model:" in problem
    assert "not a valid zen model" in problem


def test_one_evaluator_serves_several_threads() -> None:
    shared = load_pack(DEFAULT_PACK_PATH).evaluator()
    shared.memo_size = 50  # force memo swaps while other threads read
    batches = [
        [entity(ip_penalties_in_window=(n * 7 + b) % 4) for n in range(300)] for b in range(8)
    ]
    expected = [[len(r.decisions) for r in shared.evaluate_entities(batch)] for batch in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(shared.evaluate_entities, batches))
    assert [[len(r.decisions) for r in results] for results in got] == expected
