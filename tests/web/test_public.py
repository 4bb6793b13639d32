"""The public read model (registry.disclosure): what the public may and may not see."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from registry.core.codes import CodeError
from registry.core.errors import NotFound
from registry.disclosure.profile import public_profile
from registry.disclosure.queries import changes_since, published_list, search_entities
from registry.disclosure.views import InvalidCursor
from registry.records.export import mask_name
from tests.web.factories import TODAY


def test_profile_shows_code_facts_lists_and_disclosed_penalties(session, factory, authority):
    entity = factory.entity("深圳市华鑫科技有限公司")
    shown = factory.penalty(entity.uscc, authority_uscc=authority, fine_wan="0.2")
    factory.list_entry(entity.uscc, "samr_serious")
    session.commit()

    profile = public_profile(session, entity.uscc, TODAY)

    assert profile is not None
    assert profile["uscc"] == entity.uscc
    assert profile["name"] == "深圳市华鑫科技有限公司"
    assert profile["region"] == "广东省深圳市南山区"
    assert profile["registration_authority"] == "市场监督管理部门（原工商行政管理部门）"
    assert profile["entity_type"] == "企业"
    assert [(e["list_type"], e["title"]) for e in profile["lists"]] == [
        ("samr_serious", "市场监督管理严重违法失信名单")
    ]
    assert profile["lists"][0]["since"] == (TODAY - timedelta(days=100)).isoformat()
    [penalty] = profile["penalties"]
    assert penalty["decision_number"] == shown.decision_number
    assert penalty["fine_wan"] == "0.2"
    assert penalty["categories"] == ["罚款"]
    assert penalty["decided_on"] == shown.decided_on.isoformat()
    assert penalty["disclosure_until"] == shown.disclosure_until.isoformat()
    assert penalty["severity"] == "general"


def test_profile_never_shows_an_undisclosed_record(session, factory, authority):
    entity = factory.entity()
    visible = factory.penalty(entity.uscc, authority_uscc=authority)
    hidden = [
        factory.penalty(entity.uscc, authority_uscc=authority, status="revoked", revoked_on=TODAY),
        factory.penalty(
            entity.uscc,
            authority_uscc=authority,
            status="revoked",
            revoked_on=TODAY - timedelta(days=5),
        ),
        factory.penalty(entity.uscc, authority_uscc=authority, disclosure_until=None),  # minor
        factory.penalty(  # window over
            entity.uscc,
            authority_uscc=authority,
            decided_on=TODAY - timedelta(days=500),
            disclosure_until=TODAY - timedelta(days=1),
        ),
        factory.penalty(entity.uscc, authority_uscc=authority, repaired_on=TODAY),  # repaired
        factory.penalty(  # decided in the future (data error): not yet disclosed
            entity.uscc, authority_uscc=authority, decided_on=TODAY + timedelta(days=1)
        ),
    ]
    session.commit()

    profile = public_profile(session, entity.uscc, TODAY)

    numbers = [p["decision_number"] for p in profile["penalties"]]
    assert numbers == [visible.decision_number]
    for penalty in hidden:
        assert penalty.decision_number not in numbers


def test_last_day_of_the_window_is_still_disclosed(session, factory, authority):
    entity = factory.entity()
    factory.penalty(entity.uscc, authority_uscc=authority, disclosure_until=TODAY)
    session.commit()
    assert len(public_profile(session, entity.uscc, TODAY)["penalties"]) == 1
    assert public_profile(session, entity.uscc, TODAY + timedelta(days=1))["penalties"] == []


def test_profile_lists_only_confirmed_entries_in_force_on_public_lists(
    session, factory, authority, pack
):
    entity = factory.entity()
    factory.list_entry(entity.uscc, "samr_serious", status="proposed")
    factory.list_entry(entity.uscc, "ip_serious", status="rejected")
    factory.list_entry(  # removed yesterday
        entity.uscc, "abnormal_operations", status="removed", ended_on=TODAY
    )
    factory.list_entry(entity.uscc, "secret", status="active")
    factory.list_entry(entity.uscc, "abnormal_operations", status="active", until=None)
    session.commit()
    lists = dict(pack.lists)
    lists["secret"] = dataclasses.replace(lists["abnormal_operations"], id="secret", public=False)
    with_secret = dataclasses.replace(pack, lists=lists)

    profile = public_profile(session, entity.uscc, TODAY, pack=with_secret)

    assert [(e["list_type"], e["until"]) for e in profile["lists"]] == [
        ("abnormal_operations", None)
    ]


def test_profile_masks_personal_data(session, factory, authority):
    entity = factory.entity(
        "张三丰副食店", factory.uscc(kind="2"), party_type="individual_business"
    )
    factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        party_name="张三丰副食店",
        party_type="individual_business",
        legal_representative="张三丰",
    )
    session.commit()

    profile = public_profile(session, entity.uscc, TODAY)

    text = repr(profile)
    assert profile["entity_type"] == "个体工商户"
    assert profile["penalties"][0]["legal_representative"] == "张**"
    assert "110105" not in text
    assert "id_masked" not in text
    assert "person_key" not in text
    assert "张三丰" in profile["name"]  # a business's name is not a person's name


def test_mask_name():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修") == "欧**"
    assert mask_name("李") == "李*"
    assert mask_name(None) is None


def test_profile_malformed_and_unknown_codes(session, factory):
    with pytest.raises(CodeError) as failure:
        public_profile(session, "914403001922038217", TODAY)
    assert failure.value.check == "check"
    with pytest.raises(CodeError) as failure:
        public_profile(session, "91440300", TODAY)
    assert failure.value.check == "length"
    assert public_profile(session, "914403001922038216", TODAY) is None
    # Input is normalised the way codes are stored.
    entity = factory.entity()
    session.commit()
    assert public_profile(session, " " + entity.uscc.lower(), TODAY)["uscc"] == entity.uscc


# --- search --------------------------------------------------------------------------


@pytest.fixture
def named(session, factory):
    entities = {
        "huawei": factory.entity("华为技术有限公司", "914403001922038216"),
        "tencent": factory.entity("腾讯科技（深圳）有限公司", "9144030071526726XG"),
        "cq": factory.entity("重庆长城绿化工程有限责任公司", factory.uscc("500000")),
        "pct": factory.entity("百分之百_食品有限公司", factory.uscc("310115")),
    }
    session.commit()
    return entities


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("华为", "huawei"),
        ("华为技术有限责任公司", "huawei"),  # a different legal-form suffix
        ("华为技术公司", "huawei"),
        ("huawei", "huawei"),
        ("Hua Wei", "huawei"),
        ("hwjs", "huawei"),
        ("腾讯科技(深圳)", "tencent"),  # half-width brackets for full-width ones
        ("shenzhen", "tencent"),
        ("txkj", "tencent"),
        ("chongqing", "cq"),
        ("9144030019", "huawei"),  # code prefix
        ("9144 0300 7152", "tencent"),
        ("91440300715267", "tencent"),
        ("百分之百_", "pct"),
    ],
)
def test_search_finds_by_fragment_pinyin_initials_and_code(session, named, query, expected):
    items, total = search_entities(session, query, 1, 20, as_of=TODAY)
    assert named[expected].uscc in [i["uscc"] for i in items]
    assert total == len(items)


def test_search_escapes_like_wildcards(session, named):
    assert search_entities(session, "%", 1, 20, as_of=TODAY) == ([], 0)
    items, _ = search_entities(session, "_", 1, 20, as_of=TODAY)
    assert [i["uscc"] for i in items] == [named["pct"].uscc]


def test_search_ranks_code_matches_first_and_pages(session, factory):
    for n in range(7):
        factory.entity(f"杭州测试{n}号贸易有限公司", factory.uscc("330106"))
    session.commit()
    first, total = search_entities(session, "测试", 1, 3, as_of=TODAY)
    second, _ = search_entities(session, "测试", 2, 3, as_of=TODAY)
    last, _ = search_entities(session, "测试", 3, 3, as_of=TODAY)
    assert total == 7
    assert len(first) == 3
    assert len(second) == 3
    assert len(last) == 1
    assert len({i["uscc"] for i in first + second + last}) == 7
    assert search_entities(session, "", 1, 20) == ([], 0)


def test_search_items_say_what_is_public(session, factory, authority):
    entity = factory.entity("厦门鹭岛电子有限公司", factory.uscc("350200"))
    factory.penalty(entity.uscc, authority_uscc=authority)
    factory.penalty(entity.uscc, authority_uscc=authority, status="revoked", revoked_on=TODAY)
    factory.list_entry(entity.uscc, "samr_serious")
    factory.list_entry(entity.uscc, "ip_serious", status="proposed")
    session.commit()
    [item], _ = search_entities(session, "鹭岛", 1, 20, as_of=TODAY)
    assert item["penalty_count"] == 1
    assert [entry["list_type"] for entry in item["lists"]] == ["samr_serious"]
    assert item["region"] == "福建省厦门市"


# --- lists ---------------------------------------------------------------------------


def test_published_list_shows_entries_in_force_and_masks_persons(session, factory):
    listed = factory.entity("苏州某某服饰有限公司", factory.uscc("320500"))
    proposed = factory.entity("苏州待定服饰有限公司", factory.uscc("320500"))
    ended = factory.entity("苏州已移出服饰有限公司", factory.uscc("320500"))
    person = factory.person("王小二")
    factory.list_entry(listed.uscc)
    factory.list_entry(proposed.uscc, status="proposed")
    factory.list_entry(ended.uscc, status="removed", ended_on=TODAY - timedelta(days=3))
    factory.list_entry(f"P:{person.person_key}")
    session.commit()

    items, total = published_list(session, "samr_serious", 1, 50, TODAY)

    assert total == 2
    names = {i["name"] for i in items}
    assert names == {"苏州某某服饰有限公司", "王**"}
    person_item = next(i for i in items if i["name"] == "王**")
    assert person_item["uscc"] is None
    assert person.person_key not in repr(items)
    with pytest.raises(NotFound):
        published_list(session, "no_such_list", 1, 50, TODAY)


# --- change feed ---------------------------------------------------------------------


def test_change_feed_carries_disclosed_data_only(session, factory, authority):
    entity = factory.entity()
    shown = factory.penalty(entity.uscc, authority_uscc=authority)
    factory.penalty(entity.uscc, authority_uscc=authority, disclosure_until=None)  # minor
    withdrawn = factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        status="revoked",
        revoked_on=TODAY,
        decided_on=TODAY - timedelta(days=30),
    )
    factory.list_entry(entity.uscc, status="proposed")
    entry = factory.list_entry(entity.uscc, "abnormal_operations", until=None)
    factory.penalty(None, authority_uscc=authority, party_type="natural_person", party_name="李四")
    session.commit()

    items, cursor = changes_since(session, None, 100, as_of=TODAY)

    seen = [(i["kind"], i["object_id"], i["disclosed"]) for i in items]
    assert seen == [
        ("penalty", shown.id, True),
        ("penalty", withdrawn.id, False),
        ("list_entry", entry.id, True),
    ]
    assert items[0]["record"]["decision_number"] == shown.decision_number
    assert items[1]["record"] is None
    assert "李四" not in repr(items)
    # Nothing new: the same cursor comes back and no items.
    assert changes_since(session, cursor, 100, as_of=TODAY) == ([], cursor)


def test_change_feed_pages_with_an_opaque_cursor(session, factory, authority):
    entity = factory.entity()
    for _ in range(5):
        factory.penalty(entity.uscc, authority_uscc=authority)
    session.commit()
    first, cursor = changes_since(session, None, 2, as_of=TODAY)
    second, cursor = changes_since(session, cursor, 2, as_of=TODAY)
    third, cursor = changes_since(session, cursor, 2, as_of=TODAY)
    ids = [i["id"] for i in first + second + third]
    assert len(first) == 2
    assert len(second) == 2
    assert len(third) == 1
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    with pytest.raises(InvalidCursor):
        changes_since(session, "not-a-cursor!", 2)
