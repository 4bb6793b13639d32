"""Every sentence that states counts to a person, in one place.

Other code asserts on these sentences (tests, scripts that read the CLI's output), so
each is made by one function here: an import's counts (:func:`counts_sentence`, for
penalty files and for the lists authorities name) and what a rules run did
(:func:`rules_sentence`).
"""

from __future__ import annotations

import json
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


#: What Python's JSON parser says (``JSONDecodeError.msg``), as a regulator reads it.
_JSON_PROBLEMS = {
    "Expecting value": "此处应为一个值",
    "Expecting property name enclosed in double quotes": "此处应为双引号括起的字段名",
    "Expecting ',' delimiter": "此处缺少逗号",
    "Expecting ':' delimiter": "此处缺少冒号",
    "Unterminated string starting at": "字符串缺少结束的引号",
    "Invalid control character at": "字符串中有控制字符",
    "Invalid \\escape": "无效的转义序列",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义",
    "Extra data": "一个JSON值之后还有多余内容",
    "Illegal trailing comma before end of object": "对象末尾多了逗号",
    "Illegal trailing comma before end of array": "数组末尾多了逗号",
}


def json_problem(exc: ValueError) -> str:
    """Why a line is not JSON, in Chinese with the column (``此处缺少逗号（第 12 列）``);
    never the parser's English."""
    if isinstance(exc, json.JSONDecodeError):
        said = _JSON_PROBLEMS.get(exc.msg, "无法解析")
        return f"{said}（第 {exc.colno} 列）"
    if "integer string conversion" in str(exc):
        return "数字的位数过多"
    return "无法解析"
