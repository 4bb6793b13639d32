"""USCC and resident-ID handling against real vectors and generated codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import codes
from registry.core.codes import (
    ALPHABET,
    AUTHORITY_CODES,
    CodeError,
    body_check_character,
    describe_uscc,
    mask_id_number,
    normalise,
    person_key,
    uscc_check_character,
    validate_resident_id,
    validate_uscc,
)

EXPECTED_CHECK = {
    "check character (position 18)": "check",
    "body identifier check character (position 17)": "body_check",
    "length": "length",
    "character": "character",
    "empty": "length",
    "division code": "division",
    "placeholder": "authority",
}


def _lines(path):
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line


def test_every_published_valid_code_passes(shared_dir):
    codes = list(_lines(shared_dir / "data" / "uscc_valid.txt"))
    assert len(codes) > 40
    for code in codes:
        assert validate_uscc(code) == code


def test_every_invalid_vector_fails_with_the_named_check(shared_dir):
    for line in _lines(shared_dir / "data" / "uscc_invalid.txt"):
        code, why = line.split("\t")
        with pytest.raises(CodeError) as err:
            validate_uscc(code)
        expected = next(v for k, v in EXPECTED_CHECK.items() if why.startswith(k))
        assert err.value.check == expected, (code, why, err.value.check)


def test_known_companies():
    assert describe_uscc("914403001922038216").region.label == "广东省深圳市"
    info = describe_uscc("9144030071526726XG")
    assert (info.authority, info.entity_type) == ("工商", "企业")


def test_normalisation_of_full_width_spaces_and_case():
    assert validate_uscc(" ９１４４０３００７１５２６７２６ｘｇ ") == "9144030071526726XG"
    assert normalise("9144 0300-7152 6726xg") == "9144030071526726XG"


def test_messages_name_the_failed_check():
    with pytest.raises(CodeError, match="18位") as err:
        validate_uscc("91440300192203821")
    assert err.value.check == "length"
    with pytest.raises(CodeError, match="第9位") as err:
        validate_uscc("91440300I92203821X")
    assert err.value.check == "character"


body = st.text(alphabet=ALPHABET, min_size=8, max_size=8)
head = st.tuples(
    st.sampled_from(sorted(AUTHORITY_CODES)),
    st.sampled_from("1239"),
    st.sampled_from(["110105", "310115", "440305", "100000", "330106"]),
)


def _make(h, b):
    first17 = h[0] + h[1] + h[2] + b + body_check_character(b)
    return first17 + uscc_check_character(first17)


@given(head, body)
def test_generated_valid_codes_pass(h, b):
    code = _make(h, b)
    assert validate_uscc(code) == code


@given(head, body, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_any_single_character_change_fails(h, b, pos, ch):
    code = _make(h, b)
    if code[pos] == ch:
        ch = ALPHABET[(ALPHABET.index(ch) + 1) % len(ALPHABET)]
    changed = code[:pos] + ch + code[pos + 1 :]
    with pytest.raises(CodeError):
        validate_uscc(changed)


def test_letter_authority_codes_are_accepted():
    code = _make(("Y", "1", "110105"), "MA01B2C3")
    assert validate_uscc(code) == code


def test_resident_id_validation_and_masking():
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"
    with pytest.raises(CodeError):
        validate_resident_id("110105194912310021")
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_person_key_is_keyed_and_stable():
    a = person_key("11010519491231002X", b"k1")
    assert a == person_key("11010519491231002x", b"k1")
    assert a != person_key("11010519491231002X", b"k2")
    assert "11010519491231002X" not in a


@given(st.text(alphabet=codes.ALPHABET, min_size=17, max_size=17))
def test_check_character_is_the_standards_sum(first17):
    """The check character computed here is python-stdnum's (GB 32100)."""
    from stdnum.cn import uscc as stdnum_uscc

    assert codes.uscc_check_character(first17) == stdnum_uscc.calc_check_digit(first17 + "0")


@given(st.text(alphabet=st.sampled_from("0123456789ABCXYZaxz -\t１Ａ\u3000"), max_size=22))
def test_normalise_quick_path_folds_like_the_general_one(value):
    """The shortcut for plain ASCII codes gives what full NFKC folding gives."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", value)
    expected = "".join(ch for ch in folded if not ch.isspace() and ch != "-").upper()
    assert codes.normalise(value) == expected
