"""Public pages: red-list membership (守信激励名单) and — only when the pack says
``grading.public: true`` — the credit grade, for the entity page's ``_credit.html``."""

from __future__ import annotations

from typing import Any

from api.context import db, runtime
from registry import clock
from registry.grades import grades_on
from registry.redlists import named_entries_in_force


def public_credit(uscc: str) -> dict[str, Any]:
    """``{"red_lists": [{list_type, title, since, until}], "grade": {...} | None}`` for a
    (valid, known) code today; only public lists, and the grade only if it is public."""
    pack = runtime().pack
    session = db()
    day = clock.today()
    red_lists = [
        {
            "list_type": entry.list_type,
            "title": pack.lists[entry.list_type].title,
            "since": entry.since.isoformat() if entry.since else None,
            "until": entry.until.isoformat() if entry.until else None,
        }
        for entry in named_entries_in_force(session, [uscc], day, pack)
        if pack.lists[entry.list_type].public
    ]
    grade = None
    if pack.grading is not None and pack.grading.public:
        row = grades_on(session, [uscc], day).get(uscc)
        if row is not None:
            grade = {
                "grade": row.grade,
                "title": pack.grading.title(row.grade),
                "since": row.since.isoformat(),
            }
    return {"red_lists": red_lists, "grade": grade}
