"""Name search support: normalisation, pinyin spellings and the match to highlight.

The public looks entities up by credit code or by name, and people type names the way
they remember them: a fragment (华为技术), a different legal-form suffix (华为技术有限责任公司
for 华为技术有限公司), half-width brackets for full-width ones, or pinyin without tones
(huaweijishu, hwjs).  Names are therefore indexed with two extra spellings, kept in
``entities.name_pinyin`` and ``entities.name_initials``:

- ``name_pinyin``: toneless pinyin of every character, lower case, letters and digits only,
  no separators (``tengxunkejishenzhenyouxiangongsi``); ü is written ``v``;
- ``name_initials``: the first letter of each character's syllable (``txkjszyxgs``).

Whoever writes an entity's name calls :func:`index_entity_name` and stores both.  The
query side (:func:`analyse_query`) turns what was typed into the code prefix, name
variants and Latin spelling that :mod:`registry.disclosure` matches with ``LIKE``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import lazy_pinyin
from pypinyin.core import Pinyin

from registry.core.codes import ALPHABET, AUTHORITY_CODES, normalise

#: Legal-form suffixes people leave out or write differently, longest first so the most
#: specific one is stripped.
COMMON_SUFFIXES: tuple[str, ...] = (
    "集团股份有限公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "农民专业合作社",
    "有限合伙企业",
    "股份合作公司",
    "专业合作社",
    "个人独资企业",
    "有限公司",
    "股份公司",
    "集团公司",
    "合伙企业",
    "分公司",
    "合作社",
    "公司",
)
#: A stripped name shorter than this matches too much to be useful on its own.
MIN_CORE_LENGTH = 2
#: Shortest Latin query matched against pinyin and initials.
MIN_LATIN_LENGTH = 2

_PINYIN_MAX = 800  # column sizes of entities.name_pinyin / name_initials
_INITIALS_MAX = 200
_LATIN_QUERY = re.compile(r"^[a-z0-9' ]+$")
_BRACKETS = str.maketrans({"(": "（", ")": "）"})


def fold(text: str) -> str:
    """The comparable form of a name: NFKC (full-width letters, digits and brackets
    become half-width), inner runs of whitespace collapsed, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def strip_suffix(name: str) -> str:
    """The name without its legal-form suffix (``华为技术有限公司`` → ``华为技术``); the
    name itself when nothing sensible would remain."""
    folded = fold(name)
    for suffix in COMMON_SUFFIXES:
        if folded.endswith(suffix) and len(folded) - len(suffix) >= MIN_CORE_LENGTH:
            return folded[: -len(suffix)]
    return folded


#: pypinyin reads a name word by word (its segmenter splits the name, then each word is
#: spelled on its own, phrases before single characters), so a word's spelling does not
#: depend on its neighbours: spelling each distinct word once gives the very same result
#: as spelling the whole name (tests/perf/test_fast_paths.py checks it), about five times
#: faster on company names, which share most of their words.
_segment = Pinyin().seg


#: pypinyin's ``errors`` handler: ``list`` splits a non-Chinese run into its characters.
#: Its stub types the handler as returning ``str``; pypinyin accepts a list as well.
_SPLIT_CHARACTERS: Any = list


@lru_cache(maxsize=1 << 16)
def _word_syllables(word: str) -> tuple[str, ...]:
    # ``errors`` splits non-Chinese runs into single characters: one item per character.
    items = lazy_pinyin(word, errors=_SPLIT_CHARACTERS)
    if len(items) != len(word):  # pragma: no cover - pypinyin keeps one item per char
        items = [lazy_pinyin(ch, errors=_SPLIT_CHARACTERS)[0] if ch.strip() else "" for ch in word]
    out = []
    for item in items:
        spelled = unicodedata.normalize("NFKC", item).lower()
        out.append("".join(ch for ch in spelled if ch.isascii() and ch.isalnum()))
    return tuple(out)


@lru_cache(maxsize=1 << 14)
def syllables(name: str) -> tuple[str, ...]:
    """One lower-case Latin spelling per character of ``name`` (pinyin for Chinese
    characters, the character itself for Latin letters and digits, ``""`` for
    punctuation), so positions in the spelling map back to characters."""
    out: list[str] = []
    for word in _segment(name):
        out.extend(_word_syllables(word))
    if len(out) != len(name):  # pragma: no cover - the segmenter keeps every character
        return _word_syllables(name)
    return tuple(out)


def index_entity_name(name: str) -> tuple[str, str]:
    """The search spellings of a name: ``(pinyin, initials)`` for
    ``entities.name_pinyin`` and ``entities.name_initials``.

    >>> index_entity_name("腾讯科技（深圳）有限公司")
    ('tengxunkejishenzhenyouxiangongsi', 'txkjszyxgs')
    """
    parts = syllables(fold(name))
    pinyin = "".join(parts)[:_PINYIN_MAX]
    initials = "".join(p[:1] for p in parts)[:_INITIALS_MAX]
    return pinyin, initials


@dataclass(frozen=True, slots=True)
class Query:
    """What a search box input can mean.  Any of the parts may be empty."""

    text: str
    code_prefix: str | None
    names: tuple[str, ...]
    latin: str | None
    #: any contiguous part of a code (at least :data:`MIN_CODE_FRAGMENT` characters)
    code_fragment: str | None = None
    #: a name typed in parts (``成都 化妆品``): every part must be in the name
    terms: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.code_prefix or self.names or self.latin or self.code_fragment or self.terms
        )


#: The shortest part of a code searched anywhere in codes (a shorter one matches too
#: many codes to be a search).
MIN_CODE_FRAGMENT = 6


def analyse_query(raw: str) -> Query:
    """Split a search input into the code prefix it may be (normalised the way codes
    are stored), the name variants to look for as substrings (as typed, without its
    legal-form suffix, with full-width brackets) and its Latin spelling for pinyin."""
    text = fold(raw)[:100]
    if not text:
        return Query("", None, (), None)
    code = normalise(text)
    code_prefix = (
        code
        if 0 < len(code) <= 18 and code[0] in AUTHORITY_CODES and all(ch in ALPHABET for ch in code)
        else None
    )
    names: list[str] = []
    for candidate in (text, strip_suffix(text)):
        for variant in (candidate, candidate.translate(_BRACKETS)):
            if variant and variant not in names:
                names.append(variant)
    lower = text.lower()
    latin = None
    if _LATIN_QUERY.match(lower):
        spelled = lower.replace(" ", "").replace("'", "").replace("ü", "v")
        if len(spelled) >= MIN_LATIN_LENGTH and not spelled.isdigit():
            latin = spelled
    fragment = (
        code if MIN_CODE_FRAGMENT <= len(code) < 18 and all(ch in ALPHABET for ch in code) else None
    )
    parts = tuple(dict.fromkeys(text.split()))
    terms = parts if len(parts) > 1 and not latin and not fragment else ()
    return Query(text, code_prefix, tuple(names), latin, fragment, terms)


def escape_like(value: str, escape: str = "\\") -> str:
    """``value`` for use inside a LIKE pattern: ``%``, ``_`` and the escape character
    itself match only themselves."""
    return (
        value.replace(escape, escape + escape).replace("%", escape + "%").replace("_", escape + "_")
    )


def match_span(name: str, query: Query) -> tuple[int, int] | None:
    """Where the query matches in ``name`` (character offsets, end exclusive), for
    highlighting: the typed text or its suffix-less form, else the pinyin or initials
    spelling mapped back to the characters; ``None`` when the name did not match."""
    if not name:
        return None
    folded = fold(name)
    # fold() may shorten the name (whitespace); only map offsets when lengths agree.
    haystack = folded.lower() if len(folded) == len(name) else name.lower()
    for variant in query.names:
        folded_variant = fold(variant).lower()
        at = haystack.find(folded_variant)
        if at >= 0 and folded_variant:
            return at, at + len(folded_variant)
    if query.latin:
        parts = syllables(haystack)
        for spelling in (parts, tuple(p[:1] for p in parts)):
            span = _spelling_span(spelling, query.latin)
            if span is not None:
                return span
    return None


def _spelling_span(parts: tuple[str, ...], needle: str) -> tuple[int, int] | None:
    joined = "".join(parts)
    at = joined.find(needle)
    if at < 0:
        return None
    end = at + len(needle)
    start_char = end_char = None
    offset = 0
    for index, part in enumerate(parts):
        lo, hi = offset, offset + len(part)
        if part and lo < end and hi > at:
            if start_char is None:
                start_char = index
            end_char = index + 1
        offset = hi
    if start_char is None or end_char is None:
        return None
    return start_char, end_char


def split_match(name: str, query: Query) -> list[tuple[str, bool]]:
    """``name`` cut into ``(text, matched)`` pieces for a template to wrap the matched
    piece in ``<mark>`` (each piece is escaped by the template as usual)."""
    span = match_span(name, query)
    if span is None:
        return [(name, False)]
    start, end = span
    pieces = [(name[:start], False), (name[start:end], True), (name[end:], False)]
    return [(text, matched) for text, matched in pieces if text]
