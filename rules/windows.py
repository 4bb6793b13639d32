"""Date arithmetic the aggregates are defined with, as a pure reference.

The registry computes aggregates in SQL; these functions say exactly what the SQL must
compute (calendar months, day clamped to the month's end, bounds inclusive), and serve
the registry's tests and any Python-side fallback.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def max_count_within(
    dated_ids: Iterable[tuple[date, int]], months: int
) -> tuple[int, tuple[int, ...]]:
    """The largest group of records whose dates lie within ``months`` months of each other.

    A group fits when its latest date is on or before its earliest date plus ``months``
    calendar months (so two penalties exactly 24 months apart count together, 24 months
    and one day apart do not). Returns the group's size and its ids (of the earliest
    such group, sorted by date then id); ``(0, ())`` for no records.
    """
    items = sorted(dated_ids)
    best: tuple[int, tuple[int, ...]] = (0, ())
    end = 0
    for start, (first_day, _) in enumerate(items):
        limit = add_months(first_day, months)
        end = max(end, start)
        while end < len(items) and items[end][0] <= limit:
            end += 1
        if end - start > best[0]:
            best = (end - start, tuple(record_id for _, record_id in items[start:end]))
    return best


def held_for(since: date, months: int, as_of: date) -> bool:
    """True when an entry active since ``since`` has been held ``months`` months on ``as_of``."""
    return add_months(since, months) <= as_of
