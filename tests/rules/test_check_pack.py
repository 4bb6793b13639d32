"""check_pack: the shipped packs are clean; broken packs are reported clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import DEFAULT_PACK_PATH, PACKS_DIR, check_pack
from rules.__main__ import main


def default_content() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PACK_PATH.read_text(encoding="utf-8"))


def check(tmp_path: Path, content: dict[str, Any]) -> list[str]:
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return check_pack(path)


def report(tmp_path: Path, content: dict[str, Any]) -> str:
    """What :func:`check` finds, one problem a line."""
    return "\n".join(check(tmp_path, content))


@pytest.mark.parametrize("name", ["default.yaml", "repeat36.yaml"])
def test_shipped_packs_are_clean(name: str) -> None:
    assert check_pack(PACKS_DIR / name) == []


def test_unknown_list_id(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][0]["then"] = {"propose": "samr_blacklist"}
    [problem] = check(tmp_path, content)
    assert problem.endswith(
        "pack.yaml: rules[0].then.propose: unknown list type 'samr_blacklist' "
        "(known: samr_serious, ip_serious, abnormal_operations, a_grade_clean, customs_aeo, tax_a)"
    )


def test_unknown_aggregate_in_an_expression(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][0]["when"] = "serious_ip >= 1"
    content["rules"][0]["basis"] = "serious_ip_penalties"
    problems = report(tmp_path, content)
    assert "rules[0].when: names unknown aggregate 'serious_ip'" in problems


def test_failing_rule_example(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][1]["when"] = {"ip_penalties_in_window": ">= 3"}
    problems = check(tmp_path, content)
    assert problems == [
        f"{tmp_path / 'pack.yaml'}: rules[1] (repeat-infringement).examples[0] "
        "(两次专利侵权处罚相隔正好24个月): expected the rule to fire, it did not "
        "(aggregates {'ip_penalties_in_window': 2}, party_type organisation)",
        f"{tmp_path / 'pack.yaml'}: examples[21] "
        "(严重知识产权处罚且24个月内两次侵权 → 两项提议，C级): "
        "expected decisions ['heavy-penalty', 'repeat-infringement'], got ['heavy-penalty']",
    ]


def test_failing_alert_example(tmp_path: Path) -> None:
    content = default_content()
    content["alerts"][0]["offences"][2]["thresholds"][0]["at_least"] = 25
    problems = report(tmp_path, content)
    assert (
        "alerts[0] (criminal-transfer-check).examples[8] (假冒专利，非法经营额正好20万元): "
        "expected the alert to fire, it did not" in problems
    )


def test_failing_pack_example(tmp_path: Path) -> None:
    content = default_content()
    content["severity"]["minor"]["fine_below_wan"]["organisation"] = 0.5
    problems = report(tmp_path, content)
    assert (
        "examples[2] (法人罚款0.99万元 → 轻微): expected severity 'minor', got 'general'"
        in problems
    )


def test_rule_without_a_non_firing_example(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][2]["examples"] = [e for e in content["rules"][2]["examples"] if e["fires"]]
    [problem] = check(tmp_path, content)
    assert problem.endswith("rules[2] (annual-report): no example where the rule does not fire")


def test_unreachable_rule(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][3]["when"] = {"abnormal_held_long": "> 0 and < 1"}
    problems = report(tmp_path, content)
    assert (
        "rules[3] (abnormal-three-years): unreachable: no whole aggregate values ≥ 0 satisfy "
        "'abnormal_held_long > 0 and < 1'" in problems
    )


def test_rule_firing_for_everyone(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][2]["when"] = {"annual_report_penalties": ">= 0"}
    problems = report(tmp_path, content)
    assert "rules: annual-report fire for a party (organisation) with no records at all" in problems


def test_unused_aggregate_and_keyword_set(tmp_path: Path) -> None:
    content = default_content()
    content["aggregates"]["spare"] = {"kind": "count", "keyword_set": "annual_report"}
    content["keyword_sets"]["spare_words"] = ["备用"]
    problems = check(tmp_path, content)
    assert any(p.endswith("aggregates.spare: declared but no rule uses it") for p in problems)
    assert any(
        p.endswith("keyword_sets.spare_words: declared but nothing uses it") for p in problems
    )


def test_offence_without_a_firing_example(tmp_path: Path) -> None:
    content = default_content()
    content["alerts"][0]["examples"] = [
        e for e in content["alerts"][0]["examples"] if e.get("offence") != "copyright_infringement"
    ]
    [problem] = check(tmp_path, content)
    assert problem.endswith("offence 'copyright_infringement' has no example where it fires")


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    [problem] = check_pack(path)
    assert problem.startswith(f"{path}: not valid YAML")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEFAULT_PACK_PATH)]) == 0
    assert capsys.readouterr().out.strip().endswith("default.yaml: OK")
    content = default_content()
    content["rules"][0]["then"] = {"propose": "nope"}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    assert "unknown list type 'nope'" in capsys.readouterr().out
