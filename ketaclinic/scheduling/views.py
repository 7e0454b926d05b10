"""Scheduling pages: the day board, the week view, a patient's series (propose, move, confirm),
cancellation with a waitlist offer, booking status changes, the iCalendar download and
clinic-wide replanning."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Chair, Location
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.permissions import has_grant
from ketaclinic.core.roles import Role
from ketaclinic.infusions import actions as chairside
from ketaclinic.infusions.models import Protocol
from ketaclinic.infusions.permissions import can_chart_infusions
from ketaclinic.patients.choices import Decision
from ketaclinic.patients.models import Patient
from ketaclinic.patients.queries import latest_decision
from ketaclinic.scheduling import actions, queries
from ketaclinic.scheduling.board_chairside import ChairState, chair_states
from ketaclinic.scheduling.calendar_export import bookings_to_ics
from ketaclinic.scheduling.choices import (
    INFUSION_KINDS,
    RELEASED_STATUSES,
    STATUS_FLOW,
    BindingRule,
    BookingStatus,
    OfferStatus,
    SeriesStatus,
)
from ketaclinic.scheduling.forms import (
    CancelForm,
    ChairOutageForm,
    ClosureForm,
    ConfirmForm,
    DayForm,
    MaintenanceIntervalForm,
    MoveForm,
    OpeningHoursForm,
    PolicyForm,
    ReplanForm,
    SeriesRequestForm,
    SeriesRuleForm,
    ShiftForm,
)
from ketaclinic.scheduling.models import (
    WEEKDAY_NAMES,
    Booking,
    ChairOutage,
    Closure,
    OpeningHours,
    SeriesRequest,
    StaffShift,
    WaitlistOffer,
)
from ketaclinic.scheduling.permissions import (
    can_accept_offer,
    can_answer_offers,
    can_book_appointments,
    can_book_for_patient,
    can_manage_calendar,
    can_manage_location_calendar,
    can_replan_location,
    can_run_replanning,
    can_set_maintenance_interval,
    can_set_patient_maintenance_interval,
    can_view_location_schedule,
    can_view_patient_schedule,
    can_view_schedule,
)

REFRESH_SECONDS = 30


def _location(request: HttpRequest, check: Any = can_view_location_schedule) -> Location:
    user = cast(User, request.user)
    raw = request.GET.get("location") or request.POST.get("location")
    if raw:
        if not raw.isdigit():
            raise Http404("No such location.")
        location = get_object_or_404(Location, pk=int(raw))
    else:
        first = Location.objects.filter(id__in=user.location_ids, is_active=True).order_by("id").first()
        if first is None:
            raise PermissionDenied
        location = first
    if not check(user, location):
        raise PermissionDenied
    return location


def _day(request: HttpRequest, location: Location) -> date:
    form = DayForm(request.GET)
    if form.is_valid() and form.cleaned_data["date"]:
        return cast(date, form.cleaned_data["date"])
    return timezone.now().astimezone(queries.zone_of(location)).date()


@dataclass
class Cell:
    booking: Booking | None = None
    rowspan: int = 1
    covered: bool = False
    next_statuses: list[BookingStatus] = field(default_factory=list)
    can_cancel: bool = False
    chair: ChairState | None = None
    can_check_in: bool = False


@dataclass
class Row:
    label: str
    cells: list[Cell]


def _board_rows(location: Location, day: date, chairs: list[Chair], bookings: list[Booking]) -> list[Row]:
    """Time down the side in the location's zone, one column per chair; a booking spans the
    rows of its length."""
    zone = queries.zone_of(location)
    slot = queries.policy_for(location).slot_min
    hours = list(OpeningHours.objects.filter(location=location, weekday=day.weekday()))
    starts = [h.opens for h in hours] or [time(8)]
    ends = [h.closes for h in hours] or [time(17)]
    first = datetime.combine(day, min(starts), tzinfo=zone)
    last = datetime.combine(day, max(ends), tzinfo=zone)
    for b in bookings:
        first = min(first, b.start.astimezone(zone).replace(minute=b.start.astimezone(zone).minute // slot * slot))
        last = max(last, b.end.astimezone(zone))
    times: list[datetime] = []
    at = first
    while at < last:
        times.append(at)
        at = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=(at.hour * 60 + at.minute) + slot)
    index = {c.pk: i for i, c in enumerate(chairs)}
    grid = [[Cell() for _ in chairs] for _ in times]
    for b in bookings:
        if b.chair_id not in index or not b.is_live and b.status != BookingStatus.NO_SHOW:
            continue
        local = b.start.astimezone(zone)
        row = next((i for i, t in enumerate(times) if t <= local < t + timedelta(minutes=slot)), None)
        if row is None or grid[row][index[b.chair_id]].covered or grid[row][index[b.chair_id]].booking:
            continue
        span = max(1, -(-int((b.end - b.start).total_seconds() // 60) // slot))
        span = min(span, len(times) - row)
        flow = STATUS_FLOW[b.status]
        grid[row][index[b.chair_id]] = Cell(
            b,
            span,
            next_statuses=[BookingStatus(s) for s in flow if s != BookingStatus.CANCELLED],
            can_cancel=BookingStatus.CANCELLED in flow,
        )
        for below in range(row + 1, row + span):
            grid[below][index[b.chair_id]].covered = True
    return [Row(t.strftime("%H:%M"), cells) for t, cells in zip(times, grid, strict=True)]


# An infusion booking's steps after check-in come from its chairside record (start → infusing,
# stop → recovering, discharge → done), so the board offers them only for a booking without one.
CHECK_IN_FROM = frozenset({BookingStatus.BOOKED, BookingStatus.CHECKED_IN})


def _add_chairside(rows: list[Row], states: dict[int, ChairState], *, can_chart: bool) -> None:
    """Put each infusion booking's live chairside state on its card, and the check-in that
    opens the record where there is none yet."""
    for row in rows:
        for cell in row.cells:
            booking = cell.booking
            if booking is None or booking.appointment_type.kind not in INFUSION_KINDS:
                continue
            cell.chair = states.get(booking.pk)
            if cell.chair is not None:
                cell.next_statuses = []
                continue
            cell.can_check_in = can_chart and booking.status in CHECK_IN_FROM
            hidden = {BookingStatus.INFUSING, *([BookingStatus.CHECKED_IN] if cell.can_check_in else [])}
            cell.next_statuses = [s for s in cell.next_statuses if s not in hidden]


def _audit_day(user: User, location: Location, bookings: list[Booking], label: str) -> None:
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="scheduling.Booking",
        object_id=label,
        location_id=location.pk,
        changes={"booking_ids": [b.pk for b in bookings]},
    )


def _next_busy_day(location: Location, day: date) -> date | None:
    """The next day after ``day`` with a live appointment, for an empty board's way onward."""
    zone = queries.zone_of(location)
    after = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    start = (
        Booking.objects.filter(location=location, start__gte=after)
        .exclude(status__in=RELEASED_STATUSES)
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    return start.astimezone(zone).date() if start else None


@signed_in(can_view_schedule)
def board(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    location = _location(request)
    day = _day(request, location)
    chairs = list(Chair.objects.filter(location=location, is_active=True).order_by("name"))
    bookings = queries.day_bookings(location, day)
    _audit_day(user, location, bookings, f"day:{day.isoformat()}")
    rows = _board_rows(location, day, chairs, bookings)
    now = timezone.now()
    states = chair_states(bookings, now)
    _add_chairside(rows, states, can_chart=can_chart_infusions(user) and user.works_at(location.pk))
    zone = queries.zone_of(location)
    by_pk = {b.pk: b for b in bookings}
    alerts = [
        {"booking": by_pk[booking_id], "state": state, "alert": alert}
        for booking_id, state in states.items()
        for alert in state.alerts
    ]
    return render(
        request,
        "scheduling/board.html",
        {
            "location": location,
            "locations": Location.objects.filter(id__in=user.location_ids, is_active=True),
            "day": day,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "chairs": chairs,
            "rows": rows,
            "without_chair": [b for b in bookings if b.chair_id is None],
            "cancelled": [b for b in bookings if b.status == BookingStatus.CANCELLED],
            "has_bookings": bool(bookings),
            "next_busy_day": None if bookings else _next_busy_day(location, day),
            "can_book": can_book_appointments(user),
            "can_manage_calendar": can_manage_location_calendar(user, location),
            "maintenance_due": queries.maintenance_due(location, day),
            "refresh_seconds": REFRESH_SECONDS,
            "zone": zone,
            "now_local": now.astimezone(zone),
            "open_alerts": sorted(alerts, key=lambda item: item["alert"].raised_at),
        },
    )


@signed_in(can_view_schedule)
def week(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    location = _location(request)
    day = _day(request, location)
    monday = day - timedelta(days=day.weekday())
    begin, _ = queries.local_day_bounds(location, monday)
    _, finish = queries.local_day_bounds(location, monday + timedelta(days=6))
    bookings = list(
        queries.live_bookings(location)
        .filter(start__lt=finish, end__gt=begin)
        .select_related("patient", "appointment_type", "chair")
        .order_by("start")
    )
    _audit_day(user, location, bookings, f"week:{monday.isoformat()}")
    zone = queries.zone_of(location)
    days = []
    for offset in range(7):
        d = monday + timedelta(days=offset)
        days.append((d, [b for b in bookings if b.start.astimezone(zone).date() == d]))
    return render(
        request,
        "scheduling/week.html",
        {
            "location": location,
            "monday": monday,
            "days": days,
            "previous": monday - timedelta(days=7),
            "next": monday + timedelta(days=7),
            "zone": zone,
        },
    )


def _patient(request: HttpRequest, pk: int, check: Any) -> tuple[User, Patient]:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if not check(user, patient):
        raise PermissionDenied
    return user, patient


@signed_in(can_view_schedule)
@require_http_methods(["GET", "POST"])
def patient_series(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's appointments and series; "Book induction series" starts here."""
    user, patient = _patient(request, pk, can_view_patient_schedule)
    may_book = can_book_for_patient(user, patient)
    decision = _approved_protocol(patient)
    form = SeriesRequestForm(
        request.POST or None,
        initial={
            "earliest_start": timezone.now().astimezone(queries.zone_of(patient.location)).date() + timedelta(days=1),
            "protocol": decision,
        },
    )
    if request.method == "POST":
        if not may_book:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                series = actions.request_series(
                    acting_user=user,
                    patient=patient,
                    protocol=data["protocol"],
                    earliest_start=data["earliest_start"],
                    weekdays=data["weekdays"],
                    time_windows=[(data["from_time"], data["until_time"])],
                    blackout_dates=data["blackout_dates"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("scheduling:series", pk=series.pk)
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    return render(
        request,
        "scheduling/patient_series.html",
        {
            "patient": patient,
            "form": form,
            "may_book": may_book,
            "approved_protocol": decision,
            "bookings": list(queries.patient_bookings(patient)),
            "requests": list(SeriesRequest.objects.filter(patient=patient).select_related("protocol")),
            "zone": queries.zone_of(patient.location),
        },
    )


def _approved_protocol(patient: Patient) -> Any:
    decision = latest_decision(patient)
    return decision.protocol if decision and decision.decision == Decision.APPROVED else None


def _pins(
    request: HttpRequest, location: Location, chairs: list[tuple[int, str]]
) -> tuple[MoveForm, list[tuple[datetime, int]]]:
    form = MoveForm(request.GET if "pin_date" in request.GET else None, chairs=chairs)
    if form.is_bound and form.is_valid():
        zone = queries.zone_of(location)
        start = datetime.combine(form.cleaned_data["pin_date"], form.cleaned_data["pin_time"], tzinfo=zone)
        return form, [(start, form.cleaned_data["pin_chair"])]
    return form, []


@signed_in(can_view_schedule)
@require_http_methods(["GET", "POST"])
def series_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The planner's proposal for one series request: move any session (the rest is re-solved
    around it) and confirm to book all six at once."""
    user = cast(User, request.user)
    series = get_object_or_404(SeriesRequest.objects.select_related("patient__location", "protocol", "location"), pk=pk)
    if not can_view_patient_schedule(user, series.patient):
        raise PermissionDenied
    may_book = can_book_for_patient(user, series.patient)
    if request.method == "POST":
        if not may_book:
            raise PermissionDenied
        return _confirm(request, user, series)
    chairs = [(c.pk, c.name) for c in Chair.objects.filter(location=series.location, is_active=True).order_by("name")]
    move_form, pins = _pins(request, series.location, chairs)
    proposal = None
    if series.status in {SeriesStatus.REQUESTED, SeriesStatus.WAITLISTED}:
        proposal = queries.propose(series, pins=pins)
    audit.record_read(user, series.patient, patient_id=series.patient_id, location_id=series.location_id)
    confirm = None
    if proposal and proposal.sessions:
        confirm = ConfirmForm(
            initial={
                "starts": ",".join(s.start.isoformat() for s in proposal.sessions),
                "ends": ",".join(s.end.isoformat() for s in proposal.sessions),
                "chairs": ",".join(str(s.chair.pk) for s in proposal.sessions),
            }
        )
    return render(
        request,
        "scheduling/series.html",
        {
            "series": series,
            "patient": series.patient,
            "proposal": proposal,
            "binding_label": BindingRule(proposal.binding_rule).label if proposal and proposal.binding_rule else "",
            "pinned": bool(pins),
            "move_form": move_form,
            "confirm_form": confirm,
            "may_book": may_book,
            "interval_form": MaintenanceIntervalForm(initial={"interval_days": series.maintenance_interval_days})
            if can_set_patient_maintenance_interval(user, series.patient) and not series.is_maintenance
            else None,
            "bookings": list(series.bookings.select_related("chair", "appointment_type").order_by("start")),
            "zone": queries.zone_of(series.location),
        },
    )


def _confirm(request: HttpRequest, user: User, series: SeriesRequest) -> HttpResponse:
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The proposal was incomplete; it has been solved again.")
        return redirect("scheduling:series", pk=series.pk)
    try:
        sessions = [actions.PlannedSession(a, b, c) for a, b, c in form.sessions()]
        actions.confirm_series(acting_user=user, series_request=series, sessions=sessions)
    except (ValueError, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    except actions.BookingConflict as exc:
        messages.error(request, f"Not booked: {exc.message} The proposal below has been solved again.")
    else:
        messages.success(request, f"Series booked: {len(sessions)} appointments.")
    return redirect("scheduling:series", pk=series.pk)


@signed_in(can_book_appointments)
@require_POST
def series_waitlist(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    series = get_object_or_404(SeriesRequest.objects.select_related("patient__location", "protocol"), pk=pk)
    if not can_book_for_patient(user, series.patient):
        raise PermissionDenied
    rule = queries.series_rule_for(series.protocol)
    actions.add_to_waitlist(
        acting_user=user,
        patient=series.patient,
        duration_min=rule.chair_time_min,
        series_request=series,
        note="No complete series fitted when proposed.",
    )
    messages.success(request, "Added to the waitlist: the patient is offered the first freed chair that fits.")
    return redirect("scheduling:series", pk=series.pk)


def _booking(request: HttpRequest, pk: int) -> tuple[User, Booking]:
    user = cast(User, request.user)
    booking = get_object_or_404(
        Booking.objects.select_related("patient", "location", "chair", "appointment_type"), pk=pk
    )
    if not can_book_for_patient(user, booking.patient) and not (
        has_grant(user, "view_schedule") and user.works_at(booking.location_id)
    ):
        raise PermissionDenied
    return user, booking


def _board_url(booking: Booking) -> str:
    day = booking.start.astimezone(queries.zone_of(booking.location)).date()
    return f"{reverse('scheduling:board')}?location={booking.location_id}&date={day.isoformat()}"


@signed_in(can_view_schedule)
@require_POST
def booking_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Nurses and the front desk move a booking through the day from the board."""
    user, booking = _booking(request, pk)
    status = request.POST.get("status", "")
    if status not in BookingStatus.values:
        messages.error(request, "Choose a status.")
        return redirect(_board_url(booking))
    try:
        actions.set_booking_status(acting_user=user, booking=booking, status=status)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{booking.patient.initials} {booking.start.astimezone(queries.zone_of(booking.location)):%H:%M}: {BookingStatus(status).label}.",
        )
    return redirect(_board_url(booking))


@signed_in(can_chart_infusions)
@require_POST
def booking_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """A nurse checks an infusion booking in from the board: the chairside record opens."""
    user, booking = _booking(request, pk)
    if not user.works_at(booking.location_id):
        raise PermissionDenied
    try:
        session = chairside.check_in(acting_user=user, booking=booking)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_board_url(booking))
    messages.success(request, f"{booking.patient.initials} checked in: complete the pre-infusion checklist.")
    return redirect("infusions:session", pk=session.pk)


@signed_in(can_book_appointments)
@require_http_methods(["GET", "POST"])
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user, booking = _booking(request, pk)
    if not can_book_for_patient(user, booking.patient):
        raise PermissionDenied
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            offer = actions.cancel_booking(acting_user=user, booking=booking, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if offer is None:
                messages.success(request, "Appointment cancelled. No one on the waitlist fits this chair time.")
            else:
                messages.success(
                    request,
                    f"Appointment cancelled. The chair is held for {offer.entry.patient.initials} from the waitlist "
                    f"until {offer.expires_at.astimezone(queries.zone_of(booking.location)):%H:%M} "
                    f"({offer.get_outcome_display().lower()}).",
                )
            return redirect(_board_url(booking))
    audit.record_read(user, booking.patient, patient_id=booking.patient_id, location_id=booking.location_id)
    return render(
        request,
        "scheduling/cancel.html",
        {"booking": booking, "form": form, "zone": queries.zone_of(booking.location)},
    )


def can_download_calendar(user: Any) -> bool:
    return can_view_schedule(user) or has_grant(user, "use_portal")


@signed_in(can_download_calendar)
def patient_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's upcoming appointments as iCalendar, for their phone's calendar. The
    summary names the clinic only ("Appointment at …"), never the treatment."""
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    is_self = user.is_patient_user and patient.user_id == user.pk
    if not is_self and not can_view_patient_schedule(user, patient):
        raise PermissionDenied
    bookings = list(
        queries.patient_bookings(patient).filter(end__gte=timezone.now()).exclude(status=BookingStatus.CANCELLED)
    )
    audit.record(
        actor=user,
        action=AuditEvent.Action.EXPORT,
        obj=patient,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={"calendar_booking_ids": [b.pk for b in bookings]},
    )
    response = HttpResponse(bookings_to_ics(bookings), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointments.ics"'
    return response


@signed_in(can_run_replanning)
@require_http_methods(["GET", "POST"])
def replan(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    location = _location(request, can_replan_location)
    today = timezone.now().astimezone(queries.zone_of(location)).date()
    form = ReplanForm(request.POST or None, initial={"first_day": today + timedelta(days=1)})
    report = None
    if request.method == "POST" and form.is_valid():
        report = actions.replan_location(acting_user=user, location=location, first_day=form.cleaned_data["first_day"])
        messages.success(
            request,
            f"Replanning booked {len(report.booked)} series; {len(report.waitlisted)} stay on the waitlist.",
        )
    requests = list(queries.open_requests(location))
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="scheduling.SeriesRequest",
        object_id="open",
        location_id=location.pk,
        changes={"series_request_ids": [r.pk for r in requests]},
    )
    return render(
        request,
        "scheduling/replan.html",
        {"location": location, "form": form, "requests": requests, "report": report},
    )


# --- Calendar management ---------------------------------------------------------------------------


CALENDAR_FORMS = ("hours", "closure", "outage", "shift", "policy")


def _shift_staff(location: Location) -> list[tuple[int, str]]:
    """Nurses and prescribers who work at ``location``: the people a shift can be given to."""
    people = (
        User.objects.filter(roles__role__in=[Role.NURSE, Role.PRESCRIBER, Role.MEDICAL_DIRECTOR], is_active=True)
        .filter(Q(all_locations=True) | Q(locations=location))
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
    return [(u.pk, str(u)) for u in people]


def _calendar_forms(location: Location, data: Any, which: str) -> dict[str, Any]:
    """Every form on the calendar page; only ``which`` is bound to ``data``."""
    zone = queries.zone_of(location)
    chair_choices = [(c.pk, c.name) for c in Chair.objects.filter(location=location, is_active=True)]

    def bound(name: str) -> Any:
        return data if name == which else None

    policy = queries.policy_for(location)
    return {
        "hours": OpeningHoursForm(bound("hours"), prefix="hours"),
        "closure": ClosureForm(bound("closure"), prefix="closure"),
        "outage": ChairOutageForm(bound("outage"), prefix="outage", zone=zone, chairs=chair_choices),
        "shift": ShiftForm(bound("shift"), prefix="shift", zone=zone, staff=_shift_staff(location)),
        "policy": PolicyForm(bound("policy"), prefix="policy", instance=policy),
    }


def _apply_calendar_form(user: User, location: Location, which: str, form: Any) -> str:
    """Call the one action ``form`` stands for; return what to tell the person."""
    data = form.cleaned_data
    if which == "hours":
        actions.set_opening_hours(
            acting_user=user, location=location, weekday=data["weekday"], opens=data["opens"], closes=data["closes"]
        )
        day = WEEKDAY_NAMES[data["weekday"]]
        if data["opens"] is None:
            return f"{day}: closed."
        return f"{day}: open {data['opens']:%H:%M}–{data['closes']:%H:%M}."
    if which == "closure":
        actions.add_closure(
            acting_user=user,
            location=location,
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            reason=data["reason"],
        )
        return f"Closed {data['starts_on']:%-d %b %Y} to {data['ends_on']:%-d %b %Y}."
    if which == "outage":
        chair = get_object_or_404(Chair, pk=data["chair"], location=location)
        actions.add_chair_outage(
            acting_user=user, chair=chair, starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"]
        )
        return f"{chair.name} is out of service from {data['starts_at']:%-d %b %H:%M}."
    if which == "shift":
        person = get_object_or_404(User, pk=data["user"])
        actions.add_shift(
            acting_user=user,
            user=person,
            location=location,
            start=data["starts_at"],
            end=data["ends_at"],
            role=data["role"],
            presence=data["presence"],
        )
        return f"Shift added for {person}."
    actions.save_policy(acting_user=user, location=location, **{name: data[name] for name in PolicyForm.Meta.fields})
    return "Scheduling policy saved."


@signed_in(can_manage_calendar)
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest) -> HttpResponse:
    """Opening hours, closures, chairs out of service, staff shifts and the scheduling policy of
    one location. Each form posts ``form=<name>`` and calls one action; a form with errors is
    shown again with them, and nothing is written."""
    user = cast(User, request.user)
    location = _location(request, can_manage_location_calendar)
    which = request.POST.get("form", "") if request.method == "POST" else ""
    if request.method == "POST" and which not in CALENDAR_FORMS:
        return HttpResponse("Unknown form.", status=400)
    forms_by_name = _calendar_forms(location, request.POST, which)
    status = 200
    if which:
        form = forms_by_name[which]
        if form.is_valid():
            try:
                note = _apply_calendar_form(user, location, which, form)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, note)
                return redirect(f"{reverse('scheduling:calendar')}?location={location.pk}#{which}")
        status = 400
    zone = queries.zone_of(location)
    now = timezone.now()
    context = {
        "location": location,
        "forms": forms_by_name,
        "zone": zone,
        "hours": list(OpeningHours.objects.filter(location=location)),
        "closures": list(Closure.objects.filter(location=location, ends_on__gte=now.astimezone(zone).date())),
        "outages": list(ChairOutage.objects.filter(chair__location=location, ends_at__gte=now).select_related("chair")),
        "shifts": list(
            StaffShift.objects.filter(location=location, end__gte=now, start__lt=now + timedelta(days=14))
            .select_related("user")
            .order_by("start")
        ),
        "policy": queries.policy_for(location),
        "protocols": Protocol.objects.filter(is_active=True).count(),
    }
    return render(request, "scheduling/calendar.html", context, status=status)


@signed_in(can_manage_calendar)
@require_http_methods(["GET", "POST"])
def series_rules(request: HttpRequest) -> HttpResponse:
    """Each active protocol's series rule: infusion length, recovery, turnover, spacing and the
    weekly cap. Rules belong to the protocol, so they are the same at every location."""
    user = cast(User, request.user)
    protocols = list(Protocol.objects.filter(is_active=True).order_by("name"))
    editing = None
    if request.method == "POST":
        raw = request.POST.get("protocol", "")
        editing = next((p for p in protocols if str(p.pk) == raw), None)
        if editing is None:
            return HttpResponse("Unknown protocol.", status=400)
    rows = []
    status = 200
    for protocol in protocols:
        rule = queries.series_rule_for(protocol)
        bound = request.POST if protocol == editing else None
        form = SeriesRuleForm(bound, prefix=f"rule{protocol.pk}", instance=rule)
        if bound is not None:
            if form.is_valid():
                actions.save_series_rule(
                    acting_user=user,
                    protocol=protocol,
                    **{name: form.cleaned_data[name] for name in SeriesRuleForm.Meta.fields},
                )
                messages.success(request, f"Series rule for {protocol.name} saved.")
                return redirect("scheduling:series_rules")
            status = 400
        rows.append((protocol, rule, form))
    return render(request, "scheduling/series_rules.html", {"rows": rows}, status=status)


@signed_in(can_answer_offers)
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, pk: int) -> HttpResponse:
    """A freed chair held for a waiting patient: the link in the offer text opens this page.
    The patient (signed in to the portal) or the front desk books it with one button while the
    hold lasts; afterwards the page says it has passed on."""
    user = cast(User, request.user)
    held = get_object_or_404(
        WaitlistOffer.objects.select_related("entry__patient__location", "entry__location", "chair"), pk=pk
    )
    patient = held.entry.patient
    if not can_accept_offer(user, patient):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        try:
            booking = actions.accept_offer(acting_user=user, offer=held)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except actions.BookingConflict as exc:
            error = f"The slot cannot be booked any more: {exc.message}"
        else:
            zone = queries.zone_of(booking.location)
            messages.success(request, f"Booked: {booking.start.astimezone(zone):%a %d %b %Y at %H:%M}.")
            if user.is_patient_user:
                return redirect("scheduling:offer", pk=held.pk)
            return redirect("scheduling:patient_series", pk=patient.pk)
        held.refresh_from_db()
    audit.record_read(user, patient, patient_id=patient.pk, location_id=held.entry.location_id)
    is_open = held.status == OfferStatus.HELD and held.expires_at > timezone.now()
    return render(
        request,
        "scheduling/offer.html",
        {
            "offer": held,
            "patient": patient,
            "location": held.entry.location,
            "zone": queries.zone_of(held.entry.location),
            "is_open": is_open,
            "error": error,
        },
        status=409 if error else 200,
    )


@signed_in(can_book_appointments)
@require_POST
def maintenance_request(request: HttpRequest, pk: int) -> HttpResponse:
    """One click from the "maintenance due" list: ask for one maintenance infusion and open its
    proposal (the planner proposes the earliest slot that obeys every rule)."""
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if not can_book_for_patient(user, patient):
        raise PermissionDenied
    try:
        series = actions.request_maintenance(
            acting_user=user, patient=patient, reason="The prescriber's maintenance interval has passed."
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scheduling:patient_series", pk=patient.pk)
    return redirect("scheduling:series", pk=series.pk)


@signed_in(can_set_maintenance_interval)
@require_POST
def maintenance_interval(request: HttpRequest, pk: int) -> HttpResponse:
    """A prescriber sets (or clears) the maintenance interval on a series."""
    user = cast(User, request.user)
    series = get_object_or_404(SeriesRequest.objects.select_related("patient"), pk=pk)
    if not can_set_patient_maintenance_interval(user, series.patient):
        raise PermissionDenied
    form = MaintenanceIntervalForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("scheduling:series", pk=series.pk)
    try:
        actions.set_maintenance_interval(
            acting_user=user, series_request=series, interval_days=form.cleaned_data["interval_days"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        days = form.cleaned_data["interval_days"]
        messages.success(
            request,
            f"Maintenance due {days} days after the last infusion." if days else "Maintenance interval cleared.",
        )
    return redirect("scheduling:series", pk=series.pk)
