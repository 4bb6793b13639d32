"""Rows the test factories share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from registry.records.models import Entity


def add_entity(session: Session, uscc: str, name: str, **fields: Any) -> Entity:
    """An entity row for ``uscc`` (its region taken from the code), flushed."""
    entity = Entity(
        uscc=uscc,
        name=name,
        party_type=fields.pop("party_type", "organisation"),
        division_code=uscc[2:8],
        province_code=uscc[2:4],
        **fields,
    )
    session.add(entity)
    session.flush()
    return entity
