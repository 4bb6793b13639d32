"""Every sentence that states counts to a person, in one place.

Other code asserts on these sentences (tests, scripts that read the CLI's output), so
each is made by one function here: an import's counts (:func:`counts_sentence`, for
penalty files and for the lists authorities name) and what a rules run did
(:func:`rules_sentence`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The counts of a rules run, in the order :func:`rules_sentence` states them.
RULES_COUNTS = ("subjects", "proposed", "activated", "withdrawn", "removed", "alerts")


def counts_sentence(created: int, updated: int, unchanged: int, rejected: int) -> str:
    """``新增 N，更新 N，未变 N，拒收 N``: what an import did with the rows of a file."""
    return f"新增 {created}，更新 {updated}，未变 {unchanged}，拒收 {rejected}"


def rules_sentence(counts: Mapping[str, Any]) -> str:
    """``规则评估 12 个主体：拟列入 3，生效 1，撤回 0，移出 0，新预警 2`` — what a rules
    run did (``counts``: :func:`registry.evaluation.history.rules_summary`), or that it
    failed and its subjects wait for the next run."""
    if counts.get("failed"):
        return "规则评估失败，受影响的主体仍在待处理队列中，将由定时任务重试"
    c = {name: int(counts.get(name) or 0) for name in RULES_COUNTS}
    return (
        f"规则评估 {c['subjects']} 个主体：拟列入 {c['proposed']}，生效 {c['activated']}，"
        f"撤回 {c['withdrawn']}，移出 {c['removed']}，新预警 {c['alerts']}"
    )
