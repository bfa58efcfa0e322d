"""The geometry of the staff charts: plain SVG drawn by Jinja (templates/staff/_charts.html).

Why not pygal: its SVG carries a <style> element and inline style attributes, which the strict
Content-Security-Policy (style-src 'self') blocks, and it adds script for tooltips. These
charts use only SVG presentation attributes (x, y, points, …) and classes styled in
mailer.css, so they need no script, no CDN and no 'unsafe-inline'. Every chart has its data
table beside it. This module works out coordinates from a handful of aggregate values (a
year of weeks at most); it never reads the database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Line:
    key: str          # the CSS class suffix: chart-line-<key>
    label: str
    points: str       # "x,y x,y …" for <polyline points>


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return max(factor * step, 1)
        step *= 10


def line_chart(days: Sequence[date], series: dict[str, tuple[str, Sequence[int]]], month_label) -> LineChart:
    """Lines over weeks: `series` maps a key to (label, one value per day in `days`)."""
    top = _nice_top(max((max(values, default=0) for _, values in series.values()), default=0))
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM
    count = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + span_x * i / count, 1)

    def y(value: int) -> float:
        return round(TOP + span_y * (1 - value / top), 1)

    lines = [Line(key, label, " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)))
             for key, (label, values) in series.items()]
    y_ticks = [Tick(y(top * part // 4), str(top * part // 4)) for part in range(5)]
    x_ticks = [Tick(x(i), month_label(day)) for i, day in enumerate(days)
               if i == 0 or day.month != days[i - 1].month][::2]
    return LineChart(WIDTH, HEIGHT, lines, y_ticks, x_ticks)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    length: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    bar_height: int
    label_width: int


def bar_chart(items: Sequence[tuple[str, int]], width: int = 720, bar_height: int = 22) -> BarChart:
    """Horizontal bars, one per (label, value); the labels sit above each bar."""
    top = max((value for _, value in items), default=0) or 1
    row = bar_height * 2 + 6
    bars = [Bar(label[:80], value, i * row + bar_height, round((width - 80) * value / top, 1))
            for i, (label, value) in enumerate(items)]
    return BarChart(width, max(len(items), 1) * row, bars, bar_height, 80)
