"""Server-rendered SVG charts (no JS library): the geometry is computed here, the template
draws it. Works on phones and in print; CSP-safe (no inline style or script)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jiafang.visits.selectors import Progress

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 40, 12, 28


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    starts_on: dt.date
    value: int
    cumulative: int
    left: bool  # a week still to come ("weeks left")


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class ProgressChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    plot_height: int
    bars: list[Bar]
    line: str  # polyline points of the cumulative share of families visited
    ticks: list[Tick]
    max_week: int
    families_total: int
    families_visited: int
    weeks_left: int
    right_axis: list[tuple[float, str]]  # (y, "50%")


def progress_chart(progress: Progress, today: dt.date) -> ProgressChart:
    """Bars: families first visited per week; line: cumulative share of the families."""
    weeks = progress.weeks
    n = max(1, len(weeks))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / n
    max_week = max([w.families_visited for w in weeks] + [1])
    total = max(progress.families_total, 1)
    bars, points, ticks = [], [], []
    month = None
    for i, week in enumerate(weeks):
        height = plot_h * week.families_visited / max_week
        x = LEFT + i * step
        left = week.starts_on > today
        bars.append(Bar(round(x + step * 0.15, 1), round(TOP + plot_h - height, 1),
                        round(step * 0.7, 1), round(height, 1), week.starts_on,
                        week.families_visited, week.cumulative, left))
        if not left:
            y = TOP + plot_h - plot_h * min(week.cumulative, total) / total
            points.append(f"{round(x + step / 2, 1)},{round(y, 1)}")
        thursday = week.starts_on + dt.timedelta(days=3)  # a week belongs to its Thursday's month
        if thursday.month != month:
            month = thursday.month
            ticks.append(Tick(round(x + step / 2, 1), f"{month}月"))
    right_axis = [(round(TOP + plot_h - plot_h * share, 1), f"{int(share * 100)}%")
                  for share in (0, 0.5, 1)]
    return ProgressChart(
        width=WIDTH, height=HEIGHT, plot_left=LEFT, plot_right=WIDTH - RIGHT, plot_top=TOP,
        plot_bottom=TOP + plot_h, plot_height=plot_h, bars=bars, line=" ".join(points), ticks=ticks,
        max_week=max_week, families_total=progress.families_total,
        families_visited=weeks[-1].cumulative if weeks else 0,
        weeks_left=sum(b.left for b in bars), right_axis=right_axis)
