"""The whole-series greedy that seeds clinic-wide planning, and the day cuts of its model: every
packed series obeys every rule together with the others and with fixed bookings, a series that
cannot finish from its first free day is started later instead, and the cuts never exclude a
valid plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from ketaclinic.scheduling.planner import (
    CLINIC_WIDE_SLOT_MIN,
    DAY_MIN,
    Capacity,
    Session,
    Window,
    _add_day_resources,
    _add_series_by_day,
    _DaySeries,
    _first_fit_plan,
    _hint_day_series,
    _packed,
    _packed_plan,
    _runs,
    plan_many,
    series_violations,
)
from ketaclinic.scheduling.tests.test_planner import (
    MONDAY,
    busy_calendar,
    busy_windows,
    calendar,
    demand,
    mixed_demands,
)


def _series(
    capacity: Capacity, count: int, durations: list[int], seed: int
) -> tuple[cp_model.CpModel, list[_DaySeries]]:
    model = cp_model.CpModel()
    demands = mixed_demands(count, durations, seed, varied_weekdays=True)
    series = [sv for d in demands if (sv := _add_series_by_day(model, capacity, d, CLINIC_WIDE_SLOT_MIN)) is not None]
    return model, series


def _assert_valid_together(capacity: Capacity, series: list[_DaySeries], plan: dict[int, list[Session]]) -> None:
    every = [s for sessions in plan.values() for s in sessions]
    for sv in series:
        if sv.demand.key in plan:
            own = plan[sv.demand.key]
            assert series_violations(capacity, sv.demand, own, [s for s in every if s not in own]) == []


plan_inputs = {
    "count": st.integers(1, 10),
    "chairs": st.integers(1, 4),
    "places": st.integers(1, 4),
    "busy": busy_windows,
    "durations": st.lists(st.integers(4, 16).map(lambda q: q * 15), min_size=10, max_size=10),
    "seed": st.integers(0, 1000),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**plan_inputs)
def test_every_packed_series_obeys_every_rule_together_and_around_fixed_bookings(
    count: int, chairs: int, places: int, busy: list[tuple[int, int, int]], durations: list[int], seed: int
) -> None:
    capacity = busy_calendar(chairs, places, busy)
    _, series = _series(capacity, count, durations, seed)
    plan = _packed_plan(capacity, series)
    _assert_valid_together(capacity, series, plan)
    # Adding around a kept plan (as after the solve) keeps the kept series and every rule.
    kept = dict(list(plan.items())[: len(plan) // 2])
    topped = _packed(capacity, series[::-1], ration=False, planned=kept)
    assert all(topped[key] == sessions for key, sessions in kept.items())
    _assert_valid_together(capacity, series, topped)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**plan_inputs)
def test_the_day_cuts_never_exclude_a_valid_plan(
    count: int, chairs: int, places: int, busy: list[tuple[int, int, int]], durations: list[int], seed: int
) -> None:
    """The packed plan obeys every rule, so the model with all its redundant cuts must accept
    it as it is: a cut that excluded it would make the proven bound wrong."""
    capacity = busy_calendar(chairs, places, busy)
    model, series = _series(capacity, count, durations, seed)
    if not series:
        return
    _add_day_resources(model, capacity, series, CLINIC_WIDE_SLOT_MIN)
    plan = _packed_plan(capacity, series)
    for sv in series:
        _hint_day_series(model, sv, [s.start for s in plan.get(sv.demand.key, [])])
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10
    assert solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def test_a_series_that_cannot_finish_from_its_first_free_day_is_started_later() -> None:
    """One chair, free on the first Monday, then taken for two weeks: booked by hand the series
    starts that Monday and cannot finish within 21 days; started after the two weeks it can."""
    taken = (Window(DAY_MIN, 14 * DAY_MIN),)
    capacity = calendar(chairs=1, busy={1: taken}, days=42)
    capacity = replace(capacity, infusion_load=taken)
    wanted = demand(latest_first_day=MONDAY + timedelta(days=14))
    assert _first_fit_plan(replace(capacity, slot_min=CLINIC_WIDE_SLOT_MIN), [wanted]) == {}
    result = plan_many(capacity, [wanted], seconds=3)
    assert [s.start // DAY_MIN for s in result.proposals[1]] == [14, 15, 16, 21, 22, 23]
    assert series_violations(capacity, wanted, result.proposals[1]) == []


def test_runs_are_the_stretches_of_set_bits() -> None:
    assert _runs(0) == []
    assert _runs(0b1011) == [(0, 2), (3, 4)]
    assert _runs(0b111000) == [(3, 6)]
    assert _runs((1 << 600) - (1 << 480)) == [(480, 600)]
