"""Loading packs: the default pack's content, versions, extends, and load errors."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import DEFAULT_PACK_PATH, PACKS_DIR, PackError, RulePack, load_pack, match_keyword_sets


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack(DEFAULT_PACK_PATH)


def default_content() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PACK_PATH.read_text(encoding="utf-8"))


def write_pack(tmp_path: Path, content: dict[str, Any], name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_default_pack_lists(pack: RulePack) -> None:
    assert pack.name == "default"
    assert set(pack.lists) == {
        "samr_serious",
        "ip_serious",
        "abnormal_operations",
        "a_grade_clean",
        "customs_aeo",
        "tax_a",
    }
    samr = pack.lists["samr_serious"]
    assert (samr.term_months, samr.early_removal_months) == (36, 12)
    assert samr.requires_confirmation
    assert samr.public
    assert samr.action == "propose"
    assert samr.title == "市场监督管理严重违法失信名单"
    abnormal = pack.lists["abnormal_operations"]
    assert abnormal.term_months is None  # until corrected
    assert not abnormal.requires_confirmation
    assert abnormal.action == "activate"


def test_default_keyword_sets_follow_the_domain(pack: RulePack) -> None:
    assert pack.keyword_sets["ip_infringement"] == (
        "商标", "专利", "假冒", "伪劣", "不合格", "以假充真", "以次充好", "侵犯", "知识产权",
    )  # fmt: skip
    assert pack.keyword_sets["ip_repeat"] == ("商标", "专利", "侵犯", "假冒")
    assert pack.keyword_sets["annual_report"] == ("年度报告",)
    assert set(pack.keyword_sets["longer_minimum_fields"]) == {"特种设备", "安全生产", "消防"}


def test_match_keyword_sets(pack: RulePack) -> None:
    assert match_keyword_sets(pack, "销售假冒注册商标的商品") >= {
        "ip_infringement",
        "ip_repeat",
        "trademark_counterfeit",
        "counterfeit_goods_sale",
    }
    assert match_keyword_sets(pack, "未按规定公示年度报告") == {"annual_report"}
    assert match_keyword_sets(pack, "价格违法") == frozenset()
    assert match_keyword_sets(pack, None) == frozenset()
    assert match_keyword_sets(pack.keyword_sets, "消防设施损坏") == {"longer_minimum_fields"}


def test_default_rules_and_aggregates(pack: RulePack) -> None:
    assert [rule.id for rule in pack.rules] == [
        "heavy-penalty",
        "repeat-infringement",
        "annual-report",
        "abnormal-three-years",
        "a-grade-clean",
    ]
    heavy = pack.rule("heavy-penalty")
    assert (heavy.action, heavy.list_type, heavy.basis) == (
        "propose",
        "samr_serious",
        "serious_ip_penalties",
    )
    assert pack.rule("annual-report").action == "activate"
    window = pack.aggregates["ip_penalties_in_window"]
    assert (window.kind, window.keyword_set, window.months) == ("max_count_within", "ip_repeat", 24)
    assert pack.aggregates["serious_ip_penalties"].severity == ("serious",)
    held = pack.aggregates["abnormal_held_long"]
    assert (held.kind, held.list_type, held.months) == ("list_held", "abnormal_operations", 36)
    assert pack.on_basis_revoked == "remove"
    with pytest.raises(KeyError, match="no rule 'nope'"):
        pack.rule("nope")


def test_measures_per_list(pack: RulePack) -> None:
    assert len(pack.measures) == 24  # 17 punishments, 7 incentives
    assert len(pack.measures_for("samr_serious")) == 16
    assert len(pack.measures_for("ip_serious")) == 16
    assert {m.id for m in pack.measures_for("abnormal_operations")} == {
        "inspection-up",
        "honours-ban",
        "license-strict",
    }
    assert "patent-priority-ban" not in {m.id for m in pack.measures_for("samr_serious")}
    assert "legal-rep-ban" not in {m.id for m in pack.measures_for("ip_serious")}
    assert pack.measures_for("no_such_list") == ()


def test_measures_by_scenario_and_binding(pack: RulePack) -> None:
    procurement = pack.measures_for("samr_serious", scenario="procurement")
    assert [m.id for m in procurement] == ["procurement-ban"]
    assert procurement[0].department == "财政部门"
    assert procurement[0].binds == ("entity",)
    personnel = {m.id: m for m in pack.measures_for("samr_serious", scenario="personnel")}
    assert set(personnel) == {"soe-executive-ban", "legal-rep-ban", "finance-institution-ban"}
    assert all("legal_representative" in m.binds for m in personnel.values())
    assert personnel["finance-institution-ban"].binds_persons()
    assert pack.measures_for("abnormal_operations", scenario="procurement") == ()


def test_measure_legal_basis_per_list(pack: RulePack) -> None:
    procurement = next(m for m in pack.measures if m.id == "procurement-ban")
    assert "市场监督管理总局令第44号" in procurement.legal_basis_for("samr_serious")
    assert "发改财金〔2018〕1702号" in procurement.legal_basis_for("ip_serious")
    assert "第44号" in procurement.legal_basis
    assert "1702号" in procurement.legal_basis


def test_version_is_stable_and_content_sensitive(tmp_path: Path, pack: RulePack) -> None:
    assert len(pack.version) == 64
    assert load_pack(DEFAULT_PACK_PATH).version == pack.version
    # the same content in another file, comments and layout aside: same version
    same = write_pack(tmp_path, default_content(), "same.yaml")
    assert load_pack(same).version == pack.version
    changed = default_content()
    changed["keyword_sets"]["annual_report"].append("年报")
    assert load_pack(write_pack(tmp_path, changed, "changed.yaml")).version != pack.version


def test_repeat36_extends_the_default(pack: RulePack) -> None:
    repeat36 = load_pack(PACKS_DIR / "repeat36.yaml")
    assert repeat36.name == "repeat36"
    assert repeat36.aggregates["ip_penalties_in_window"].months == 36
    assert repeat36.aggregates["ip_penalties_in_window"].keyword_set == "ip_repeat"
    assert "36个月" in repeat36.rule("repeat-infringement").title
    assert repeat36.rule("repeat-infringement").when == "ip_penalties_in_window >= 2"
    assert repeat36.measures == pack.measures
    assert repeat36.lists == pack.lists
    assert repeat36.version != pack.version


def test_extends_merges_items_by_id(tmp_path: Path) -> None:
    base = write_pack(tmp_path, default_content(), "base.yaml")
    child = {
        "extends": base.name,
        "name": "child",
        "lists": {"samr_serious": {"term_months": 24}},
        "measures": [{"id": "procurement-ban", "department": "财政局"}],
    }
    pack = load_pack(write_pack(tmp_path, child, "child.yaml"))
    assert pack.lists["samr_serious"].term_months == 24
    assert pack.lists["samr_serious"].early_removal_months == 12
    procurement = next(m for m in pack.measures if m.id == "procurement-ban")
    assert procurement.department == "财政局"
    assert procurement.title == "限制参加政府采购活动"
    assert len(pack.measures) == 24  # 17 punishments, 7 incentives


def problems_of(tmp_path: Path, content: dict[str, Any]) -> str:
    with pytest.raises(PackError) as caught:
        load_pack(write_pack(tmp_path, content))
    return str(caught.value)


def test_unknown_list_in_a_rule_is_named_with_its_key_path(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][1]["then"] = {"propose": "ip_seriuos"}
    message = problems_of(tmp_path, content)
    assert "pack.yaml: rules[1].then.propose: unknown list type 'ip_seriuos'" in message
    assert "known: samr_serious, ip_serious, abnormal_operations" in message


def test_unknown_aggregate_and_keyword_set(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][0]["when"] = {"serious_ip_penaltys": ">= 1"}
    content["aggregates"]["annual_report_penalties"]["keyword_set"] = "annual"
    message = problems_of(tmp_path, content)
    assert "rules[0].when.serious_ip_penaltys: unknown aggregate" in message
    assert "aggregates.annual_report_penalties.keyword_set: unknown keyword set 'annual'" in message


def test_bad_expression_unknown_key_and_wrong_action(tmp_path: Path) -> None:
    content = default_content()
    content["rules"][0]["when"] = {"serious_ip_penalties": ">= = 1"}
    content["rules"][2]["then"] = {"propose": "abnormal_operations"}
    content["rules"][3]["then"] = {"activate": "samr_serious"}
    content["lists"]["samr_serious"]["term"] = 36
    message = problems_of(tmp_path, content)
    assert "rules[0].when.serious_ip_penalties: not a valid zen expression" in message
    assert (
        "rules[2].then.propose: list 'abnormal_operations' does not require confirmation" in message
    )
    assert "rules[3].then.activate: list 'samr_serious' requires confirmation" in message
    assert "lists.samr_serious.term: unknown key" in message


def test_measure_naming_an_unknown_list_or_role(tmp_path: Path) -> None:
    content = default_content()
    content["measures"][0]["lists"] = ["samr_serious", "blacklist"]
    content["measures"][1]["binds"] = ["entity", "ceo"]
    message = problems_of(tmp_path, content)
    assert "measures[0].lists[1]: unknown list type 'blacklist'" in message
    assert "measures[1].binds[1]: unknown role 'ceo'" in message


def test_disclosure_minimum_longer_than_maximum(tmp_path: Path) -> None:
    content = default_content()
    content["disclosure"]["field_rules"][0]["min_months"] = 18
    message = problems_of(tmp_path, content)
    assert "disclosure.field_rules[0].min_months: 18 exceeds the maximum of 12 months" in message


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    text = DEFAULT_PACK_PATH.read_text(encoding="utf-8").replace(
        "  annual_report: [年度报告]\n", "  annual_report: [年度报告]\n  annual_report: [年报]\n"
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackError, match="duplicate key 'annual_report'"):
        load_pack(path)


def test_missing_file_and_extends_cycle(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="cannot read the pack"):
        load_pack(tmp_path / "absent.yaml")
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n", encoding="utf-8")
    with pytest.raises(PackError, match="extends: cycle"):
        load_pack(tmp_path / "a.yaml")


def test_pack_pickles_for_worker_processes(pack: RulePack) -> None:
    copy = pickle.loads(pickle.dumps(pack))  # noqa: S301 - our own object
    assert copy == pack
    assert copy.version == pack.version
