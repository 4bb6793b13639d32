"""What an import shows while it runs: its stages by name, a bar for the long one.

An import has stages (:data:`STAGES`): reading, checking and writing the file (the bar,
on a terminal), building the search spellings of the new entities, and running the rules
for the subjects it touched.  The engine (:func:`importers.run.import_file`) announces
each as it starts (``stage``) and moves the bar (``progress``); :class:`ConsoleProgress`
prints every stage with what it is doing and how long it took, on standard error, so
nothing is silent after the bar reaches 100 %.  Without a terminal the bar is left out
and the stage lines stay (a log shows the same steps).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

STAGE_CHECK = "严格模式检查（读取并校验整个文件）"
STAGE_LOAD = "读取、校验并写入"
STAGE_PINYIN = "生成搜索拼写"
STAGE_RULES = "规则评估"
STAGES = (STAGE_LOAD, STAGE_PINYIN, STAGE_RULES)

#: How far through the file reading is (0–1, or ``None`` when it cannot be told).
Progress = Callable[[float | None], None]
#: A stage starting: its name and what it works on (``"1,204 个主体"``, or ``""``).
Stage = Callable[[str, str], None]


class ConsoleProgress:
    """Stage lines and a bar on standard error (the bar only on a terminal).

    Use as a context manager; pass :meth:`progress` and :meth:`stage` to the engine."""

    def __init__(self, label: str, *, bar: bool | None = None) -> None:
        self.label = label
        self.bar_wanted = sys.stderr.isatty() if bar is None else bar
        self._bar: Any = None
        self._done = 0
        self._current: str | None = None
        self._started = 0.0

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish(failed=exc[0] is not None)

    def stage(self, name: str, detail: str = "") -> None:
        self._finish()
        self._current = name
        self._started = time.perf_counter()
        what = f"{self.label}：{name}" + (f"（{detail}）" if detail else "")
        if name in (STAGE_LOAD, STAGE_CHECK) and self.bar_wanted:
            self._bar = click.progressbar(length=1000, label=what, file=sys.stderr)
            self._bar.__enter__()
            self._done = 0
            return
        click.echo(f"{what}……", err=True)

    def progress(self, fraction: float | None) -> None:
        if self._bar is None or fraction is None:
            return
        target = min(1000, int(fraction * 1000))
        if target > self._done:
            self._bar.update(target - self._done)
            self._done = target

    def _finish(self, *, failed: bool = False) -> None:
        if self._current is None:
            return
        if self._bar is not None:
            if not failed:
                self._bar.update(1000 - self._done)
            self._bar.__exit__(None, None, None)
            self._bar = None
        seconds = time.perf_counter() - self._started
        word = "中断" if failed else "完成"
        click.echo(f"{self.label}：{self._current}{word}，用时 {seconds:.1f} 秒", err=True)
        self._current = None
