"""The dirty-entity queue and the subject locks.

On PostgreSQL an evaluation takes transaction-level advisory locks on the hash buckets of
its subjects (sorted, so evaluators never deadlock) before reading, so two evaluations of
one subject run one after the other.  The queue is consumed with ``DELETE … RETURNING``
(``SKIP LOCKED`` on PostgreSQL) in the evaluating transaction: a crash puts the keys back,
and a subject written again meanwhile is queued again.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session

from registry.core.db import is_postgres
from registry.evaluation.facts import (
    Subjects,
)
from registry.records.models import Penalty

if TYPE_CHECKING:
    pass

#: A page of queued keys is read by key range when the range holds at most 1/this more
#: subjects than the page (they are read and dropped).
RANGE_SLACK = 4
_LOCK_NAMESPACE = 0x52554C45  # "RULE": first key of the two-key advisory locks


# --- locks and the queue -------------------------------------------------------------


def _lock_name(key: str) -> str:
    """The lock a subject's evaluation takes: its code's first 8 characters (registering
    authority, type, division) or, for a person, ``P:`` and 2 hex digits.  Coarse on
    purpose: a bulk batch of neighbouring keys takes a few dozen locks, and two bulk
    workers on different key ranges rarely share one."""
    return key[:4] if key.startswith("P:") else key[:8]


def lock_subjects(session: Session, keys: Sequence[str], *, wait: bool = True) -> list[str]:
    """Serialise evaluations of the same subjects (PostgreSQL; SQLite's write lock does).
    Locks are taken in one sorted order, so evaluators never deadlock each other.

    ``wait=False`` for a caller's transaction that may already hold the audit lock (an
    evaluator holding a subject lock waits for that one: waiting here could deadlock):
    only the free locks are taken, and the subjects behind busy ones are returned."""
    if not is_postgres(session) or not keys:
        return []
    lock_of = {key: zlib.crc32(_lock_name(key).encode()) & 0x7FFFFFFF for key in keys}
    locks = sorted(set(lock_of.values()))
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    rows = session.execute(
        text(
            f"SELECT b, {function}(:ns, b) "
            "FROM unnest(CAST(:locks AS integer[])) WITH ORDINALITY AS t(b, i) ORDER BY i"
        ),
        {"ns": _LOCK_NAMESPACE, "locks": locks},
    ).all()
    if wait:
        return []
    busy = {lock for lock, taken in rows if taken is False}
    return [key for key in keys if lock_of[key] in busy]


def take_dirty(session: Session, limit: int) -> list[str]:
    """Remove up to ``limit`` queued subjects from the queue and return them."""
    skip = " FOR UPDATE SKIP LOCKED" if is_postgres(session) else ""
    rows = session.execute(
        text(
            "DELETE FROM dirty_entities WHERE subject_key IN ("
            "SELECT subject_key FROM dirty_entities ORDER BY subject_key "
            f"LIMIT :n{skip}) RETURNING subject_key"
        ),
        {"n": limit},
    )
    return sorted(row[0] for row in rows)


def clear_dirty(session: Session, keys: Sequence[str]) -> None:
    if keys:
        session.execute(
            text("DELETE FROM dirty_entities WHERE subject_key IN :keys").bindparams(
                bindparam("keys", expanding=True)
            ),
            {"keys": list(keys)},
        )


def queue_length(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM dirty_entities")).scalar_one())


def queue_bounds(session: Session, workers: int) -> list[str]:
    """Keys splitting the queue into ``workers`` shares of about the same size
    (PostgreSQL)."""
    fractions = [i / workers for i in range(1, workers)]
    found = session.execute(
        text(
            "SELECT percentile_disc(CAST(:f AS float8[])) WITHIN GROUP (ORDER BY subject_key) "
            "FROM dirty_entities"
        ),
        {"f": fractions},
    ).scalar_one()
    return sorted(set(found or []))


def take_dirty_range(
    session: Session, after: str | None, upto: str | None, limit: int
) -> list[str]:
    """Remove up to ``limit`` queued subjects with keys in ``(after, upto]`` (either end
    open when None), the lowest first, and return them."""
    conditions: list[str] = ["1 = 1"]
    params: dict[str, Any] = {"n": limit}
    if after is not None:
        conditions.append("subject_key > :after")
        params["after"] = after
    if upto is not None:
        conditions.append("subject_key <= :upto")
        params["upto"] = upto
    skip = " FOR UPDATE SKIP LOCKED" if is_postgres(session) else ""
    rows = session.execute(
        text(
            "DELETE FROM dirty_entities WHERE subject_key IN ("
            f"SELECT subject_key FROM dirty_entities WHERE {' AND '.join(conditions)} "
            f"ORDER BY subject_key LIMIT :n{skip}) RETURNING subject_key"
        ),
        params,
    )
    return sorted(row[0] for row in rows)


def page_subjects(session: Session, keys: Sequence[str], after: str | None) -> Subjects:
    """The subjects of a page of queued keys: read by key range ``(after, keys[-1]]``
    when the keys are nearly every subject with penalties in it (a range scan; the few
    others read are dropped), else by the keys themselves."""
    most = len(keys) + len(keys) // RANGE_SLACK
    query = select(Penalty.subject_key).distinct().where(Penalty.subject_key <= keys[-1])
    if after is not None:
        query = query.where(Penalty.subject_key > after)
    found = session.execute(
        select(func.count()).select_from(query.limit(most + 1).subquery())
    ).scalar_one()
    if found <= most:
        return Subjects.in_range(keys, after, keys[-1])
    return Subjects.of(keys)
