"""The penalty record schema: the rules of DOMAIN.md §2, as a regulator sees them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from registry.core.codes import NO_CODE_PLACEHOLDER
from registry.records.parsing import parse_amount, parse_date
from registry.records.schema import PenaltyRecordSchema, flatten_errors, validate_record
from tests.importers.samples import GOOD_RESIDENT_ID, good_record


def problems(**changes) -> dict[str, str]:
    record, errors = validate_record(good_record(**changes))
    assert record is None
    return dict(errors)


def accepted(**changes) -> dict:
    record, errors = validate_record(good_record(**changes))
    assert errors == []
    return record


def test_good_record_is_accepted_with_defaults(today):
    record = accepted()

    assert record["party_type"] == "organisation"
    assert record["categories"] == ["罚款"]
    assert record["fine_wan"] == Decimal("0.2")
    assert record["decided_on"] == date(2025, 3, 1)
    assert record["valid_until"] == date(2099, 12, 31)
    assert record["source_unit"] == record["authority"]
    assert record["source_unit_uscc"] == record["authority_uscc"]
    assert record["transferred_to_police"] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", date(2024, 3, 1)),
        ("2024/3/1", date(2024, 3, 1)),
        ("2024/03/01", date(2024, 3, 1)),
        ("2024年3月1日", date(2024, 3, 1)),
        ("2024.3.1", date(2024, 3, 1)),
        ("２０２４－０３－０１", date(2024, 3, 1)),
        ("20240301", date(2024, 3, 1)),
        ("2024-03-01 00:00:00", date(2024, 3, 1)),
        ("2024-03-01T08:30:00+08:00", date(2024, 3, 1)),
        ("45352", date(2024, 3, 1)),
        (45352, date(2024, 3, 1)),
        (Decimal("45352.5"), date(2024, 3, 1)),
        (datetime(2024, 3, 1, 15, 0), date(2024, 3, 1)),
        (date(2024, 3, 1), date(2024, 3, 1)),
    ],
)
def test_dates_in_every_form(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["昨天", "2023/13/01", "2024-02-30", "3/1/2024", "0", "-1"])
def test_unreadable_dates_say_why(text):
    with pytest.raises(ValueError, match="日期"):
        parse_date(text)


def test_decision_date_in_the_future_is_rejected(today):
    assert "晚于今天" in problems(decided_on="2026-11-30")["decided_on"]
    assert accepted(decided_on="2026-11-29")["decided_on"] == today


def test_missing_decision_date_is_required(today):
    assert problems(decided_on=None)["decided_on"] == "必填项缺失"
    assert problems(decided_on="   ")["decided_on"] == "必填项缺失"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.2", Decimal("0.2")),
        ("0.123456", Decimal("0.123456")),
        ("0.1000000", Decimal("0.100000")),
        ("999999999999.999999", Decimal("999999999999.999999")),
        ("1,234.5", Decimal("1234.5")),
        ("3万元", Decimal("3")),
        (0, Decimal(0)),
        (Decimal("12.5"), Decimal("12.5")),
    ],
)
def test_amounts_are_decimals(text, value):
    result = parse_amount(text)
    assert result == value
    assert isinstance(result, Decimal)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("0.1234567", "小数位数超过6位"),
        ("-5", "负数"),
        ("-0.01", "负数"),
        ("1000000000000", "整数部分超过12位"),
        ("abc", "不是数字"),
        ("NaN", "不是数字"),
        ("Infinity", "不是数字"),
    ],
)
def test_bad_amounts_are_rejected(text, word, today):
    assert word in problems(fine_wan=text)["fine_wan"]


def test_float_input_is_read_through_its_decimal_text(today):
    # A float that reaches us (an API body parsed elsewhere) is never computed with.
    assert accepted(fine_wan=0.1)["fine_wan"] == Decimal("0.1")


def test_fine_required_when_category_includes_fine(today):
    assert "罚款金额" in problems(fine_wan=None)["fine_wan"]
    record = accepted(categories="警告", fine_wan=None)
    assert record["fine_wan"] is None


def test_confiscated_amount_required_for_confiscation(today):
    reasons = problems(categories="罚款;没收违法所得")
    assert "没收金额" in reasons["confiscated_wan"]
    assert accepted(categories="罚款;没收违法所得", confiscated_wan="1.5")[
        "confiscated_wan"
    ] == Decimal("1.5")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("罚款;警告", ["罚款", "警告"]),
        ("罚款；警告", ["罚款", "警告"]),
        ("罚款,警告", ["罚款", "警告"]),
        ("罚款、警告", ["罚款", "警告"]),
        (["罚款", "警告", "罚款"], ["罚款", "警告"]),
    ],
)
def test_category_separators(text, names, today):
    record = accepted(categories=text)
    assert record["categories"] == names
    assert record["categories_original"] is None


def test_old_category_names_map_and_keep_their_wording(today):
    record = accepted(
        categories="罚款;没收违法所得、没收非法财物;暂扣或者吊销许可证、执照",
        confiscated_wan="2",
    )

    assert record["categories"] == [
        "罚款",
        "没收违法所得",
        "没收非法财物",
        "暂扣许可证件",
        "吊销许可证件",
    ]
    assert record["categories_original"] == [
        "罚款",
        "没收违法所得、没收非法财物",
        "暂扣或者吊销许可证、执照",
    ]


def test_unknown_category_is_named(today):
    assert "“打屁股”" in problems(categories="罚款;打屁股")["categories"]


@pytest.mark.parametrize(
    ("code", "word"),
    [
        ("914403001922038217", "第18位校验码错误"),
        ("91440300192203821", "18位"),
        ("91440300I922038216", "第9位字符“I”"),
        ("914403001922038229", "第17位"),  # position 18 fits, the body check does not
    ],
)
def test_uscc_errors_say_which_check_failed(code, word, today):
    assert word in problems(uscc=code)["uscc"]


def test_uscc_is_normalised(today):
    assert accepted(uscc=" ９１４４０３００１９２２０３８２１６ ")["uscc"] == "914403001922038216"


def test_organisation_needs_code_and_legal_representative(today):
    assert problems(uscc=None)["uscc"] == "必填项缺失"
    assert "法定代表人" in problems(legal_representative=None)["legal_representative"]


def test_individual_business_with_placeholder_and_registration_number(today):
    record = accepted(
        party_type="个体工商户",
        uscc=NO_CODE_PLACEHOLDER,
        registration_number="440300600123456",
        legal_representative=None,
    )

    assert record["party_type"] == "individual_business"
    assert record["uscc"] is None  # stored as no code, never as a code
    assert record["registration_number"] == "440300600123456"


def test_placeholder_needs_registration_number_and_an_individual_business(today):
    assert (
        "工商注册号"
        in problems(party_type="个体工商户", uscc=NO_CODE_PLACEHOLDER)["registration_number"]
    )
    assert "个体工商户" in problems(uscc=NO_CODE_PLACEHOLDER)["uscc"]


def test_natural_person_needs_a_valid_resident_id(today):
    person = {
        "party_type": "自然人",
        "party_name": "李四",
        "uscc": None,
        "legal_representative": None,
        "id_type": "身份证",
    }
    assert accepted(**person, id_number=GOOD_RESIDENT_ID.lower())["id_number"] == GOOD_RESIDENT_ID
    assert "校验码" in problems(**person, id_number="110105194912310029")["id_number"]
    assert "证件号码" in problems(**person)["id_number"]
    with_code = {**person, "uscc": "914403001922038216", "id_number": GOOD_RESIDENT_ID}
    assert "自然人" in problems(**with_code)["uscc"]


def test_party_type_names(today):
    assert accepted(party_type="organisation")["party_type"] == "organisation"
    assert "行政相对人类别" in problems(party_type="公司")["party_type"]


def test_authority_code_is_validated(today):
    assert "校验码" in problems(authority_uscc="11320500NTDF6XDB6H")["authority_uscc"]


def test_every_problem_of_a_row_is_reported(today):
    reasons = problems(party_name=None, fine_wan="-1", decided_on="昨天")
    assert set(reasons) == {"party_name", "fine_wan", "decided_on"}


def test_schema_rejects_unknown_keys_and_agrees_with_validate_record(today):
    schema = PenaltyRecordSchema()
    with pytest.raises(ValidationError) as err:
        schema.load(good_record(colour="red"))
    assert flatten_errors(err.value.messages) == [("colour", "未知字段")]
    assert validate_record(good_record(colour="red"))[1] == [("colour", "未知字段")]

    for changes in ({}, {"fine_wan": "-1", "uscc": "x"}, {"decided_on": "2030-01-01"}):
        raw = good_record(**changes)
        try:
            loaded, errors = schema.load(raw), []
        except ValidationError as exc:
            loaded, errors = None, flatten_errors(exc.messages)
        fast, fast_errors = validate_record(raw)
        assert fast == loaded
        assert sorted(fast_errors) == sorted(errors)


def test_schema_dumps_json_ready_values(today):
    record = accepted(fine_wan="0.2500")
    dumped = PenaltyRecordSchema().dump(record)
    assert dumped["fine_wan"] == "0.25"
    assert dumped["decided_on"] == "2025-03-01"
    assert dumped["categories"] == ["罚款"]
