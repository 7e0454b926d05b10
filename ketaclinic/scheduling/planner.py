"""Series planning with OR-Tools CP-SAT, and the first-fit baseline a person does by hand.

Pure Python: no Django, no database. :mod:`ketaclinic.scheduling.queries` turns a location's
calendar into a :class:`Capacity` (free chairs, nurse places, prescriber cover) and requests
into :class:`SeriesDemand`; the functions here return proposals.

Time is counted in *planner minutes*: whole minutes of local wall-clock time since midnight of
``Capacity.first_day`` (day ``i`` starts at ``i * 1440``). Working in wall-clock time keeps a
08:00 start at 08:00 across daylight-saving changes; :func:`to_minutes` and :func:`to_datetime`
convert with the location's zone. Clinics are closed at 02:00, the hour the clocks change in
the United States, so no session spans a jump.

One session of a series is an interval ``[start, start + duration_min)``, holding one chair and
one nurse place. Rules, each checked by :func:`series_violations`:

* chairs: one live booking per chair at a time (existing bookings and outages are fixed);
* nurses: at every minute, infusions in progress <= places (nurses on site x ratio);
* prescriber cover: each session lies within a prescriber's on-site or on-call shift;
* availability: the patient's weekdays, time windows and blackout dates; opening hours;
* series: ``sessions`` sessions on distinct days at least ``min_gap_days`` apart, at most
  ``max_per_week`` per calendar week (Monday to Sunday), the last fewer than ``window_days``
  days after the first, the first no earlier than ``earliest_day``.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

DAY_MIN = 1440
RULE_CHAIRS = "chairs"
RULE_NURSES = "nurses"
RULE_PRESCRIBER = "prescriber"
RULE_AVAILABILITY = "availability"
RULE_CALENDAR = "calendar"
# The order in which rules are relaxed to find the one that binds: the patient's own limits
# first (the cheapest thing to ask about), then staff, then chairs.
RELAXABLE_RULES = (RULE_AVAILABILITY, RULE_PRESCRIBER, RULE_NURSES, RULE_CHAIRS)


@dataclass(frozen=True, order=True)
class Window:
    start: int
    end: int

    def contains(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Capacity:
    """What a location has free over ``days`` days from ``first_day``."""

    first_day: date
    days: int
    open_windows: tuple[Window, ...]
    chairs: tuple[int, ...]
    chair_busy: Mapping[int, tuple[Window, ...]]
    # (window, places): infusions one may run at once there (nurses on site x ratio).
    nurse_places: tuple[tuple[Window, int], ...]
    infusion_load: tuple[Window, ...] = ()
    # None when the clinic does not require prescriber cover.
    prescriber_cover: tuple[Window, ...] | None = None
    slot_min: int = 15

    def day_of(self, minute: int) -> date:
        return self.first_day + timedelta(days=minute // DAY_MIN)

    def index_of(self, day: date) -> int:
        return (day - self.first_day).days


@dataclass(frozen=True)
class Pin:
    start: int
    chair_id: int


@dataclass(frozen=True)
class SeriesDemand:
    """One patient's series to place."""

    key: int
    sessions: int
    duration_min: int
    earliest_day: date
    latest_first_day: date
    window_days: int = 21
    min_gap_days: int = 1
    max_per_week: int = 3
    weekdays: frozenset[int] = frozenset(range(7))
    # Minutes after local midnight; a session must lie wholly inside one window.
    time_windows: tuple[tuple[int, int], ...] = ((0, DAY_MIN),)
    blackout: frozenset[date] = frozenset()
    pins: tuple[Pin, ...] = ()


@dataclass(frozen=True)
class Session:
    start: int
    end: int
    chair_id: int


@dataclass
class SolveStats:
    status: str
    seconds: float
    objective: float = 0.0
    bound: float = 0.0


@dataclass
class SeriesOutcome:
    """A proposal for one series, or why none fits and the earliest start that works."""

    sessions: list[Session]
    binding_rule: str = ""
    earliest_feasible_day: date | None = None
    stats: SolveStats | None = None

    @property
    def is_feasible(self) -> bool:
        return bool(self.sessions)


@dataclass
class PlanResult:
    """The outcome of planning many series at once (clinic-wide replanning)."""

    proposals: dict[int, list[Session]]
    unplanned: list[int]
    stats: SolveStats
    completed_bound: int = 0
    extra: dict[str, float] = field(default_factory=dict)


# --- Converting between planner minutes and aware datetimes -----------------------------------


def to_minutes(value: datetime, first_day: date, zone: ZoneInfo) -> int:
    local = value.astimezone(zone)
    return (local.date() - first_day).days * DAY_MIN + local.hour * 60 + local.minute


def to_datetime(minute: int, first_day: date, zone: ZoneInfo) -> datetime:
    day = first_day + timedelta(days=minute // DAY_MIN)
    of_day = minute % DAY_MIN
    return datetime.combine(day, time(of_day // 60, of_day % 60), tzinfo=zone)


# --- Candidate starts ----------------------------------------------------------------------------


def _covered(windows: Iterable[Window], start: int, end: int) -> bool:
    return any(w.contains(start, end) for w in windows)


def _free(busy: Iterable[Window], start: int, end: int) -> bool:
    return not any(w.overlaps(start, end) for w in busy)


def nurse_places_at(capacity: Capacity, minute: int) -> int:
    return sum(places for w, places in capacity.nurse_places if w.start <= minute < w.end)


def _loads_by_day(loads: Iterable[Window]) -> dict[int, list[Window]]:
    by_day: dict[int, list[Window]] = {}
    for w in loads:
        for day in range(w.start // DAY_MIN, (w.end - 1) // DAY_MIN + 1):
            by_day.setdefault(day, []).append(w)
    return by_day


@dataclass
class _DayIndex:
    """A capacity's windows grouped by the days they touch, so checking one session scans that
    day only (a clinic-wide plan checks hundreds of thousands of candidate starts)."""

    busy: dict[int, dict[int, list[Window]]]  # chair -> day -> windows
    cover: dict[int, list[Window]]
    places: dict[int, list[tuple[Window, int]]]
    loads: dict[int, list[Window]]


_INDEXES: list[tuple[Capacity, _DayIndex]] = []


def _index(capacity: Capacity) -> _DayIndex:
    for known, index in _INDEXES:
        if known is capacity:
            return index
    places: dict[int, list[tuple[Window, int]]] = {}
    for w, n in capacity.nurse_places:
        for day in range(w.start // DAY_MIN, (w.end - 1) // DAY_MIN + 1):
            places.setdefault(day, []).append((w, n))
    index = _DayIndex(
        busy={c: _loads_by_day(capacity.chair_busy.get(c, ())) for c in capacity.chairs},
        cover=_loads_by_day(capacity.prescriber_cover or ()),
        places=places,
        loads=_loads_by_day(capacity.infusion_load),
    )
    # A few recent capacities: the planner checks one capacity many times in a row.
    _INDEXES[:] = [(capacity, index), *_INDEXES[:3]]
    return index


def _one_day(start: int, end: int) -> int | None:
    """The day ``[start, end)`` lies in, or None when it crosses midnight."""
    return start // DAY_MIN if (end - 1) // DAY_MIN == start // DAY_MIN else None


def _chair_free(capacity: Capacity, chair: int, start: int, end: int) -> bool:
    day = _one_day(start, end)
    busy = capacity.chair_busy.get(chair, ()) if day is None else _index(capacity).busy[chair].get(day, ())
    return _free(busy, start, end)


def _has_cover(capacity: Capacity, start: int, end: int) -> bool:
    if capacity.prescriber_cover is None:
        return True
    day = _one_day(start, end)
    return _covered(capacity.prescriber_cover if day is None else _index(capacity).cover.get(day, ()), start, end)


def _nurse_room(capacity: Capacity, start: int, end: int, extra_load: Sequence[Window] = ()) -> bool:
    """Whether one more infusion fits at every minute of ``[start, end)``."""
    day = _one_day(start, end)
    index = _index(capacity)
    pool = capacity.infusion_load if day is None else index.loads.get(day, ())
    staffed_pool = capacity.nurse_places if day is None else index.places.get(day, ())
    loads = [w for w in (*pool, *extra_load) if w.overlaps(start, end)]
    staffed = [(w, places) for w, places in staffed_pool if w.overlaps(start, end)]
    points = {start} | {w.start for w in loads if start < w.start < end}
    points |= {w.start for w, _ in staffed if start < w.start < end}
    points |= {w.end for w, _ in staffed if start < w.end < end}
    for p in points:
        running = sum(1 for w in loads if w.start <= p < w.end)
        if running + 1 > sum(places for w, places in staffed if w.start <= p < w.end):
            return False
    return True


def candidate_starts(
    capacity: Capacity, demand: SeriesDemand, relaxed: frozenset[str] = frozenset(), *, slot_min: int | None = None
) -> list[int]:
    """Start minutes where one session of ``demand`` could go, judged alone (each rule is
    checked again jointly by the solver), every ``slot_min`` minutes (default: the capacity's
    grid) from the start of each opening window."""
    dur = demand.duration_min
    first = max(0, capacity.index_of(demand.earliest_day))
    last = min(capacity.days - 1, capacity.index_of(demand.latest_first_day) + demand.window_days - 1)
    free_anywhere = RULE_AVAILABILITY in relaxed
    starts: list[int] = []
    for index in range(first, last + 1):
        day = capacity.first_day + timedelta(days=index)
        if not free_anywhere and (day.weekday() not in demand.weekdays or day in demand.blackout):
            continue
        base = index * DAY_MIN
        for window in capacity.open_windows:
            if window.end <= base or window.start >= base + DAY_MIN:
                continue
            step = slot_min or capacity.slot_min
            t = window.start + (-window.start % step)
            while t + dur <= window.end:
                ok = free_anywhere or any(a <= t - base and t - base + dur <= b for a, b in demand.time_windows)
                if ok and RULE_PRESCRIBER not in relaxed:
                    ok = _has_cover(capacity, t, t + dur)
                if ok and RULE_CHAIRS not in relaxed:
                    ok = any(_chair_free(capacity, c, t, t + dur) for c in capacity.chairs)
                if ok and RULE_NURSES not in relaxed:
                    ok = _nurse_room(capacity, t, t + dur)
                if ok:
                    starts.append(t)
                t += step
    return sorted(set(starts))


# --- The CP-SAT model ------------------------------------------------------------------------------
#
# One interval per session, not one optional interval per chair: chairs are interchangeable for
# capacity, so a cumulative over the chair count (existing bookings and outages as fixed load)
# says all the solver needs to know, and concrete chairs are assigned afterwards by
# :func:`assign_chairs`. Per-chair alternatives multiply the model by the number of chairs and
# add nothing but symmetry; with 12 chairs the solver spent its time budget in it and found no
# plan (see the CP-SAT scheduling recipes, "Cumulative constraint" and "Alternative resources
# for one interval", github.com/google/or-tools/blob/stable/ortools/sat/docs/scheduling.md).
# Days and calendar weeks are linked to starts by linear constraints rather than divisions,
# which propagate far better. Sessions of one series are ordered (session k+1 at least
# ``min_gap_days`` after session k), which also breaks the symmetry between them.


@dataclass
class _SeriesVars:
    demand: SeriesDemand
    present: cp_model.IntVar
    starts: list[cp_model.IntVar]
    days: list[cp_model.IntVar]
    # Time of day and calendar week of each session (None where a person pinned the session).
    tods: list[cp_model.IntVar | None]
    weeks: list[cp_model.IntVar]
    first_cost: cp_model.IntVar
    # Position in the series -> chair the person moving it chose.
    pinned_chair: dict[int, int]


def _add_series(
    model: cp_model.CpModel,
    capacity: Capacity,
    demand: SeriesDemand,
    relaxed: frozenset[str],
    *,
    optional: bool,
    pin_position: int | None = None,
    slot_min: int | None = None,
) -> _SeriesVars | None:
    domain = candidate_starts(capacity, demand, relaxed, slot_min=slot_min)
    pin = demand.pins[0] if demand.pins else None
    if not domain:
        return None
    n = demand.sessions
    present = model.new_bool_var(f"p{demand.key}") if optional else model.new_constant(1)
    wd0 = capacity.first_day.weekday()
    start_domain = cp_model.Domain.from_values(domain)
    day_domain = cp_model.Domain.from_values(sorted({t // DAY_MIN for t in domain}))
    tod_domain = cp_model.Domain.from_values(sorted({t % DAY_MIN for t in domain}))
    starts: list[cp_model.IntVar] = []
    days: list[cp_model.IntVar] = []
    weeks: list[cp_model.IntVar] = []
    tods: list[cp_model.IntVar | None] = []
    pinned_chair: dict[int, int] = {}
    for k in range(n):
        if pin is not None and k == pin_position:
            start = model.new_constant(pin.start)
            day = model.new_constant(pin.start // DAY_MIN)
            pinned_chair[k] = pin.chair_id
            tods.append(None)
        else:
            start = model.new_int_var_from_domain(start_domain, f"s{demand.key}_{k}")
            day = model.new_int_var_from_domain(day_domain, f"d{demand.key}_{k}")
            tod = model.new_int_var_from_domain(tod_domain, f"t{demand.key}_{k}")
            model.add(start == DAY_MIN * day + tod)
            tods.append(tod)
        week = model.new_int_var(0, capacity.days // 7 + 2, f"w{demand.key}_{k}")
        model.add(7 * week <= day + wd0)
        model.add(day + wd0 <= 7 * week + 6)
        starts.append(start)
        days.append(day)
        weeks.append(week)
    for k in range(n - 1):
        model.add(days[k + 1] >= days[k] + demand.min_gap_days).only_enforce_if(present)
    for k in range(n - demand.max_per_week):
        model.add(weeks[k + demand.max_per_week] >= weeks[k] + 1).only_enforce_if(present)
    model.add(days[n - 1] - days[0] <= demand.window_days - 1).only_enforce_if(present)
    first_index = capacity.index_of(demand.earliest_day)
    model.add(days[0] >= first_index).only_enforce_if(present)
    model.add(days[0] <= capacity.index_of(demand.latest_first_day)).only_enforce_if(present)
    first_cost = model.new_int_var(0, capacity.days, f"fc{demand.key}")
    model.add(first_cost == days[0] - max(0, first_index)).only_enforce_if(present)
    model.add(first_cost == 0).only_enforce_if(present.Not())
    return _SeriesVars(demand, present, starts, days, tods, weeks, first_cost, pinned_chair)


def _merged(windows: Iterable[Window]) -> list[Window]:
    merged: list[Window] = []
    for w in sorted(windows):
        if merged and w.start <= merged[-1].end:
            merged[-1] = Window(merged[-1].start, max(merged[-1].end, w.end))
        else:
            merged.append(w)
    return merged


def _add_resources(
    model: cp_model.CpModel, capacity: Capacity, series: Sequence[_SeriesVars], relaxed: frozenset[str]
) -> None:
    sessions: list[cp_model.IntervalVar] = []
    for sv in series:
        dur = sv.demand.duration_min
        for k, start in enumerate(sv.starts):
            sessions.append(model.new_optional_fixed_size_interval_var(start, dur, sv.present, f"i{sv.demand.key}_{k}"))
    if not sessions:
        return
    horizon = capacity.days * DAY_MIN
    if RULE_CHAIRS not in relaxed:
        # A chair's bookings and outages merged, so overlapping ones are not counted twice.
        chair_intervals = list(sessions)
        for chair in capacity.chairs:
            for w in _merged(capacity.chair_busy.get(chair, ())):
                if w.end > 0 and w.start < horizon:
                    chair_intervals.append(model.new_fixed_size_interval_var(w.start, w.end - w.start, "busy"))
        model.add_cumulative(chair_intervals, [1] * len(chair_intervals), len(capacity.chairs))
    if RULE_NURSES in relaxed:
        return
    top = max([places for _, places in capacity.nurse_places] + [0])
    intervals = list(sessions)
    demands = [1] * len(intervals)
    for w, taken in _nurse_blocks(capacity, top, 0, horizon, capacity.infusion_load):
        intervals.append(model.new_fixed_size_interval_var(w.start, w.end - w.start, "taken places"))
        demands.append(taken)
    model.add_cumulative(intervals, demands, top)


def _nurse_blocks(
    capacity: Capacity, top: int, begin: int, end: int, loads: Iterable[Window]
) -> list[tuple[Window, int]]:
    """Fixed blocks that leave exactly the free nurse places of ``[begin, end)`` under a
    cumulative of capacity ``top``: where fewer than ``top`` places are staffed, the difference,
    plus the infusions already running. Capped at ``top``: where existing bookings already
    exceed the places (a nurse's shift shortened after booking), no new session fits, but the
    plan for other times stays possible."""
    loads = [w for w in loads if w.start < end and begin < w.end]
    points = {begin, end} | {p for w, _ in capacity.nurse_places for p in (w.start, w.end) if begin < p < end}
    points |= {p for w in loads for p in (w.start, w.end) if begin < p < end}
    cuts = sorted(points)
    blocks: list[tuple[Window, int]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        running = sum(1 for w in loads if w.start <= a < w.end)
        taken = min(top, top - nurse_places_at(capacity, a) + running)
        if taken > 0:
            if blocks and blocks[-1][0].end == a and blocks[-1][1] == taken:
                blocks[-1] = (Window(blocks[-1][0].start, b), taken)
            else:
                blocks.append((Window(a, b), taken))
    return blocks


# --- Chairs for planned sessions -----------------------------------------------------------------


@dataclass(frozen=True)
class PlacedSession:
    key: int
    start: int
    end: int
    chair_id: int | None = None  # set when a person chose the chair


def _colour_day(capacity: Capacity, day: Sequence[PlacedSession]) -> tuple[dict[int, int], set[int]]:
    """Chairs for one day's new sessions (indexes into ``day``), and the indexes that got none.

    Greedy first: in order of start, each session takes the free chair whose next fixed booking
    begins soonest after it ends (best fit, keeping long free stretches for long sessions).
    Without fixed bookings this is the classic interval-graph colouring and never fails when
    the chair cumulative holds; fixed bookings can make it fail, and then a small exact model
    assigns as many sessions as possible."""
    crosses = any(_one_day(s.start, s.end) is None for s in day)
    by_day = _index(capacity).busy
    on_day = day[0].start // DAY_MIN
    busy = {c: list(capacity.chair_busy.get(c, ()) if crosses else by_day[c].get(on_day, ())) for c in capacity.chairs}
    chosen: dict[int, int] = {}
    order = sorted(range(len(day)), key=lambda i: (day[i].chair_id is None, day[i].start, -day[i].end))
    for i in order:
        s = day[i]
        free = [c for c in capacity.chairs if _free(busy[c], s.start, s.end)]
        if s.chair_id is not None:
            free = [c for c in free if c == s.chair_id]
        if not free:
            break
        chair = min(free, key=lambda c: (min((w.start for w in busy[c] if w.start >= s.end), default=1 << 40), c))
        chosen[i] = chair
        busy[chair].append(Window(s.start, s.end))
    else:
        return chosen, set()
    model = cp_model.CpModel()
    uses: dict[int, dict[int, cp_model.IntVar]] = {}
    per_chair: dict[int, list[cp_model.IntervalVar]] = {c: [] for c in capacity.chairs}
    for i, s in enumerate(day):
        uses[i] = {}
        for c in capacity.chairs:
            if (s.chair_id is None or s.chair_id == c) and _chair_free(capacity, c, s.start, s.end):
                used = model.new_bool_var(f"u{i}_{c}")
                uses[i][c] = used
                per_chair[c].append(model.new_optional_fixed_size_interval_var(s.start, s.end - s.start, used, "x"))
        model.add_at_most_one(uses[i].values())
    for intervals in per_chair.values():
        model.add_no_overlap(intervals)
    model.maximize(sum(v for options in uses.values() for v in options.values()))
    solver = _solver(0.5, 1)
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {}, set(range(len(day)))
    chosen = {i: c for i, options in uses.items() for c, v in options.items() if solver.value(v)}
    return chosen, set(range(len(day))) - set(chosen)


def assign_chairs(capacity: Capacity, placed: Sequence[PlacedSession]) -> tuple[dict[int, list[Session]], set[int]]:
    """Concrete chairs for planned sessions, by day. A series with a session no chair can take
    is left out whole (removing a series never breaks a rule for the others), so every series
    returned is valid; the keys left out are returned too."""
    dropped: set[int] = set()
    while True:
        by_day: dict[int, list[PlacedSession]] = {}
        for p in placed:
            if p.key not in dropped:
                by_day.setdefault(p.start // DAY_MIN, []).append(p)
        result: dict[int, list[Session]] = {}
        failed: set[int] = set()
        for day in by_day.values():
            chosen, missing = _colour_day(capacity, day)
            failed |= {day[i].key for i in missing}
            for i, chair in chosen.items():
                result.setdefault(day[i].key, []).append(Session(day[i].start, day[i].end, chair))
        if not failed:
            return {k: sorted(v, key=lambda s: s.start) for k, v in result.items()}, dropped
        dropped |= failed


def _placed(solver: cp_model.CpSolver, sv: _SeriesVars) -> list[PlacedSession]:
    return [
        PlacedSession(sv.demand.key, solver.value(s), solver.value(s) + sv.demand.duration_min, sv.pinned_chair.get(k))
        for k, s in enumerate(sv.starts)
    ]


def _solver(seconds: float, workers: int, deterministic_s: float | None = None) -> cp_model.CpSolver:
    """A solver stopping after ``seconds``. With ``deterministic_s``, the workers interleave
    their search in fixed batches and stop after that much deterministic time (a measure of
    work done, not of the clock), so the same model gives the same answer however busy the
    machine, unless the clock limit comes first."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    if deterministic_s is not None:
        solver.parameters.interleave_search = True
        solver.parameters.max_deterministic_time = deterministic_s
    return solver


def _solve_one(
    capacity: Capacity, demand: SeriesDemand, relaxed: frozenset[str], seconds: float, workers: int
) -> tuple[list[Session], SolveStats]:
    """Earliest completion for one series; with a pin, tried at each position in the series."""
    positions: Sequence[int | None] = range(demand.sessions) if demand.pins else [None]
    best: list[Session] = []
    best_stats = SolveStats("INFEASIBLE", 0.0)
    began = clock.perf_counter()
    for position in positions:
        model = cp_model.CpModel()
        sv = _add_series(model, capacity, demand, relaxed, optional=False, pin_position=position)
        if sv is None:
            break
        _add_resources(model, capacity, [sv], relaxed)
        horizon = capacity.days * DAY_MIN
        model.minimize(sv.starts[-1] * (demand.sessions * horizon) + sum(sv.starts))
        solver = _solver(seconds, workers)
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        target = capacity if RULE_CHAIRS not in relaxed else replace(capacity, chair_busy={})
        chaired, dropped = assign_chairs(target, _placed(solver, sv))
        if dropped:
            continue
        found = chaired[demand.key]
        if not best or found[-1].start < best[-1].start:
            best = found
            best_stats = SolveStats(
                solver.status_name(status), 0.0, solver.objective_value, solver.best_objective_bound
            )
    best_stats.seconds = clock.perf_counter() - began
    return best, best_stats


def propose_series(
    capacity: Capacity, demand: SeriesDemand, *, seconds: float = 5.0, workers: int = 2, look_ahead_weeks: int = 8
) -> SeriesOutcome:
    """The whole series for one patient, finishing as early as possible. When none fits, name
    the rule that binds (the first whose relaxation makes a series fit) and the earliest
    first day, week by week later, from which a series does fit under every rule."""
    sessions, stats = _solve_one(capacity, demand, frozenset(), seconds, workers)
    if sessions:
        return SeriesOutcome(sessions, stats=stats)
    binding = RULE_CALENDAR
    relaxed: frozenset[str] = frozenset()
    for rule in RELAXABLE_RULES:
        if _solve_one(capacity, demand, frozenset({rule}), seconds, workers)[0]:
            binding = rule
            break
    else:
        for rule in RELAXABLE_RULES:
            relaxed = relaxed | {rule}
            if _solve_one(capacity, demand, relaxed, seconds, workers)[0]:
                binding = rule
                break
    earliest = None
    span = demand.latest_first_day - demand.earliest_day
    for week in range(1, look_ahead_weeks + 1):
        later = replace(
            demand,
            earliest_day=demand.earliest_day + timedelta(weeks=week),
            latest_first_day=demand.earliest_day + timedelta(weeks=week) + span,
            pins=(),
        )
        if capacity.index_of(later.earliest_day) >= capacity.days:
            break
        found, _ = _solve_one(capacity, later, frozenset(), seconds, workers)
        if found:
            earliest = capacity.day_of(found[0].start)
            break
    return SeriesOutcome([], binding_rule=binding, earliest_feasible_day=earliest, stats=stats)


# --- Clinic-wide planning: a day-indexed model ----------------------------------------------------
#
# Many series at once are modelled by day: for each series and each day it could use, a literal
# "a session on that day" and an optional interval for the time of day. The series rules become
# small linear constraints over those literals (exactly ``sessions`` days; at most
# ``max_per_week`` in each calendar week; at most one in any ``min_gap_days`` consecutive days;
# every day within ``window_days`` of the one chosen first day), which the LP relaxation reads
# directly, unlike divisions or day/week integer variables. Sessions never cross midnight (they lie
# inside one opening window), so chairs and nurses are one cumulative per day, each small.
# Redundant cuts per day (minutes, grid slots and counts of the room sessions can really use, see
# :func:`_day_energy`) tighten the LP bound on completed series. Chairs stay interchangeable in
# the model (a cumulative over the chair count), so there is no chair symmetry to break; series
# that are identical apart from their key are ordered (the earlier key is planned whenever the
# later one is), which removes that symmetry too. The search starts from the best of several
# greedy plans (:func:`_packed_plan`), and works to a deterministic time limit.


@dataclass
class _DaySeries:
    demand: SeriesDemand
    present: cp_model.IntVar
    # day index -> session-on-that-day literal, its start variable and its interval
    on_day: dict[int, cp_model.IntVar]
    start: dict[int, cp_model.IntVar]
    interval: dict[int, cp_model.IntervalVar]
    first: dict[int, cp_model.IntVar]  # day index -> "the series starts on that day"
    options: dict[int, list[int]]  # day index -> allowed start minutes, ascending
    first_cost: cp_model.LinearExpr


def _add_series_by_day(
    model: cp_model.CpModel, capacity: Capacity, demand: SeriesDemand, slot_min: int
) -> _DaySeries | None:
    options: dict[int, list[int]] = {}
    for t in candidate_starts(capacity, demand, slot_min=slot_min):
        options.setdefault(t // DAY_MIN, []).append(t)
    earliest = max(0, capacity.index_of(demand.earliest_day))
    latest = capacity.index_of(demand.latest_first_day)
    window = demand.window_days
    firsts = [d for d in options if earliest <= d <= latest]
    # Only days reachable from some possible first day.
    options = {d: ts for d, ts in options.items() if any(f <= d <= f + window - 1 for f in firsts)}
    if len(options) < demand.sessions or not firsts:
        return None
    key = demand.key
    present = model.new_bool_var(f"p{key}")
    on_day = {d: model.new_bool_var(f"x{key}_{d}") for d in sorted(options)}
    first = {d: model.new_bool_var(f"f{key}_{d}") for d in sorted(firsts)}
    start: dict[int, cp_model.IntVar] = {}
    interval: dict[int, cp_model.IntervalVar] = {}
    for d, ts in options.items():
        start[d] = model.new_int_var_from_domain(cp_model.Domain.from_values(ts), f"s{key}_{d}")
        interval[d] = model.new_optional_fixed_size_interval_var(
            start[d], demand.duration_min, on_day[d], f"i{key}_{d}"
        )
    model.add(sum(first.values()) == present)
    model.add(sum(on_day.values()) == demand.sessions * present)
    for d, f in first.items():
        model.add_implication(f, on_day[d])
    for d, x in on_day.items():
        model.add(x <= sum(first[f] for f in range(d - window + 1, d + 1) if f in first))
    wd0 = capacity.first_day.weekday()
    weeks: dict[int, list[cp_model.IntVar]] = {}
    for d, x in on_day.items():
        weeks.setdefault((d + wd0) // 7, []).append(x)
    for in_week in weeks.values():
        if len(in_week) > demand.max_per_week:
            model.add(sum(in_week) <= demand.max_per_week)
    if demand.min_gap_days > 1:
        for d in on_day:
            close = [on_day[e] for e in range(d, d + demand.min_gap_days) if e in on_day]
            if len(close) > 1:
                model.add_at_most_one(close)
    cost = cp_model.LinearExpr.weighted_sum(list(first.values()), [d - earliest for d in first])
    return _DaySeries(demand, present, on_day, start, interval, first, options, cost)


class _DayRoom:
    """One day's room for new sessions: each chair's taken minutes, and the minutes at which
    every nurse place is taken, with the places still free at each minute. Minutes are bits of
    a Python integer (bit ``m`` = minute ``m`` of the day), so checking a session is a few
    integer operations."""

    def __init__(self, capacity: Capacity, day: int) -> None:
        index = _index(capacity)
        self.base = day * DAY_MIN
        self.taken: dict[int, int] = {c: _minute_mask(self.base, index.busy[c].get(day, ())) for c in capacity.chairs}
        self.places = [0] * DAY_MIN
        for w, n in index.places.get(day, ()):
            for m in range(max(w.start, self.base) - self.base, min(w.end, self.base + DAY_MIN) - self.base):
                self.places[m] += n
        for w in index.loads.get(day, ()):
            for m in range(max(w.start, self.base) - self.base, min(w.end, self.base + DAY_MIN) - self.base):
                self.places[m] -= 1
        self.full = sum(1 << m for m, free in enumerate(self.places) if free <= 0)

    def fit(self, starts: Sequence[int], duration_min: int) -> tuple[int, int] | None:
        """The earliest of ``starts`` with a nurse place and a chair free throughout, and the
        free chair that fits it most tightly (least free time left just before and after it,
        keeping long free stretches for long sessions; the lowest numbered on a tie)."""
        for t in starts:
            offset = t - self.base
            end = offset + duration_min
            if end > DAY_MIN:
                break
            mask = ((1 << duration_min) - 1) << offset
            if mask & self.full:
                continue
            best: tuple[int, int] | None = None
            for chair, taken in self.taken.items():
                if not mask & taken:
                    after = taken >> end
                    slack = offset - (taken & ((1 << offset) - 1)).bit_length()
                    slack += (after & -after).bit_length() - 1 if after else DAY_MIN - end
                    if best is None or slack < best[0]:
                        best = (slack, chair)
            if best is not None:
                return t, best[1]
        return None

    def book(self, start: int, duration_min: int, chair: int) -> None:
        offset = start - self.base
        self.taken[chair] |= ((1 << duration_min) - 1) << offset
        for m in range(offset, offset + duration_min):
            self.places[m] -= 1
            if self.places[m] <= 0:
                self.full |= 1 << m


def _minute_mask(base: int, windows: Iterable[Window]) -> int:
    mask = 0
    for w in windows:
        a, b = max(w.start, base) - base, min(w.end, base + DAY_MIN) - base
        if a < b:
            mask |= ((1 << (b - a)) - 1) << a
    return mask


def _runs(mask: int) -> list[tuple[int, int]]:
    """The stretches ``[a, b)`` of set bits of ``mask``."""
    runs: list[tuple[int, int]] = []
    offset = 0
    while mask:
        skip = (mask & -mask).bit_length() - 1
        mask >>= skip
        offset += skip
        length = (~mask & (mask + 1)).bit_length() - 1
        runs.append((offset, offset + length))
        mask >>= length
        offset += length
    return runs


def _day_energy(
    model: cp_model.CpModel, capacity: Capacity, day: int, on_day: Sequence[tuple[_DaySeries, int]], slot_min: int
) -> None:
    """Three cuts, each implied by the rules, that give the LP relaxation the day's real room.

    Only *usable* room counts: a minute of a chair is usable when some session that day could
    cover it on that chair (one of the allowed starts, with its duration, the chair free and a
    nurse place free throughout). Free stretches too short for any session, between existing
    bookings or where no nurse is free, hold no session, so they are left out of each cut.

    * Minutes: at every minute, sessions running <= min(chairs usable then, nurse places free
      then), so their minutes together are at most the integral of that minimum; likewise
      inside each patient time window, for the sessions that must lie in it.
    * Grid slots: a session starting on the ``slot_min`` grid owns the grid points in
      ``[start, end)`` (``ceil(duration / slot_min)`` of them) on its chair, no two sessions on a
      chair share one, and each lies where that chair is usable: so the sessions' grid points
      together are at most the usable grid points summed over chairs. This counts the minutes
      lost between a session's end and the next grid start, which the minute cut cannot see.
    * Counts: a usable stretch of ``L`` minutes on a chair holds at most ``L // D`` sessions
      lasting ``D`` minutes or more, for each session length ``D`` that could go on that day.
    """
    room = _DayRoom(capacity, day)
    base = room.base
    placements = {(t - base, sv.demand.duration_min) for sv, d in on_day for t in sv.options[d]}
    if any(offset + dur > DAY_MIN for offset, dur in placements):
        return  # a session past midnight: the day's room is not this day's alone
    blocked = {c: taken | room.full for c, taken in room.taken.items()}
    usable: dict[int, int] = {}
    for chair, no in blocked.items():
        mask = 0
        for offset, dur in placements:
            span = ((1 << dur) - 1) << offset
            if not span & no:
                mask |= span
        usable[chair] = mask
    chairs_at = [0] * DAY_MIN
    for mask in usable.values():
        for a, b in _runs(mask):
            for m in range(a, b):
                chairs_at[m] += 1
    level = [min(n, max(0, free)) for n, free in zip(chairs_at, room.places, strict=True)]
    spans = sorted({(a, b) for sv, _ in on_day for a, b in sv.demand.time_windows})
    for a, b in [(0, DAY_MIN), *spans]:
        inside = [
            (sv, d)
            for sv, d in on_day
            if all(a <= t - base and t - base + sv.demand.duration_min <= b for t in sv.options[d])
        ]
        if inside:
            limit = sum(level[max(0, a) : min(DAY_MIN, b)])
            model.add(sum(sv.demand.duration_min * sv.on_day[d] for sv, d in inside) <= limit)
    points = sum(1 for mask in usable.values() for m in range(0, DAY_MIN, slot_min) if mask >> m & 1)
    model.add(sum(-(-sv.demand.duration_min // slot_min) * sv.on_day[d] for sv, d in on_day) <= points)
    runs = [b - a for mask in usable.values() for a, b in _runs(mask)]
    for shortest in sorted({sv.demand.duration_min for sv, _ in on_day}):
        longer = [sv.on_day[d] for sv, d in on_day if sv.demand.duration_min >= shortest]
        most = sum(length // shortest for length in runs)
        if most < len(longer):
            model.add(sum(longer) <= most)


def _add_day_resources(
    model: cp_model.CpModel, capacity: Capacity, series: Sequence[_DaySeries], slot_min: int
) -> None:
    by_day: dict[int, list[tuple[_DaySeries, int]]] = {}
    for sv in series:
        for d in sv.on_day:
            by_day.setdefault(d, []).append((sv, d))
    index = _index(capacity)
    top = max([places for _, places in capacity.nurse_places] + [0])
    for day, entries in by_day.items():
        base = day * DAY_MIN
        sessions = [sv.interval[d] for sv, d in entries]
        chair_intervals = list(sessions)
        for chair in capacity.chairs:
            for w in _merged(index.busy[chair].get(day, ())):
                a, b = max(w.start, base), min(w.end, base + DAY_MIN)
                chair_intervals.append(model.new_fixed_size_interval_var(a, b - a, "busy"))
        model.add_cumulative(chair_intervals, [1] * len(chair_intervals), len(capacity.chairs))
        nurse_intervals = list(sessions)
        demands = [1] * len(sessions)
        for w, taken in _nurse_blocks(capacity, top, base, base + DAY_MIN, index.loads.get(day, ())):
            nurse_intervals.append(model.new_fixed_size_interval_var(w.start, w.end - w.start, "taken places"))
            demands.append(taken)
        model.add_cumulative(nurse_intervals, demands, top)
        _day_energy(model, capacity, day, entries, slot_min)


def _lateness(sv: _DaySeries) -> cp_model.LinearExprT:
    """What the second solve minimises for one series: days from its earliest day to its first
    session (one day weighing as much as a day's delay of every session), then the start of
    every session. Starting every session as early as it can go packs the calendar from the
    front, as booking by hand does, and leaves whole free afternoons and days for the requests
    of the coming weeks rather than scattered gaps. An absent series' start variables are free,
    so they sit at their smallest value and add only a constant."""
    session_starts = cp_model.LinearExpr.sum(
        [d * DAY_MIN * x + sv.start[d] - d * DAY_MIN for d, x in sv.on_day.items()]
    )
    return sv.demand.sessions * DAY_MIN * sv.first_cost + session_starts


def _break_series_symmetry(model: cp_model.CpModel, series: Sequence[_DaySeries]) -> list[list[_DaySeries]]:
    """Series identical apart from their key are interchangeable: plan the earlier key first.
    Returns the groups, in key order, so hints can respect the same order."""
    groups: dict[SeriesDemand, list[_DaySeries]] = {}
    for sv in series:
        groups.setdefault(replace(sv.demand, key=0), []).append(sv)
    for group in groups.values():
        group.sort(key=lambda sv: sv.demand.key)
        for a, b in zip(group, group[1:], strict=False):
            model.add(a.present >= b.present)
    return list(groups.values())


def _hint_day_series(model: cp_model.CpModel, sv: _DaySeries, starts: Sequence[int]) -> None:
    """Hint every variable of one series (an empty ``starts`` means absent), so a feasible plan
    given as hints is complete and the solver adopts it as its first solution."""
    days = {t // DAY_MIN: t for t in starts}
    model.add_hint(sv.present, 1 if starts else 0)
    first_day = min(days) if days else None
    for d, f in sv.first.items():
        model.add_hint(f, 1 if d == first_day else 0)
    for d, x in sv.on_day.items():
        model.add_hint(x, 1 if d in days else 0)
        model.add_hint(sv.start[d], days.get(d, sv.options[d][0]))


def _hint_plan(
    model: cp_model.CpModel, groups: Sequence[Sequence[_DaySeries]], plan: Mapping[int, Sequence[int]]
) -> None:
    """Hint a plan (key -> starts); within a group of identical series the planned ones are
    moved to the earliest keys, as the symmetry constraints require."""
    for group in groups:
        planned = [plan[sv.demand.key] for sv in group if sv.demand.key in plan]
        for i, sv in enumerate(group):
            _hint_day_series(model, sv, planned[i] if i < len(planned) else [])


def _greedy(capacity: Capacity, demands: Sequence[SeriesDemand]) -> dict[int, list[Session]]:
    """First fit, series by series in the given order, keeping only the series it completes
    within their window (a series that does not fit releases what it took)."""
    booked: dict[int, list[Window]] = {}
    load: list[Window] = []
    plan: dict[int, list[Session]] = {}
    for demand in demands:
        trial_booked = {c: list(ws) for c, ws in booked.items()}
        trial_load = list(load)
        sessions = first_fit(capacity, demand, trial_booked, trial_load)
        days = [x.start // DAY_MIN for x in sessions]
        fits = (
            len(sessions) == demand.sessions
            and days[-1] - days[0] <= demand.window_days - 1
            and capacity.day_of(sessions[0].start) <= demand.latest_first_day
            and not series_violations(capacity, demand, sessions)
        )
        if fits:
            booked, load = trial_booked, trial_load
            plan[demand.key] = sessions
    return plan


def _first_fit_plan(capacity: Capacity, demands: Sequence[SeriesDemand]) -> dict[int, list[Session]]:
    """A by-hand plan, the floor clinic-wide planning never goes below: first fit in order of
    request, and first fit shortest chair time first (which often completes more series when
    chairs are short), whichever completes more."""
    by_request = _greedy(capacity, sorted(demands, key=lambda d: (d.earliest_day, d.key)))
    by_length = _greedy(capacity, sorted(demands, key=lambda d: (d.duration_min, d.earliest_day, d.key)))
    return by_length if len(by_length) > len(by_request) else by_request


# --- A stronger greedy: whole series, earliest first day that completes -------------------------
#
# One session more on a day depends only on that day's bookings, and the sessions of a series lie
# on distinct days. So, for a given first day, taking the earliest days that still have room
# (skipping those the gap or the weekly limit forbid) finds a complete series whenever one exists;
# trying first days in order finds the earliest first day that completes. First fit lacks exactly
# this: it books the first free slot even when the series then cannot finish within its window.
# When the calendar is nearly full, the days on which waiting series could start are the scarce
# room, so a rationing variant keeps later sessions off them where it can.


def _earliest_series(
    rooms: Callable[[int], _DayRoom], sv: _DaySeries, week_of: Callable[[int], int], spare: Callable[[int], bool]
) -> list[tuple[int, int]] | None:
    """The earliest first day from which the whole series fits, as (start, chair) per session.
    Sessions after the first go on ``spare`` days (days that are no waiting series' possible
    first day) when the series can complete that way, else on the earliest days with room."""
    demand = sv.demand
    found: dict[int, tuple[int, int] | None] = {}

    def slot(day: int) -> tuple[int, int] | None:
        if day not in found:
            found[day] = rooms(day).fit(sv.options[day], demand.duration_min)
        return found[day]

    days = sorted(sv.on_day)
    for first in sorted(sv.first):
        if slot(first) is None:
            continue
        for allowed in (spare, None):
            chosen = [first]
            weeks = {week_of(first): 1}
            for day in days:
                if len(chosen) == demand.sessions or day > first + demand.window_days - 1:
                    break
                if day < chosen[-1] + demand.min_gap_days or weeks.get(week_of(day), 0) >= demand.max_per_week:
                    continue
                if (allowed is None or allowed(day)) and slot(day) is not None:
                    chosen.append(day)
                    weeks[week_of(day)] = weeks.get(week_of(day), 0) + 1
            if len(chosen) == demand.sessions:
                return [s for d in chosen if (s := slot(d)) is not None]
    return None


def _packed(
    capacity: Capacity,
    series: Sequence[_DaySeries],
    *,
    ration: bool,
    planned: Mapping[int, Sequence[Session]] | None = None,
) -> dict[int, list[Session]]:
    """Series in the given order, each at the earliest first day from which it completes;
    a series that fits nowhere is skipped and takes nothing. With ``ration``, later sessions
    keep off days on which a series still waiting could start, where they can. ``planned``
    series are kept as they are and the others are added around them."""
    made: dict[int, _DayRoom] = {}

    def rooms(day: int) -> _DayRoom:
        if day not in made:
            made[day] = _DayRoom(capacity, day)
        return made[day]

    plan = {key: list(sessions) for key, sessions in (planned or {}).items()}
    for sessions in plan.values():
        for x in sessions:
            rooms(x.start // DAY_MIN).book(x.start, x.end - x.start, x.chair_id)
    series = [sv for sv in series if sv.demand.key not in plan]
    waiting_first: dict[int, int] = {}
    for sv in series:
        for d in sv.first:
            waiting_first[d] = waiting_first.get(d, 0) + 1
    wd0 = capacity.first_day.weekday()
    for sv in series:
        for d in sv.first:
            waiting_first[d] -= 1
        chosen = _earliest_series(
            rooms, sv, lambda day: (day + wd0) // 7, (lambda day: not waiting_first.get(day)) if ration else bool
        )
        if chosen is None:
            continue
        dur = sv.demand.duration_min
        for start, chair in chosen:
            rooms(start // DAY_MIN).book(start, dur, chair)
        plan[sv.demand.key] = [Session(start, start + dur, chair) for start, chair in chosen]
    return plan


def _packed_plan(capacity: Capacity, series: Sequence[_DaySeries]) -> dict[int, list[Session]]:
    """The best of a few orders, each with and without rationing: by request, shortest chair
    time first (more series fit in the same chair-hours), and fewest possible first days or
    days first (the hardest to place go first)."""
    orders = (
        sorted(series, key=lambda sv: (sv.demand.earliest_day, sv.demand.key)),
        sorted(series, key=lambda sv: (sv.demand.duration_min, sv.demand.earliest_day, sv.demand.key)),
        sorted(series, key=lambda sv: (len(sv.first), sv.demand.duration_min, sv.demand.key)),
        sorted(series, key=lambda sv: (len(sv.on_day), sv.demand.duration_min, sv.demand.key)),
    )
    plans = [_packed(capacity, order, ration=ration) for order in orders for ration in (False, True)]
    return max(plans, key=len)


# Clinic-wide solves start sessions on a half-hour grid: a quarter of the start values of a
# 15-minute grid for the same days, at little cost in packing (durations are not rounded).
CLINIC_WIDE_SLOT_MIN = 30
# Share of the time limit for maximising completed series; the rest goes to earliest starts
# and to assigning chairs.
COMPLETED_PHASE_SHARE = 0.7
# Deterministic time allowed per second of the time limit. Interleaved search on two workers
# did 0.35-0.4 units per second on a two-core machine with a load average of 3-5, so on a
# quieter machine the work limit, not the clock, ends a solve and the same requests get the
# same plan; on a busier one the clock may still end it first.
DETERMINISTIC_PER_SECOND = 0.3


def plan_many(
    capacity: Capacity,
    demands: Sequence[SeriesDemand],
    *,
    seconds: float = 5.0,
    workers: int = 2,
    slot_min: int = CLINIC_WIDE_SLOT_MIN,
) -> PlanResult:
    """Clinic-wide replanning: place as many complete series as possible, then start them as
    early as possible (lexicographic, two solves of the day-indexed model). The first solve
    starts from the best greedy plan (by-hand first fit, or whole series packed at their
    earliest completing first day, see :func:`_packed_plan`) and proves a bound on completed
    series; the second keeps that many and minimises the days to each first session. Chairs are
    then assigned day by day, and series still left out that fit around the result are added.
    The bound stays valid because the chair cumulative is a relaxation of chair-by-chair
    assignment. Never returns fewer series than the checked first-fit plan."""
    began = clock.perf_counter()
    model = cp_model.CpModel()
    series = [sv for d in demands if (sv := _add_series_by_day(model, capacity, d, slot_min)) is not None]
    if not series:
        return PlanResult({}, [d.key for d in demands], SolveStats("EMPTY", clock.perf_counter() - began))
    _add_day_resources(model, capacity, series, slot_min)
    groups = _break_series_symmetry(model, series)
    by_hand = _first_fit_plan(replace(capacity, slot_min=slot_min), [sv.demand for sv in series])
    packed = _packed_plan(capacity, series)
    greedy = packed if len(packed) > len(by_hand) else by_hand
    _hint_plan(model, groups, {key: [s.start for s in sessions] for key, sessions in greedy.items()})
    completed = sum(sv.present for sv in series)
    model.maximize(completed)
    solver = _solver(
        max(0.2, seconds * COMPLETED_PHASE_SHARE - (clock.perf_counter() - began)),
        workers,
        seconds * COMPLETED_PHASE_SHARE * DETERMINISTIC_PER_SECOND,
    )
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # No solution in time: fall back to the checked first-fit plan (each series in it
        # completes within its window), and say so in the status.
        stats = SolveStats("FIRST_FIT_FALLBACK", clock.perf_counter() - began, float(len(greedy)), float(len(series)))
        return PlanResult(greedy, [d.key for d in demands if d.key not in greedy], stats, completed_bound=len(series))
    best = round(solver.objective_value)
    bound = int(solver.best_objective_bound + 1e-6)
    model.clear_hints()  # type: ignore[no-untyped-call]
    for sv in series:
        chosen = [solver.value(sv.start[d]) for d, x in sv.on_day.items() if solver.value(x)]
        _hint_day_series(model, sv, chosen if solver.value(sv.present) else [])
    model.add(completed >= best)
    model.minimize(sum(_lateness(sv) for sv in series))
    # Keep time for assigning chairs: the whole call stays within ``seconds``.
    second = _solver(
        max(0.2, seconds * 0.9 - (clock.perf_counter() - began)),
        workers,
        seconds * (0.9 - COMPLETED_PHASE_SHARE) * DETERMINISTIC_PER_SECOND,
    )
    status2 = second.solve(model)
    use = second if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE) else solver
    placed = [
        PlacedSession(sv.demand.key, use.value(sv.start[d]), use.value(sv.start[d]) + sv.demand.duration_min)
        for sv in series
        if use.value(sv.present)
        for d, x in sv.on_day.items()
        if use.value(x)
    ]
    proposals, _ = assign_chairs(capacity, placed)
    # Series the solve left out (for want of time, or dropped when assigning chairs) that
    # still fit around the plan are added, shortest first.
    proposals = _packed(
        capacity,
        sorted(series, key=lambda sv: (sv.demand.duration_min, sv.demand.key)),
        ration=False,
        planned=proposals,
    )
    if len(proposals) < len(greedy):
        proposals = greedy
    unplanned = [d.key for d in demands if d.key not in proposals]
    stats = SolveStats(solver.status_name(status), clock.perf_counter() - began, float(len(proposals)), float(bound))
    return PlanResult(proposals, unplanned, stats, completed_bound=bound)


# --- The baseline: first fit, one session at a time, as a person books by hand -----------------


def first_fit(
    capacity: Capacity, demand: SeriesDemand, booked: dict[int, list[Window]], load: list[Window]
) -> list[Session]:
    """Book each session in the first free slot after the previous one (chair free, a nurse
    place free, inside availability), not looking ahead. Sessions past the window are still
    booked, as a person would; ``booked`` and ``load`` are updated in place."""
    sessions: list[Session] = []
    dur = demand.duration_min
    stretched = replace(demand, latest_first_day=capacity.first_day + timedelta(days=capacity.days), window_days=1)
    weeks: dict[int, int] = {}
    wd0 = capacity.first_day.weekday()
    booked_by_day = {c: _loads_by_day(ws) for c, ws in booked.items()}
    load_by_day = _loads_by_day(load)
    for t in candidate_starts(capacity, stretched):
        if len(sessions) == demand.sessions:
            break
        day = t // DAY_MIN
        if sessions and day < sessions[-1].start // DAY_MIN + demand.min_gap_days:
            continue
        if weeks.get((day + wd0) // 7, 0) >= demand.max_per_week:
            continue
        # Sessions lie within one opening window, so within one day: that day's bookings suffice.
        chair = next(
            (
                c
                for c in capacity.chairs
                if _chair_free(capacity, c, t, t + dur) and _free(booked_by_day.get(c, {}).get(day, ()), t, t + dur)
            ),
            None,
        )
        if chair is None or not _nurse_room(capacity, t, t + dur, load_by_day.get(day, ())):
            continue
        sessions.append(Session(t, t + dur, chair))
        booked.setdefault(chair, []).append(Window(t, t + dur))
        booked_by_day.setdefault(chair, {}).setdefault(day, []).append(Window(t, t + dur))
        load.append(Window(t, t + dur))
        load_by_day.setdefault(day, []).append(Window(t, t + dur))
        weeks[(day + wd0) // 7] = weeks.get((day + wd0) // 7, 0) + 1
    return sessions


# --- Checking a proposal against every rule (used by tests and before booking) -----------------


def series_violations(
    capacity: Capacity, demand: SeriesDemand, sessions: Sequence[Session], others: Sequence[Session] = ()
) -> list[str]:
    """Every rule a proposed series breaks, in words. ``others`` are further new sessions
    (other series planned in the same run) that share chairs and nurses."""
    problems: list[str] = []
    if len(sessions) != demand.sessions:
        problems.append(f"{len(sessions)} sessions instead of {demand.sessions}")
    ordered = sorted(sessions, key=lambda s: s.start)
    days = [s.start // DAY_MIN for s in ordered]
    for a, b in zip(days, days[1:], strict=False):
        if b - a < demand.min_gap_days:
            problems.append(f"sessions on days {a} and {b} are closer than {demand.min_gap_days} day(s)")
    if days and days[-1] - days[0] > demand.window_days - 1:
        problems.append(f"series spans {days[-1] - days[0] + 1} days, more than {demand.window_days}")
    if days and capacity.day_of(ordered[0].start) < demand.earliest_day:
        problems.append("first session before the earliest start")
    wd0 = capacity.first_day.weekday()
    per_week: dict[int, int] = {}
    for d in days:
        per_week[(d + wd0) // 7] = per_week.get((d + wd0) // 7, 0) + 1
    if any(count > demand.max_per_week for count in per_week.values()):
        problems.append(f"more than {demand.max_per_week} sessions in a calendar week")
    every = [*ordered, *others]
    for s in ordered:
        problems += _session_violations(capacity, demand, s, every)
    return problems


def _session_violations(capacity: Capacity, demand: SeriesDemand, s: Session, every: Sequence[Session]) -> list[str]:
    """The rules one session breaks: day, time, opening hours, chair, prescriber, nurses."""
    problems: list[str] = []
    day = capacity.day_of(s.start)
    if s.end - s.start != demand.duration_min:
        problems.append(f"session at {s.start} lasts {s.end - s.start} min, not {demand.duration_min}")
    if day.weekday() not in demand.weekdays or day in demand.blackout:
        problems.append(f"session on {day} is on a day the patient cannot come")
    of_day = s.start % DAY_MIN
    if not any(a <= of_day and of_day + demand.duration_min <= b for a, b in demand.time_windows):
        problems.append(f"session at {s.start} is outside the patient's time windows")
    if not _covered(capacity.open_windows, s.start, s.end):
        problems.append(f"session at {s.start} is outside opening hours")
    if s.chair_id not in capacity.chairs:
        problems.append(f"session at {s.start} uses unknown chair {s.chair_id}")
    if not _free(capacity.chair_busy.get(s.chair_id, ()), s.start, s.end):
        problems.append(f"session at {s.start} overlaps a booking on chair {s.chair_id}")
    if any(o is not s and o.chair_id == s.chair_id and o.start < s.end and s.start < o.end for o in every):
        problems.append(f"session at {s.start} overlaps another new session on chair {s.chair_id}")
    if capacity.prescriber_cover is not None and not _covered(capacity.prescriber_cover, s.start, s.end):
        problems.append(f"session at {s.start} has no prescriber cover")
    others_load = [Window(o.start, o.end) for o in every if o is not s]
    if not _nurse_room(capacity, s.start, s.end, others_load):
        problems.append(f"session at {s.start} exceeds the nurse ratio")
    return problems
