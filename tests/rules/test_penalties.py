"""Penalty outcomes under the default pack: severity, disclosure windows, alerts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from rules import DEFAULT_PACK_PATH, Evaluator, FactsError, PenaltyOutcome, load_pack
from rules.checking import example_penalty


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return load_pack(DEFAULT_PACK_PATH).evaluator()


def penalty(**facts: Any) -> dict[str, Any]:
    return example_penalty(
        {"decision_number": "沪市监罚〔2024〕7号", "violation_type": "价格违法", **facts}, 7
    )


def outcome(evaluator: Evaluator, **facts: Any) -> PenaltyOutcome:
    return evaluator.evaluate_penalties([penalty(**facts)])[0]


@pytest.mark.parametrize(
    ("facts", "severity"),
    [
        ({"categories": ["警告"]}, "minor"),
        ({"categories": ["通报批评"]}, "minor"),
        ({"fine_wan": 0.99}, "minor"),
        ({"categories": ["警告", "罚款"], "fine_wan": 0.5}, "minor"),
        ({"fine_wan": 1.0}, "general"),
        ({"fine_wan": 99.99}, "general"),
        ({"fine_wan": 100}, "serious"),
        ({"fine_wan": 2, "aggravated": True}, "serious"),
        ({"categories": ["吊销许可证件"]}, "serious"),
        ({"categories": ["警告", "责令停产停业"]}, "serious"),
        ({"categories": ["行政拘留"], "party_type": "natural_person"}, "serious"),
        ({"categories": ["罚款", "没收违法所得"], "fine_wan": 0.5}, "general"),
        ({"categories": ["其他"]}, "general"),
        ({"party_type": "natural_person", "fine_wan": 0.09}, "minor"),
        ({"party_type": "natural_person", "fine_wan": 0.1}, "general"),
        ({"party_type": "individual_business", "fine_wan": 0.09}, "minor"),
        ({"party_type": "individual_business", "fine_wan": 0.5}, "general"),
    ],
)
def test_severity_table(evaluator: Evaluator, facts: dict[str, Any], severity: str) -> None:
    assert outcome(evaluator, **facts).severity == severity


def test_minor_penalty_is_not_disclosed(evaluator: Evaluator) -> None:
    result = outcome(evaluator, categories=["警告"])
    assert (result.disclosed, result.disclosure_min_months, result.disclosure_max_months) == (
        False,
        None,
        None,
    )
    assert result.repairable is False
    assert result.trace["severity"] == "severity/minor-categories"


def test_general_and_serious_windows(evaluator: Evaluator) -> None:
    general = outcome(evaluator, fine_wan=5)
    assert (general.disclosed, general.disclosure_min_months, general.disclosure_max_months) == (
        True,
        3,
        12,
    )
    assert general.repairable is True
    serious = outcome(evaluator, fine_wan=150)
    assert (serious.disclosure_min_months, serious.disclosure_max_months) == (12, 36)
    assert serious.trace["severity"] == "severity/large-fine"
    assert serious.trace["disclosure"] == "disclosure/ndrc-2023/serious"


@pytest.mark.parametrize(
    ("decided_on", "regime"),
    [
        ("2019-01-10", "ndrc-2023"),  # before the first regime: the first applies
        ("2023-05-01", "ndrc-2023"),
        ("2026-03-31", "ndrc-2023"),
        ("2026-04-01", "ndrc-2026"),
        ("2027-01-01", "ndrc-2026"),
    ],
)
def test_regime_by_decision_date(evaluator: Evaluator, decided_on: str, regime: str) -> None:
    result = outcome(evaluator, decided_on=decided_on, fine_wan=5)
    assert result.regime == regime
    assert result.trace["disclosure"] == f"disclosure/{regime}/general"


def test_special_fields_have_a_one_year_minimum(evaluator: Evaluator) -> None:
    result = outcome(evaluator, violation_type="违反安全生产管理规定", fine_wan=5)
    assert (result.severity, result.disclosure_min_months, result.disclosure_max_months) == (
        "general",
        12,
        12,
    )
    assert result.trace["minimum"] == "field/longer-minimum"
    fire = outcome(evaluator, violation_type="消防设施损坏", fine_wan=150)
    assert (fire.disclosure_min_months, fire.disclosure_max_months) == (12, 36)


def test_food_and_drug_penalties_cannot_be_repaired_early(evaluator: Evaluator) -> None:
    food = outcome(evaluator, violation_type="经营超过保质期的食品", fine_wan=5)
    assert food.disclosed
    assert food.repairable is False
    assert food.trace["repairable"] == "field/non-repairable"
    equipment = outcome(
        evaluator, violation_type="使用未经检验的特种设备", categories=["责令停产停业"]
    )
    assert (equipment.severity, equipment.disclosure_min_months, equipment.repairable) == (
        "serious",
        12,
        False,
    )


def test_decimal_amounts_and_date_objects_are_accepted(evaluator: Evaluator) -> None:
    result = outcome(evaluator, fine_wan=Decimal("100.000000"), decided_on=date(2026, 4, 1))
    assert (result.severity, result.regime) == ("serious", "ndrc-2026")


def test_keyword_sets_given_by_the_registry_are_used(evaluator: Evaluator) -> None:
    # the registry matched in SQL: the text is not looked at again
    result = outcome(
        evaluator, violation_type="x", keyword_sets=["longer_minimum_fields"], fine_wan=5
    )
    assert result.disclosure_min_months == 12


def test_batch_keeps_order_and_ids(evaluator: Evaluator) -> None:
    fines = (150, 5, 150, 0.5)
    facts = [penalty(penalty_id=number, fine_wan=fine) for number, fine in enumerate(fines, 1)]
    results = evaluator.evaluate_penalties(facts)
    assert [r.penalty_id for r in results] == [1, 2, 3, 4]
    assert [r.severity for r in results] == ["serious", "general", "serious", "minor"]
    assert evaluator.evaluate_penalties([]) == []


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"party_type": "company"}, "party_type must be one of"),
        ({"decided_on": "2024/06/01"}, "decided_on must be a date"),
        ({"fine_wan": "5"}, "fine_wan must be a number"),
        ({"categories": "罚款"}, "categories must be a list"),
    ],
)
def test_malformed_facts_name_the_penalty(
    evaluator: Evaluator, facts: dict[str, Any], message: str
) -> None:
    with pytest.raises(FactsError, match=rf"penalty 7: {message}"):
        outcome(evaluator, **facts)


# ------------------------------------------------------------------- alerts

OFFENCES = [
    # offence, violation type, field, threshold
    ("trademark_counterfeit", "假冒注册商标", "business_volume_wan", 5),
    ("trademark_counterfeit", "假冒注册商标", "illegal_gains_wan", 3),
    ("counterfeit_goods_sale", "销售假冒注册商标的商品", "business_volume_wan", 5),
    ("counterfeit_goods_sale", "生产、销售伪劣产品", "business_volume_wan", 5),
    ("patent_counterfeit", "假冒专利", "business_volume_wan", 20),
    ("patent_counterfeit", "假冒专利", "illegal_gains_wan", 10),
    ("copyright_infringement", "侵犯著作权", "illegal_gains_wan", 3),
    ("copyright_infringement", "侵犯著作权", "business_volume_wan", 5),
]


@pytest.mark.parametrize(("offence", "violation_type", "field", "threshold"), OFFENCES)
def test_transfer_alert_at_threshold(
    evaluator: Evaluator, offence: str, violation_type: str, field: str, threshold: float
) -> None:
    result = outcome(evaluator, violation_type=violation_type, **{field: threshold})
    [hit] = result.alerts
    assert (hit.kind, hit.rule_id) == ("criminal-transfer-check", "criminal-transfer-check")
    assert hit.title.startswith("涉嫌犯罪案件移送")
    assert hit.threshold == {
        "offence": offence,
        "offence_title": hit.threshold["offence_title"],
        "field": field,
        "threshold": threshold,
        "value": threshold,
    }
    assert result.trace["alerts"] == {
        "criminal-transfer-check": f"criminal-transfer-check/{offence}/{field}"
    }


@pytest.mark.parametrize(("offence", "violation_type", "field", "threshold"), OFFENCES)
def test_transfer_alert_just_under_threshold(
    evaluator: Evaluator, offence: str, violation_type: str, field: str, threshold: float
) -> None:
    del offence
    assert (
        outcome(evaluator, violation_type=violation_type, **{field: threshold - 0.01}).alerts == ()
    )


def test_transfer_alert_reports_the_value(evaluator: Evaluator) -> None:
    [hit] = outcome(
        evaluator, violation_type="假冒注册商标", business_volume_wan=Decimal("7.2")
    ).alerts
    assert hit.threshold["value"] == 7.2
    assert hit.threshold["threshold"] == 5


def test_no_alert_once_transferred_to_the_police(evaluator: Evaluator) -> None:
    result = outcome(
        evaluator, violation_type="假冒注册商标", business_volume_wan=50, transferred_to_police=True
    )
    assert result.alerts == ()


def test_selling_is_judged_on_sales_not_gains(evaluator: Evaluator) -> None:
    # gains of 3.5 would reach the trademark-counterfeiting threshold, but selling
    # counterfeit goods is its own offence with a sales threshold only
    result = outcome(
        evaluator,
        violation_type="销售假冒注册商标的商品",
        business_volume_wan=4.99,
        illegal_gains_wan=3.5,
    )
    assert result.alerts == ()


def test_unrelated_violation_raises_no_alert(evaluator: Evaluator) -> None:
    assert outcome(evaluator, violation_type="价格违法", business_volume_wan=500).alerts == ()


def test_a_full_memo_is_replaced_without_losing_what_the_call_reads():
    """A batch that overflows the memo starts a new one; the distinct facts this batch
    already found in the old memo must still be answered (no KeyError), the same as by
    an evaluator with room to spare."""
    from rules.evaluate import Evaluator as Engine

    pack = load_pack(DEFAULT_PACK_PATH)
    small, roomy = Engine(pack, memo_size=3), Engine(pack)
    first = [penalty(penalty_id=n, fine_wan=Decimal(n)) for n in range(1, 4)]
    second = [penalty(penalty_id=n, fine_wan=Decimal(n)) for n in range(1, 7)]
    for batch in (first, second, second[::-1]):
        got = small.evaluate_penalties(batch)
        assert got == roomy.evaluate_penalties(batch)
        assert [o.penalty_id for o in got] == [f["penalty_id"] for f in batch]
