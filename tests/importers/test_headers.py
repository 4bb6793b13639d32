"""Header mapping: the national Chinese headers, the standard's field codes, English
names and our extensions, however the brackets, spaces and case are written."""

from __future__ import annotations

import pytest

from importers.headers import HeaderError, field_for_header, map_headers
from registry.records.layout import ALL_COLUMNS
from registry.records.schema import REQUIRED_FIELDS


@pytest.mark.parametrize("column", ALL_COLUMNS, ids=lambda c: c.field)
def test_layout_headers_codes_and_english_names(column):
    assert field_for_header(column.header) == column.field
    assert field_for_header(column.field) == column.field
    if column.code:
        assert field_for_header(column.code) == column.field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("罚款金额(万元)", "fine_wan"),
        ("罚款金额（万元）", "fine_wan"),
        (" 罚款金额 （万元） ", "fine_wan"),
        ("*行政相对人名称", "party_name"),
        ("cf_xdr_mc", "party_name"),
        ("Party_Name", "party_name"),
        ("ＣＦ＿ＷＳＨ", "decision_number"),
        ("\ufeff行政相对人名称", "party_name"),
        ("违法经营额", "business_volume_wan"),
        ("货值金额（万元）", "business_volume_wan"),
        ("违法所得", "illegal_gains_wan"),
        ("违法所得金额(万元)", "illegal_gains_wan"),
        ("是否移送公安", "transferred_to_police"),
        ("移送日期", "transferred_on"),
        ("从重处罚", "aggravated"),
        ("aggravated", "aggravated"),
        ("罚款金额(元)", None),  # another unit is not our field
        ("联系电话", None),
    ],
)
def test_header_variants(header, field):
    assert field_for_header(header) == field


def _national_headers() -> list[str]:
    return [c.header for c in ALL_COLUMNS]


def test_unknown_columns_warn_once_and_go_to_remarks():
    hmap = map_headers([*_national_headers(), "联系电话", "经办人"])
    values = [""] * len(ALL_COLUMNS) + ["0755-1234", "王五"]
    remarks_at = [c.field for c in ALL_COLUMNS].index("remarks")
    values[remarks_at] = "已缴纳"

    raw, problems = hmap.to_raw(values)

    assert problems == []
    assert hmap.warning is not None
    assert "“联系电话”" in hmap.warning
    assert "“经办人”" in hmap.warning
    assert raw["remarks"] == "已缴纳；联系电话: 0755-1234；经办人: 王五"


def test_missing_required_column_is_fatal_and_named():
    headers = [h for h in _national_headers() if h != "处罚决定日期"]

    with pytest.raises(HeaderError, match=r"处罚决定日期（decided_on）"):
        map_headers(headers)


def test_authority_column_may_be_absent_when_provided():
    headers = [h for h in _national_headers() if h != "处罚机关统一社会信用代码"]

    hmap = map_headers(headers, provided=("authority_uscc",))

    assert "authority_uscc" not in hmap.fields


def test_required_fields_are_the_standards():
    assert set(REQUIRED_FIELDS) == {
        "party_name",
        "party_type",
        "decision_number",
        "violation_type",
        "facts",
        "basis",
        "categories",
        "content",
        "decided_on",
        "authority",
        "authority_uscc",
    }


def test_row_longer_than_the_header_is_rejected():
    hmap = map_headers(_national_headers())

    _raw, problems = hmap.to_raw(["x"] * (len(ALL_COLUMNS) + 2))

    assert problems
    assert "多2列" in problems[0][1]
