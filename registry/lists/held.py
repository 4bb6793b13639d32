"""How long an entry has been held, in the calendar months the rules count."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


def held_cutoff(day: date, months: int) -> date:
    """The latest ``since`` for which an entry has been held ``months`` months on ``day``
    (calendar months, the day clamped to the month's end, as the rules count them)."""
    from rules.windows import add_months

    cutoff = add_months(day, -months)
    while add_months(cutoff + timedelta(days=1), months) <= day:
        cutoff += timedelta(days=1)
    return cutoff
