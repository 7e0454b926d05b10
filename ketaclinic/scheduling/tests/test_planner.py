"""The planner, without a database: every proposed series obeys every rule (checked by
hypothesis over generated calendars), the binding rule is named when nothing fits, a moved
session stays where it was put, and clinic-wide planning keeps the series apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaclinic.scheduling.planner import (
    DAY_MIN,
    Capacity,
    Pin,
    PlacedSession,
    SeriesDemand,
    Window,
    assign_chairs,
    first_fit,
    plan_many,
    propose_series,
    series_violations,
)

MONDAY = date(2026, 3, 2)  # the week before Denver's spring-forward Sunday


def calendar(
    *,
    days: int = 49,
    chairs: int = 4,
    places: int = 3,
    busy: dict[int, tuple[Window, ...]] | None = None,
    cover: bool = True,
    saturday: bool = False,
) -> Capacity:
    open_days = [i for i in range(days) if (MONDAY + timedelta(days=i)).weekday() < (6 if saturday else 5)]
    windows = tuple(Window(i * DAY_MIN + 8 * 60, i * DAY_MIN + 17 * 60) for i in open_days)
    ids = tuple(range(1, chairs + 1))
    return Capacity(
        first_day=MONDAY,
        days=days,
        open_windows=windows,
        chairs=ids,
        chair_busy={c: (busy or {}).get(c, ()) for c in ids},
        nurse_places=tuple((w, places) for w in windows),
        prescriber_cover=windows if cover else None,
        slot_min=15,
    )


def demand(**changes: object) -> SeriesDemand:
    base = SeriesDemand(
        key=1,
        sessions=6,
        duration_min=190,
        earliest_day=MONDAY,
        latest_first_day=MONDAY + timedelta(days=14),
        weekdays=frozenset(range(5)),
        time_windows=((8 * 60, 17 * 60),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


busy_windows = st.lists(st.tuples(st.integers(0, 20), st.integers(8 * 4, 16 * 4), st.integers(2, 16)), max_size=25)


def busy_calendar(chairs: int, places: int, busy: list[tuple[int, int, int]]) -> Capacity:
    """A calendar whose chairs hold the fixed bookings ``busy`` (day, quarter-hour, quarters),
    spread over the chairs in turn; they count against the nurse places too."""
    taken: dict[int, list[Window]] = {}
    for i, (day, quarter, length) in enumerate(busy):
        start = day * DAY_MIN + quarter * 15
        taken.setdefault(i % chairs + 1, []).append(Window(start, start + length * 15))
    capacity = calendar(chairs=chairs, places=places, busy={c: tuple(ws) for c, ws in taken.items()})
    return replace(capacity, infusion_load=tuple(w for ws in taken.values() for w in ws))


def mixed_demands(count: int, durations: list[int], seed: int, *, varied_weekdays: bool = False) -> list[SeriesDemand]:
    """``count`` requests with staggered first days and morning starts; with ``varied_weekdays``
    every third patient cannot come on one weekday."""
    return [
        demand(
            key=i,
            duration_min=durations[i],
            earliest_day=MONDAY + timedelta(days=(seed + 3 * i) % 10),
            latest_first_day=MONDAY + timedelta(days=(seed + 3 * i) % 10 + 7),
            time_windows=(((8 + (seed + i) % 3) * 60, 17 * 60),),
            weekdays=(
                frozenset({0, 1, 2, 3, 4} - {(seed + i) % 5}) if varied_weekdays and i % 3 == 1 else frozenset(range(5))
            ),
        )
        for i in range(count)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chairs=st.integers(1, 4),
    places=st.integers(1, 4),
    weekdays=st.sets(st.integers(0, 4), min_size=1),
    window=st.sampled_from([(8 * 60, 17 * 60), (8 * 60, 12 * 60), (12 * 60, 17 * 60), (9 * 60, 15 * 60)]),
    duration=st.integers(4, 16).map(lambda q: q * 15),
    busy=busy_windows,
    blackout=st.sets(st.integers(0, 20), max_size=4),
    gap=st.integers(1, 2),
    per_week=st.integers(2, 3),
)
def test_every_proposed_series_obeys_every_rule(
    chairs: int,
    places: int,
    weekdays: set[int],
    window: tuple[int, int],
    duration: int,
    busy: list[tuple[int, int, int]],
    blackout: set[int],
    gap: int,
    per_week: int,
) -> None:
    taken: dict[int, list[Window]] = {}
    for i, (day, quarter, length) in enumerate(busy):
        start = day * DAY_MIN + quarter * 15
        taken.setdefault(i % chairs + 1, []).append(Window(start, start + length * 15))
    capacity = calendar(chairs=chairs, places=places, busy={c: tuple(ws) for c, ws in taken.items()})
    capacity = replace(capacity, infusion_load=tuple(w for ws in taken.values() for w in ws))
    wanted = demand(
        weekdays=frozenset(weekdays),
        time_windows=(window,),
        duration_min=duration,
        blackout=frozenset(MONDAY + timedelta(days=d) for d in blackout),
        min_gap_days=gap,
        max_per_week=per_week,
    )
    outcome = propose_series(capacity, wanted, seconds=2, look_ahead_weeks=0)
    if outcome.is_feasible:
        assert series_violations(capacity, wanted, outcome.sessions) == []
    else:
        assert outcome.binding_rule in {"availability", "prescriber", "nurses", "chairs", "calendar"}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(2, 8), chairs=st.integers(1, 3), places=st.integers(1, 3), seed=st.integers(0, 1000))
def test_clinic_wide_planning_keeps_every_series_valid_together(
    count: int, chairs: int, places: int, seed: int
) -> None:
    capacity = calendar(chairs=chairs, places=places)
    demands = [
        demand(
            key=i,
            earliest_day=MONDAY + timedelta(days=(seed + i) % 10),
            latest_first_day=MONDAY + timedelta(days=(seed + i) % 10 + 7),
        )
        for i in range(count)
    ]
    result = plan_many(capacity, demands, seconds=3)
    every = [s for sessions in result.proposals.values() for s in sessions]
    for d in demands:
        if d.key in result.proposals:
            own = result.proposals[d.key]
            others = [s for s in every if s not in own]
            assert series_violations(capacity, d, own, others) == []
    assert len(result.proposals) <= result.completed_bound


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(2, 10),
    chairs=st.integers(1, 4),
    places=st.integers(1, 4),
    busy=busy_windows,
    durations=st.lists(st.integers(4, 16).map(lambda q: q * 15), min_size=10, max_size=10),
    seed=st.integers(0, 1000),
)
def test_clinic_wide_planning_around_fixed_bookings_keeps_every_series_valid_together(
    count: int, chairs: int, places: int, busy: list[tuple[int, int, int]], durations: list[int], seed: int
) -> None:
    """Fixed bookings on particular chairs are where assigning chairs after the solve can fail;
    whatever is returned must still obey every rule, jointly, and never exceed the bound."""
    capacity = busy_calendar(chairs, places, busy)
    demands = mixed_demands(count, durations, seed)
    result = plan_many(capacity, demands, seconds=2)
    every = [s for sessions in result.proposals.values() for s in sessions]
    for d in demands:
        if d.key in result.proposals:
            own = result.proposals[d.key]
            others = [s for s in every if s not in own]
            assert series_violations(capacity, d, own, others) == []
    assert set(result.proposals) | set(result.unplanned) == {d.key for d in demands}
    assert len(result.proposals) <= result.completed_bound


def test_chairs_are_assigned_around_fixed_bookings_or_the_series_is_left_out() -> None:
    """Two chairs, each free for only half the morning: a 3-hour session fits the count of free
    chairs at every minute, yet no single chair holds it, so it gets no chair."""
    capacity = calendar(chairs=2, busy={1: (Window(8 * 60, 10 * 60),), 2: (Window(10 * 60, 12 * 60),)}, days=1)
    chaired, dropped = assign_chairs(capacity, [PlacedSession(7, 9 * 60, 12 * 60)])
    assert chaired == {}
    assert dropped == {7}
    chaired, dropped = assign_chairs(capacity, [PlacedSession(7, 12 * 60, 15 * 60), PlacedSession(8, 12 * 60, 14 * 60)])
    assert dropped == set()
    assert sorted(s.chair_id for ss in chaired.values() for s in ss) == [1, 2]


def test_the_earliest_completion_is_proposed_first() -> None:
    outcome = propose_series(calendar(), demand(weekdays=frozenset({0, 2, 4})))
    days = [s.start // DAY_MIN for s in outcome.sessions]
    # Mon, Wed, Fri twice: the shortest series the rules allow with three days a week.
    assert days == [0, 2, 4, 7, 9, 11]


def test_a_moved_session_stays_where_it_was_put_and_the_rest_is_re_solved() -> None:
    capacity = calendar()
    first = propose_series(capacity, demand())
    pin = Pin(3 * DAY_MIN + 13 * 60, 2)  # Thursday 13:00, chair 2
    moved = propose_series(capacity, demand(pins=(pin,)))
    assert any(s.start == pin.start and s.chair_id == 2 for s in moved.sessions)
    assert moved.sessions != first.sessions
    assert series_violations(capacity, demand(), moved.sessions) == []


def test_no_prescriber_cover_is_named_as_the_binding_rule() -> None:
    capacity = replace(calendar(), prescriber_cover=())
    outcome = propose_series(capacity, demand(), look_ahead_weeks=1)
    assert outcome.sessions == []
    assert outcome.binding_rule == "prescriber"


def test_availability_binds_when_the_patient_comes_one_day_a_week() -> None:
    outcome = propose_series(calendar(), demand(weekdays=frozenset({1})), look_ahead_weeks=1)
    assert outcome.binding_rule == "availability"


def test_full_chairs_bind_and_the_earliest_start_that_works_is_offered() -> None:
    full = (Window(0, 14 * DAY_MIN),)
    capacity = calendar(chairs=2, busy={1: full, 2: full})
    outcome = propose_series(capacity, demand(latest_first_day=MONDAY + timedelta(days=4)), look_ahead_weeks=3)
    assert outcome.binding_rule == "chairs"
    assert outcome.earliest_feasible_day == MONDAY + timedelta(days=14)


def test_the_nurse_ratio_binds_when_no_nurse_is_on_site() -> None:
    capacity = replace(calendar(), nurse_places=())
    assert propose_series(capacity, demand(), look_ahead_weeks=0).binding_rule == "nurses"


def test_first_fit_books_sessions_in_the_first_free_slots() -> None:
    capacity = calendar(chairs=1)
    booked: dict[int, list[Window]] = {}
    load: list[Window] = []
    sessions = first_fit(capacity, demand(), booked, load)
    assert [s.start for s in sessions[:3]] == [8 * 60, DAY_MIN + 8 * 60, 2 * DAY_MIN + 8 * 60]
    assert len(load) == 6
