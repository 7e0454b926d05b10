"""Geometry of the flowsheet chart: vitals, pump events and the predicted ketamine plasma
concentration over session time, drawn as inline SVG by templates/infusions/_flowsheet_chart.html
(no chart library, no script; the colours live in static/css/app.css and in the PDF's style).

``flowsheet_chart`` is a pure function of plain values, tested on its own. Three panels share
one time axis: blood pressure and heart rate, SpO2, and the predicted concentration with the
dissociation band (100–250 ng/mL, Zanos 2018 Table 1, docs/clinical-reference.md §3) shaded.
The concentration is a population-model estimate (Clements 250 and Domino), never a
measurement, and every place it appears says so. The chart also returns the same numbers as
table rows and a plain-words summary, so nobody needs to read the picture.

``flowsheet_chart_for`` at the bottom turns a session's rows into those plain values.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ketaclinic.infusions.models import InfusionSession, SessionEvent, VitalSign

MODEL_NOTE: Final = "Model estimate, not a measurement"
# Candidate spacings of the time axis ticks, in minutes.
TICK_STEPS_MIN: Final = (5, 10, 15, 30, 60, 120, 240)
MAX_TICKS: Final = 9
MIN_SPAN_MIN: Final = 30.0

WIDTH: Final = 760
LEFT: Final = 56
RIGHT: Final = 34
EVENT_LABEL_ROWS: Final = 2
EVENT_ROW_HEIGHT: Final = 13
PANEL_TITLE: Final = 16
PANEL_GAP: Final = 14
AXIS_HEIGHT: Final = 34
# Up to this top value (ng/mL) the concentration grid is every 100 ng/mL; above, four steps.
CONCENTRATION_GRID_MAX: Final = 600
# A label needs about this many pixels before the next one on the same row.
EVENT_LABEL_WIDTH: Final = 74


@dataclass(frozen=True)
class VitalsPoint:
    at: datetime
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    from_monitor: bool = False


@dataclass(frozen=True)
class EventPoint:
    at: datetime
    kind: str  # start, titrate, pause, resume, stop, bolus
    text: str  # e.g. "Titrate to 0.4 mg/kg/h (28 mL/h)"


@dataclass(frozen=True)
class ConcentrationCurve:
    """Predicted plasma concentration (ng/mL) at minutes after ``started_at``."""

    started_at: datetime
    minutes: Sequence[float]
    clements: Sequence[float]
    domino: Sequence[float]


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Marker:
    """One charted value: a small shape (SVG path) with a text title."""

    d: str
    title: str


@dataclass(frozen=True)
class Series:
    css: str
    name: str
    path: str
    markers: list[Marker]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line (an alert limit) across a panel."""

    y: float
    text: str


@dataclass(frozen=True)
class Panel:
    title: str
    top: float
    bottom: float
    gridlines: list[Label]
    series: list[Series]
    rules: list[Rule]
    band: Rect | None = None


@dataclass(frozen=True)
class EventMark:
    x: float
    kind: str
    label: Label
    title: str


@dataclass(frozen=True)
class TableRow:
    time: str
    offset: str
    blood_pressure: str
    heart_rate: str
    spo2: str
    event: str
    clements: str
    domino: str
    source: str


@dataclass(frozen=True)
class FlowsheetChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: float
    plot_bottom: float
    panels: list[Panel]
    events: list[EventMark]
    ticks: list[Label]
    tick_offsets: list[Label]
    rows: list[TableRow]
    summary: list[str]
    time_zone: str
    has_curve: bool
    model_note: str = MODEL_NOTE


def tick_step_min(span_min: float) -> int:
    """The smallest candidate spacing that keeps the axis to at most MAX_TICKS labels."""
    for step in TICK_STEPS_MIN:
        if span_min / step + 1 <= MAX_TICKS:
            return step
    return TICK_STEPS_MIN[-1]


def interpolate(minutes: Sequence[float], values: Sequence[float], at_min: float) -> float | None:
    """Linear interpolation of a curve at ``at_min``; None outside the curve's time range."""
    if not minutes or at_min < minutes[0] or at_min > minutes[-1]:
        return None
    for i in range(1, len(minutes)):
        if at_min <= minutes[i]:
            t0, t1 = minutes[i - 1], minutes[i]
            v0, v1 = values[i - 1], values[i]
            if t1 == t0:
                return v1
            return v0 + (v1 - v0) * (at_min - t0) / (t1 - t0)
    return values[0]


def _nice_ceiling(value: float, step: float) -> float:
    return math.ceil(value / step) * step


def _nice_floor(value: float, step: float) -> float:
    return math.floor(value / step) * step


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """An SVG path through the points; a None starts a new stroke (a gap in the data)."""
    parts: list[str] = []
    pen_down = False
    for p in points:
        if p is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{p[0]},{p[1]}")
        pen_down = True
    return " ".join(parts)


def _triangle_down(x: float, y: float) -> str:
    return f"M{x - 4:.1f},{y - 3:.1f} L{x + 4:.1f},{y - 3:.1f} L{x:.1f},{y + 4:.1f} Z"


def _triangle_up(x: float, y: float) -> str:
    return f"M{x - 4:.1f},{y + 3:.1f} L{x + 4:.1f},{y + 3:.1f} L{x:.1f},{y - 4:.1f} Z"


def _dot(x: float, y: float) -> str:
    return f"M{x - 3:.1f},{y:.1f} a3,3 0 1,0 6,0 a3,3 0 1,0 -6,0"


def _minutes_text(offset_min: float) -> str:
    whole = round(offset_min)
    if whole == 0:
        return "start"
    return f"+{whole} min" if whole > 0 else f"−{-whole} min"


def _duration_text(minutes: float) -> str:
    whole = round(minutes)
    hours, mins = divmod(whole, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


class _Axis:
    """Maps a time to x, and a value to y inside one panel."""

    def __init__(self, origin: datetime, first_min: float, last_min: float, tz: tzinfo) -> None:
        self.origin = origin
        self.tz = tz
        self.first_min = first_min
        self.last_min = last_min
        self.plot_left = LEFT
        self.plot_right = WIDTH - RIGHT

    def clock(self, at: datetime) -> str:
        return f"{at.astimezone(self.tz):%H:%M}"

    def minutes(self, at: datetime) -> float:
        return (at - self.origin).total_seconds() / 60

    def x_of_min(self, m: float) -> float:
        share = (m - self.first_min) / (self.last_min - self.first_min)
        return round(self.plot_left + share * (self.plot_right - self.plot_left), 1)

    def x(self, at: datetime) -> float:
        return self.x_of_min(self.minutes(at))


def _y(value: float, low: float, high: float, top: float, bottom: float) -> float:
    return round(bottom - (value - low) / (high - low) * (bottom - top), 1)


def _gridlines(low: float, high: float, step: float, top: float, bottom: float) -> list[Label]:
    count = round((high - low) / step)
    return [
        Label(LEFT - 6, _y(low + k * step, low, high, top, bottom), f"{low + k * step:g}") for k in range(count + 1)
    ]


# Above this many points a series draws a marker on every n-th point (and on its highest and
# lowest values) instead of every point: the line still joins every value, so no spike is
# hidden, and a 4-hour minute-by-minute monitor feed stays a light page on a tablet.
MARKERS_PER_SERIES_MAX = 90


def _kept(values: Sequence[float]) -> range | list[int]:
    """Indices of the values that get a marker: all of them, or on a long series every n-th
    one, the last, and the highest and lowest."""
    if len(values) <= MARKERS_PER_SERIES_MAX:
        return range(len(values))
    step = math.ceil(len(values) / MARKERS_PER_SERIES_MAX)
    keep = set(range(0, len(values), step)) | {len(values) - 1}
    keep |= {values.index(max(values)), values.index(min(values))}
    return sorted(keep)


def _vitals_panel(
    axis: _Axis, vitals: Sequence[VitalsPoint], top: float, height: float, limits: dict[str, float]
) -> Panel:
    values = [v for p in vitals for v in (p.systolic, p.diastolic, p.heart_rate) if v is not None]
    low = min(40.0, _nice_floor(min(values, default=40) - 10, 20))
    high = max(200.0, _nice_ceiling(max(values, default=200) + 10, 20))
    bottom = top + height

    def y(v: float) -> float:
        return _y(v, low, high, top, bottom)

    def series(field: str, css: str, name: str, unit: str, shape: str) -> Series:
        points: list[tuple[float, float] | None] = []
        charted: list[tuple[float, float, VitalsPoint]] = []
        values: list[float] = []
        for p in vitals:
            value = getattr(p, field)
            if value is None:
                points.append(None)
                continue
            x, yy = axis.x(p.at), y(value)
            points.append((x, yy))
            charted.append((x, yy, p))
            values.append(float(value))
        draw = {"down": _triangle_down, "up": _triangle_up, "dot": _dot}[shape]
        markers = []
        for i in _kept(values):
            x, yy, p = charted[i]
            source = " (from monitor)" if p.from_monitor else ""
            markers.append(Marker(draw(x, yy), f"{name} {getattr(p, field)} {unit} at {axis.clock(p.at)}{source}"))
        return Series(css, name, _path(points), markers)

    rules = [
        Rule(y(limits[key]), f"{label} alert above {limits[key]:g}")
        for key, label in (("systolic_max", "Systolic"), ("heart_rate_max", "Heart rate"))
        if key in limits and low <= limits[key] <= high
    ]
    return Panel(
        "Blood pressure (mmHg) and heart rate (beats/min)",
        top,
        bottom,
        _gridlines(low, high, 40, top, bottom),
        [
            series("systolic", "fs-systolic", "Systolic", "mmHg", "down"),
            series("diastolic", "fs-diastolic", "Diastolic", "mmHg", "up"),
            series("heart_rate", "fs-heart-rate", "Heart rate", "beats/min", "dot"),
        ],
        rules,
    )


def _spo2_panel(
    axis: _Axis, vitals: Sequence[VitalsPoint], top: float, height: float, limits: dict[str, float]
) -> Panel:
    values = [p.spo2 for p in vitals if p.spo2 is not None]
    low = min(85.0, _nice_floor(min(values, default=85) - 1, 5))
    high = 100.0
    bottom = top + height

    def y(v: float) -> float:
        return _y(v, low, high, top, bottom)

    points: list[tuple[float, float] | None] = []
    charted: list[tuple[float, float, VitalsPoint]] = []
    marker_values: list[float] = []
    for p in vitals:
        if p.spo2 is None:
            points.append(None)
            continue
        x, yy = axis.x(p.at), y(p.spo2)
        points.append((x, yy))
        charted.append((x, yy, p))
        marker_values.append(float(p.spo2))
    markers = []
    for i in _kept(marker_values):
        x, yy, p = charted[i]
        source = " (from monitor)" if p.from_monitor else ""
        markers.append(Marker(_dot(x, yy), f"SpO2 {p.spo2}% at {axis.clock(p.at)}{source}"))
    rules = []
    if "spo2_min" in limits and low <= limits["spo2_min"] <= high:
        rules.append(Rule(y(limits["spo2_min"]), f"Alert below {limits['spo2_min']:g}%"))
    return Panel(
        "SpO2 (%)",
        top,
        bottom,
        _gridlines(low, high, 5, top, bottom),
        [Series("fs-spo2", "SpO2", _path(points), markers)],
        rules,
    )


def _concentration_panel(
    axis: _Axis, curve: ConcentrationCurve, band: tuple[float, float], top: float, height: float
) -> Panel:
    peak = max([*curve.clements, *curve.domino, band[1]])
    high = max(300.0, _nice_ceiling(peak * 1.05, 100))
    low = 0.0
    bottom = top + height
    offset = axis.minutes(curve.started_at)

    def y(v: float) -> float:
        return _y(v, low, high, top, bottom)

    def line(values: Sequence[float]) -> str:
        return _path([(axis.x_of_min(m + offset), y(v)) for m, v in zip(curve.minutes, values, strict=True)])

    band_top, band_bottom = y(min(band[1], high)), y(band[0])
    shaded = Rect(
        axis.plot_left,
        band_top,
        axis.plot_right - axis.plot_left,
        round(band_bottom - band_top, 1),
        f"Dissociation band {band[0]:g}–{band[1]:g} ng/mL (Zanos 2018, Bowdle 1998)",
    )
    step = 100.0 if high <= CONCENTRATION_GRID_MAX else _nice_ceiling(high / 4, 100)
    return Panel(
        f"Predicted ketamine plasma concentration (ng/mL): {MODEL_NOTE.lower()}",
        top,
        bottom,
        _gridlines(low, high, step, top, bottom),
        [
            Series("fs-clements", "Clements 250 model", line(curve.clements), []),
            Series("fs-domino", "Domino model", line(curve.domino), []),
        ],
        [],
        shaded,
    )


def _event_marks(axis: _Axis, events: Sequence[EventPoint], top: float) -> list[EventMark]:
    marks: list[EventMark] = []
    row_end = [-math.inf] * EVENT_LABEL_ROWS
    short = {"titrate": "Titrate", "start": "Start", "pause": "Pause", "resume": "Resume", "stop": "Stop"}
    for e in events:
        x = axis.x(e.at)
        row = next((r for r in range(EVENT_LABEL_ROWS) if x >= row_end[r]), EVENT_LABEL_ROWS - 1)
        row_end[row] = x + EVENT_LABEL_WIDTH
        text = short.get(e.kind, e.kind.title())
        marks.append(
            EventMark(
                x, e.kind, Label(x + 2, top + (row + 1) * EVENT_ROW_HEIGHT - 3, text), f"{axis.clock(e.at)} {e.text}"
            )
        )
    return marks


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ng/mL"


def _rows(
    axis: _Axis,
    vitals: Sequence[VitalsPoint],
    events: Sequence[EventPoint],
    curve: ConcentrationCurve | None,
    tz: tzinfo,
) -> list[TableRow]:
    entries: list[tuple[datetime, int, VitalsPoint | EventPoint]] = [(p.at, 1, p) for p in vitals]
    entries += [(e.at, 0, e) for e in events]
    entries.sort(key=lambda item: (item[0], item[1]))
    rows = []
    for at, _order, item in entries:
        clements = domino = None
        if curve is not None:
            since_start = (at - curve.started_at).total_seconds() / 60
            clements = interpolate(curve.minutes, curve.clements, since_start)
            domino = interpolate(curve.minutes, curve.domino, since_start)
        common = {
            "time": axis.clock(at),
            "offset": _minutes_text(axis.minutes(at)),
            "clements": _fmt(clements),
            "domino": _fmt(domino),
        }
        if isinstance(item, EventPoint):
            rows.append(
                TableRow(**common, blood_pressure="", heart_rate="", spo2="", event=item.text, source="pump event")
            )
            continue
        bp = f"{item.systolic or '—'}/{item.diastolic or '—'} mmHg" if item.systolic or item.diastolic else "—"
        rows.append(
            TableRow(
                **common,
                blood_pressure=bp,
                heart_rate=f"{item.heart_rate} beats/min" if item.heart_rate is not None else "—",
                spo2=f"{item.spo2}%" if item.spo2 is not None else "—",
                event="",
                source="monitor" if item.from_monitor else "typed in",
            )
        )
    return rows


def _summary(
    vitals: Sequence[VitalsPoint], curve: ConcentrationCurve | None, band: tuple[float, float], tz: tzinfo
) -> list[str]:
    words = []
    bps = [(p.systolic, p.diastolic) for p in vitals if p.systolic is not None and p.diastolic is not None]
    if bps:
        high = max(bps)
        low = min(bps)
        words.append(
            f"{len(vitals)} vitals set{'s' if len(vitals) != 1 else ''} charted; blood pressure from "
            f"{low[0]}/{low[1]} to {high[0]}/{high[1]} mmHg."
        )
    rates = [p.heart_rate for p in vitals if p.heart_rate is not None]
    if rates:
        words.append(f"Heart rate {min(rates)}–{max(rates)} beats/min.")
    sats = [p.spo2 for p in vitals if p.spo2 is not None]
    if sats:
        words.append(f"Lowest SpO2 {min(sats)}%.")
    if not vitals:
        words.append("No vitals charted yet.")
    if curve is not None and curve.clements:
        peak_i = max(range(len(curve.clements)), key=lambda i: curve.clements[i])
        peak_at = curve.started_at + timedelta(minutes=curve.minutes[peak_i])
        words.append(
            f"Predicted peak concentration {curve.clements[peak_i]:.0f} ng/mL (Clements 250) and "
            f"{max(curve.domino):.0f} ng/mL (Domino); Clements peak at {peak_at.astimezone(tz):%H:%M}. "
            f"The shaded band {band[0]:g}–{band[1]:g} ng/mL is where dissociation is reported. "
            "These curves are model estimates from population data, not measurements of this patient."
        )
    return words


def flowsheet_chart(
    vitals: Sequence[VitalsPoint],
    events: Sequence[EventPoint],
    curve: ConcentrationCurve | None,
    *,
    tz: tzinfo,
    band: tuple[float, float] = (100.0, 250.0),
    limits: dict[str, float] | None = None,
    table: bool = True,
) -> FlowsheetChart | None:
    """The flowsheet over session time, or None when nothing has been charted.

    Time runs from the first charted moment (baseline vitals come before the start) to the last
    (the curve continues after the stop while the drug washes out). Minutes are counted from the
    pump start when there is one. ``limits`` draws alert lines (systolic_max, heart_rate_max,
    spo2_min) so a reader sees how close a value came. ``table=False`` leaves out the table rows
    (``rows`` empty) for pages that print the vitals in a table of their own."""
    if not vitals and not events and curve is None:
        return None
    vitals = sorted(vitals, key=lambda p: p.at)
    events = sorted(events, key=lambda e: e.at)
    times = [p.at for p in vitals] + [e.at for e in events]
    if curve is not None:
        times += [curve.started_at + timedelta(minutes=m) for m in (curve.minutes[0], curve.minutes[-1])]
    start_event = next((e.at for e in events if e.kind == "start"), None)
    origin = curve.started_at if curve is not None else start_event or min(times)
    first = min((t - origin).total_seconds() / 60 for t in times)
    last = max((t - origin).total_seconds() / 60 for t in times)
    if last - first < MIN_SPAN_MIN:
        last = first + MIN_SPAN_MIN
    step = tick_step_min(last - first)
    first = _nice_floor(first, step)
    last = _nice_ceiling(last, step)
    axis = _Axis(origin, first, last, tz)

    plot_top = float(EVENT_LABEL_ROWS * EVENT_ROW_HEIGHT + 4)
    limits = limits or {}
    panels = []
    top = plot_top + PANEL_TITLE
    panels.append(_vitals_panel(axis, vitals, top, 170, limits))
    top = panels[-1].bottom + PANEL_GAP + PANEL_TITLE
    panels.append(_spo2_panel(axis, vitals, top, 70, limits))
    if curve is not None:
        top = panels[-1].bottom + PANEL_GAP + PANEL_TITLE
        panels.append(_concentration_panel(axis, curve, band, top, 140))
    plot_bottom = panels[-1].bottom
    height = round(plot_bottom + AXIS_HEIGHT)

    ticks, offsets = [], []
    k = first
    while k <= last + 1e-9:
        x = axis.x_of_min(k)
        at = origin + timedelta(minutes=k)
        ticks.append(Label(x, plot_bottom + 14, f"{at.astimezone(tz):%H:%M}"))
        offsets.append(Label(x, plot_bottom + 27, _minutes_text(k)))
        k += step
    return FlowsheetChart(
        width=WIDTH,
        height=height,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        panels=panels,
        events=_event_marks(axis, events, 0.0),
        ticks=ticks,
        tick_offsets=offsets,
        rows=_rows(axis, vitals, events, curve, tz) if table else [],
        summary=_summary(vitals, curve, band, tz),
        time_zone=str(tz),
        has_curve=curve is not None,
    )


# --- From a session's rows -------------------------------------------------------------------


def event_text(event: SessionEvent) -> str:
    """One pump event in words with units, as the chart and the record print it."""
    label = event.get_kind_display()
    if event.dose_mg_per_kg_h is not None:
        label += f" {event.dose_mg_per_kg_h.normalize():f} mg/kg/h"
    if event.pump_rate_ml_per_h is not None:
        label += f" ({event.pump_rate_ml_per_h} mL/h)"
    if event.bolus_mg is not None:
        label += f" {event.bolus_mg.normalize():f} mg"
    if event.reason:
        label += f": {event.reason}"
    return label


def flowsheet_chart_for(
    session: InfusionSession,
    *,
    vitals: Iterable[VitalSign] | None = None,
    events: Iterable[SessionEvent] | None = None,
    table: bool = True,
    points: Sequence[VitalsPoint] | None = None,
) -> FlowsheetChart | None:
    """The chart for a session. Pass the vitals and events a page already loaded to save
    queries (or ``points``, the vitals already as chart points); otherwise they are read here.
    The curve comes from ``queries.pk_curve``; ``table`` as in ``flowsheet_chart``."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - keeps the geometry above free of Django

    from ketaclinic.infusions import queries  # noqa: PLC0415

    if points is None:
        rows = list(vitals) if vitals is not None else list(session.vitals.all())
        points = [
            VitalsPoint(
                at=v.taken_at,
                systolic=v.systolic,
                diastolic=v.diastolic,
                heart_rate=v.heart_rate,
                spo2=v.spo2,
                from_monitor=v.source == "device",
            )
            for v in rows
        ]
    pump = list(events) if events is not None else list(session.events.all())
    curve = queries.pk_curve(session)
    version = session.protocol_version
    return flowsheet_chart(
        points,
        [EventPoint(at=e.at, kind=e.kind, text=event_text(e)) for e in pump],
        ConcentrationCurve(curve.started_at, curve.minutes, curve.clements, curve.domino) if curve else None,
        tz=ZoneInfo(session.location.time_zone),
        band=queries.DISSOCIATION_BAND_NG_PER_ML,
        limits={
            "systolic_max": float(version.systolic_max),
            "heart_rate_max": float(version.heart_rate_max),
            "spo2_min": float(version.spo2_min),
        },
        table=table,
    )


# --- The SVG markup --------------------------------------------------------------------------
# Written here rather than in a template loop: a 4-hour monitor feed is hundreds of shapes, and
# Django's template engine costs tens of milliseconds for them on every page view, where this
# costs about one. Every text is escaped (html.escape, the same entities as Django's escape).


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg_panel(c: FlowsheetChart, p: Panel, out: list[str]) -> None:
    out.append(f'\n<text class="fs-panel-title" x="{c.plot_left}" y="{int(p.top) - 4}">{_e(p.title)}</text>\n')
    if p.band:
        b = p.band
        out.append(
            f'<rect class="fs-band" x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}">'
            f"<title>{_e(b.title)}</title></rect>\n"
            f'<text class="fs-band-label" x="{c.plot_right - 4}" y="{int(b.y) + 11}" text-anchor="end">'
            "dissociation band</text>"
        )
    out.append("\n")
    out.extend(
        f'<line class="chart__grid" x1="{c.plot_left}" x2="{c.plot_right}" y1="{g.y}" y2="{g.y}"/>'
        f'<text class="chart__label" x="{g.x}" y="{g.y}" text-anchor="end" dominant-baseline="middle">'
        f"{_e(g.text)}</text>"
        for g in p.gridlines
    )
    out.append("\n")
    out.extend(
        f'<line class="fs-rule" x1="{c.plot_left}" x2="{c.plot_right}" y1="{r.y}" y2="{r.y}">'
        f"<title>{_e(r.text)}</title></line>"
        for r in p.rules
    )
    out.append("\n")
    for s in p.series:
        css = _e(s.css)
        if s.path:
            out.append(f'<path class="fs-line {css}" d="{s.path}"><title>{_e(s.name)}</title></path>')
        out.append("\n")
        out.extend(f'<path class="fs-marker {css}" d="{m.d}"><title>{_e(m.title)}</title></path>' for m in s.markers)
    out.append("\n")


def svg_markup(c: FlowsheetChart) -> str:
    """The chart's ``<svg>`` element (plain text with every value escaped; the caller marks it
    safe). The legend, notes and table around it stay in templates/infusions/_flowsheet_chart.html."""
    curve_title = f" and predicted ketamine concentration ({_e(c.model_note.lower())})" if c.has_curve else ""
    out = [
        f'<svg class="fs-svg" viewBox="0 0 {c.width} {c.height}" width="100%" role="img" '
        'aria-labelledby="fs-chart-title fs-chart-desc">\n'
        f'<title id="fs-chart-title">Flowsheet: blood pressure, heart rate, SpO2{curve_title} over session time</title>\n'
        f'<desc id="fs-chart-desc">{"".join(_e(s) + " " for s in c.summary)}</desc>\n'
    ]
    for p in c.panels:
        _svg_panel(c, p, out)
    out.append("\n")
    for e in c.events:
        out.append(
            f'<line class="fs-event fs-event--{_e(e.kind)}" x1="{e.x}" x2="{e.x}" y1="{c.plot_top}" '
            f'y2="{c.plot_bottom}"><title>{_e(e.title)}</title></line>\n'
            f'<text class="fs-event-label" x="{e.label.x}" y="{e.label.y}">{_e(e.label.text)}'
            f"<title>{_e(e.title)}</title></text>"
        )
    out.append(
        f'\n<line class="chart__grid" x1="{c.plot_left}" x2="{c.plot_right}" y1="{c.plot_bottom}" y2="{c.plot_bottom}"/>\n'
    )
    for labels in (c.ticks, c.tick_offsets):
        out.extend(
            f'<text class="chart__label" x="{t.x}" y="{t.y}" text-anchor="middle">{_e(t.text)}</text>' for t in labels
        )
        out.append("\n")
    out.append("</svg>")
    return "".join(out)
