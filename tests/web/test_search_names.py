"""Name normalisation for search (registry.records.search): pure functions, no database."""

from __future__ import annotations

import pytest

from registry.records.search import (
    analyse_query,
    escape_like,
    index_entity_name,
    split_match,
    strip_suffix,
)


def test_index_entity_name_spells_every_character():
    assert index_entity_name("腾讯科技（深圳）有限公司") == (
        "tengxunkejishenzhenyouxiangongsi",
        "txkjszyxgs",
    )
    assert index_entity_name("ABC绿化") == ("abclvhua", "abclh")
    assert index_entity_name("") == ("", "")


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("华为技术有限公司", "华为技术"),
        ("华为技术有限责任公司", "华为技术"),
        ("中国平安保险（集团）股份有限公司", "中国平安保险(集团)"),
        ("公司", "公司"),  # nothing sensible would remain
        ("某某农民专业合作社", "某某"),
    ],
)
def test_strip_suffix(name, core):
    assert strip_suffix(name) == core


def test_analyse_query():
    code = analyse_query(" 9144 0300-1922 ")
    assert code.code_prefix == "914403001922"
    name = analyse_query("华为技术有限责任公司")
    assert name.code_prefix is None
    assert "华为技术" in name.names
    assert name.latin is None
    latin = analyse_query("Hua Wei")
    assert latin.latin == "huawei"
    assert analyse_query("   ").empty


def test_escape_like():
    assert escape_like("50%_a\\b") == "50\\%\\_a\\\\b"


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("华为", "华为"),
        ("huawei", "华为"),
        ("jishu", "技术"),
        ("hwjs", "华为技术"),
        ("华为技术有限责任公司", "华为技术"),
    ],
)
def test_split_match_marks_what_matched(query, marked):
    pieces = split_match("华为技术有限公司", analyse_query(query))
    assert [text for text, matched in pieces if matched] == [marked]
    assert "".join(text for text, _ in pieces) == "华为技术有限公司"


def test_split_match_without_a_match_keeps_the_name():
    assert split_match("华为技术有限公司", analyse_query("腾讯")) == [("华为技术有限公司", False)]
