"""Competence: only the authorities a list's pack names may name, confirm, reject or
remove its entries — whatever the door (the red-list API, the single-entry API, `lists
import`, the registry operation itself).

The default pack names no tax or customs authority, so nobody may act on their lists
(fail closed); a deployment lists its authorities' code prefixes in a pack that extends
it (``authority_categories``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from registry.core.errors import Forbidden
from registry.lists.entries import confirm_entry
from registry.lists.models import ListEntry
from rules import PackError, load_pack
from tests.credit.conftest import naming_pack, write_pack
from tests.security.helpers import assert_error_shape
from tests.security.seams import runtime_of

REFUSED = "本机关无权处理该名单"


def entries(session, list_type: str) -> list[ListEntry]:
    session.rollback()  # a fresh snapshot: the app and the CLI commit in their own
    return list(
        session.execute(select(ListEntry).where(ListEntry.list_type == list_type)).scalars()
    )


def test_a_market_regulator_cannot_name_to_the_tax_list(client, factory, regulator, session):
    entity = factory.entity()
    factory.commit()
    answer = client.post(
        "/api/v1/red-lists/tax_a/entries",
        json={"uscc": entity.uscc, "basis": "2025年度纳税信用A级公告"},
        headers=regulator.headers,
    )
    error = assert_error_shape(answer, 403)
    assert error["code"] == "forbidden"
    assert REFUSED in error["message"]
    assert "纳税信用A级纳税人" in error["message"]
    assert "税务部门" in error["message"]
    assert entries(session, "tax_a") == []


def test_the_tax_authority_named_in_the_pack_may(
    make_client, factory, regulator, session, tmp_path
):
    tax_office = factory.authority()
    tax = factory.token("regulator", tax_office)
    entity = factory.entity()
    factory.commit()
    pack = naming_pack(tmp_path, tax=[tax_office])
    client = make_client(rules={"packs": [str(pack)]})
    body = {"uscc": entity.uscc, "basis": "2025年度纳税信用A级公告"}
    named = client.post("/api/v1/red-lists/tax_a/entries", json=body, headers=tax.headers)
    assert named.status_code == 201, named.json
    # the market regulator still may not, nor remove the tax office's entry
    refused = client.post("/api/v1/red-lists/tax_a/entries", json=body, headers=regulator.headers)
    assert REFUSED in assert_error_shape(refused, 403)["message"]
    assert [e.authority_uscc for e in entries(session, "tax_a")] == [tax_office]


def test_confirm_reject_remove_need_competence_even_for_the_deciding_authority(
    make_client, factory, regulator, session, tmp_path
):
    """A pack that gives the market regulation lists to one city's bureaus only: a
    bureau elsewhere may not decide entries, even its own."""
    entity = factory.entity()
    proposed = factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    other = factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    active = factory.entry(entity.uscc, "ip_serious", authority_uscc=regulator.authority)
    factory.commit()
    pack = naming_pack(tmp_path, market_regulation=["11440300"])  # not 11440305…
    client = make_client(rules={"packs": [str(pack)]})
    for path, body in [
        (f"/api/v1/list-entries/{proposed.id}/confirm", {"reason": "未陈述申辩"}),
        (f"/api/v1/list-entries/{other.id}/reject", {"reason": "听证后不予列入"}),
        (f"/api/v1/list-entries/{active.id}/remove", {"reason_code": "corrected"}),
    ]:
        answer = client.post(path, json=body, headers=regulator.headers)
        error = assert_error_shape(answer, 403)
        assert REFUSED in error["message"], path
        assert "市场监督管理部门" in error["message"]
    session.rollback()
    assert [session.get(ListEntry, e.id).status for e in (proposed, other, active)] == [
        "proposed",
        "proposed",
        "active",
    ]
    # with the default pack (every organ counts as market regulation) the same works
    confirmed = make_client().post(
        f"/api/v1/list-entries/{proposed.id}/confirm", json={}, headers=regulator.headers
    )
    assert confirmed.status_code == 200, confirmed.json


def test_the_registry_operation_itself_refuses(database_url, factory, regulator, tmp_path):
    """Any caller of the per-entry operation (a bulk decision loops over it) is held."""
    entity = factory.entity()
    proposed = factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    factory.commit()
    rt = runtime_of(
        database_url, rules={"packs": [str(naming_pack(tmp_path, market_regulation=["12"]))]}
    )
    try:
        with rt.sessions() as s, pytest.raises(Forbidden, match=REFUSED):
            confirm_entry(s, rt.pack, proposed.id, regulator.authority, "regulator:1")
    finally:
        rt.dispose()


def test_lists_import_by_an_authority_not_competent(invoke, factory, authority, session, tmp_path):
    path = tmp_path / "aeo.csv"
    path.write_text(f"统一社会信用代码,依据\n{factory.uscc()},AEOCN4403000001\n", "utf-8")
    market = invoke(
        "lists", "import", str(path), "--list-type", "customs_aeo", "--authority", authority
    )
    assert market.exit_code == 2
    assert REFUSED in market.output
    assert "海关" in market.output
    nobody = invoke("lists", "import", str(path), "--list-type", "customs_aeo")
    assert nobody.exit_code == 2
    assert REFUSED in nobody.output
    assert entries(session, "customs_aeo") == []
    customs = factory.authority()
    pack = naming_pack(tmp_path, customs=[customs])
    done = invoke(
        "lists",
        "import",
        str(path),
        "--list-type",
        "customs_aeo",
        "--authority",
        customs,
        env={"REGISTRY_RULES_PACKS": str(pack)},
    )
    assert done.exit_code == 0, done.output
    assert [e.authority_uscc for e in entries(session, "customs_aeo")] == [customs]


def test_the_pack_says_what_is_wrong_with_its_competence(tmp_path: Path):
    bad = write_pack(
        tmp_path,
        {
            "extends": str(naming_pack(tmp_path)),
            "authority_categories": {"tax": {"codes": ["not a code"]}},
            "lists": {"tax_a": {"competent": ["taxes"]}},
        },
        "bad.yaml",
    )
    with pytest.raises(PackError) as problems:
        load_pack(bad)
    text = str(problems.value)
    assert "authority_categories.tax.codes[0]" in text
    assert "lists.tax_a.competent[0]" in text
    assert "'taxes'" in text


def test_a_category_with_no_codes_admits_nobody():
    pack = load_pack()
    tax = pack.competence("tax_a")
    assert tax is not None
    assert not tax.admits("11440305EUHUXQEE4W")
    assert not tax.admits(None)
    market = pack.competence("samr_serious")
    assert market is not None
    assert market.admits("11440305EUHUXQEE4W")
