"""The one place that reads the time.

Everything that needs "today" or "now" asks this module, so tests (and `--as-of`) move
time by setting the clock instead of sleeping, and no answer depends on a stray
``date.today()`` somewhere in the code.  Dates are calendar dates in China Standard Time
(the registry's legal day); timestamps are UTC-aware.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")

_lock = threading.Lock()
_fixed: datetime | None = None


def now() -> datetime:
    """The current instant, UTC-aware (or the fixed instant a test set)."""
    fixed = _fixed
    return fixed if fixed is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in China Standard Time: the day penalties, windows and terms count in."""
    return now().astimezone(CHINA).date()


def fixed() -> datetime | None:
    """The instant the clock is fixed at, or ``None`` when it runs: what a process the
    registry starts (a rules worker, an import's reading process) must be given so
    that it keeps the same time as its parent."""
    return _fixed


def set_clock(value: datetime | date | None) -> None:
    """Fix the clock (a date means noon of that day in China), or free it with ``None``."""
    global _fixed
    with _lock:
        if value is None:
            _fixed = None
        elif isinstance(value, datetime):
            _fixed = value if value.tzinfo else value.replace(tzinfo=UTC)
        else:
            _fixed = datetime(value.year, value.month, value.day, 12, tzinfo=CHINA).astimezone(UTC)


def advance(**delta: float) -> datetime:
    """Move a fixed clock forward (tests): ``advance(days=7)``."""
    global _fixed
    with _lock:
        base = _fixed or datetime.now(UTC)
        _fixed = base + timedelta(**delta)
        return _fixed
