"""Clinic-wide planning with the day-indexed model: it never does worse than booking by hand,
it proves its bound on a saturated calendar, identical requests are planned in request order,
and with room to spare every session goes as early as the rules allow."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaclinic.scheduling.planner import (
    CLINIC_WIDE_SLOT_MIN,
    DAY_MIN,
    _first_fit_plan,
    plan_many,
    series_violations,
)
from ketaclinic.scheduling.tests.test_planner import MONDAY, calendar, demand


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    durations=st.lists(st.integers(6, 20).map(lambda q: q * 15), min_size=3, max_size=9),
    chairs=st.integers(1, 2),
    places=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_clinic_wide_planning_completes_at_least_as_many_series_as_first_fit(
    durations: list[int], chairs: int, places: int, seed: int
) -> None:
    capacity = calendar(chairs=chairs, places=places, days=35)
    demands = [
        demand(
            key=i,
            duration_min=minutes,
            earliest_day=MONDAY + timedelta(days=(seed + 2 * i) % 7),
            latest_first_day=MONDAY + timedelta(days=(seed + 2 * i) % 7 + 7),
            weekdays=frozenset({0, 1, 2, 3, 4} - {(seed + i) % 5}) if i % 2 else frozenset(range(5)),
        )
        for i, minutes in enumerate(durations)
    ]
    by_hand = _first_fit_plan(replace(capacity, slot_min=CLINIC_WIDE_SLOT_MIN), demands)
    result = plan_many(capacity, demands, seconds=2)
    assert len(result.proposals) >= len(by_hand)
    assert len(result.proposals) <= result.completed_bound
    every = [s for sessions in result.proposals.values() for s in sessions]
    for d in demands:
        if d.key in result.proposals:
            own = result.proposals[d.key]
            assert series_violations(capacity, d, own, [s for s in every if s not in own]) == []


def test_a_saturated_chair_is_planned_to_its_proven_bound() -> None:
    """One chair, three weeks, sessions filling a whole opening day: 15 sessions fit, so two
    series of six (a third would need 18); four are asked for."""
    capacity = calendar(chairs=1, places=3, days=21)
    demands = [demand(key=i, duration_min=9 * 60, latest_first_day=MONDAY + timedelta(days=7)) for i in range(4)]
    result = plan_many(capacity, demands, seconds=5)
    assert len(result.proposals) == 2
    assert result.completed_bound == 2
    assert result.stats.status == "OPTIMAL"


def test_identical_requests_are_planned_in_request_order() -> None:
    capacity = calendar(chairs=1, places=3, days=21)
    demands = [demand(key=i, duration_min=9 * 60, latest_first_day=MONDAY + timedelta(days=7)) for i in (7, 3, 5, 9, 1)]
    result = plan_many(capacity, demands, seconds=5)
    assert sorted(result.proposals) == [1, 3]
    assert sorted(result.unplanned) == [5, 7, 9]


def test_with_room_to_spare_every_session_goes_as_early_as_the_rules_allow() -> None:
    capacity = calendar(chairs=4, places=6)
    result = plan_many(capacity, [demand(key=1), demand(key=2, earliest_day=MONDAY + timedelta(days=2))], seconds=5)
    first = result.proposals[1]
    # At most three a calendar week, a day apart: Monday to Wednesday twice, at opening time.
    assert [s.start for s in first] == [d * DAY_MIN + 8 * 60 for d in (0, 1, 2, 7, 8, 9)]
    second = result.proposals[2]
    assert [s.start // DAY_MIN for s in second] == [2, 3, 4, 7, 8, 9]
    assert all(s.start % DAY_MIN == 8 * 60 for s in second)
