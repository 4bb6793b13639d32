"""Charts as plain data for the templates (inline SVG, no JavaScript): horizontal
bars and monthly columns with a readable scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# --- charts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@dataclass
class Chart:
    """Geometry of one SVG chart; the template draws it (and escapes every label)."""

    title: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[tuple[float, float, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    table_head: list[str] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.bars


CHART_WIDTH = 440
GRID_STEPS = 4


def _nice_step(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (≥ 1)."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def hbar_chart(title: str, items: Sequence[tuple[str, int]], css: str = "s1") -> Chart:
    """Horizontal bars, one per labelled count (lists, reasons, provinces); each label
    sits on its own line above its bar so long reasons stay readable."""
    bar_area, row_h = CHART_WIDTH - 60, 38
    chart = Chart(title, CHART_WIDTH, max(1, len(items)) * row_h + 6)
    top = max((v for _, v in items), default=0) or 1
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        width = bar_area * value / top
        chart.labels.append(Label(0, y + 12, clip(label, 34)))
        chart.bars.append(Bar(0, y + 18, max(width, 1.5), 14, css, f"{label}：{value}"))
        chart.labels.append(Label(width + 6, y + 30, str(value), "start", "value"))
    chart.table_head = ["项目", "数量"]
    chart.table = [[label, value] for label, value in items]
    return chart


def column_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
) -> Chart:
    """Stacked columns (over time, or per category): ``series`` is
    ``(name, css class, values)``."""
    left, bottom, plot_h = 40, 30, 170
    chart = Chart(title, CHART_WIDTH, plot_h + bottom + 12)
    slot = min(90.0, (CHART_WIDTH - left - 8) / max(1, len(categories)))
    bar_w = max(2.0, min(slot - 4, 44.0))
    totals = [sum(s[2][i] for s in series) for i in range(len(categories))]
    step = _nice_step(max(totals, default=0) / GRID_STEPS)
    top = step * GRID_STEPS
    for k in range(GRID_STEPS + 1):
        y = 8 + plot_h - plot_h * k / GRID_STEPS
        chart.gridlines.append((left, y, CHART_WIDTH - 8, y))
        chart.labels.append(Label(left - 6, y + 4, str(step * k), "end", "value"))
    label_every = max(1, -(-len(categories) // 8))
    for i, category in enumerate(categories):
        center = left + i * slot + slot / 2
        base = 8 + plot_h
        for name, css, values in series:
            if values[i]:
                height = plot_h * values[i] / top
                base -= height
                chart.bars.append(
                    Bar(
                        center - bar_w / 2,
                        base,
                        bar_w,
                        height,
                        css,
                        f"{category} {name}：{values[i]}",
                    )
                )
        if i % label_every == 0:
            chart.labels.append(Label(center, 8 + plot_h + 18, category, "middle"))
    chart.legend = [(name, css) for name, css, _ in series]
    chart.table_head = ["", *[name for name, _, _ in series]]
    chart.table = [[c, *[s[2][i] for s in series]] for i, c in enumerate(categories)]
    if not any(totals):
        chart.bars = []
    return chart


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
