"""Read helpers: a location's calendar as free capacity for the planner, the day board and
week view, and a patient's bookings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from ketaclinic.clinics.models import Chair, Location
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.choices import (
    INFUSION_KINDS,
    RELEASED_STATUSES,
    SeriesKind,
    SeriesStatus,
    ShiftPresence,
    ShiftRole,
)
from ketaclinic.scheduling.models import (
    Booking,
    ChairOutage,
    Closure,
    OpeningHours,
    SchedulingPolicy,
    SeriesRequest,
    SeriesRule,
    StaffShift,
)
from ketaclinic.scheduling.planner import (
    DAY_MIN,
    Capacity,
    Pin,
    SeriesDemand,
    Window,
    propose_series,
    to_datetime,
    to_minutes,
)


def zone_of(location: Location) -> ZoneInfo:
    return ZoneInfo(location.time_zone)


def policy_for(location: Location) -> SchedulingPolicy:
    """The location's policy, or the defaults when none has been saved."""
    return SchedulingPolicy.objects.filter(location=location).first() or SchedulingPolicy(location=location)


def series_rule_for(protocol: Protocol) -> SeriesRule:
    return SeriesRule.objects.filter(protocol=protocol).first() or SeriesRule(protocol=protocol)


def local_day_bounds(location: Location, day: date) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends (23 or 25 hours long on a DST day)."""
    zone = zone_of(location)
    return datetime.combine(day, time(0), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def live_bookings(location: Location) -> QuerySet[Booking]:
    return Booking.objects.filter(location=location).exclude(status__in=RELEASED_STATUSES)


def _merge(windows: Iterable[Window]) -> tuple[Window, ...]:
    merged: list[Window] = []
    for w in sorted(windows):
        if merged and w.start <= merged[-1].end:
            merged[-1] = Window(merged[-1].start, max(merged[-1].end, w.end))
        else:
            merged.append(w)
    return tuple(merged)


def _counted(windows: Iterable[Window], multiplier: int) -> tuple[tuple[Window, int], ...]:
    """Overlapping windows as a step function: (segment, how many windows cover it x multiplier)."""
    items = list(windows)
    points = sorted({w.start for w in items} | {w.end for w in items})
    steps: list[tuple[Window, int]] = []
    for a, b in zip(points, points[1:], strict=False):
        count = sum(1 for w in items if w.start <= a and b <= w.end)
        if count:
            steps.append((Window(a, b), count * multiplier))
    return tuple(steps)


def build_capacity(
    location: Location, first_day: date, days: int, *, exclude_request: SeriesRequest | None = None
) -> Capacity:
    """The location's free capacity for the planner over ``days`` local days from ``first_day``:
    opening hours minus closures, each active chair's existing bookings and outages, nurse places
    (on-site nurses x ratio), existing infusions using them, and prescriber cover."""
    zone = zone_of(location)
    policy = policy_for(location)
    begin, _ = local_day_bounds(location, first_day)
    _, finish = local_day_bounds(location, first_day + timedelta(days=days - 1))

    def minutes(a: datetime, b: datetime) -> Window:
        return Window(to_minutes(a, first_day, zone), to_minutes(b, first_day, zone))

    hours: dict[int, list[OpeningHours]] = {}
    for row in OpeningHours.objects.filter(location=location):
        hours.setdefault(row.weekday, []).append(row)
    closed: set[date] = set()
    for closure in Closure.objects.filter(
        location=location, starts_on__lte=first_day + timedelta(days=days), ends_on__gte=first_day
    ):
        span = (closure.ends_on - closure.starts_on).days
        closed |= {closure.starts_on + timedelta(days=i) for i in range(span + 1)}
    open_windows: list[Window] = []
    for index in range(days):
        day = first_day + timedelta(days=index)
        if day in closed:
            continue
        for row in hours.get(day.weekday(), []):
            base = index * DAY_MIN
            open_windows.append(
                Window(base + row.opens.hour * 60 + row.opens.minute, base + row.closes.hour * 60 + row.closes.minute)
            )
    chairs = tuple(
        Chair.objects.filter(location=location, is_active=True).order_by("name").values_list("id", flat=True)
    )
    bookings = live_bookings(location).filter(start__lt=finish, end__gt=begin).select_related("appointment_type")
    if exclude_request is not None:
        bookings = bookings.exclude(series_request=exclude_request)
    chair_busy: dict[int, list[Window]] = {c: [] for c in chairs}
    load: list[Window] = []
    for booking in bookings:
        window = minutes(booking.start, booking.end)
        if booking.chair_id in chair_busy:
            chair_busy[booking.chair_id].append(window)
        if booking.appointment_type.kind in INFUSION_KINDS:
            load.append(window)
    for outage in ChairOutage.objects.filter(chair__location=location, starts_at__lt=finish, ends_at__gt=begin):
        if outage.chair_id in chair_busy:
            chair_busy[outage.chair_id].append(minutes(outage.starts_at, outage.ends_at))
    shifts = list(StaffShift.objects.filter(location=location, start__lt=finish, end__gt=begin))
    nurses = [
        minutes(s.start, s.end) for s in shifts if s.role == ShiftRole.NURSE and s.presence == ShiftPresence.ON_SITE
    ]
    prescribers = [minutes(s.start, s.end) for s in shifts if s.role == ShiftRole.PRESCRIBER]
    return Capacity(
        first_day=first_day,
        days=days,
        open_windows=_merge(open_windows),
        chairs=chairs,
        chair_busy={c: tuple(sorted(ws)) for c, ws in chair_busy.items()},
        nurse_places=_counted(nurses, policy.nurse_ratio),
        infusion_load=tuple(load),
        prescriber_cover=_merge(prescribers) if policy.require_prescriber_cover else None,
        slot_min=policy.slot_min,
    )


def demand_for(request: SeriesRequest, *, key: int | None = None, earliest: date | None = None) -> SeriesDemand:
    rule = series_rule_for(request.protocol)
    policy = policy_for(request.location)
    start = max(earliest or request.earliest_start, request.earliest_start)
    windows = tuple((a.hour * 60 + a.minute, b.hour * 60 + b.minute) for a, b in request.window_times) or (
        (0, DAY_MIN),
    )
    return SeriesDemand(
        key=key if key is not None else (request.pk or 0),
        sessions=request.sessions_wanted,
        duration_min=rule.chair_time_min,
        earliest_day=start,
        latest_first_day=start + timedelta(days=policy.search_days),
        window_days=request.protocol.induction_window_days,
        min_gap_days=rule.min_gap_days,
        max_per_week=rule.max_per_week,
        weekdays=frozenset(request.weekdays) if request.weekdays else frozenset(range(7)),
        time_windows=windows,
        blackout=request.blackout,
    )


def planning_days(demand: SeriesDemand, look_ahead_weeks: int = 8) -> int:
    """How many days of calendar the planner needs for ``demand`` and a later-start search."""
    return (demand.latest_first_day - demand.earliest_day).days + demand.window_days + 7 * look_ahead_weeks


@dataclass
class BoardColumn:
    chair: Chair
    bookings: list[Booking]


def day_bookings(location: Location, day: date) -> list[Booking]:
    """Every booking on a local day (cancelled ones too, so the board shows them struck)."""
    begin, finish = local_day_bounds(location, day)
    return list(
        Booking.objects.filter(location=location, start__lt=finish, end__gt=begin)
        .select_related("patient", "appointment_type", "chair")
        .order_by("start", "chair__name")
    )


def patient_bookings(patient: Patient) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(patient=patient)
        .select_related("appointment_type", "chair", "location")
        .order_by("start")
    )


def open_requests(location: Location) -> QuerySet[SeriesRequest]:
    return SeriesRequest.objects.filter(
        location=location, status__in=[SeriesStatus.REQUESTED, SeriesStatus.WAITLISTED]
    ).select_related("patient", "protocol", "location")


def shifts_on(location: Location, begin: datetime, finish: datetime) -> QuerySet[StaffShift]:
    return StaffShift.objects.filter(location=location, start__lt=finish, end__gt=begin).select_related("user")


def overlapping(queryset: QuerySet[Booking], start: datetime, end: datetime) -> QuerySet[Booking]:
    return queryset.filter(Q(start__lt=end) & Q(end__gt=start))


@dataclass
class ProposedSession:
    start: datetime
    end: datetime
    chair: Chair


@dataclass
class Proposal:
    """A proposed series in the location's terms (aware datetimes, chairs), or why none fits."""

    sessions: list[ProposedSession]
    binding_rule: str = ""
    earliest_feasible_day: date | None = None
    solve_seconds: float = 0.0


def propose(request: SeriesRequest, *, pins: Sequence[tuple[datetime, int]] = (), seconds: float = 5.0) -> Proposal:
    """The planner's proposal for ``request`` over the real calendar (existing bookings fixed).
    ``pins`` holds a session the staff moved: (start, chair id); the rest are re-solved."""
    demand = demand_for(request)
    first_day = demand.earliest_day
    zone = zone_of(request.location)
    capacity = build_capacity(request.location, first_day, planning_days(demand))
    if pins:
        demand = replace(demand, pins=tuple(Pin(to_minutes(s, first_day, zone), chair) for s, chair in pins))
    outcome = propose_series(capacity, demand, seconds=seconds)
    chairs = {c.pk: c for c in Chair.objects.filter(location=request.location)}
    return Proposal(
        sessions=[
            ProposedSession(
                to_datetime(s.start, first_day, zone), to_datetime(s.end, first_day, zone), chairs[s.chair_id]
            )
            for s in outcome.sessions
        ],
        binding_rule=outcome.binding_rule,
        earliest_feasible_day=outcome.earliest_feasible_day,
        solve_seconds=outcome.stats.seconds if outcome.stats else 0.0,
    )


@dataclass
class MaintenanceDue:
    """A patient whose prescriber-set maintenance interval has passed (or passes this week)."""

    patient: Patient
    last_infusion: datetime
    due_on: date
    interval_days: int


def maintenance_due(location: Location, today: date, *, ahead_days: int = 7) -> list[MaintenanceDue]:
    """Patients at ``location`` whose last infusion plus the prescriber's interval falls on or
    before ``today + ahead_days``, with no infusion booked ahead and no open maintenance
    request. Three queries, whatever the number of patients."""
    intervals: dict[int, int] = {}
    for patient_id, days in (
        SeriesRequest.objects.filter(location=location, maintenance_interval_days__isnull=False)
        .order_by("created_at", "id")
        .values_list("patient_id", "maintenance_interval_days")
    ):
        if days is not None:
            intervals[patient_id] = days
    if not intervals:
        return []
    now = timezone.now()
    infusions = Booking.objects.filter(
        location=location, patient_id__in=intervals, appointment_type__kind__in=INFUSION_KINDS
    ).exclude(status__in=RELEASED_STATUSES)
    last = dict(
        infusions.filter(start__lt=now)
        .values("patient_id")
        .annotate(last=Max("start"))
        .values_list("patient_id", "last")
    )
    ahead = set(infusions.filter(start__gte=now).values_list("patient_id", flat=True))
    waiting = set(
        SeriesRequest.objects.filter(
            location=location,
            patient_id__in=intervals,
            kind=SeriesKind.MAINTENANCE,
            status__in=[SeriesStatus.REQUESTED, SeriesStatus.WAITLISTED],
        ).values_list("patient_id", flat=True)
    )
    zone = zone_of(location)
    due: list[MaintenanceDue] = []
    candidates = [p for p in last if p not in ahead and p not in waiting]
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=candidates)}
    for patient_id in candidates:
        due_on = last[patient_id].astimezone(zone).date() + timedelta(days=intervals[patient_id])
        if due_on <= today + timedelta(days=ahead_days) and patient_id in patients:
            due.append(MaintenanceDue(patients[patient_id], last[patient_id], due_on, intervals[patient_id]))
    return sorted(due, key=lambda d: (d.due_on, d.patient.pk))
