"""Scheduling pages: the day board, the week view, a patient's series (propose, move, confirm),
cancellation with a waitlist offer, booking status changes, the iCalendar download and
clinic-wide replanning."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
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
from ketaclinic.patients.choices import Decision
from ketaclinic.patients.models import Patient
from ketaclinic.patients.queries import latest_decision
from ketaclinic.scheduling import actions, queries
from ketaclinic.scheduling.calendar_export import bookings_to_ics
from ketaclinic.scheduling.choices import STATUS_FLOW, BindingRule, BookingStatus, SeriesStatus
from ketaclinic.scheduling.forms import CancelForm, ConfirmForm, DayForm, MoveForm, ReplanForm, SeriesRequestForm
from ketaclinic.scheduling.models import Booking, OpeningHours, SeriesRequest
from ketaclinic.scheduling.permissions import (
    can_book_appointments,
    can_book_for_patient,
    can_replan_location,
    can_run_replanning,
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


def _audit_day(user: User, location: Location, bookings: list[Booking], label: str) -> None:
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="scheduling.Booking",
        object_id=label,
        location_id=location.pk,
        changes={"booking_ids": [b.pk for b in bookings]},
    )


@signed_in(can_view_schedule)
def board(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    location = _location(request)
    day = _day(request, location)
    chairs = list(Chair.objects.filter(location=location, is_active=True).order_by("name"))
    bookings = queries.day_bookings(location, day)
    _audit_day(user, location, bookings, f"day:{day.isoformat()}")
    rows = _board_rows(location, day, chairs, bookings)
    zone = queries.zone_of(location)
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
            "can_book": can_book_appointments(user),
            "refresh_seconds": REFRESH_SECONDS,
            "zone": zone,
            "now_local": timezone.now().astimezone(zone),
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
