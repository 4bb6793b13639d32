"""Penalty records as staging rows: the pure half of the write path.

A loaded record (:func:`registry.records.schema.validate_record`) becomes one row of canonical
text per staged column, with its content hash, the keyed hashes and masks of its ID
numbers and the search spellings of its party's name; a batch of them becomes a
:class:`PreparedBatch`, each key once.  No database here (and no SQLAlchemy imported):
the reading process of a large import (``importers.reader``) prepares batches with
this module alone, and :mod:`registry.records.penalties` writes them.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from registry.core.codes import mask_id_number, person_key
from registry.records.parsing import format_amount
from registry.records.schema import RECORD_FIELDS

# --- what is staged ------------------------------------------------------------------

#: The fields the content hash covers: the record as loaded, with keyed hashes in place
#: of ID numbers (a hash of an ID number alone could be reversed by trying them all) and
#: without the state (status), which a plain re-import must not undo.
_NOT_HASHED = frozenset(
    {
        "id_number",
        "legal_representative_id_number",
        "person_key",
        "legal_representative_key",
        "id_masked",
        "legal_representative_id_masked",
        "status",
        "revoked_on",
        "revoked_reason",
    }
)
HASHED_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f not in _NOT_HASHED)
_TYPES = {
    "categories": "jsonb",
    "fine_wan": "numeric",
    "confiscated_wan": "numeric",
    "business_volume_wan": "numeric",
    "illegal_gains_wan": "numeric",
    "decided_on": "date",
    "valid_until": "date",
    "disclosure_deadline": "date",
    "transferred_on": "date",
    "transferred_to_police": "boolean",
    "aggravated": "boolean",
}

#: Columns of ``penalties`` a record fills, in staging order, with their PostgreSQL type.
DATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("subject_key", "text"),
    ("legal_representative_id_masked", "text"),
    ("legal_representative_key", "text"),
    ("id_masked", "text"),
    ("person_key", "text"),
    *((name, _TYPES.get(name, "text")) for name in HASHED_FIELDS),
    ("content_hash", "text"),
)
#: The record's state: only written when the record carries it (a restored full export).
STATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "text"),
    ("revoked_on", "date"),
    ("revoked_reason", "text"),
)
#: The search spellings of the party's name (entities' ``name_pinyin``/``name_initials``),
#: computed while the batch is prepared so a new entity is written with them.
SEARCH_COLUMNS: tuple[tuple[str, str], ...] = (("name_pinyin", "text"), ("name_initials", "text"))
_STAGED = (("idx", "integer"), *DATA_COLUMNS, *STATE_COLUMNS, *SEARCH_COLUMNS)
_STAGED_NAMES = tuple(name for name, _ in _STAGED)
_STAGED_TYPES = dict(_STAGED)


def _text(value: Any) -> str:
    """The canonical text of a loaded value: what is hashed, and what is staged."""
    cls = value.__class__
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is bool:
        return "1" if value else "0"
    if cls is Decimal:
        return format_amount(value)
    if cls is date:
        return value.isoformat()
    if cls is list or cls is tuple:
        return ";".join(value)
    return str(value)


@lru_cache(maxsize=4096)
def _categories_json(joined: str) -> str:
    return json.dumps(joined.split(";") if joined else [], ensure_ascii=False)


def _keys(
    number: str | None, given: str | None, masked: str | None, id_key: bytes
) -> tuple[str | None, str | None]:
    if number:
        if number.isascii() and number.isalnum() and number.upper() == number:
            # Already in normal form (as loaded records are): normalise() would return
            # it unchanged, so hash and mask it directly — codes.person_key and
            # codes.mask_id_number exactly, without their Unicode folding.
            return _plain_person_key(number, id_key), _plain_mask(number)
        return _person_key(number, id_key), mask_id_number(number)
    return given, masked


@lru_cache(maxsize=1 << 14)
def _person_key(number: str, id_key: bytes) -> str:
    # Legal representatives recur on every penalty of their entity.
    return person_key(number, id_key)


@lru_cache(maxsize=1 << 14)
def _plain_person_key(number: str, id_key: bytes) -> str:
    return hmac.new(id_key, number.encode(), hashlib.sha256).hexdigest()


def _plain_mask(number: str) -> str:
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def content_hash(record: Mapping[str, Any], person: str | None, representative: str | None) -> str:
    """SHA-256 of the normalised record: equal content ⇔ equal hash, whatever the door."""
    get = record.get
    return _digest([_text(get(f)) for f in HASHED_FIELDS], person, representative)


def _digest(texts: list[str], person: str | None, representative: str | None) -> str:
    texts.append(person or "")
    texts.append(representative or "")
    return hashlib.sha256("\x1f".join(texts).encode()).hexdigest()


def stage_row(idx: int, record: Mapping[str, Any], id_key: bytes) -> tuple[Any, ...]:
    """One record as a staging row, every value as canonical text (``None`` for null),
    in ``_STAGED`` order: the form both COPY and executemany take, and the hash's."""
    get = record.get
    pkey, pmask = _keys(get("id_number"), get("person_key"), get("id_masked"), id_key)
    rkey, rmask = _keys(
        get("legal_representative_id_number"),
        get("legal_representative_key"),
        get("legal_representative_id_masked"),
        id_key,
    )
    # Most values are already text: skip the call for them (30 fields a row).
    texts = [v if v.__class__ is str else _text(v) for v in map(get, HASHED_FIELDS)]
    values = [x or None for x in texts]
    values[_CATEGORIES_AT] = _categories_json(texts[_CATEGORIES_AT])
    uscc = values[_USCC_AT]
    if uscc:
        subject = uscc
    else:
        # No code: a natural person, or an individual business written with the
        # placeholder — known by its keeper's ID number or else its registration number.
        anchor = pkey or person_key("GSZC:" + texts[_REGISTRATION_AT], id_key)
        subject = "P:" + anchor
    revoked_on = get("revoked_on")
    spelled, initials = _spellings(values[_NAME_AT]) if uscc else (None, None)
    return (
        idx,
        subject,
        rmask,
        rkey,
        pmask,
        pkey,
        *values,
        _digest(texts, pkey, rkey),
        get("status"),
        revoked_on.isoformat() if revoked_on else None,
        get("revoked_reason"),
        spelled,
        initials,
    )


@lru_cache(maxsize=1 << 15)
def _spellings(name: str) -> tuple[str, str]:
    from registry.records.search import index_entity_name

    return index_entity_name(name)


_CATEGORIES_AT = HASHED_FIELDS.index("categories")
_USCC_AT = HASHED_FIELDS.index("uscc")
_NAME_AT = HASHED_FIELDS.index("party_name")
_REGISTRATION_AT = HASHED_FIELDS.index("registration_number")
_KEY_AT = _STAGED_NAMES.index("authority_uscc"), _STAGED_NAMES.index("decision_number")
_HASH_AT = _STAGED_NAMES.index("content_hash")
_STATUS_AT = _STAGED_NAMES.index("status")

CONTRADICTION = "同一批记录中该处罚机关的决定书文号重复且内容不同"


@dataclass
class PreparedBatch:
    """A batch turned into staging rows, ready to write: each key once, the content
    hashed.  Pure, so an importer can prepare the next batch while one is written — in
    another thread, or in another process (:meth:`for_copy` is what crosses over)."""

    rows: list[tuple[Any, ...]]
    #: Records repeating an earlier one of the batch with the same content.
    repeats: int
    #: ``(record index, field, reason)`` of records the batch itself contradicts.
    rejected: list[tuple[int, str, str]]
    _copy: str | None = None
    #: How many rows ``_copy`` holds when ``rows`` were left behind (:meth:`for_copy`).
    _count: int | None = None

    @property
    def count(self) -> int:
        """How many staging rows the batch has (each key once)."""
        return len(self.rows) if self._count is None else self._count

    def copy_text(self) -> str:
        """The rows as PostgreSQL ``COPY … (FORMAT csv)`` input (made once)."""
        if self._copy is None:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(self.rows)
            self._copy = buffer.getvalue()
        return self._copy

    def for_copy(self) -> PreparedBatch:
        """The batch as its COPY text alone: a third of the size of the rows, and one
        string to hand to another process rather than thousands of tuples.  Enough for
        PostgreSQL; :meth:`staged_rows` gives the rows back when they are needed."""
        return PreparedBatch([], self.repeats, self.rejected, self.copy_text(), self.count)

    def staged_rows(self) -> list[tuple[Any, ...]]:
        """The staging rows, read back from the COPY text when only that was kept (as
        text: the same values COPY would load; an empty cell is null)."""
        if self._count is None:
            return self.rows
        reader = csv.reader(io.StringIO(self.copy_text(), newline=""))
        return [tuple(cell or None for cell in row) for row in reader]

    def halves(self) -> tuple[PreparedBatch, PreparedBatch]:
        """The rows in two batches (to find the one the database refuses).  The repeats
        and contradictions found in the whole batch stay with it, not with the halves."""
        rows = self.staged_rows()
        half = len(rows) // 2
        return PreparedBatch(rows[:half], 0, []), PreparedBatch(rows[half:], 0, [])

    def record_indexes(self) -> list[int]:
        """The batch-local record index of each staging row (its ``idx`` column)."""
        return [int(row[0]) for row in self.staged_rows()]


def prepare_penalties(records: Sequence[Mapping[str, Any]], id_key: bytes) -> PreparedBatch:
    """Staging rows for a batch, with each key once.

    A key repeated with the same content is a harmless repeat (counted unchanged); with
    different content the batch contradicts itself and the later record is refused.
    ``--strict`` runs this ahead of any write to know a file would be accepted."""
    rows: list[tuple[Any, ...]] = []
    seen: dict[tuple[str, str], str] = {}
    repeats = 0
    rejected: list[tuple[int, str, str]] = []
    for idx, record in enumerate(records):
        row = stage_row(idx, record, id_key)
        key = (row[_KEY_AT[0]], row[_KEY_AT[1]])
        first = seen.get(key)
        if first is None:
            seen[key] = row[_HASH_AT]
            rows.append(row)
        elif first == row[_HASH_AT] and row[_STATUS_AT] is None:
            repeats += 1
        else:
            rejected.append((idx, "decision_number", CONTRADICTION))
    return PreparedBatch(rows, repeats, rejected)
