"""Dose arithmetic: pump rate, bag concentration, limits and timeline totals.

Expected values are worked by hand in the comments, so a failure points at the arithmetic.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.infusions.dosing import (
    BOLUS_MG_PER_KG_MAX,
    CONCENTRATION_MG_PER_ML_MAX,
    CONCENTRATION_MG_PER_ML_MIN,
    DOSE_MG_PER_KG_H_MAX,
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    DoseInputError,
    DoseLimits,
    InfusionEvent,
    LimitWideningError,
    Segment,
    TimelineError,
    build_schedule,
    check_dose_rate,
    check_session_total,
    compute_totals,
    concentration_mg_per_ml,
    narrow,
    pump_rate_ml_per_h,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A time `minutes` after 09:00 UTC."""
    return T0 + timedelta(minutes=minutes)


def start(minutes: float, dose: float) -> InfusionEvent:
    return InfusionEvent(at(minutes), "start", dose_mg_per_kg_h=dose)


def titrate(minutes: float, dose: float) -> InfusionEvent:
    return InfusionEvent(at(minutes), "titrate", dose_mg_per_kg_h=dose)


def pause(minutes: float) -> InfusionEvent:
    return InfusionEvent(at(minutes), "pause")


def resume(minutes: float) -> InfusionEvent:
    return InfusionEvent(at(minutes), "resume")


def stop(minutes: float) -> InfusionEvent:
    return InfusionEvent(at(minutes), "stop")


def bolus(minutes: float, mg: float) -> InfusionEvent:
    return InfusionEvent(at(minutes), "bolus", bolus_mg=mg)


# ---------------------------------------------------------------------------------------------
# Pump rate
# ---------------------------------------------------------------------------------------------


def test_reference_example_gives_35_ml_per_h() -> None:
    # docs/clinical-reference.md §2: 0.5 mg/kg/h × 70 kg ÷ 1 mg/mL = 35 mL/h.
    assert pump_rate_ml_per_h(0.5, 70, 1) == 35.0


@pytest.mark.parametrize(
    ("dose", "weight", "concentration", "expected"),
    [
        (0.5, 70, 2, 17.5),  # 35 mg/h ÷ 2 mg/mL
        (1.0, 80, 1, 80.0),  # 80 mg/h ÷ 1 mg/mL
        (0.1, 65, 1, 6.5),  # 6.5 mg/h
        (0.5, 70, 3, 11.7),  # 35 ÷ 3 = 11.666… → 11.7
        (0.4, 70, 3, 9.3),  # 28 ÷ 3 = 9.333… → 9.3
        (0.35, 70, 2, 12.3),  # 24.5 ÷ 2 = 12.25 exactly → half-up 12.3 (float round gives 12.2)
        (0.15, 70, 2, 5.3),  # 10.5 ÷ 2 = 5.25 exactly → 5.3
        (0.25, 70.5, 1, 17.6),  # 17.625 → 17.6
        (0.3, 70.5, 2, 10.6),  # 21.15 ÷ 2 = 10.575 → 10.6
        (0.05, 21, 1, 1.1),  # 1.05 exactly → 1.1
        (0.1, 20.5, 1, 2.1),  # 2.05 exactly → 2.1
        (5.0, 350, 0.1, 17500.0),  # the extremes of every bound
        (0.01, 20, 1, 0.2),  # 0.2 mL/h
        (0.01, 25, 5, 0.1),  # 0.05 exactly → 0.1, the smallest rate the pump runs
    ],
)
def test_pump_rate_rounds_half_up_to_a_tenth(dose: float, weight: float, concentration: float, expected: float) -> None:
    assert pump_rate_ml_per_h(dose, weight, concentration) == expected


def test_pump_rate_refuses_a_rate_that_rounds_to_zero() -> None:
    # 0.01 mg/kg/h × 20 kg ÷ 10 mg/mL = 0.02 mL/h, shown as 0.0: the pump would deliver nothing.
    with pytest.raises(DoseInputError, match=r"rounds to 0\.0 mL/h"):
        pump_rate_ml_per_h(0.01, 20, 10)


def test_pump_rate_accepts_each_bound_inclusive() -> None:
    assert pump_rate_ml_per_h(DOSE_MG_PER_KG_H_MAX, 70, 1) == 350.0
    assert pump_rate_ml_per_h(0.5, WEIGHT_KG_MIN, 1) == 10.0
    assert pump_rate_ml_per_h(0.5, WEIGHT_KG_MAX, 1) == 175.0
    assert pump_rate_ml_per_h(0.5, 70, CONCENTRATION_MG_PER_ML_MIN) == 350.0
    assert pump_rate_ml_per_h(0.5, 70, CONCENTRATION_MG_PER_ML_MAX) == 3.5


BAD_NUMBERS: list[Any] = [0, 0.0, -0.5, -1, math.nan, math.inf, -math.inf, True, "1", None]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_pump_rate_refuses_a_bad_dose_naming_the_field(bad: Any) -> None:
    with pytest.raises(DoseInputError, match="dose_mg_per_kg_h"):
        pump_rate_ml_per_h(bad, 70, 1)


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_pump_rate_refuses_a_bad_weight_naming_the_field(bad: Any) -> None:
    with pytest.raises(DoseInputError, match="weight_kg"):
        pump_rate_ml_per_h(0.5, bad, 1)


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_pump_rate_refuses_a_bad_concentration_naming_the_field(bad: Any) -> None:
    with pytest.raises(DoseInputError, match="concentration_mg_per_ml"):
        pump_rate_ml_per_h(0.5, 70, bad)


@pytest.mark.parametrize("dose", [5.01, 10, 50, 500])
def test_pump_rate_refuses_an_absurd_dose_rate(dose: float) -> None:
    # 50 is what 0.5 becomes with the decimal point in the wrong place twice.
    with pytest.raises(DoseInputError, match="dose_mg_per_kg_h.*misplaced decimal"):
        pump_rate_ml_per_h(dose, 70, 1)


@pytest.mark.parametrize("weight", [19.9, 5, 350.1, 1000])
def test_pump_rate_refuses_an_implausible_weight(weight: float) -> None:
    with pytest.raises(DoseInputError, match="weight_kg.*outside the plausible range"):
        pump_rate_ml_per_h(0.5, weight, 1)


@pytest.mark.parametrize("concentration", [0.09, 0.01, 10.1, 50, 100])
def test_pump_rate_refuses_an_undiluted_or_implausible_concentration(
    concentration: float,
) -> None:
    # 50 and 100 mg/mL are vial strengths that must be diluted before IV use (Ketalar label).
    with pytest.raises(DoseInputError, match="concentration_mg_per_ml"):
        pump_rate_ml_per_h(0.5, 70, concentration)


def test_dose_input_error_is_a_value_error() -> None:
    assert issubclass(DoseInputError, ValueError)


# From 0.1 mg/kg/h, even 20 kg on a 10 mg/mL bag gives a rate the pump can run (0.2 mL/h).
doses = st.floats(min_value=0.1, max_value=2.5, allow_nan=False)
weights = st.floats(min_value=WEIGHT_KG_MIN, max_value=WEIGHT_KG_MAX, allow_nan=False)
concentrations = st.floats(
    min_value=CONCENTRATION_MG_PER_ML_MIN, max_value=CONCENTRATION_MG_PER_ML_MAX, allow_nan=False
)


@given(doses, weights, concentrations)
def test_pump_rate_is_within_half_a_step_of_the_unrounded_rate(
    dose: float, weight: float, concentration: float
) -> None:
    rate = pump_rate_ml_per_h(dose, weight, concentration)
    assert abs(rate - dose * weight / concentration) <= 0.05 + 1e-9 * rate
    assert rate * 10 == pytest.approx(round(rate * 10))


@given(doses, weights, concentrations)
def test_pump_rate_scales_linearly_with_dose(dose: float, weight: float, concentration: float) -> None:
    # Each rounding moves a rate by at most 0.05, so 2 × rate(d) and rate(2 × d) differ by at
    # most 0.05 × (2 + 1).
    single = pump_rate_ml_per_h(dose, weight, concentration)
    doubled = pump_rate_ml_per_h(dose * 2, weight, concentration)
    assert abs(doubled - 2 * single) <= 0.15 + 1e-9 * doubled


@given(doses, st.integers(min_value=20, max_value=175), concentrations)
def test_pump_rate_scales_linearly_with_weight(dose: float, weight: int, concentration: float) -> None:
    single = pump_rate_ml_per_h(dose, weight, concentration)
    doubled = pump_rate_ml_per_h(dose, weight * 2, concentration)
    assert abs(doubled - 2 * single) <= 0.15 + 1e-9 * doubled


@given(doses, weights, concentrations, doses)
def test_pump_rate_never_falls_when_the_dose_rises(
    dose: float, weight: float, concentration: float, other_dose: float
) -> None:
    low, high = sorted((dose, other_dose))
    assert pump_rate_ml_per_h(low, weight, concentration) <= pump_rate_ml_per_h(high, weight, concentration)


# ---------------------------------------------------------------------------------------------
# Bag concentration
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug_mg", "final_volume_ml", "expected"),
    [
        (500, 500, 1.0),  # Ketalar label: 1 mg/mL
        (500, 250, 2.0),  # fluid-restricted: 2 mg/mL
        (500, 510, 500 / 510),  # 10 mL of 50 mg/mL into 500 mL: 0.980… mg/mL
        (50, 500, 0.1),  # the lower bound, inclusive
        (1000, 100, 10.0),  # the upper bound, inclusive
    ],
)
def test_concentration_divides_drug_by_final_volume(drug_mg: float, final_volume_ml: float, expected: float) -> None:
    assert concentration_mg_per_ml(drug_mg, final_volume_ml) == expected


@pytest.mark.parametrize(("drug_mg", "final_volume_ml"), [(500, 5), (500, 10), (1000, 99), (10, 500)])
def test_concentration_refuses_an_undiluted_or_too_dilute_bag(drug_mg: float, final_volume_ml: float) -> None:
    with pytest.raises(DoseInputError, match="diluted-bag range"):
        concentration_mg_per_ml(drug_mg, final_volume_ml)


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_concentration_refuses_a_bad_drug_amount(bad: Any) -> None:
    with pytest.raises(DoseInputError, match="drug_mg"):
        concentration_mg_per_ml(bad, 500)


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_concentration_refuses_a_bad_volume(bad: Any) -> None:
    with pytest.raises(DoseInputError, match="final_volume_ml"):
        concentration_mg_per_ml(500, bad)


# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------

PROTOCOL = DoseLimits(
    soft_max_mg_per_kg_h=1.0,
    hard_max_mg_per_kg_h=1.5,
    start_mg_per_kg_h=0.1,
    max_total_mg_per_session=300,
)


@pytest.mark.parametrize(
    ("dose", "level"),
    [
        (0.1, "ok"),
        (0.99, "ok"),
        (1.0, "ok"),  # a rate equal to the soft limit is within it
        (1.01, "soft"),
        (1.5, "soft"),  # equal to the hard limit: still only soft
        (1.51, "hard"),
        (5.0, "hard"),
    ],
)
def test_check_dose_rate_levels(dose: float, level: str) -> None:
    assert check_dose_rate(dose, PROTOCOL).level == level


def test_soft_limit_is_overridable_and_names_the_limit() -> None:
    result = check_dose_rate(1.2, PROTOCOL)
    assert result.is_overridable
    assert "soft limit of 1 mg/kg/h" in result.message
    assert "override reason" in result.message


def test_nurse_cannot_exceed_hard_limit() -> None:
    result = check_dose_rate(2.0, PROTOCOL)
    assert result.level == "hard"
    assert not result.is_overridable
    assert "hard limit of 1.5 mg/kg/h" in result.message


def test_rate_within_the_soft_limit_is_ok() -> None:
    result = check_dose_rate(0.5, PROTOCOL)
    assert result.is_overridable
    assert result.message == "0.5 mg/kg/h is within the soft limit of 1 mg/kg/h."


@pytest.mark.parametrize("bad", [0, -1, math.nan, 5.5, 50])
def test_check_dose_rate_refuses_absurd_input_rather_than_grading_it(bad: float) -> None:
    with pytest.raises(DoseInputError, match="dose_mg_per_kg_h"):
        check_dose_rate(bad, PROTOCOL)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"soft_max_mg_per_kg_h": 1.6}, "soft_max_mg_per_kg_h .* must not exceed hard"),
        ({"start_mg_per_kg_h": 1.1}, "start_mg_per_kg_h .* must not exceed soft"),
        ({"max_total_mg_per_session": 0}, "max_total_mg_per_session"),
        ({"max_total_mg_per_session": math.nan}, "max_total_mg_per_session"),
        ({"hard_max_mg_per_kg_h": 6}, "hard_max_mg_per_kg_h .*misplaced decimal"),
        ({"soft_max_mg_per_kg_h": 0}, "soft_max_mg_per_kg_h must be greater than zero"),
        ({"start_mg_per_kg_h": math.inf}, "start_mg_per_kg_h must be a finite number"),
    ],
)
def test_dose_limits_refuse_an_inconsistent_library_entry(kwargs: dict[str, float], field: str) -> None:
    values: dict[str, float] = {
        "soft_max_mg_per_kg_h": 1.0,
        "hard_max_mg_per_kg_h": 1.5,
        "start_mg_per_kg_h": 0.1,
        "max_total_mg_per_session": 300,
    }
    with pytest.raises(DoseInputError, match=field):
        DoseLimits(**(values | kwargs))


def test_soft_and_hard_limit_may_be_equal() -> None:
    limits = DoseLimits(1.0, 1.0, 0.1, 300)
    assert check_dose_rate(1.0, limits).level == "ok"
    assert check_dose_rate(1.01, limits).level == "hard"


@pytest.mark.parametrize(("total", "level"), [(0, "ok"), (300, "ok"), (300.5, "hard")])
def test_check_session_total(total: float, level: str) -> None:
    assert check_session_total(total, PROTOCOL).level == level


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf])
def test_check_session_total_refuses_a_bad_total(bad: float) -> None:
    with pytest.raises(DoseInputError, match="total_mg"):
        check_session_total(bad, PROTOCOL)


def test_prescriber_may_narrow_every_limit() -> None:
    order = DoseLimits(0.6, 0.8, 0.2, 120)
    assert narrow(PROTOCOL, order) == order


def test_prescriber_may_repeat_the_protocol_limits() -> None:
    assert narrow(PROTOCOL, PROTOCOL) == PROTOCOL


def test_order_may_choose_a_higher_start_within_its_soft_limit() -> None:
    # The start rate is not a limit, so a start above the protocol's is not a widening.
    order = DoseLimits(1.0, 1.5, 0.3, 300)
    assert narrow(PROTOCOL, order).start_mg_per_kg_h == 0.3


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (DoseLimits(1.1, 1.5, 0.1, 300), "soft_max_mg_per_kg_h"),
        (DoseLimits(1.0, 1.6, 0.1, 300), "hard_max_mg_per_kg_h"),
        (DoseLimits(0.5, 0.8, 0.1, 301), "max_total_mg_per_session"),
    ],
)
def test_prescriber_cannot_widen_a_protocol_limit(order: DoseLimits, field: str) -> None:
    with pytest.raises(LimitWideningError, match=field):
        narrow(PROTOCOL, order)


def test_narrowed_limits_then_govern_the_check() -> None:
    order = narrow(PROTOCOL, DoseLimits(0.5, 0.8, 0.1, 100))
    # 0.9 mg/kg/h is within the protocol's soft limit but above this order's hard limit.
    assert check_dose_rate(0.9, PROTOCOL).level == "ok"
    assert check_dose_rate(0.9, order).level == "hard"


# ---------------------------------------------------------------------------------------------
# Timeline totals
# ---------------------------------------------------------------------------------------------


def test_totals_over_titrations_and_a_pause() -> None:
    events = [
        start(0, 0.3),  # 09:00
        titrate(30, 0.5),  # 09:30
        pause(60),  # 10:00
        resume(70),  # 10:10
        titrate(100, 0.8),  # 10:40
        stop(130),  # 11:10
    ]
    # 09:00–09:30 0.3 mg/kg/h × 70 kg × 0.5 h = 10.5 mg
    # 09:30–10:00 0.5 × 70 × 0.5                 = 17.5 mg
    # 10:00–10:10 paused                          =  0
    # 10:10–10:40 0.5 × 70 × 0.5                 = 17.5 mg
    # 10:40–11:10 0.8 × 70 × 0.5                 = 28.0 mg
    # total 73.5 mg; at 2 mg/mL 36.75 mL; running 30 + 30 + 30 + 30 = 120 min.
    totals = compute_totals(events, 70, 2, until=at(180))
    assert totals.total_mg == 73.5
    assert totals.total_ml == 36.75
    assert totals.infusion_min == 120.0


def test_bolus_adds_its_mg_and_ml_instantly() -> None:
    events = [start(0, 0.3), titrate(30, 0.5), pause(60), bolus(65, 7), resume(70), stop(100)]
    # Infusion: 10.5 + 17.5 + 17.5 (10:10–10:40 at 0.5) = 45.5 mg; bolus 7 mg → 52.5 mg.
    # mL at 2 mg/mL: 26.25. Running minutes: 30 + 30 + 30 = 90; the bolus adds none.
    totals = compute_totals(events, 70, 2, until=at(100))
    assert totals.total_mg == 52.5
    assert totals.total_ml == 26.25
    assert totals.infusion_min == 90.0


def test_totals_are_exact_for_thirds_of_an_hour() -> None:
    # 0.5 mg/kg/h × 70 kg × 20/60 h = 35/3 mg = 11.666… mg; at 3 mg/mL 35/9 mL.
    totals = compute_totals([start(0, 0.5), stop(20)], 70, 3, until=at(20))
    assert totals.total_mg == 35 / 3
    assert totals.total_ml == 35 / 9
    assert totals.infusion_min == 20.0


def test_totals_use_the_decimal_values_as_typed() -> None:
    # 0.7 mg/kg/h × 83.3 kg × 0.5 h = 29.155 mg exactly; float arithmetic gives 29.154999….
    assert 0.7 * 83.3 * 0.5 != 29.155
    totals = compute_totals([start(0, 0.7), stop(30)], 83.3, 1, until=at(30))
    assert totals.total_mg == 29.155
    assert totals.total_ml == 29.155


def test_running_infusion_counts_up_to_until() -> None:
    # 0.5 × 70 × 0.75 h = 26.25 mg, 45 min.
    totals = compute_totals([start(0, 0.5)], 70, 1, until=at(45))
    assert (totals.total_mg, totals.total_ml, totals.infusion_min) == (26.25, 26.25, 45.0)


def test_paused_infusion_at_until_counts_nothing_after_the_pause() -> None:
    # 0.5 × 70 × 0.5 h = 17.5 mg; paused from 09:30 to until 10:30.
    totals = compute_totals([start(0, 0.5), pause(30)], 70, 1, until=at(90))
    assert (totals.total_mg, totals.infusion_min) == (17.5, 30.0)


def test_titration_while_paused_applies_from_the_resume() -> None:
    events = [start(0, 0.5), pause(30), titrate(40, 1.0), resume(50), stop(80)]
    # 09:00–09:30 0.5 × 70 × 0.5 = 17.5 mg; 09:50–10:20 1.0 × 70 × 0.5 = 35 mg → 52.5 mg, 60 min.
    totals = compute_totals(events, 70, 1, until=at(80))
    assert (totals.total_mg, totals.infusion_min) == (52.5, 60.0)


def test_stop_while_paused_ends_the_session() -> None:
    # 17.5 mg in the first half hour; paused 09:30–09:45; stop.
    totals = compute_totals([start(0, 0.5), pause(30), stop(45)], 70, 1, until=at(120))
    assert (totals.total_mg, totals.infusion_min) == (17.5, 30.0)


def test_loading_bolus_before_the_start_is_counted() -> None:
    # 0.35 mg/kg × 70 kg = 24.5 mg bolus, then 0.5 × 70 × 1 h = 35 mg → 59.5 mg.
    totals = compute_totals([bolus(0, 24.5), start(0, 0.5), stop(60)], 70, 1, until=at(60))
    assert (totals.total_mg, totals.infusion_min) == (59.5, 60.0)


def test_bolus_only_session_has_no_running_minutes() -> None:
    totals = compute_totals([bolus(5, 10)], 70, 2, until=at(60))
    assert (totals.total_mg, totals.total_ml, totals.infusion_min) == (10.0, 5.0, 0.0)


def test_no_events_give_zero_totals() -> None:
    totals = compute_totals([], 70, 1, until=at(60))
    assert (totals.total_mg, totals.total_ml, totals.infusion_min) == (0.0, 0.0, 0.0)


def test_events_at_the_same_instant_are_in_order() -> None:
    # A titration at the moment of the start replaces the start rate: 0.8 × 70 × 0.5 h = 28 mg.
    totals = compute_totals([start(0, 0.3), titrate(0, 0.8), stop(30)], 70, 1, until=at(30))
    assert (totals.total_mg, totals.infusion_min) == (28.0, 30.0)


def test_totals_count_elapsed_time_across_a_daylight_saving_change() -> None:
    # 2025-03-09 in New York: 01:30 EST to 03:30 EDT is one hour of elapsed time, not two.
    new_york = ZoneInfo("America/New_York")
    events = [
        InfusionEvent(datetime(2025, 3, 9, 1, 30, tzinfo=new_york), "start", dose_mg_per_kg_h=0.5),
        InfusionEvent(datetime(2025, 3, 9, 3, 30, tzinfo=new_york), "stop"),
    ]
    totals = compute_totals(events, 70, 1, until=datetime(2025, 3, 9, 4, 0, tzinfo=new_york))
    assert (totals.total_mg, totals.infusion_min) == (35.0, 60.0)


def test_event_order_uses_real_time_on_the_repeated_autumn_hour() -> None:
    # 2025-11-02 in New York: 01:40 EDT (fold=0) comes before 01:10 EST (fold=1).
    new_york = ZoneInfo("America/New_York")
    first = datetime(2025, 11, 2, 1, 40, tzinfo=new_york)
    second = datetime(2025, 11, 2, 1, 10, fold=1, tzinfo=new_york)
    events = [
        InfusionEvent(first, "start", dose_mg_per_kg_h=0.5),
        InfusionEvent(second, "stop"),
    ]
    # 30 minutes elapsed: 0.5 × 70 × 0.5 = 17.5 mg.
    totals = compute_totals(events, 70, 1, until=second)
    assert (totals.total_mg, totals.infusion_min) == (17.5, 30.0)


def test_build_schedule_returns_the_running_segments_and_boluses() -> None:
    schedule = build_schedule(
        [start(0, 0.3), titrate(30, 0.5), pause(60), bolus(65, 7), resume(70), stop(100)],
        until=at(100),
    )
    assert schedule.segments == (
        Segment(at(0), at(30), 0.3),
        Segment(at(30), at(60), 0.5),
        Segment(at(70), at(100), 0.5),
    )
    assert [segment.duration_min for segment in schedule.segments] == [30.0, 30.0, 30.0]
    assert [(b.at, b.bolus_mg) for b in schedule.boluses] == [(at(65), 7)]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([titrate(0, 0.5)], "before the infusion was started"),
        ([pause(0)], "before the infusion was started"),
        ([resume(0)], "before the infusion was started"),
        ([stop(0)], "before the infusion was started"),
        ([start(0, 0.5), resume(10)], "has no pause before it"),
        ([start(0, 0.5), pause(10), resume(20), resume(30)], "has no pause before it"),
        ([start(0, 0.5), pause(10), pause(20)], "already paused"),
        ([start(0, 0.5), start(10, 0.6)], "repeats a start"),
        ([start(0, 0.5), stop(10), titrate(20, 0.6)], "after the infusion was stopped"),
        ([start(0, 0.5), stop(10), bolus(20, 5)], "after the infusion was stopped"),
        ([start(0, 0.5), stop(10), resume(20)], "after the infusion was stopped"),
        ([start(0, 0.5), stop(10), stop(20)], "after the infusion was stopped"),
        ([start(0, 0.5), stop(10), start(20, 0.5)], "after the infusion was stopped"),
        ([start(0, 0.5), titrate(20, 0.6), pause(10)], "out of order"),
        ([start(10, 0.5), bolus(5, 5)], "out of order"),
        ([start(0, 0.5), stop(200)], "after the end of the period"),
    ],
)
def test_impossible_event_sequences_are_refused(events: list[InfusionEvent], message: str) -> None:
    with pytest.raises(TimelineError, match=message):
        compute_totals(events, 70, 1, until=at(180))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "start"}, "needs dose_mg_per_kg_h"),
        ({"kind": "titrate"}, "needs dose_mg_per_kg_h"),
        ({"kind": "bolus"}, "needs bolus_mg"),
        ({"kind": "pause", "dose_mg_per_kg_h": 0.5}, "must not carry dose_mg_per_kg_h"),
        ({"kind": "bolus", "bolus_mg": 5, "dose_mg_per_kg_h": 0.5}, "must not carry dose"),
        ({"kind": "titrate", "dose_mg_per_kg_h": 0.5, "bolus_mg": 5}, "must not carry bolus_mg"),
        ({"kind": "stop", "bolus_mg": 5}, "must not carry bolus_mg"),
        ({"kind": "prime"}, "Unknown infusion event kind"),
    ],
)
def test_malformed_events_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TimelineError, match=message):
        InfusionEvent(at=T0, **kwargs)


@pytest.mark.parametrize("dose", [0, -0.1, math.nan, 5.1])
def test_event_dose_outside_the_absurdity_bound_is_refused(dose: float) -> None:
    with pytest.raises(DoseInputError, match="dose_mg_per_kg_h"):
        InfusionEvent(T0, "titrate", dose_mg_per_kg_h=dose)


@pytest.mark.parametrize("mg", [0, -5, math.inf])
def test_bad_bolus_amount_is_refused(mg: float) -> None:
    with pytest.raises(DoseInputError, match="bolus_mg"):
        InfusionEvent(T0, "bolus", bolus_mg=mg)


def test_bolus_above_the_per_kg_absurdity_bound_is_refused() -> None:
    # 4.5 mg/kg × 70 kg = 315 mg is accepted; 316 mg is not.
    assert BOLUS_MG_PER_KG_MAX == 4.5
    assert compute_totals([bolus(0, 315)], 70, 1, until=at(0)).total_mg == 315.0
    with pytest.raises(DoseInputError, match="bolus_mg of 316 mg"):
        compute_totals([bolus(0, 316)], 70, 1, until=at(0))


def test_naive_event_time_is_refused() -> None:
    naive = datetime(2025, 3, 3, 9, 0)  # noqa: DTZ001 - the naive time under test
    with pytest.raises(TimelineError, match="timezone-aware"):
        InfusionEvent(naive, "stop")


def test_naive_until_is_refused() -> None:
    naive = datetime(2025, 3, 3, 9, 0)  # noqa: DTZ001 - the naive time under test
    with pytest.raises(TimelineError, match="until must be timezone-aware"):
        compute_totals([start(0, 0.5)], 70, 1, until=naive)


@pytest.mark.parametrize(
    ("weight", "concentration", "field"),
    [(0, 1, "weight_kg"), (500, 1, "weight_kg"), (70, 50, "concentration_mg_per_ml")],
)
def test_compute_totals_validates_weight_and_concentration(weight: float, concentration: float, field: str) -> None:
    with pytest.raises(DoseInputError, match=field):
        compute_totals([start(0, 0.5)], weight, concentration, until=at(60))


minutes = st.integers(min_value=1, max_value=600)


@given(doses, minutes, st.integers(min_value=20, max_value=350))
def test_single_segment_total_matches_rate_times_weight_times_hours(
    dose: float, duration_min: int, weight: int
) -> None:
    totals = compute_totals([start(0, dose), stop(duration_min)], weight, 1, until=at(duration_min))
    expected = Fraction(repr(dose)) * weight * Fraction(duration_min, 60)
    assert totals.total_mg == float(expected)
    assert totals.infusion_min == duration_min


@given(doses, minutes, minutes, concentrations)
def test_titrating_to_the_same_rate_changes_nothing(
    dose: float, first_min: int, second_min: int, concentration: float
) -> None:
    end_min = first_min + second_min
    plain = compute_totals([start(0, dose), stop(end_min)], 70, concentration, until=at(end_min))
    split = compute_totals(
        [start(0, dose), titrate(first_min, dose), stop(end_min)],
        70,
        concentration,
        until=at(end_min),
    )
    assert split == plain
    assert plain.total_ml == pytest.approx(plain.total_mg / concentration, rel=1e-12)


@given(doses, minutes, minutes)
def test_a_pause_removes_exactly_its_own_time(dose: float, run_min: int, pause_min: int) -> None:
    end_min = run_min + pause_min + run_min
    paused = compute_totals(
        [start(0, dose), pause(run_min), resume(run_min + pause_min), stop(end_min)],
        70,
        1,
        until=at(end_min),
    )
    unpaused = compute_totals([start(0, dose), stop(2 * run_min)], 70, 1, until=at(end_min))
    assert paused == unpaused
