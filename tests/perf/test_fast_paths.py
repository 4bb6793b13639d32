"""The fast paths give the same answers as the plain ones.

- Search spellings: :func:`registry.records.search.syllables` spells a name word by word with a
  cache; it must equal pypinyin spelling the whole name at once.
- Record loading: :func:`registry.records.schema.validate_record` (the import hot path) must
  accept and refuse exactly what :class:`registry.records.schema.PenaltyRecordSchema` does, with
  the same loaded values and the same ``(field, reason)`` problems.
- Writing: entities created or renamed by :func:`registry.records.penalties.upsert_penalties` carry
  their search spellings at once (they are computed while the batch is prepared), on
  both engines.
"""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from pypinyin import lazy_pinyin
from sqlalchemy import text

from importers.run import import_file
from registry.records.penalties import upsert_penalties
from registry.records.schema import PenaltyRecordSchema, flatten_errors, validate_record
from registry.records.search import index_entity_name, syllables
from tests.conftest import TEST_ID_KEY
from tests.importers.samples import GOOD_USCC, good_record

# --- search spellings ------------------------------------------------------------------


def _whole_name(name: str) -> tuple[str, ...]:
    items = lazy_pinyin(name, errors=list)
    return tuple(
        "".join(
            ch
            for ch in unicodedata.normalize("NFKC", item).lower()
            if ch.isascii() and ch.isalnum()
        )
        for item in items
    )


# Characters company names are made of, polyphones and phrase-dependent readings
# included (重庆/重要, 银行/行走, 长春/长大, 单于), Latin letters, digits, brackets.
_NAME_CHARS = "重庆要银行走长春大单于乐音快都会朝阳华为技术有限公司深圳科股份合作社（）()AB12 -·"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_NAME_CHARS, max_size=30))
def test_word_by_word_spelling_equals_whole_name(name):
    assert syllables(name) == _whole_name(name)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_word_by_word_spelling_of_any_text(name):
    assert syllables(name) == _whole_name(name)


def test_phrase_readings_survive_the_cache():
    # 重 is zhong alone and chong in 重庆; 行 is xing alone and hang in 银行.
    assert index_entity_name("重庆银行股份有限公司")[0].startswith("chongqingyinhang")
    assert index_entity_name("重要")[0] == "zhongyao"


# --- record loading --------------------------------------------------------------------

_schema = PenaltyRecordSchema()

_VALUES = {
    "uscc": st.sampled_from(
        [GOOD_USCC, "914403001922038217", "00000000000000000X", "91440300", "", "  ", "x" * 19]
    ),
    "party_type": st.sampled_from(["法人及非法人组织", "自然人", "个体工商户", "公司", ""]),
    "fine_wan": st.sampled_from(["0.2", "-1", "1,000", "3万元", "abc", "1e3", "", "0.1234567"]),
    "confiscated_wan": st.sampled_from(["", "2", "x"]),
    "categories": st.sampled_from(
        ["罚款", "警告；罚款", "没收违法所得、没收非法财物", "吊销执照", "乱填", ""]
    ),
    "decided_on": st.sampled_from(
        ["2025-03-01", "2025/3/1", "2025年3月1日", "20250301", "2030-01-01", "昨天", "2025-02-30"]
    ),
    "valid_until": st.sampled_from(["", "2024-01-01", "2099-12-31"]),
    "disclosure_deadline": st.sampled_from(["", "2024-01-01", "2028-03-01"]),
    "id_number": st.sampled_from(["", "11010519491231002X", "110105194912310021", "123"]),
    "registration_number": st.sampled_from(["", "440301000000001"]),
    "legal_representative": st.sampled_from(["", "张三"]),
    "transferred_to_police": st.sampled_from(["", "是", "否", "也许"]),
    "party_name": st.sampled_from(["深圳某某科技有限公司", "", "a" * 201, "含\x00空字符"]),
    "colour": st.sampled_from(["red"]),
    "status": st.sampled_from(["active", "revoked", "gone"]),
}


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.dictionaries(st.sampled_from(sorted(_VALUES)), st.none(), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: _VALUES[k] for k in keys})
    )
)
def test_fast_record_loading_agrees_with_the_schema(changes, today):
    raw = good_record(**changes)
    raw = {k: v for k, v in raw.items() if v is not None}
    try:
        loaded, errors = _schema.load(dict(raw)), []
    except ValidationError as exc:
        loaded, errors = None, flatten_errors(exc.messages)
    fast, fast_errors = validate_record(dict(raw))
    assert fast == loaded
    assert sorted(fast_errors) == sorted(errors)


# --- writing ---------------------------------------------------------------------------


def _entity(rt, uscc):
    with rt.sessions() as s:
        return s.execute(
            text("SELECT name, name_pinyin, name_initials FROM entities WHERE uscc = :u"),
            {"u": uscc},
        ).one()


def _load(raw):
    record, problems = validate_record(raw)
    assert not problems
    return record


def test_new_and_renamed_entities_are_written_with_their_spellings(rt):
    first = _load(good_record(party_name="重庆银行股份有限公司", decided_on="2025-01-01"))
    with rt.unit_of_work() as s:
        upsert_penalties(s, [first], "test", id_key=TEST_ID_KEY)
    assert _entity(rt, GOOD_USCC) == (
        "重庆银行股份有限公司",
        *index_entity_name("重庆银行股份有限公司"),
    )

    # A later decision under a new name renames the entity and respells it; an older
    # decision under yet another name changes neither.
    renamed = _load(
        good_record(
            party_name="长春华为科技有限公司", decided_on="2025-06-01", decision_number="2号"
        )
    )
    older = _load(
        good_record(party_name="乐都有限公司", decided_on="2024-06-01", decision_number="3号")
    )
    with rt.unit_of_work() as s:
        upsert_penalties(s, [renamed, older], "test", id_key=TEST_ID_KEY)
    assert _entity(rt, GOOD_USCC) == (
        "长春华为科技有限公司",
        *index_entity_name("长春华为科技有限公司"),
    )


def test_an_import_leaves_no_entity_without_spellings(rt, tmp_path):
    from registry.records import demo

    path = tmp_path / "p.csv"
    demo.write_file(path, 300, "csv", seed=11)
    summary = import_file(rt, str(path), actor="test", batch_size=70)
    assert summary.created == 300
    assert summary.rejected == 0
    with rt.sessions() as s:
        rows = s.execute(text("SELECT name, name_pinyin, name_initials FROM entities")).all()
    assert rows
    assert all((py, ini) == index_entity_name(name) for name, py, ini in rows)
    assert set(summary.timings) >= {"load", "write", "pinyin", "rules"}


# --- person keys -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789X", min_size=1, max_size=20),
        st.text(alphabet="0123456789xX -０１２", min_size=1, max_size=20),
        st.text(min_size=1, max_size=20),
    )
)
def test_fast_person_keys_equal_the_codes_functions(number):
    from registry.core.codes import mask_id_number, person_key
    from registry.records.staging import _keys

    assert _keys(number, None, None, b"s3cret") == (
        person_key(number, b"s3cret"),
        mask_id_number(number),
    )
