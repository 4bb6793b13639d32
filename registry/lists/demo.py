"""Demo data only: the list entries a demo load made, dated as the decisions behind them.

A demo loads five years of synthetic penalties in one sitting, so the rules put every
entity on its lists on the day of the load — a list page whose entries all share one
date, which no register looks like.  :func:`date_demo_entries` moves each entry to the
month its basis would have put it there (a few weeks after the latest decision it rests
on; a red list for a clean record, three years after the last penalty), recomputes its
term, and ends the ones whose term has run out since.  Never used on real data: only
``credit-registry init --demo`` calls it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.lists.entries import entry_terms
from registry.lists.models import ListEntry, ListEntryEvent
from registry.records.models import Penalty

if TYPE_CHECKING:
    from rules import RulePack

DEMO_ACTOR = "demo"


def date_demo_entries(session: Session, pack: RulePack, today: date, seed: int = 2026) -> int:
    """Date the active entries of a demo load by their basis; returns how many moved."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    entries = (
        session.execute(
            select(ListEntry).where(ListEntry.status == "active").order_by(ListEntry.id)
        )
        .scalars()
        .all()
    )
    last_penalty = dict(
        session.execute(
            select(Penalty.uscc, func.max(Penalty.decided_on)).group_by(Penalty.uscc)
        ).all()
    )
    decided = dict(
        session.execute(
            select(Penalty.id, Penalty.decided_on).where(
                Penalty.id.in_({int(i) for e in entries for i in (e.basis_penalty_ids or [])})
            )
        ).all()
    )
    moved = 0
    for entry in entries:
        basis = [decided[int(i)] for i in (entry.basis_penalty_ids or []) if int(i) in decided]
        if basis:
            since = max(basis) + timedelta(days=rng.randrange(20, 75))
        elif entry.uscc in last_penalty:  # a clean record: eligible three years on
            since = last_penalty[entry.uscc] + timedelta(days=3 * 365 + rng.randrange(1, 40))
        else:
            continue
        since = min(since, today)
        until, early = entry_terms(pack, entry.list_type, since)
        entry.since = since
        entry.proposed_on = min(entry.proposed_on or since, since)
        entry.until = until
        entry.early_removal_from = early
        if until is not None and until < today:
            entry.status = "removed"
            entry.ended_on = until + timedelta(days=1)
            entry.ended_by = DEMO_ACTOR
            entry.end_reason = "term_ended"
        session.execute(
            ListEntryEvent.__table__.update()
            .where(ListEntryEvent.list_entry_id == entry.id)
            .values(on_date=since)
        )
        moved += 1
    session.flush()
    return moved
