"""The change feed (``changes``) read safely: up to where it is settled.

Change ids come from a sequence as rows are inserted, and transactions commit in any
order: one can hold id 100 uncommitted while id 101 is already committed and read.  A
reader that then moved its cursor past 101 — ``export --since``, the webhook queue, the
public feed — would never see 100.  :func:`settled_id` gives the largest id below which
nothing more can appear, and every reader of the feed stops there.

On PostgreSQL it reads the newest committed id, then waits for the transactions that
were writing to the feed at that moment to end: any id below the newest one that is not
yet visible belongs to one of them (an id taken later is larger than the newest, which
was taken before).  A transaction that has written to ``changes`` holds ROW EXCLUSIVE on
it until it ends, so they are found in ``pg_locks``; writers keep their feed rows for
the end of short transactions (an import batch holds them well under a second).  SQLite
has one writer at a time, which commits its ids in order: the newest id is settled.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.core.db import is_postgres
from registry.core.models import Change

_WRITERS = """
    SELECT virtualtransaction FROM pg_locks
    WHERE locktype = 'relation' AND relation = CAST('changes' AS regclass)
      AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid()
"""
_STILL = """
    SELECT DISTINCT virtualtransaction FROM pg_locks
    WHERE locktype = 'relation' AND relation = CAST('changes' AS regclass)
      AND mode = 'RowExclusiveLock' AND virtualtransaction = ANY(:writers)
"""


def settled_id(session: Session, *, wait: float) -> int | None:
    """The largest change id below which no change can still appear; ``None`` when the
    transactions writing to the feed did not end within ``wait`` seconds (the caller
    reads nothing new this time).  The session must read committed data statement by
    statement (the default), so what those transactions committed is seen next."""
    newest = session.execute(select(func.max(Change.id))).scalar_one_or_none() or 0
    if not is_postgres(session):
        return newest
    writers = list(session.execute(text(_WRITERS)).scalars())
    deadline = time.monotonic() + wait
    pause = 0.002
    while writers:
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
        writers = list(session.execute(text(_STILL), {"writers": writers}).scalars())
    return newest
