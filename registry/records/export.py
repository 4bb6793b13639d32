"""Bulk export of penalty records, whole or incremental.

Two scopes:

- ``public`` — what the public may see, for third-party platforms: records disclosed
  today (active, inside their disclosure window, not repaired), never an ID number or a
  person key, natural persons' names masked, no remarks (files put free-form columns
  there) and none of our enforcement extensions.
- ``full`` — every record, revoked and undisclosed ones included, in the English names of
  the record schema with the registry's bookkeeping (id, status, version, history ids…),
  for backup and the national sharing platform.  ID numbers are never stored, so a full
  export carries their keyed hashes and masked forms instead; importing it into an empty
  registry with the same ID-hash key (``security.secret_key``, or a pinned
  ``security.id_hash_secret``: docs/security.md) reproduces the records.

Incremental: ``since`` takes the opaque cursor printed by the previous export (base64
of the last change-feed id it covered) and exports the records changed after it.  For the
public scope, a changed record that has left disclosure comes out as a
``{"action": "withdrawn", …}`` line so mirrors can drop it; a record that was never
disclosed is not mentioned at all.

CSV cells starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) get a
leading ``'`` so a spreadsheet shows them as text instead of running them as formulas.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import RowMapping, and_, or_, select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.changefeed import settled_id
from registry.core.errors import Invalid
from registry.core.models import Change
from registry.records.models import Penalty, PenaltyVersion
from registry.records.parsing import NATURAL_PERSON, format_amount
from registry.records.schema import RECORD_FIELDS

SCOPES = ("public", "full")
FORMATS = ("jsonl", "csv")
_CHUNK = 1000

#: The record fields of a full export, in contract order (ID numbers are never stored:
#: their keyed hashes and masked forms stand in, and restore them on import).
FULL_FIELDS: tuple[str, ...] = (
    "id",
    "subject_key",
    *(f for f in RECORD_FIELDS if f not in ("id_number", "legal_representative_id_number")),
    "version",
    "history",
    "content_hash",
    "severity",
    "disclosure_until",
    "import_batch_id",
    "created_at",
    "updated_at",
)
#: What the public sees of a disclosed record.
PUBLIC_FIELDS: tuple[str, ...] = (
    "uscc",
    "party_name",
    "party_type",
    "registration_number",
    "legal_representative",
    "decision_number",
    "violation_type",
    "facts",
    "basis",
    "categories",
    "content",
    "fine_wan",
    "confiscated_wan",
    "licence_affected",
    "decided_on",
    "valid_until",
    "disclosure_until",
    "severity",
    "authority",
    "authority_uscc",
    "source_unit",
    "source_unit_uscc",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_GUARDED_AFTER_QUOTE = frozenset("=+-@\t\r'")


#: How long an export waits for the writes in flight to the change feed to end (they
#: may hold ids below the newest one; see :mod:`registry.core.changefeed`).
EXPORT_WAIT_SECONDS = 120.0


class CursorError(Invalid):
    """A ``--since`` cursor that this registry did not print."""


def encode_cursor(change_id: int) -> str:
    return base64.urlsafe_b64encode(f"change:{change_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "change" or not number.isdigit():
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise CursorError(f"无效的游标“{cursor}”：请使用上一次导出末尾给出的游标") from None


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula: a leading ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a ``'`` in front (OWASP).  A value that
    itself starts with ``'`` before one of those (or before another ``'``) gets one too,
    so the importer's one-``'`` undo (:func:`importers.readers._unguard`) gives back
    exactly the original."""
    if value.startswith(_FORMULA_START) or (
        value.startswith("'") and value[1:2] and value[1] in _GUARDED_AFTER_QUOTE
    ):
        return "'" + value
    return value


def mask_name(name: str | None) -> str | None:
    """A natural person's name for the public: the surname and stars (``张**``)."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


@dataclass(frozen=True, slots=True)
class ExportResult:
    count: int
    withdrawn: int
    cursor: str


def _disclosed_on(today: date) -> Any:
    """Disclosed today: active, decided, inside the window the rules set (null: never
    disclosed), and not ended early by credit repair."""
    return and_(
        Penalty.status == "active",
        Penalty.decided_on <= today,
        Penalty.disclosure_until.is_not(None),
        Penalty.disclosure_until >= today,
        or_(Penalty.repaired_on.is_(None), Penalty.repaired_on > today),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _full_record(row: RowMapping, history: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FULL_FIELDS:
        if name == "history":
            out[name] = history
        elif name == "categories_original":
            text = row[name]
            out[name] = text.split(";") if text else None
        else:
            out[name] = _plain(row[name])
    return out


def _public_record(row: RowMapping) -> dict[str, Any]:
    out = {name: _plain(row[name]) for name in PUBLIC_FIELDS}
    if row["party_type"] == NATURAL_PERSON:
        out["party_name"] = mask_name(out["party_name"])
        out["legal_representative"] = None
    else:
        # The legal representative is a natural person: masked as on the public pages.
        out["legal_representative"] = mask_name(out["legal_representative"])
    return out


def _rows(session: Session, where: list[Any]) -> Iterator[RowMapping]:
    """Penalties in id order, a chunk at a time (flat memory on both engines)."""
    table = Penalty.__table__
    last = 0
    while True:
        chunk = (
            session.execute(
                select(table).where(table.c.id > last, *where).order_by(table.c.id).limit(_CHUNK)
            )
            .mappings()
            .all()
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1]["id"]


def _history(session: Session, ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    if ids:
        for pid, vid in session.execute(
            select(PenaltyVersion.penalty_id, PenaltyVersion.id)
            .where(PenaltyVersion.penalty_id.in_(ids))
            .order_by(PenaltyVersion.id)
        ):
            out.setdefault(pid, []).append(vid)
    return out


class _Writer:
    def __init__(self, out: TextIO, fmt: str, fields: tuple[str, ...]) -> None:
        self.fmt = fmt
        self.out = out
        self.fields = fields
        if fmt == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            self.csv.writerow(fields)

    def write(self, record: Mapping[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
        cells = []
        for name in self.fields:
            value = record.get(name)
            if value is None:
                cells.append("")
            elif isinstance(value, list):
                cells.append(safe_cell(";".join(str(v) for v in value)))
            elif isinstance(value, bool):
                cells.append("是" if value else "否")
            else:
                cells.append(safe_cell(str(value)))
        self.csv.writerow(cells)


def export_penalties(
    session: Session,
    out: TextIO,
    *,
    scope: str = "public",
    fmt: str = "jsonl",
    since: str | None = None,
) -> ExportResult:
    """Write penalty records to ``out`` (JSONL or CSV); return how many and the cursor to
    give the next incremental export."""
    if scope not in SCOPES:
        raise Invalid(f"未知的导出范围“{scope}”（public 或 full）")
    if fmt not in FORMATS:
        raise Invalid(f"未知的导出格式“{fmt}”（jsonl 或 csv）")
    after = decode_cursor(since) if since else None
    upto = settled_id(session, wait=EXPORT_WAIT_SECONDS)
    if upto is None:
        raise Invalid(
            f"变更流仍有未结束的写入（已等待 {EXPORT_WAIT_SECONDS:.0f} 秒）：请稍后再导出"
        )
    today = clock.today()
    where: list[Any] = []
    if after is not None:
        changed = select(Change.object_id).where(
            Change.kind == "penalty", Change.id > after, Change.id <= upto
        )
        where.append(Penalty.id.in_(changed))
    public = scope == "public"
    fields = PUBLIC_FIELDS if public else FULL_FIELDS
    if public and after is not None:
        fields = ("action", *fields)
    writer = _Writer(out, fmt, fields)
    count = withdrawn = 0
    if public and after is None:
        where.append(_disclosed_on(today))
    pending: list[RowMapping] = []

    def flush() -> None:
        nonlocal count
        history = {} if public else _history(session, [r["id"] for r in pending])
        for row in pending:
            writer.write(_full_record(row, history.get(row["id"], [])))
            count += 1
        pending.clear()

    disclosed = _disclosed_predicate(today)
    for row in _rows(session, where):
        if not public:
            pending.append(row)
            if len(pending) >= _CHUNK:
                flush()
            continue
        if disclosed(row):
            record = _public_record(row)
            if after is not None:
                record = {"action": "upsert", **record}
            writer.write(record)
            count += 1
        elif after is not None and row["disclosure_until"] is not None:
            # It was disclosed once and is no more (revoked, repaired, window ended).
            writer.write(
                {
                    "action": "withdrawn",
                    "authority_uscc": row["authority_uscc"],
                    "decision_number": row["decision_number"],
                }
            )
            withdrawn += 1
    if pending:
        flush()
    return ExportResult(count, withdrawn, encode_cursor(upto))


def _disclosed_predicate(today: date) -> Any:
    """The Python twin of :func:`_disclosed_on`, for rows already read."""

    def disclosed(row: RowMapping) -> bool:
        until = row["disclosure_until"]
        repaired = row["repaired_on"]
        return (
            row["status"] == "active"
            and row["decided_on"] <= today
            and until is not None
            and until >= today
            and (repaired is None or repaired > today)
        )

    return disclosed
