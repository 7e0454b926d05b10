"""The flowsheet chart's geometry: pure values in, positions, paths, rows and words out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ketaclinic.infusions import charts
from ketaclinic.infusions.charts import ConcentrationCurve, EventPoint, VitalsPoint

T0 = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)  # 09:00 in Denver (MST)
DENVER = ZoneInfo("America/Denver")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def curve(minutes: int = 60, step: int = 10) -> ConcentrationCurve:
    times = [float(m) for m in range(0, minutes + 1, step)]
    return ConcentrationCurve(T0, times, [2.0 * t for t in times], [3.0 * t for t in times])


def sample_chart() -> charts.FlowsheetChart:
    vitals = [
        VitalsPoint(at(-10), 124, 78, 72, 98),
        VitalsPoint(at(20), 150, 95, 88, 96, from_monitor=True),
        VitalsPoint(at(40), None, None, 90, 94),
        VitalsPoint(at(60), 130, 80, 76, 97),
    ]
    events = [
        EventPoint(at(0), "start", "Start 0.3 mg/kg/h (21.0 mL/h)"),
        EventPoint(at(30), "titrate", "Titrate 0.4 mg/kg/h (28.0 mL/h)"),
        EventPoint(at(60), "stop", "Stop"),
    ]
    chart = charts.flowsheet_chart(
        vitals, events, curve(), tz=DENVER, limits={"systolic_max": 160, "spo2_min": 92, "heart_rate_max": 120}
    )
    assert chart is not None
    return chart


def test_nothing_charted_gives_no_chart() -> None:
    assert charts.flowsheet_chart([], [], None, tz=DENVER) is None


@pytest.mark.parametrize(("span", "step"), [(30, 5), (40, 5), (41, 10), (80, 10), (120, 15), (240, 30), (480, 60)])
def test_tick_spacing_keeps_the_axis_to_nine_labels(span: float, step: int) -> None:
    assert charts.tick_step_min(span) == step
    assert span / step + 1 <= charts.MAX_TICKS


def test_interpolation_is_linear_between_samples_and_none_outside() -> None:
    assert charts.interpolate([0, 10, 20], [0, 100, 50], 5) == 50
    assert charts.interpolate([0, 10, 20], [0, 100, 50], 15) == 75
    assert charts.interpolate([0, 10, 20], [0, 100, 50], 20) == 50
    assert charts.interpolate([0, 10, 20], [0, 100, 50], -1) is None
    assert charts.interpolate([0, 10, 20], [0, 100, 50], 21) is None
    assert charts.interpolate([], [], 0) is None


def test_time_axis_runs_from_the_baseline_to_the_end_with_the_start_at_zero() -> None:
    chart = sample_chart()
    # Baseline at −10 min, curve to +60 min: span 70 → 10-minute ticks from −10 to +60.
    assert [t.text for t in chart.tick_offsets] == [
        "−10 min",
        "start",
        "+10 min",
        "+20 min",
        "+30 min",
        "+40 min",
        "+50 min",
        "+60 min",
    ]
    assert chart.ticks[1].text == "09:00"  # clock time in the location's zone, not UTC
    assert chart.ticks[0].x == chart.plot_left
    assert chart.ticks[-1].x == chart.plot_right
    start = next(e for e in chart.events if e.kind == "start")
    assert start.x == chart.ticks[1].x
    assert start.title == "09:00 Start 0.3 mg/kg/h (21.0 mL/h)"


def test_values_map_to_heights_inside_their_panel() -> None:
    chart = sample_chart()
    bp, spo2, conc = chart.panels
    systolic = bp.series[0]
    assert systolic.name == "Systolic"
    # 124 and 150 mmHg on a 40–200 scale: the higher pressure is drawn higher (smaller y).
    ys = [float(part.split(",")[1]) for part in systolic.path.replace("M", "").replace("L", "").split()]
    assert ys[1] < ys[0]
    assert all(bp.top <= y <= bp.bottom for y in ys)
    # 124 mmHg sits (124−40)/160 of the way up the panel.
    assert ys[0] == pytest.approx(bp.bottom - (124 - 40) / 160 * (bp.bottom - bp.top), abs=0.1)
    assert spo2.title == "SpO2 (%)"
    assert spo2.bottom < conc.top


def test_a_missing_value_breaks_the_line_instead_of_joining_across_it() -> None:
    chart = sample_chart()
    systolic = chart.panels[0].series[0]
    assert systolic.path.count("M") == 2  # the 40-minute set has no blood pressure
    heart_rate = chart.panels[0].series[2]
    assert heart_rate.path.count("M") == 1
    assert len(heart_rate.markers) == 4
    assert heart_rate.markers[1].title == "Heart rate 88 beats/min at 09:20 (from monitor)"


def test_the_dissociation_band_is_shaded_between_100_and_250_ng_per_ml() -> None:
    chart = sample_chart()
    conc = chart.panels[2]
    assert "model estimate, not a measurement" in conc.title
    assert conc.band is not None
    # Scale 0–300 ng/mL (peak 180 is below the band's top, so the minimum 300 applies).
    span = conc.bottom - conc.top
    assert conc.band.y == pytest.approx(conc.bottom - 250 / 300 * span, abs=0.1)
    assert conc.band.y + conc.band.height == pytest.approx(conc.bottom - 100 / 300 * span, abs=0.2)
    assert conc.band.width == chart.plot_right - chart.plot_left
    assert [s.name for s in conc.series] == ["Clements 250 model", "Domino model"]


def test_a_high_prediction_stretches_the_scale_so_the_curve_stays_on_the_chart() -> None:
    high = ConcentrationCurve(T0, [0.0, 30.0], [0.0, 700.0], [0.0, 650.0])
    chart = charts.flowsheet_chart([], [], high, tz=DENVER)
    assert chart is not None
    conc = chart.panels[2]
    assert float(conc.gridlines[-1].text) >= 700
    ys = [float(p.split(",")[1]) for p in conc.series[0].path.replace("M", "").replace("L", "").split()]
    assert min(ys) >= conc.top


def test_alert_limits_are_drawn_as_rules() -> None:
    chart = sample_chart()
    assert [r.text for r in chart.panels[0].rules] == ["Systolic alert above 160", "Heart rate alert above 120"]
    assert [r.text for r in chart.panels[1].rules] == ["Alert below 92%"]


def test_without_a_curve_there_is_no_concentration_panel() -> None:
    chart = charts.flowsheet_chart([VitalsPoint(at(0), 120, 80, 70, 98)], [], None, tz=DENVER)
    assert chart is not None
    assert len(chart.panels) == 2
    assert not chart.has_curve
    assert not any("model" in s for s in chart.summary)


def test_event_labels_close_together_go_on_separate_rows() -> None:
    events = [
        EventPoint(at(0), "start", "Start"),
        EventPoint(at(1), "titrate", "Titrate"),
        EventPoint(at(50), "stop", "Stop"),
    ]
    chart = charts.flowsheet_chart([], events, None, tz=DENVER)
    assert chart is not None
    ys = [e.label.y for e in chart.events]
    assert ys[0] != ys[1]
    assert ys[2] == ys[0]


def test_table_rows_merge_events_and_vitals_in_time_order_with_the_model_values() -> None:
    chart = sample_chart()
    rows = chart.rows
    assert [r.time for r in rows] == ["08:50", "09:00", "09:20", "09:30", "09:40", "10:00", "10:00"]
    assert rows[0].blood_pressure == "124/78 mmHg" and rows[0].clements == "—"  # before the start
    assert rows[1].event.startswith("Start") and rows[1].source == "pump event"
    assert rows[2].source == "monitor" and rows[2].clements == "40 ng/mL" and rows[2].domino == "60 ng/mL"
    assert rows[4].blood_pressure == "—" and rows[4].heart_rate == "90 beats/min"
    # At the same minute the pump event comes before the vitals set.
    assert rows[5].event == "Stop" and rows[6].spo2 == "97%"


def test_the_summary_says_it_in_plain_words_with_units() -> None:
    words = " ".join(sample_chart().summary)
    assert "blood pressure from 124/78 to 150/95 mmHg" in words
    assert "Heart rate 72–90 beats/min" in words
    assert "Lowest SpO2 94%" in words
    assert "120 ng/mL (Clements 250)" in words and "180 ng/mL (Domino)" in words
    assert "not measurements" in words


def test_a_long_monitor_feed_draws_every_value_in_the_line_but_thins_the_markers() -> None:
    systolic = [120 + (i % 7) for i in range(240)]
    systolic[137] = 188  # one spike must stay marked
    vitals = [VitalsPoint(at(i), systolic[i], 80, 70, 97, from_monitor=True) for i in range(240)]
    chart = charts.flowsheet_chart(vitals, [EventPoint(at(0), "start", "Start")], None, tz=DENVER, limits={})
    assert chart is not None
    series = chart.panels[0].series[0]
    assert series.path.count("L") == 239  # every value joined
    assert len(series.markers) <= charts.MARKERS_PER_SERIES_MAX + 3
    assert any("Systolic 188 mmHg" in m.title for m in series.markers)
    assert any(m.title.startswith("Systolic 120 mmHg") for m in series.markers)  # the lowest


def test_the_svg_markup_draws_every_part_and_escapes_every_text() -> None:
    chart = charts.flowsheet_chart(
        [VitalsPoint(at(0), 120, 80, 70, 98), VitalsPoint(at(10), 130, 85, 75, 97)],
        [EventPoint(at(0), "start", 'Start <b>0.3</b> & "fast"')],
        curve(),
        tz=DENVER,
        limits={"systolic_max": 160},
    )
    assert chart is not None
    svg = charts.svg_markup(chart)
    assert svg.startswith('<svg class="fs-svg" viewBox="0 0 760 ') and svg.endswith("</svg>")
    assert "<b>" not in svg
    assert "Start &lt;b&gt;0.3&lt;/b&gt; &amp; &quot;fast&quot;" in svg
    # One marker per value and series (4 series x 2 values), both model lines, the band, the
    # alert line and one pump event.
    assert svg.count('class="fs-marker') == 8  # noqa: PLR2004
    assert 'class="fs-line fs-clements"' in svg and 'class="fs-line fs-domino"' in svg
    assert svg.count('class="fs-band"') == 1
    assert svg.count('class="fs-rule"') == 1
    assert svg.count('class="fs-event fs-event--start"') == 1
    assert "Systolic alert above 160" in svg


def test_without_the_table_the_chart_is_the_same_picture() -> None:
    vitals = [VitalsPoint(at(i), 120 + i, 80, 70, 98) for i in range(5)]
    events = [EventPoint(at(0), "start", "Start")]
    full = charts.flowsheet_chart(vitals, events, curve(), tz=DENVER)
    lean = charts.flowsheet_chart(vitals, events, curve(), tz=DENVER, table=False)
    assert full is not None and lean is not None
    assert full.rows and not lean.rows
    assert charts.svg_markup(full) == charts.svg_markup(lean)
