"""Keyword sets: which named sets a violation type matches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.model import RulePack


def match_keyword_sets(
    pack: RulePack | Mapping[str, tuple[str, ...]], text: str | None
) -> frozenset[str]:
    """The names of the keyword sets whose keywords occur in ``text``.

    A penalty matches a set when its violation type (违法行为类型) contains any keyword of
    the set, as a plain substring — the same test the registry runs in SQL with
    ``LIKE '%keyword%'`` over ``pack.keyword_sets``. ``pack`` may be a
    :class:`~rules.model.RulePack` or the keyword-set mapping itself.
    """
    if not text:
        return frozenset()
    sets = pack if isinstance(pack, Mapping) else pack.keyword_sets
    return frozenset(
        name for name, keywords in sets.items() if any(word in text for word in keywords)
    )
