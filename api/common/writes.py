"""After a write through the API: the rules for the written subjects, run now."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from api.common import metrics
from api.common.context import runtime

log = logging.getLogger(__name__)


def run_rules(subject_keys: Iterable[str]) -> None:
    """After a write has committed: run the rules for these subjects now.  They are in
    the dirty queue too, so a failure here only delays the answer to the scheduler."""
    keys = sorted(set(subject_keys))
    if not keys:
        return
    try:
        from registry.evaluation.runs import after_write
    except ImportError:
        metrics.count_evaluation("unavailable", 0)
        return
    try:
        # after_write logs and swallows its own failures (None); the subjects stay queued.
        done = after_write(runtime(), keys) is not None
    except Exception:
        # The write is committed and the subjects stay queued: answer the write.
        log.exception("rules after a write failed for %d subject(s); left queued", len(keys))
        done = False
    metrics.count_evaluation("ok" if done else "failed", len(keys))
