"""The tamper-evident audit trail (hash chain).

Every write appends rows here in the same transaction as the write.  Each row's hash
covers its own content and the previous row's hash; changing, inserting or deleting any
row breaks the chain from that row on, and :func:`verify_chain` names the first bad row.
Appends are serialised (an advisory lock on PostgreSQL; SQLite's write lock) so the chain
stays linear under concurrent writers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.db import is_postgres
from registry.core.models import AuditEntry

GENESIS = "0" * 64
_AUDIT_LOCK = 0x4155444954  # "AUDIT"


def to_jsonable(value: Any) -> Any:
    """Plain JSON values that survive a round trip through JSON/JSONB unchanged."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def _digest(prev_hash: str, row: Mapping[str, Any]) -> str:
    body = json.dumps(
        {
            "at": row["at"].isoformat(timespec="microseconds"),
            "actor": row["actor"],
            "action": row["action"],
            "object_type": row["object_type"],
            "object_id": row["object_id"],
            "uscc": row["uscc"],
            "before": row["before"],
            "after": row["after"],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    actor: str
    action: str
    object_type: str
    object_id: str | int | None = None
    uscc: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def _last_hash(session: Session) -> str:
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK})
    last = session.execute(
        select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    return last or GENESIS


#: ``session.info`` key of the events a :func:`deferred` block has collected.
_DEFERRED = "audit_deferred"


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Within the block, :func:`record` collects the events instead of writing each at
    once; leaving the block normally appends them all, in order, with one read of the
    chain's end and one insert (a bulk decision of thousands of entries, each audited by
    its own operation).  Leaving it by an exception writes none of them.  Nested blocks
    leave the writing to the outermost."""
    if _DEFERRED in session.info:
        yield
        return
    pending: list[AuditEvent] = []
    session.info[_DEFERRED] = pending
    try:
        yield
    finally:
        session.info.pop(_DEFERRED, None)
    record(session, pending)


def record(session: Session, events: Iterable[AuditEvent]) -> int:
    """Append events to the chain in this transaction; returns how many were written
    (or collected, inside a :func:`deferred` block)."""
    pending = session.info.get(_DEFERRED)
    if pending is not None:
        events = list(events)
        pending.extend(events)
        return len(events)
    prev = _last_hash(session)
    at = clock.now()
    rows = []
    for ev in events:
        row = {
            "at": at,
            "actor": ev.actor,
            "action": ev.action,
            "object_type": ev.object_type,
            "object_id": None if ev.object_id is None else str(ev.object_id),
            "uscc": ev.uscc,
            "before": to_jsonable(ev.before) if ev.before is not None else None,
            "after": to_jsonable(ev.after) if ev.after is not None else None,
        }
        row["prev_hash"] = prev
        row["hash"] = prev = _digest(prev, row)
        rows.append(row)
    if rows:
        session.execute(insert(AuditEntry), rows)
    return len(rows)


def record_one(session: Session, event: AuditEvent) -> None:
    record(session, [event])


@dataclass(frozen=True, slots=True)
class ChainBreak:
    entry_id: int
    reason: str


def _walk(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def verify_chain(session: Session) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain; return (rows checked, first break or None)."""
    prev = GENESIS
    count = 0
    for entry in _walk(session):
        row = {
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "uscc": entry.uscc,
            "before": entry.before,
            "after": entry.after,
        }
        if entry.prev_hash != prev:
            return count, ChainBreak(entry.id, "前一条的哈希与链接不符（有记录被删除或插入）")
        if _digest(prev, row) != entry.hash:
            return count, ChainBreak(entry.id, "内容与其哈希不符（该条记录被改动）")
        prev = entry.hash
        count += 1
    return count, None


@dataclass(frozen=True, slots=True)
class Anchor:
    """The head of the chain at some moment: ``<id>:<hash>``."""

    entry_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.hash}"

    @classmethod
    def parse(cls, text_: str, where: str = "anchor") -> Anchor:
        """Parse ``<id>:<64 hex>``; a ValueError names ``where`` and what is wrong."""
        entry_id, sep, digest = text_.strip().partition(":")
        if not sep or not entry_id.isdigit():
            raise ValueError(
                f"{where}：应为 <条目编号>:<sha-256 十六进制>，而不是 {text_.strip()!r}"
            )
        digest = digest.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{where}：哈希应为64个十六进制字符")
        return cls(int(entry_id), digest)


def head(session: Session) -> Anchor | None:
    """The newest row of the chain as an anchor; None while the trail is empty."""
    row = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).one_or_none()
    return None if row is None else Anchor(int(row.id), row.hash)


def read_anchors(path: str) -> list[Anchor]:
    """Anchors from a file: one ``<id>:<hash>`` per line, anything after whitespace
    (e.g. a timestamp) ignored, blank lines and ``#`` comments skipped."""
    anchors = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            anchors.append(Anchor.parse(line.split()[0], where=f"{path} 第 {number} 行"))
    return anchors


def check_anchors(session: Session, anchors: Iterable[Anchor]) -> list[str]:
    """What contradicts the recorded anchors: missing rows (the chain was cut back) or
    rows whose hash differs (the chain was rewritten).  Empty when all hold."""
    problems = []
    for anchor in anchors:
        found = session.execute(
            select(AuditEntry.hash).where(AuditEntry.id == anchor.entry_id)
        ).scalar_one_or_none()
        if found is None:
            problems.append(f"锚定的第 {anchor.entry_id} 条已不存在：审计日志被截短")
        elif found != anchor.hash:
            problems.append(f"锚定的第 {anchor.entry_id} 条哈希已改变：审计日志被改写")
    return problems
