"""Revoking a record from a door without a transaction of its own: revoke
(:func:`registry.records.disclosure.revoke_penalty`), commit, then run the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from registry.records.models import Penalty

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
from registry.records.disclosure import revoke_penalty

log = logging.getLogger(__name__)


def after_revocation(rt: Runtime, subject_keys: Iterable[str]) -> None:
    """After the revocation is committed: run the rules for the subjects now (they are
    queued dirty as well, so the scheduler catches up if this fails)."""
    keys = sorted(set(subject_keys))
    try:
        from registry.evaluation.runs import after_write
    except ImportError:  # pragma: no cover - the scheduler's evaluate job drains the queue
        log.warning("registry.evaluation not available; %d subject(s) left queued", len(keys))
        return
    after_write(rt, keys)


def revoke_penalty_now(
    rt: Runtime, penalty_id: int, actor_authority_uscc: str | None, actor: str, reason: str
) -> Penalty:
    """:func:`revoke_penalty` in its own unit of work, then the rules re-run
    (:func:`after_revocation`): one call for a door that has no transaction of its own."""
    with rt.unit_of_work() as session:
        penalty = revoke_penalty(session, penalty_id, actor_authority_uscc, actor, reason)
    after_revocation(rt, [penalty.subject_key])
    return penalty
