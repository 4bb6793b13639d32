"""What the capability packages do alike with one row: fetch it by id (row-locked for an
update) or answer 404, read a list of its columns for an audit snapshot or a view, and
write the audit entry of a change to it; and one page of a table's rows with their
count."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.core import audit
from registry.core.errors import NotFound

T = TypeVar("T")


def get_row(
    session: Session, model: type[T], row_id: int, missing: str, key: str, *, lock: bool = False
) -> T:
    """The ``model`` row with this id (``lock``: ``SELECT … FOR UPDATE`` on PostgreSQL),
    or :class:`NotFound` with ``missing`` as its message and ``{key: row_id}`` as details."""
    row = session.get(model, row_id, with_for_update=True if lock else None)
    if row is None:
        raise NotFound(missing, details={key: row_id})
    return row


def columns(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """``{name: row.name}`` for each name, in order."""
    return {name: getattr(row, name) for name in names}


def change_event(
    actor: str,
    action: str,
    object_type: str,
    row: Any,
    *,
    uscc: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> audit.AuditEvent:
    """The audit entry of ``action`` on ``row``: its id, and ``uscc`` or else the row's
    own ``uscc`` if it has one."""
    return audit.AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=row.id,
        uscc=uscc or getattr(row, "uscc", None),
        before=before,
        after=after,
    )


def record_change(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    row: Any,
    *,
    uscc: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append :func:`change_event` to the audit chain in this transaction."""
    event = change_event(actor, action, object_type, row, uscc=uscc, before=before, after=after)
    audit.record_one(session, event)


def page_of(
    session: Session,
    model: type[T],
    where: Sequence[Any],
    order_by: Sequence[Any],
    *,
    page: int,
    per_page: int,
) -> tuple[list[T], int]:
    """One page of the ``model`` rows matching ``where`` in ``order_by`` order, and how
    many match in all."""
    total = session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
    rows = session.execute(
        select(model)
        .where(*where)
        .order_by(*order_by)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).scalars()
    return list(rows), int(total)
