"""The public read model: what anyone may see, for the public pages and the public API.

One place decides what is public, so the web pages, the JSON API and anything else that
shows registry data to the public give the same answer:

- a penalty is shown on day D only while it is disclosed on D
  (:func:`registry.records.disclosure.disclosed_on` — never a revoked record, never one outside its
  disclosure window or after credit repair);
- a list entry is shown only on a list the rule pack marks public, and only while it
  binds on D (:func:`registry.lists.entries.in_force_on` — never a proposed or rejected entry);
- ID numbers never leave this module (they are not even read), and natural persons'
  names are masked (``张*``);
- dates are ISO 8601 strings and amounts decimal strings in 万元, so every door
  serialises them alike.

Functions here only read; they take the caller's session and never commit.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from registry.core.codes import CodeError, head_facts, region_of, validate_uscc
from registry.core.errors import DomainError
from registry.lists.entries import binds_on, in_force_on
from registry.lists.models import ListEntry
from registry.records.export import mask_name
from registry.records.models import Entity
from registry.records.parsing import format_amount

if TYPE_CHECKING:
    from rules import RulePack
    from rules.model import ListType


#: Largest page any public listing returns.
MAX_PER_PAGE = 100
NATURAL_PERSON = "natural_person"
PERSON_PREFIX = "P:"


class InvalidCursor(DomainError):
    """A change-feed cursor this registry did not hand out."""

    status, code = 400, "invalid_cursor"


# --- helpers -------------------------------------------------------------------------


@functools.cache
def default_pack() -> RulePack:
    from rules import DEFAULT_PACK_PATH, load_pack

    return load_pack(DEFAULT_PACK_PATH)


def public_lists(pack: RulePack | None = None) -> dict[str, ListType]:
    """The list types the pack publishes (``public: true``), by id.  Callers with a
    runtime pass ``runtime.pack``; without one the shipped default pack is used."""
    pack = pack or default_pack()
    return {key: list_type for key, list_type in pack.lists.items() if list_type.public}


def iso_day(value: date | datetime | str | None) -> str | None:
    """ISO 8601; a date read back from PostgreSQL's JSON is ISO 8601 already."""
    return value if value is None or isinstance(value, str) else value.isoformat()


def amount_text(value: Decimal | str | None) -> str | None:
    """Canonical amount text (:func:`~registry.records.parsing.format_amount`); an amount read
    back from PostgreSQL's JSON is ``numeric`` text (plain digits, never an exponent)
    and is trimmed as text, without a round trip through Decimal."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value.rstrip("0").rstrip(".") or "0") if "." in value else value
    return format_amount(value)


def page_bounds(page: int, per_page: int) -> tuple[int, int]:
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    return (page - 1) * per_page, per_page


def code_facts(uscc: str, division_code: str | None = None) -> dict[str, Any]:
    """What the code itself says: region (positions 3-8), registering authority
    (position 1) and entity type (position 2)."""
    try:
        code = validate_uscc(uscc)
    except CodeError:
        region = region_of(division_code) if division_code and division_code.isdigit() else None
        return {
            "region": region.label if region else None,
            "division_code": division_code,
            "registration_authority": None,
            "entity_type": None,
        }
    return dict(facts_of(code[:8]))


#: The registering body of position 1 by its full name, as the public reads it (the
#: code table's short labels — "工商" — name bodies that no longer exist by that name).
REGISTERING_BODIES = {
    "机构编制": "机构编制部门",
    "外交": "外交部门",
    "司法行政": "司法行政部门",
    "文化": "文化和旅游部门",
    "民政": "民政部门",
    "旅游": "文化和旅游部门",
    "宗教": "宗教事务部门",
    "工会": "工会",
    "工商": "市场监督管理部门（原工商行政管理部门）",
    "军队编制": "中央军委改革和编制办公室",
    "农业": "农业农村部门",
    "其他": "其他登记管理部门",
}


@functools.lru_cache(maxsize=4096)
def facts_of(head: str) -> tuple[tuple[str, Any], ...]:
    """The facts of a valid code's first 8 characters (authority, entity type, division):
    a few thousand combinations, worked out once each."""
    authority, entity_type, region = head_facts(head)
    return (
        ("region", region.label or None),
        ("division_code", region.division_code),
        ("registration_authority", REGISTERING_BODIES.get(authority, authority)),
        ("entity_type", entity_type),
    )


def entity_name(entity: Entity) -> str:
    if entity.party_type == NATURAL_PERSON:
        return mask_name(entity.name) or ""
    return entity.name


def list_entry_dict(entry: ListEntry, lists: Mapping[str, ListType]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "list_type": entry.list_type,
        "title": lists[entry.list_type].title,
        "since": iso_day(entry.since),
        "until": iso_day(entry.until),
    }


def public_penalty(row: Mapping[Any, Any]) -> dict[str, Any]:
    """:func:`penalty_dict` of the profile statement's penalty columns by name — from a
    penalty or row (dates and Decimals), or from the statement's JSON (ISO dates and
    amount text: the public lookup's hot loop)."""
    person = row["party_type"] == NATURAL_PERSON
    return {
        "id": row["id"],
        "uscc": row["uscc"],
        "party_name": mask_name(row["party_name"]) if person else row["party_name"],
        "party_type": row["party_type"],
        "legal_representative": None if person else mask_name(row["legal_representative"]),
        "decision_number": row["decision_number"],
        "authority": row["authority"],
        "authority_uscc": row["authority_uscc"],
        "violation_type": row["violation_type"],
        "facts": row["facts"],
        "basis": row["basis"],
        "categories": list(row["categories"] or []),
        "content": row["content"],
        "fine_wan": amount_text(row["fine_wan"]),
        "confiscated_wan": amount_text(row["confiscated_wan"]),
        "licence_affected": row["licence_affected"],
        "decided_on": iso_day(row["decided_on"]),
        "disclosure_until": iso_day(row["disclosure_until"]),
        "severity": row["severity"],
        "repair_allowed_from": iso_day(row["repair_allowed_from"]) if row["repairable"] else None,
        "source_unit": row["source_unit"],
    }


def lists_of(
    session: Session, keys: Sequence[str], day: date, lists: Mapping[str, ListType]
) -> dict[str, list[ListEntry]]:
    out: dict[str, list[ListEntry]] = {key: [] for key in keys}
    if not keys or not lists:
        return out
    rows = session.execute(
        select(ListEntry)
        .where(ListEntry.uscc.in_(list(keys)), ListEntry.list_type.in_(list(lists)))
        .where(in_force_on(day))
        .order_by(ListEntry.since, ListEntry.id)
    ).scalars()
    for entry in rows:
        if binds_on(entry, day):
            out[entry.uscc].append(entry)
    return out


def data_updated_at(session: Session) -> datetime | None:
    """When the public data last changed (数据更新时间): the newest entry of the change
    feed, read by its primary key (one index probe)."""
    from registry.core.models import Change

    return session.execute(select(Change.at).order_by(Change.id.desc()).limit(1)).scalar()
