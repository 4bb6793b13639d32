"""The compiled zen models: shipped JSON is current, and the models stand alone."""

from __future__ import annotations

import json
from pathlib import Path

import zen

from rules import DEFAULT_PACK_PATH, PACKS_DIR, load_pack
from rules.__main__ import export_models
from rules.compile import entity_model, penalty_model


def test_shipped_models_match_the_pack(tmp_path: Path) -> None:
    """default.*.json are regenerated with `python -m rules export rules/packs/default.yaml`."""
    for path in export_models(DEFAULT_PACK_PATH, tmp_path):
        shipped = PACKS_DIR / path.name
        assert json.loads(shipped.read_text(encoding="utf-8")) == json.loads(
            path.read_text(encoding="utf-8")
        ), f"{shipped.name} is stale: run python -m rules export {DEFAULT_PACK_PATH}"


def test_penalty_model_runs_on_its_own() -> None:
    decision = zen.ZenEngine().create_decision(json.dumps(penalty_model(load_pack())))
    facts = {
        "party_type": "organisation",
        "decided_on": "2026-05-01",
        "categories": ["吊销许可证件"],
        "fine_wan": 3.0,
        "aggravated": False,
        "transferred_to_police": False,
        "keyword_sets": ["trademark_counterfeit"],
        "business_volume_wan": 6.0,
        "illegal_gains_wan": None,
    }
    result = decision.evaluate(facts, {"trace": True})
    assert result["result"]["outcome"]["severity"] == "serious"
    assert result["result"]["outcome"]["regime"] == "ndrc-2026"
    assert result["result"]["alerts"]["criminal-transfer-check"] == {
        "offence": "trademark_counterfeit",
        "field": "business_volume_wan",
    }
    assert "severity" in result["trace"]  # zen's own trace names the tables that ran


def test_entity_model_is_a_collect_table() -> None:
    model = entity_model(load_pack())
    [table] = [node for node in model["nodes"] if node["type"] == "decisionTableNode"]
    assert table["content"]["hitPolicy"] == "collect"
    decision = zen.ZenEngine().create_decision(json.dumps(model))
    answer = decision.evaluate(
        {"serious_ip_penalties": 1, "abnormal_held_long": 1, "party_type": "organisation"}
    )
    assert answer["result"] == [{"rule_id": "heavy-penalty"}, {"rule_id": "abnormal-three-years"}]
