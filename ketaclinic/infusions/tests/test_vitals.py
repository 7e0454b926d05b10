"""Vital-sign plausibility and alert rules (pure functions, no database)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.infusions.vitals import (
    PLAUSIBLE,
    ImplausibleVitals,
    Thresholds,
    baseline_blocks,
    check_plausible,
    evaluate,
)

# The cited protocol defaults (defaults.py): 90–160 / 50–100 mmHg, HR 50–120, SpO2 ≥92, RR 10–24,
# EtCO2 ≤50, alerts at +40 systolic / +25 diastolic from baseline.
T = Thresholds(
    systolic_max=160,
    systolic_min=90,
    diastolic_max=100,
    diastolic_min=50,
    heart_rate_max=120,
    heart_rate_min=50,
    spo2_min=92,
    resp_rate_min=10,
    resp_rate_max=24,
    etco2_max=50,
    systolic_rise_max=40,
    diastolic_rise_max=25,
)
NORMAL: dict[str, Any] = {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98, "resp_rate": 14}


def _errors(values: dict[str, Any], **kw: Any) -> dict[str, str]:
    with pytest.raises(ImplausibleVitals) as caught:
        check_plausible(values, **kw)
    return caught.value.errors


# --- Plausibility ------------------------------------------------------------------------------


def test_a_normal_set_is_plausible() -> None:
    check_plausible({**NORMAL, "etco2": 38, "temperature_c": 36.8, "pain_nrs": 6, "sedation": 0, "dissociation": 2})


@pytest.mark.parametrize("field", [f for f in PLAUSIBLE if f not in {"systolic", "diastolic"}])
def test_each_bound_is_inclusive_and_one_past_it_is_refused_with_the_unit(field: str) -> None:
    low, high, unit, label = PLAUSIBLE[field]
    check_plausible({field: low})
    check_plausible({field: high})
    for bad in (low - 1, high + 1):
        errors = _errors({field: bad})
        assert list(errors) == [field]
        assert label in errors[field]
        assert unit in errors[field]
        assert "not possible" in errors[field]


def test_blood_pressure_bounds_apply_to_each_number() -> None:
    assert set(_errors({"systolic": 301, "diastolic": 80})) == {"systolic"}
    assert set(_errors({"systolic": 120, "diastolic": 19})) == {"diastolic"}
    check_plausible({"systolic": 300, "diastolic": 200 - 1})
    check_plausible({"systolic": 40 + 1, "diastolic": 20})


def test_an_empty_set_is_refused() -> None:
    assert _errors({}) == {"__all__": "Enter at least one value."}
    assert _errors({"systolic": None, "spo2": None}) == {"__all__": "Enter at least one value."}


@pytest.mark.parametrize(("systolic", "diastolic"), [(80, 90), (100, 100)])
def test_diastolic_must_be_below_systolic(systolic: int, diastolic: int) -> None:
    errors = _errors({"systolic": systolic, "diastolic": diastolic})
    assert errors == {"diastolic": f"Diastolic {diastolic} mmHg must be lower than systolic {systolic} mmHg."}


def test_blood_pressure_needs_both_numbers() -> None:
    assert set(_errors({"systolic": 120})) == {"diastolic"}
    assert set(_errors({"diastolic": 80})) == {"systolic"}


def test_every_impossible_value_is_named_at_once() -> None:
    errors = _errors({"systolic": 400, "diastolic": 80, "spo2": 101, "heart_rate": 0, "resp_rate": 61})
    assert set(errors) == {"systolic", "spo2", "heart_rate", "resp_rate"}


@pytest.mark.parametrize(
    ("scale", "good", "bad"),
    [("rass", (-5, 0, 4), (-6, 5)), ("moaas", (0, 5), (-1, 6))],
)
def test_sedation_follows_the_protocols_scale(scale: str, good: tuple[int, ...], bad: tuple[int, ...]) -> None:
    for value in good:
        check_plausible({"sedation": value}, sedation_scale=scale)
    for value in bad:
        errors = _errors({"sedation": value}, sedation_scale=scale)
        assert scale.upper() in errors["sedation"]


def test_dissociation_runs_to_the_configured_maximum() -> None:
    check_plausible({"dissociation": 4})
    check_plausible({"dissociation": 6}, dissociation_max=6)
    assert "0 to 4" in _errors({"dissociation": 5})["dissociation"]
    assert set(_errors({"dissociation": -1})) == {"dissociation"}


@given(
    st.fixed_dictionaries(
        {
            "heart_rate": st.integers(20, 250),
            "spo2": st.integers(50, 100),
            "resp_rate": st.integers(0, 60),
            "pain_nrs": st.integers(0, 10),
            "temperature_c": st.floats(30, 43),
        }
    ),
    st.integers(41, 300),
    st.data(),
)
def test_any_value_inside_the_bounds_is_plausible(values: dict[str, Any], systolic: int, data: st.DataObject) -> None:
    diastolic = data.draw(st.integers(20, min(200, systolic - 1)))
    check_plausible({**values, "systolic": systolic, "diastolic": diastolic})


@given(st.sampled_from(sorted(PLAUSIBLE)), st.floats(allow_nan=False, allow_infinity=False), st.data())
def test_any_value_outside_the_bounds_is_refused(field: str, value: float, data: st.DataObject) -> None:
    low, high, _unit, _label = PLAUSIBLE[field]
    if low <= value <= high:
        value = data.draw(st.sampled_from([low - 0.5, high + 0.5]))
    values = {field: value}
    if field in {"systolic", "diastolic"}:
        values = {"systolic": 120, "diastolic": 80, field: value}
    assert field in _errors(values)


# --- Alerts ------------------------------------------------------------------------------------


def test_normal_values_raise_nothing() -> None:
    assert evaluate(NORMAL, T, NORMAL) == []


@pytest.mark.parametrize(
    ("field", "at_limit", "past_limit", "words"),
    [
        ("systolic", 160, 161, "above 160 mmHg"),
        ("systolic", 90, 89, "below 90 mmHg"),
        ("diastolic", 100, 101, "above 100 mmHg"),
        ("diastolic", 50, 49, "below 50 mmHg"),
        ("heart_rate", 120, 121, "above 120 beats/min"),
        ("heart_rate", 50, 49, "below 50 beats/min"),
        ("spo2", 92, 91, "below 92 %"),
        ("resp_rate", 24, 25, "above 24 breaths/min"),
        ("resp_rate", 10, 9, "below 10 breaths/min"),
        ("etco2", 50, 51, "above 50 mmHg"),
    ],
)
def test_absolute_thresholds_alert_only_past_the_limit(field: str, at_limit: int, past_limit: int, words: str) -> None:
    assert evaluate({field: at_limit}, T) == []
    (finding,) = evaluate({field: past_limit}, T)
    assert (finding.kind, finding.parameter, finding.value) == ("absolute", field, str(past_limit))
    assert words in finding.message


def test_spo2_has_no_upper_alert_and_etco2_none_when_unset() -> None:
    assert evaluate({"spo2": 100}, T) == []
    assert evaluate({"etco2": 90}, replace(T, etco2_max=None)) == []


@pytest.mark.parametrize(
    ("field", "base", "rise_alerts", "rise_quiet"),
    [("systolic", 110, 40, 39), ("diastolic", 62, 25, 24)],
)
def test_a_rise_from_baseline_alerts_from_the_configured_change(
    field: str, base: int, rise_alerts: int, rise_quiet: int
) -> None:
    baseline = {field: base}
    assert evaluate({field: base + rise_quiet}, T, baseline) == []
    (finding,) = evaluate({field: base + rise_alerts}, T, baseline)
    assert (finding.kind, finding.parameter) == ("change", field)
    assert f"rose {rise_alerts} mmHg from baseline {base} mmHg" in finding.message
    assert f"+{T.systolic_rise_max if field == 'systolic' else T.diastolic_rise_max} mmHg" in finding.message


def test_a_big_rise_past_the_absolute_limit_raises_both_alerts() -> None:
    findings = evaluate({"systolic": 170, "diastolic": 80}, T, {"systolic": 120, "diastolic": 78})
    assert [(f.kind, f.parameter) for f in findings] == [("absolute", "systolic"), ("change", "systolic")]


def test_a_fall_from_baseline_is_not_a_rise() -> None:
    assert evaluate({"systolic": 100, "diastolic": 60}, T, {"systolic": 150, "diastolic": 95}) == []


def test_without_a_baseline_only_absolute_limits_apply() -> None:
    assert evaluate({"systolic": 155}, T, None) == []
    assert evaluate({"systolic": 155}, T, {"systolic": None, "diastolic": None}) == []
    assert evaluate({"systolic": 155}, T, {"systolic": 110}) != []


@given(st.integers(41, 300), st.integers(41, 300))
def test_a_change_alert_fires_exactly_when_the_rise_reaches_the_limit(base: int, now: int) -> None:
    findings = [f for f in evaluate({"systolic": now}, T, {"systolic": base}) if f.kind == "change"]
    assert bool(findings) == (now - base >= T.systolic_rise_max)


# --- Baseline block ----------------------------------------------------------------------------


def test_baseline_within_limits_does_not_block() -> None:
    assert baseline_blocks({"systolic": 140, "diastolic": 90}, 140, 90) == ""
    assert baseline_blocks({"systolic": None, "diastolic": None}, 140, 90) == ""


def test_baseline_above_limits_blocks_naming_each_value() -> None:
    message = baseline_blocks({"systolic": 152, "diastolic": 96}, 140, 90)
    assert "systolic 152 mmHg is above 140 mmHg" in message
    assert "diastolic 96 mmHg is above 90 mmHg" in message
    assert "prescriber must override" in message
    only_diastolic = baseline_blocks({"systolic": 130, "diastolic": 91}, 140, 90)
    assert "systolic" not in only_diastolic.replace("diastolic", "")
