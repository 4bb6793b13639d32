"""The grading section and red lists in rule packs: loading, checking, evaluating."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import PackError, check_pack, load_pack
from tests.credit.conftest import default_content, write_pack


def problems(tmp_path: Path, content: dict) -> list[str]:
    with pytest.raises(PackError) as caught:
        load_pack(write_pack(tmp_path, content))
    return caught.value.problems


def test_default_pack_grades_and_its_examples_pass():
    pack = load_pack()
    assert pack.grading is not None
    assert pack.grading.public is False
    assert [row.grade for row in pack.grading.rules] == ["D", "C", "C", "C", "A"]
    assert pack.grading.default == "B"
    assert pack.incentive_lists == ("a_grade_clean", "customs_aeo", "tax_a")
    assert {m.kind for m in pack.measures_for("customs_aeo")} == {"incentive"}
    assert {m.kind for m in pack.measures_for("samr_serious")} == {"punishment"}
    assert check_pack(pack.path) == []


def test_first_hit_in_order_with_explanation():
    evaluator = load_pack().evaluator()
    listed_and_punished = {
        "uscc": "x",
        "aggregates": {"serious_listed": 1, "dishonesty_listed": 1, "serious_penalties_24m": 1},
    }
    [d, b] = evaluator.grade_entities(
        [listed_and_punished, {"uscc": "y", "aggregates": {"penalties_24m": 1, "clean_months": 3}}]
    )
    assert (d.grade, d.rule_id) == ("D", "serious-list")  # D row first, though C also holds
    assert d.explanation()["facts"] == {"serious_listed": 1}
    assert d.explanation()["when"] == "serious_listed >= 1"
    assert (b.grade, b.rule_id) == ("B", "default")
    assert b.explanation()["facts"]["penalties_24m"] == 1


def test_a_grade_feeds_the_red_list_rule():
    evaluator = load_pack().evaluator()
    clean = evaluator.evaluate_entity({"aggregates": {"clean_months": 36}})
    assert [d.rule_id for d in clean.decisions] == ["a-grade-clean"]
    assert clean.decisions[0].action == "activate"
    # 36 months clean but on the abnormal-operations list: C, no red list
    listed = evaluator.evaluate_entity(
        {"aggregates": {"clean_months": 36, "abnormal_listed": 1, "dishonesty_listed": 1}}
    )
    assert [d.rule_id for d in listed.decisions] == []
    assert evaluator.grade_entity({"aggregates": {"clean_months": 35}}).grade == "B"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["grading"]["rules"][0].update(grade="E"),
            "grading.rules[0].grade: must be one of the grades (A, B, C, D), not 'E'",
        ),
        (
            lambda c: c["grading"].update(default="F"),
            "grading.default: must be one of the grades (A, B, C, D), not 'F'",
        ),
        (
            lambda c: c["grading"]["rules"][1].update(when={"no_such_fact": ">= 1"}),
            "grading.rules[1].when.no_such_fact: unknown aggregate",
        ),
        (
            lambda c: c["grading"]["rules"][1].update(when={"penalties_24m": ">= >= 1"}),
            "grading.rules[1].when.penalties_24m: not a valid zen expression",
        ),
        (
            lambda c: c["grading"]["grades"].update(E="额外"),
            "grading.grades.E: unknown grade (allowed: A, B, C, D)",
        ),
        (
            lambda c: c["grading"].update(colour="red"),
            "grading.colour: unknown key",
        ),
        (
            lambda c: c["grading"]["rules"][0].pop("when"),
            "grading.rules[0]: missing required key 'when'",
        ),
        (
            lambda c: c["grading"].update(public="yes"),
            "grading.public: must be true or false, not 'yes'",
        ),
        (
            lambda c: c.pop("grading"),
            "rules[4].when.grade: unknown aggregate",  # the red-list rule tests the grade
        ),
        (
            lambda c: c["measures"][-1].update(lists=["samr_serious"]),
            "a incentive measure cannot be triggered by dishonesty list 'samr_serious'",
        ),
        (
            lambda c: c["measures"][0].update(lists=["tax_a"]),
            "a punishment measure cannot be triggered by incentive list 'tax_a'",
        ),
        (
            lambda c: c["aggregates"]["dishonesty_listed"].update(list_types=["nope"]),
            "aggregates.dishonesty_listed.list_types[0]: unknown list type 'nope'",
        ),
    ],
)
def test_bad_grading_and_incentive_sections_are_named(tmp_path, change, expected):
    content = default_content()
    change(content)
    found = problems(tmp_path, content)
    assert any(expected in problem for problem in found), found


def test_a_grading_example_that_fails_is_reported(tmp_path):
    content = default_content()
    content["grading"]["examples"][0]["grade"] = "C"  # the D example
    path = write_pack(tmp_path, content)
    found = check_pack(path)
    assert any(
        "grading.examples[0]" in p and "expected grade C, got D by serious-list" in p for p in found
    ), found


def test_a_pack_without_grading_still_loads_and_grades_nothing(tmp_path):
    content = default_content()
    content.pop("grading")
    content["rules"] = [r for r in content["rules"] if r["id"] != "a-grade-clean"]
    content["examples"] = [e for e in content["examples"] if "entity" not in e]
    pack = load_pack(write_pack(tmp_path, content))
    assert pack.grading is None
    assert pack.evaluator().grade_entities([{"aggregates": {}}]) == []
