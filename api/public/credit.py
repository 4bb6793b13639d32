"""What the public sees of credit beyond penalties: which public lists are dishonesty
lists (失信名单) and which are red lists (守信激励名单), and — only when the pack says
``grading.public: true`` — the credit grade.

The list memberships come from :func:`registry.disclosure.profile.public_profile` (one read model
for pages and API); this module only tells them apart by the pack's ``lists[...].kind``
so that the entity page shows each membership once: dishonesty lists in the list-status
table, red lists in their own section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from registry.evaluation.grades import grades_on
from rules.model import LIST_GROUPS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rules import RulePack

DISHONESTY = "dishonesty"
INCENTIVE = "incentive"


def with_kinds(lists: Iterable[Mapping[str, Any]], pack: RulePack) -> list[dict[str, Any]]:
    """The list items of a public answer, each with ``kind`` (``dishonesty`` or
    ``incentive``) from the pack; the input is not changed."""
    return [{**item, "kind": pack.list_kind(item["list_type"])} for item in lists]


def split_lists(
    lists: Iterable[Mapping[str, Any]], pack: RulePack
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(dishonesty lists, red lists)`` of a profile's list items, order kept."""
    kinded = with_kinds(lists, pack)
    return (
        [item for item in kinded if item["kind"] != INCENTIVE],
        [item for item in kinded if item["kind"] == INCENTIVE],
    )


def list_groups(lists: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The three public groups in their fixed order (严重失信主体名单, 经营异常名录,
    守信激励名单), each with the entries of a profile's ``lists`` in it — empty groups
    too, so a page can say "not on it"."""
    items = list(lists)
    return [
        {"group": key, "title": title, "entries": [i for i in items if i["group"] == key]}
        for key, title in LIST_GROUPS.items()
    ]


def grade_is_public(pack: RulePack) -> bool:
    return pack.grading is not None and pack.grading.public


def public_grade(session: Session, uscc: str, day: date, pack: RulePack) -> dict[str, Any] | None:
    """The grade in force on ``day`` as the public sees it (``grade``, ``title``,
    ``since``), or None when none is recorded.  Callers check :func:`grade_is_public`
    first: a grade the pack keeps internal must never reach a public answer."""
    grading = pack.grading
    if grading is None or not grading.public:
        return None
    row = grades_on(session, [uscc], day).get(uscc)
    if row is None:
        return None
    return {
        "grade": row.grade,
        "title": grading.title(row.grade),
        "since": row.since.isoformat(),
    }


def entity_credit(
    session: Session, profile: Mapping[str, Any], pack: RulePack, day: date
) -> dict[str, Any]:
    """For the entity page and report: ``dishonesty_lists`` and ``red_lists`` (items of
    ``profile["lists"]`` with ``kind``), ``grade_public`` and ``grade`` (None unless
    the pack makes grades public and the entity has one on ``day``)."""
    dishonesty, red = split_lists(profile["lists"], pack)
    return {
        "groups": list_groups(profile["lists"]),
        "dishonesty_lists": dishonesty,
        "red_lists": red,
        "grade_public": grade_is_public(pack),
        "grade": public_grade(session, profile["uscc"], day, pack),
    }
