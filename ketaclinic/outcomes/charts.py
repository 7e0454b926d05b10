"""Geometry for the server-drawn charts (inline SVG in the templates: no chart library, no
script, nothing from a CDN). Pure functions returning shapes with CSS class names; the colours
live in static/css/app.css. Every shape carries a text title, and each chart has plain words
under it in the template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ketaclinic.outcomes import endpoints

CELL = 14
GAP = 3
LEFT = 30
TOP = 18


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Heatmap:
    width: int
    height: int
    cells: list[Cell]
    months: list[Label]
    weekdays: list[Label]
    counts: dict[str, int]


def day_state(c: endpoints.DayClass | None) -> tuple[str, str]:
    """(css modifier, words) for one calendar day."""
    if c is None:
        return "missing", "not recorded"
    if c.is_migraine_day:
        return "migraine", "migraine day"
    if c.is_headache_day:
        return "headache", "headache day"
    return "free", "no headache"


def heatmap(days: Sequence[endpoints.DayClass], end: date, weeks: int = 26) -> Heatmap:
    """A calendar of the last ``weeks`` weeks ending on ``end``: one column per week (Monday
    at the top), one square per day coloured by what the diary says. Days with no entry are
    drawn hollow, so a gap never looks like a good day; days after ``end`` are left out."""
    by_day = {c.day: c for c in days}
    first = end - timedelta(days=end.weekday()) - timedelta(weeks=weeks - 1)
    cells, months = [], []
    counts = {"migraine": 0, "headache": 0, "free": 0, "missing": 0}
    last_month = None
    for week in range(weeks):
        monday = first + timedelta(weeks=week)
        if monday.month != last_month:
            months.append(Label(LEFT + week * (CELL + GAP), TOP - 6, f"{monday:%b}"))
            last_month = monday.month
        for dow in range(7):
            day = monday + timedelta(days=dow)
            if day > end:
                continue
            css, words = day_state(by_day.get(day))
            counts[css] += 1
            cells.append(Cell(LEFT + week * (CELL + GAP), TOP + dow * (CELL + GAP), css, f"{day:%a %d %b %Y}: {words}"))
    weekdays = [
        Label(0, TOP + dow * (CELL + GAP) + CELL - 3, name) for dow, name in ((0, "Mon"), (2, "Wed"), (4, "Fri"))
    ]
    return Heatmap(LEFT + weeks * (CELL + GAP), TOP + 7 * (CELL + GAP), cells, months, weekdays, counts)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str
    value_text: str
    title: str


@dataclass(frozen=True)
class Marker:
    x: float
    title: str


@dataclass(frozen=True)
class WindowChart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    markers: list[Marker]
    gridlines: list[Label]
    axis: list[Label]


def window_chart(
    baseline: endpoints.Window | None,
    windows: Sequence[endpoints.Window],
    infusion_dates: Sequence[date],
    *,
    width: int = 720,
    height: int = 240,
) -> WindowChart | None:
    """Monthly migraine days as bars on a time axis (baseline, then each follow-up window),
    with a tick for each infusion. Insufficient windows get a hatched look and say so."""
    spans = ([baseline] if baseline else []) + list(windows)
    if not spans:
        return None
    start = min([s.start for s in spans] + list(infusion_dates))
    end = max([s.end for s in spans] + list(infusion_dates))
    total = max((end - start).days + 1, 1)
    left, right, top, bottom = 40, 10, 24, height - 34
    plot_w = width - left - right
    top_value = max([s.migraine_days_per_28 or 0 for s in spans] + [8.0])
    scale_max = 4 * (int(top_value) // 4 + 1)

    def x_of(day: date) -> float:
        return round(left + (day - start).days / total * plot_w, 1)

    def y_of(value: float) -> float:
        return round(bottom - value / scale_max * (bottom - top), 1)

    bars = []
    for i, s in enumerate(spans):
        value = s.migraine_days_per_28
        name = "Baseline" if baseline is not None and i == 0 else f"Month {i if baseline else i + 1}"
        x0, x1 = x_of(s.start), x_of(s.end + timedelta(days=1))
        y = y_of(value or 0)
        css = "baseline" if name == "Baseline" else "follow"
        if not s.sufficient:
            css += " insufficient"
        shown = "no days recorded" if value is None else f"{value:g}"
        note = "" if s.sufficient else f", only {s.days_recorded} of {s.length_days} days recorded"
        bars.append(
            Bar(
                x0 + 2,
                y,
                max(x1 - x0 - 4, 2),
                round(bottom - y, 1),
                css,
                name,
                shown,
                f"{name} {s.start:%d %b}–{s.end:%d %b}: {shown} migraine days per 28 days{note}",
            )
        )
    markers = [Marker(x_of(d) + 0.5, f"Infusion on {d:%a %d %b %Y}") for d in infusion_dates]
    gridlines = [Label(left - 6, y_of(v), f"{v:g}") for v in range(0, scale_max + 1, max(scale_max // 4, 1))]
    axis = [Label(x_of(s.start), height - 12, f"{s.start:%d %b}") for s in spans]
    return WindowChart(width, height, top, bottom, bars, markers, gridlines, axis)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    points: list[Point]
    path: str
    gridlines: list[Label]
    axis: list[Label]


def line_chart(
    series: Sequence[tuple[date, float, str]], y_min: float, y_max: float, *, width: int = 340, height: int = 160
) -> LineChart | None:
    """Scores over time (e.g. MIDAS or HIT-6): one point per answer, joined by a line."""
    if not series:
        return None
    left, right, top, bottom = 34, 12, 12, height - 28
    first, last = series[0][0], series[-1][0]
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        if first == last:
            return left + (width - left - right) / 2
        return round(left + (day - first).days / span * (width - left - right), 1)

    def y_of(value: float) -> float:
        return round(bottom - (value - y_min) / (y_max - y_min) * (bottom - top), 1)

    points = [Point(x_of(d), y_of(v), f"{d:%d %b %Y}: {label}") for d, v, label in series]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    step = (y_max - y_min) / 2
    gridlines = [Label(left - 4, y_of(y_min + k * step), f"{y_min + k * step:g}") for k in range(3)]
    axis = [Label(points[0].x, height - 8, f"{first:%b %Y}")]
    if last != first:
        axis.append(Label(points[-1].x, height - 8, f"{last:%b %Y}"))
    return LineChart(width, height, points, path, gridlines, axis)
