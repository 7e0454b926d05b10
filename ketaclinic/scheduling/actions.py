"""Every change to the calendar and to bookings. Each writes its own audit event.

Booking is serialised per location: :func:`book_appointment` locks the location's row (and the
staff shifts it counts) before it checks the chair, the nurse ratio and prescriber cover, so two
people booking at once are checked one after the other. On PostgreSQL ``SELECT ... FOR UPDATE``
takes the row lock and the exclusion constraint of migration 0002 is the last line of defence
for the chair; on SQLite the transaction is ``IMMEDIATE`` (config/settings.py), which holds the
database's write lock from the first statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Chair, Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions.models import Protocol
from ketaclinic.messaging.actions import ConsentRequired, OutgoingPhiRefused, queue_email, queue_sms
from ketaclinic.messaging.choices import Purpose
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import queries
from ketaclinic.scheduling.choices import (
    INFUSION_KINDS,
    STATUS_FLOW,
    AppointmentKind,
    BindingRule,
    BookingStatus,
    OfferStatus,
    ReminderOutcome,
    SeriesKind,
    SeriesStatus,
    ShiftPresence,
    ShiftRole,
    WaitlistStatus,
)
from ketaclinic.scheduling.models import (
    AppointmentType,
    Booking,
    ChairOutage,
    Closure,
    OpeningHours,
    Reminder,
    SchedulingPolicy,
    SeriesRequest,
    SeriesRule,
    StaffShift,
    WaitlistEntry,
    WaitlistOffer,
)
from ketaclinic.scheduling.planner import PlanResult, SolveStats, plan_many, to_datetime

STANDARD_TYPES = {
    AppointmentKind.CONSULTATION: ("Consultation", 45),
    AppointmentKind.INDUCTION: ("Induction infusion", 190),
    AppointmentKind.MAINTENANCE: ("Maintenance infusion", 190),
    AppointmentKind.FOLLOW_UP: ("Follow-up", 30),
}


class BookingConflict(Exception):  # noqa: N818 - the name the API and views code against
    """A booking would break a rule (chair taken, nurse ratio, prescriber cover, hours)."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule


def appointment_type(kind: str) -> AppointmentType:
    """The standard type of ``kind`` (reference data, created the first time it is needed)."""
    if kind not in STANDARD_TYPES:
        raise ValidationError(f"{kind!r} is not an appointment type (use one of {', '.join(STANDARD_TYPES)}).")
    name, minutes = STANDARD_TYPES[AppointmentKind(kind)]
    found, _ = AppointmentType.objects.get_or_create(
        code=kind, defaults={"name": name, "kind": kind, "duration_min": minutes}
    )
    return found


def _record(
    actor: User | None,
    obj: Any,
    changes: dict[str, Any],
    *,
    new: bool,
    location_id: int | None,
    patient_id: int | None = None,
    reason: str = "",
) -> None:
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE if new else AuditEvent.Action.UPDATE,
        obj=obj,
        patient_id=patient_id,
        location_id=location_id,
        changes=changes,
        reason=reason,
    )


# --- Calendar --------------------------------------------------------------------------------------


@transaction.atomic
def save_policy(*, acting_user: User | None, location: Location, **fields: Any) -> SchedulingPolicy:
    policy = queries.policy_for(location)
    old = model_to_dict(policy) if policy.pk else {}
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    _record(
        acting_user, policy, audit.changes_between(old, model_to_dict(policy)), new=not old, location_id=location.pk
    )
    return policy


@transaction.atomic
def set_opening_hours(
    *, acting_user: User | None, location: Location, weekday: int, opens: time | None, closes: time | None
) -> OpeningHours | None:
    """Replace one weekday's hours (``opens=None`` closes the location that weekday)."""
    old = [f"{h.opens:%H:%M}-{h.closes:%H:%M}" for h in OpeningHours.objects.filter(location=location, weekday=weekday)]
    OpeningHours.objects.filter(location=location, weekday=weekday).delete()
    row = None
    if opens is not None and closes is not None:
        row = OpeningHours(location=location, weekday=weekday, opens=opens, closes=closes)
        row.full_clean()
        row.save()
    new = [f"{opens:%H:%M}-{closes:%H:%M}"] if row else []
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        object_type="scheduling.OpeningHours",
        object_id=f"{location.pk}:{weekday}",
        location_id=location.pk,
        changes={"hours": [old, new]},
    )
    return row


@transaction.atomic
def add_closure(
    *, acting_user: User | None, location: Location, starts_on: date, ends_on: date, reason: str
) -> Closure:
    if ends_on < starts_on:
        raise ValidationError("A closure ends on or after the day it starts.")
    closure = Closure.objects.create(location=location, starts_on=starts_on, ends_on=ends_on, reason=reason)
    _record(acting_user, closure, audit.changes_between({}, model_to_dict(closure)), new=True, location_id=location.pk)
    return closure


@transaction.atomic
def add_chair_outage(
    *, acting_user: User | None, chair: Chair, starts_at: datetime, ends_at: datetime, reason: str
) -> ChairOutage:
    if ends_at <= starts_at:
        raise ValidationError("An out-of-service period ends after it starts.")
    Location.objects.select_for_update().get(pk=chair.location_id)
    taken = queries.live_bookings(chair.location).filter(chair=chair, start__lt=ends_at, end__gt=starts_at)
    if taken.exists():
        raise ValidationError(f"{chair.name} has {taken.count()} booking(s) then; move or cancel them first.")
    outage = ChairOutage.objects.create(chair=chair, starts_at=starts_at, ends_at=ends_at, reason=reason)
    _record(
        acting_user, outage, audit.changes_between({}, model_to_dict(outage)), new=True, location_id=chair.location_id
    )
    return outage


@transaction.atomic
def add_shift(
    *,
    acting_user: User | None,
    user: User,
    location: Location,
    start: datetime,
    end: datetime,
    role: str,
    presence: str = ShiftPresence.ON_SITE,
) -> StaffShift:
    if end <= start:
        raise ValidationError("A shift ends after it starts.")
    Location.objects.select_for_update().get(pk=location.pk)
    shift = StaffShift(user=user, location=location, start=start, end=end, role=role, presence=presence)
    shift.full_clean()
    shift.save()
    _record(acting_user, shift, audit.changes_between({}, model_to_dict(shift)), new=True, location_id=location.pk)
    return shift


@transaction.atomic
def save_series_rule(*, acting_user: User | None, protocol: Protocol, **fields: Any) -> SeriesRule:
    rule = queries.series_rule_for(protocol)
    old = model_to_dict(rule) if rule.pk else {}
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    _record(acting_user, rule, audit.changes_between(old, model_to_dict(rule)), new=not old, location_id=None)
    return rule


# --- Booking ------------------------------------------------------------------------------------


def _check_hours(location: Location, start: datetime, end: datetime) -> None:
    zone = queries.zone_of(location)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date()
    if local_end.date() != day and local_end.time() != time(0):
        raise BookingConflict("An appointment starts and ends on the same day.", BindingRule.CALENDAR)
    if Closure.objects.filter(location=location, starts_on__lte=day, ends_on__gte=day).exists():
        raise BookingConflict(f"{location.name} is closed on {day:%A %d %B %Y}.", BindingRule.CALENDAR)
    hours = OpeningHours.objects.filter(location=location, weekday=day.weekday())
    if not any(h.opens <= local_start.time() and local_end.time() <= h.closes for h in hours):
        shown = ", ".join(f"{h.opens:%H:%M}–{h.closes:%H:%M}" for h in hours) or "closed all day"
        raise BookingConflict(
            f"{local_start:%H:%M}–{local_end:%H:%M} is outside opening hours on {day:%A} ({shown}).",
            BindingRule.CALENDAR,
        )


def _max_concurrent(intervals: Sequence[tuple[datetime, datetime]], at: datetime) -> int:
    return sum(1 for a, b in intervals if a <= at < b)


def _check_staff(location: Location, policy: SchedulingPolicy, start: datetime, end: datetime) -> None:
    """Nurse ratio and prescriber cover over ``[start, end)``, with the shifts locked."""
    shifts = list(
        StaffShift.objects.select_for_update().filter(location=location, start__lt=end, end__gt=start).order_by("id")
    )
    nurses = [(s.start, s.end) for s in shifts if s.role == ShiftRole.NURSE and s.presence == ShiftPresence.ON_SITE]
    load = [
        (b.start, b.end)
        for b in queries.live_bookings(location)
        .filter(start__lt=end, end__gt=start, appointment_type__kind__in=INFUSION_KINDS)
        .only("start", "end")
    ]
    points = {start} | {a for a, _ in load if start < a < end} | {a for a, _ in nurses if start < a < end}
    points |= {b for _, b in nurses if start < b < end}
    for at in sorted(points):
        places = _max_concurrent(nurses, at) * policy.nurse_ratio
        running = _max_concurrent(load, at)
        if running + 1 > places:
            local = at.astimezone(queries.zone_of(location))
            raise BookingConflict(
                f"The nurse ratio (1:{policy.nurse_ratio}) is full at {local:%H:%M}: {running} infusion(s) running "
                f"with {places // policy.nurse_ratio} nurse(s) on site.",
                BindingRule.NURSES,
            )
    if policy.require_prescriber_cover:
        cover = sorted((s.start, s.end) for s in shifts if s.role == ShiftRole.PRESCRIBER)
        reach = start
        for a, b in cover:
            if a <= reach < b:
                reach = b
        if reach < end:
            raise BookingConflict(
                "No prescriber is on site or on call for the whole infusion; add a prescriber shift first.",
                BindingRule.PRESCRIBER,
            )


def _create_booking(
    *,
    acting_user: User | None,
    patient: Patient,
    kind: str,
    start: datetime,
    end: datetime,
    chair: Chair | None,
    series_request: SeriesRequest | None = None,
    series_number: int | None = None,
    series_total: int | None = None,
) -> Booking:
    """The checks and the insert; the caller holds the transaction and the location lock."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError("Give times with their time zone (UTC offsets).")
    if end <= start:
        raise ValidationError("An appointment ends after it starts.")
    location = patient.location
    kind_type = appointment_type(kind)
    if kind_type.is_infusion and chair is None:
        raise ValidationError("An infusion needs a chair.")
    if chair is not None and (chair.location_id != location.pk or not chair.is_active):
        raise ValidationError(f"{chair.name} is not an active chair at {location.name}.")
    policy = queries.policy_for(location)
    _check_hours(location, start, end)
    if queries.live_bookings(location).filter(patient=patient, start__lt=end, end__gt=start).exists():
        raise BookingConflict("The patient already has an appointment at that time.", BindingRule.AVAILABILITY)
    if chair is not None:
        if ChairOutage.objects.filter(chair=chair, starts_at__lt=end, ends_at__gt=start).exists():
            raise BookingConflict(f"{chair.name} is out of service then.", BindingRule.CHAIRS)
        if queries.live_bookings(location).filter(chair=chair, start__lt=end, end__gt=start).exists():
            raise BookingConflict(f"{chair.name} is already booked then.", BindingRule.CHAIRS)
    if kind_type.is_infusion:
        _check_staff(location, policy, start, end)
    booking = Booking(
        patient=patient,
        location=location,
        chair=chair,
        appointment_type=kind_type,
        start=start,
        end=end,
        series_request=series_request,
        series_number=series_number,
        series_total=series_total,
        created_by=acting_user,
    )
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        # PostgreSQL's exclusion constraint caught an overlap the check above could not see.
        raise BookingConflict(
            f"{chair.name if chair else 'The chair'} is already booked then.", BindingRule.CHAIRS
        ) from exc
    _record(
        acting_user,
        booking,
        audit.changes_between({}, booking.snapshot()),
        new=True,
        location_id=location.pk,
        patient_id=patient.pk,
    )
    return booking


def _lock(location: Location) -> None:
    Location.objects.select_for_update().get(pk=location.pk)


@transaction.atomic
def book_appointment(
    *,
    acting_user: User | None,
    patient: Patient,
    kind: str,
    start: datetime,
    end: datetime,
    chair: Chair | None = None,
) -> Booking:
    """Book one appointment. Raises :class:`BookingConflict` (nothing written) when the chair
    is taken or out of service, the nurse ratio would be exceeded, no prescriber covers an
    infusion, or the time is outside opening hours."""
    _lock(patient.location)
    return _create_booking(acting_user=acting_user, patient=patient, kind=kind, start=start, end=end, chair=chair)


@transaction.atomic
def request_series(
    *,
    acting_user: User | None,
    patient: Patient,
    protocol: Protocol,
    earliest_start: date,
    weekdays: Sequence[int] = (0, 1, 2, 3, 4),
    time_windows: Sequence[tuple[time, time]] = (),
    blackout_dates: Sequence[date] = (),
) -> SeriesRequest:
    if not weekdays:
        raise ValidationError("Choose at least one weekday the patient can come.")
    for a, b in time_windows:
        if b <= a:
            raise ValidationError(f"The time window {a:%H:%M}–{b:%H:%M} ends before it starts.")
    request = SeriesRequest.objects.create(
        patient=patient,
        location=patient.location,
        protocol=protocol,
        earliest_start=earliest_start,
        weekdays=sorted(set(weekdays)),
        time_windows=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in time_windows],
        blackout_dates=sorted(d.isoformat() for d in blackout_dates),
        requested_by=acting_user,
    )
    _record(
        acting_user,
        request,
        {
            "protocol": [None, protocol.pk],
            "earliest_start": [None, earliest_start.isoformat()],
            "weekdays": [None, request.weekdays],
            "time_windows": [None, request.time_windows],
            "blackout_dates": [None, request.blackout_dates],
        },
        new=True,
        location_id=patient.location_id,
        patient_id=patient.pk,
    )
    return request


# --- Maintenance -----------------------------------------------------------------------------------


@transaction.atomic
def request_maintenance(
    *, acting_user: User | None, patient: Patient, reason: str, earliest_start: date | None = None
) -> SeriesRequest:
    """Ask for one maintenance infusion for ``patient`` (after relapse, or because the
    prescriber's interval has passed), under the protocol of the patient's latest series and
    with the same availability. Called by the outcomes module when it flags relapse.

    Idempotent while a maintenance request is still open: the open one is returned (with the
    new reason recorded), so a relapse flagged twice books one infusion, not two."""
    if not reason.strip():
        raise ValidationError("Say why a maintenance infusion is needed.")
    Patient.objects.select_for_update().get(pk=patient.pk)
    latest = (
        SeriesRequest.objects.filter(patient=patient)
        .exclude(status=SeriesStatus.CANCELLED)
        .select_related("protocol")
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is None:
        raise ValidationError("This patient has no series yet; book an induction series first.")
    open_request = SeriesRequest.objects.filter(
        patient=patient,
        kind=SeriesKind.MAINTENANCE,
        status__in=[SeriesStatus.REQUESTED, SeriesStatus.WAITLISTED],
    ).first()
    if open_request is not None:
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.UPDATE,
            obj=open_request,
            patient_id=patient.pk,
            location_id=patient.location_id,
            changes={"reason": [open_request.reason, open_request.reason]},
            reason=f"Maintenance asked for again: {reason}",
        )
        return open_request
    today = timezone.now().astimezone(queries.zone_of(patient.location)).date()
    request = SeriesRequest.objects.create(
        patient=patient,
        location=patient.location,
        protocol=latest.protocol,
        kind=SeriesKind.MAINTENANCE,
        reason=reason.strip()[:200],
        earliest_start=max(earliest_start or today, today),
        weekdays=latest.weekdays,
        time_windows=latest.time_windows,
        blackout_dates=[d for d in latest.blackout_dates if d >= today.isoformat()],
        requested_by=acting_user,
    )
    _record(
        acting_user,
        request,
        {
            "kind": [None, SeriesKind.MAINTENANCE],
            "protocol": [None, latest.protocol_id],
            "earliest_start": [None, request.earliest_start.isoformat()],
            "reason": [None, request.reason],
        },
        new=True,
        location_id=patient.location_id,
        patient_id=patient.pk,
    )
    return request


@transaction.atomic
def set_maintenance_interval(
    *, acting_user: User | None, series_request: SeriesRequest, interval_days: int | None
) -> SeriesRequest:
    """The prescriber's interval: a maintenance infusion falls due this many days after the
    patient's last infusion (None: only when the outcomes module flags relapse)."""
    current = SeriesRequest.objects.select_for_update().get(pk=series_request.pk)
    old = current.maintenance_interval_days
    if interval_days is not None:
        SeriesRequest._meta.get_field("maintenance_interval_days").run_validators(interval_days)
    current.maintenance_interval_days = interval_days
    current.save(update_fields=["maintenance_interval_days"])
    _record(
        acting_user,
        current,
        {"maintenance_interval_days": [old, interval_days]},
        new=False,
        location_id=current.location_id,
        patient_id=current.patient_id,
    )
    return current


@dataclass(frozen=True)
class PlannedSession:
    start: datetime
    end: datetime
    chair_id: int


@transaction.atomic
def confirm_series(
    *, acting_user: User | None, series_request: SeriesRequest, sessions: Sequence[PlannedSession]
) -> list[Booking]:
    """Book every session of a proposed series, or none (the first conflict undoes them all)."""
    if series_request.status not in {SeriesStatus.REQUESTED, SeriesStatus.WAITLISTED}:
        raise ValidationError(f"This series is already {series_request.get_status_display().lower()}.")
    if len(sessions) != series_request.sessions_wanted:
        raise ValidationError(f"This request has {series_request.sessions_wanted} session(s).")
    _lock(series_request.location)
    chairs = {c.pk: c for c in Chair.objects.filter(location=series_request.location)}
    total = len(sessions)
    bookings = [
        _create_booking(
            acting_user=acting_user,
            patient=series_request.patient,
            kind=AppointmentKind.MAINTENANCE if series_request.is_maintenance else AppointmentKind.INDUCTION,
            start=s.start,
            end=s.end,
            chair=chairs.get(s.chair_id),
            series_request=series_request,
            series_number=number,
            series_total=total,
        )
        for number, s in enumerate(sorted(sessions, key=lambda x: x.start), start=1)
    ]
    old = series_request.status
    series_request.status = SeriesStatus.BOOKED
    series_request.save(update_fields=["status"])
    WaitlistEntry.objects.filter(series_request=series_request, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.BOOKED
    )
    _record(
        acting_user,
        series_request,
        {"status": [old, SeriesStatus.BOOKED], "bookings": [None, [b.pk for b in bookings]]},
        new=False,
        location_id=series_request.location_id,
        patient_id=series_request.patient_id,
    )
    return bookings


@transaction.atomic
def set_booking_status(*, acting_user: User | None, booking: Booking, status: str, reason: str = "") -> Booking:
    """Move a booking along the day (checked in, infusing, recovering, done) or mark a no-show."""
    current = Booking.objects.select_for_update().get(pk=booking.pk)
    if status not in STATUS_FLOW[current.status]:
        raise ValidationError(
            f"A booking that is {current.get_status_display().lower()} cannot become "
            f"{BookingStatus(status).label.lower()}."
        )
    if status == BookingStatus.CANCELLED:
        raise ValidationError("Cancel through the cancellation page, which offers the slot to the waitlist.")
    old = current.status
    current.status = status
    current.save(update_fields=["status"])
    _record(
        acting_user,
        current,
        {"status": [old, status]},
        new=False,
        location_id=current.location_id,
        patient_id=current.patient_id,
        reason=reason,
    )
    return current


@transaction.atomic
def cancel_booking(*, acting_user: User | None, booking: Booking, reason: str) -> WaitlistOffer | None:
    """Cancel a booking and offer its chair to the first eligible patient on the waitlist."""
    if not reason.strip():
        raise ValidationError("Say why the appointment is cancelled.")
    current = Booking.objects.select_for_update(of=("self",)).select_related("location", "chair").get(pk=booking.pk)
    if BookingStatus.CANCELLED not in STATUS_FLOW[current.status]:
        raise ValidationError(f"A booking that is {current.get_status_display().lower()} cannot be cancelled.")
    old = current.status
    current.status = BookingStatus.CANCELLED
    current.save(update_fields=["status"])
    _record(
        acting_user,
        current,
        {"status": [old, BookingStatus.CANCELLED]},
        new=False,
        location_id=current.location_id,
        patient_id=current.patient_id,
        reason=reason,
    )
    if current.chair is None or current.start <= timezone.now():
        return None
    return _offer_from_waitlist(acting_user, current)


# --- Waitlist -----------------------------------------------------------------------------------


@transaction.atomic
def add_to_waitlist(
    *,
    acting_user: User | None,
    patient: Patient,
    duration_min: int,
    series_request: SeriesRequest | None = None,
    note: str = "",
) -> WaitlistEntry:
    entry = WaitlistEntry.objects.create(
        patient=patient, location=patient.location, series_request=series_request, duration_min=duration_min, note=note
    )
    if series_request is not None and series_request.status == SeriesStatus.REQUESTED:
        series_request.status = SeriesStatus.WAITLISTED
        series_request.save(update_fields=["status"])
    _record(
        acting_user,
        entry,
        audit.changes_between({}, model_to_dict(entry)),
        new=True,
        location_id=patient.location_id,
        patient_id=patient.pk,
    )
    return entry


def offer_url(offer: WaitlistOffer) -> str:
    return f"{settings.SITE_URL}{reverse('scheduling:offer', args=[offer.pk])}"


def _notice(location: Location, start: datetime, hold_until: datetime, url: str) -> str:
    """No health information: the clinic's name, the time and the link only (HIPAA minimum
    necessary; messaging.phi refuses treatment words). The link needs a sign-in."""
    zone = queries.zone_of(location)
    when = start.astimezone(zone)
    until = hold_until.astimezone(zone)
    return (
        f"An earlier appointment at {location.name} is free on {when:%a %d %b at %H:%M}. "
        f"Take it by {until:%H:%M} on {until:%a %d %b} at {url} or call {location.phone}."
    )


def _send(acting_user: User | None, patient: Patient, body: str, subject: str) -> tuple[str, int | None]:
    """Text the patient (care consent needed), else email; the outcome and the message id."""
    refused = False
    if patient.phone:
        try:
            message = queue_sms(
                acting_user=acting_user, to_number=patient.phone, body=body, purpose=Purpose.CARE, patient=patient
            )
        except ConsentRequired:
            refused = True
        except OutgoingPhiRefused:
            return ReminderOutcome.REFUSED, None
        else:
            return ReminderOutcome.SENT_SMS, message.pk
    if patient.email:
        try:
            message = queue_email(
                acting_user=acting_user,
                to=patient.email,
                subject=subject,
                body=body,
                purpose=Purpose.CARE,
                patient=patient,
            )
        except OutgoingPhiRefused:
            return ReminderOutcome.REFUSED, None
        return ReminderOutcome.SENT_EMAIL, message.pk
    return (ReminderOutcome.NO_CONSENT if refused else ReminderOutcome.NO_CONTACT), None


def _offer_from_waitlist(acting_user: User | None, freed: Booking) -> WaitlistOffer | None:
    if freed.chair is None:
        return None
    return _offer_slot(
        acting_user, freed.location, freed.chair, freed.start, freed.end, skip_patient_id=freed.patient_id
    )


def _offer_slot(
    acting_user: User | None,
    location: Location,
    chair: Chair,
    start: datetime,
    end: datetime,
    *,
    skip_patient_id: int | None,
    now: datetime | None = None,
) -> WaitlistOffer | None:
    """Offer ``chair`` from ``start`` to the first waiting patient whose session fits before
    ``end``, who does not hold another offer and has not been offered this slot before. The
    slot must still be free: someone may have booked it by hand meanwhile."""
    now = now or timezone.now()
    if start <= now or queries.live_bookings(location).filter(chair=chair, start__lt=end, end__gt=start).exists():
        return None
    minutes = int((end - start).total_seconds() // 60)
    held = WaitlistOffer.objects.filter(status=OfferStatus.HELD, expires_at__gt=now)
    offered_before = WaitlistOffer.objects.filter(chair=chair, start=start).values("entry_id")
    waiting = WaitlistEntry.objects.filter(location=location, status=WaitlistStatus.WAITING, duration_min__lte=minutes)
    if skip_patient_id is not None:
        waiting = waiting.exclude(patient_id=skip_patient_id)
    entry = (
        waiting.exclude(offers__in=held)
        .exclude(pk__in=offered_before)
        .select_related("patient")
        .order_by("created_at", "id")
        .first()
    )
    if entry is None:
        return None
    policy = queries.policy_for(location)
    offer = WaitlistOffer.objects.create(
        entry=entry,
        chair=chair,
        start=start,
        end=start + timedelta(minutes=entry.duration_min),
        expires_at=min(now + timedelta(minutes=policy.offer_hold_min), start),
        offered_at=now,
    )
    offer.outcome, _ = _send(
        acting_user,
        entry.patient,
        _notice(location, start, offer.expires_at, offer_url(offer)),
        f"Appointment at {location.name}",
    )
    offer.save(update_fields=["outcome"])
    entry.status = WaitlistStatus.OFFERED
    entry.save(update_fields=["status"])
    _record(
        acting_user,
        offer,
        {
            "entry": [None, entry.pk],
            "start": [None, offer.start],
            "expires_at": [None, offer.expires_at],
            "outcome": [None, offer.outcome],
        },
        new=True,
        location_id=location.pk,
        patient_id=entry.patient_id,
    )
    return offer


@transaction.atomic
def expire_offer(
    *, acting_user: User | None, offer: WaitlistOffer, now: datetime | None = None
) -> WaitlistOffer | None:
    """End a held offer whose time is up: the patient goes back to waiting, and the slot, if it
    is still ahead and free, is offered to the next eligible patient. Does nothing to an offer
    that is no longer held or not yet due, so running it twice changes nothing. Returns the
    new offer, if one was made."""
    now = now or timezone.now()
    current = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry__location", "chair")
        .get(pk=offer.pk)
    )
    if current.status != OfferStatus.HELD or current.expires_at > now:
        return None
    current.status = OfferStatus.EXPIRED
    current.save(update_fields=["status"])
    entry = current.entry
    if entry.status == WaitlistStatus.OFFERED:
        entry.status = WaitlistStatus.WAITING
        entry.save(update_fields=["status"])
    _record(
        acting_user,
        current,
        {"status": [OfferStatus.HELD, OfferStatus.EXPIRED]},
        new=False,
        location_id=entry.location_id,
        patient_id=entry.patient_id,
        reason="The hold ran out before the offer was accepted.",
    )
    _lock(entry.location)
    return _offer_slot(
        acting_user,
        entry.location,
        current.chair,
        current.start,
        current.end,
        skip_patient_id=entry.patient_id,
        now=now,
    )


def expire_waitlist_offers(*, now: datetime | None = None) -> list[tuple[WaitlistOffer, WaitlistOffer | None]]:
    """Every held offer whose hold has run out, each expired and passed on in its own
    transaction (``manage.py expire_waitlist_offers``); the pairs (expired, new offer or None)."""
    now = now or timezone.now()
    handled = []
    for offer in WaitlistOffer.objects.filter(status=OfferStatus.HELD, expires_at__lte=now).order_by("expires_at"):
        current = WaitlistOffer.objects.get(pk=offer.pk)
        if current.status != OfferStatus.HELD:
            continue
        handled.append((offer, expire_offer(acting_user=None, offer=offer, now=now)))
    return handled


@transaction.atomic
def accept_offer(*, acting_user: User | None, offer: WaitlistOffer) -> Booking:
    """Book the held chair for the waiting patient (while the hold lasts)."""
    current = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry__patient__location")
        .get(pk=offer.pk)
    )
    if current.status != OfferStatus.HELD or current.expires_at <= timezone.now():
        raise ValidationError("This offer is no longer held; offer the slot again.")
    _lock(current.entry.location)
    booking = _create_booking(
        acting_user=acting_user,
        patient=current.entry.patient,
        kind=(
            AppointmentKind.INDUCTION
            if current.entry.series_request is not None and not current.entry.series_request.is_maintenance
            else AppointmentKind.MAINTENANCE
        ),
        start=current.start,
        end=current.end,
        chair=current.chair,
    )
    current.status = OfferStatus.ACCEPTED
    current.save(update_fields=["status"])
    current.entry.status = WaitlistStatus.BOOKED
    current.entry.save(update_fields=["status"])
    _record(
        acting_user,
        current,
        {"status": [OfferStatus.HELD, OfferStatus.ACCEPTED]},
        new=False,
        location_id=current.entry.location_id,
        patient_id=current.entry.patient_id,
    )
    return booking


# --- Reminders ------------------------------------------------------------------------------------


def reminder_text(booking: Booking) -> str:
    """'Your appointment at <clinic>': never the treatment, the drug or the reason."""
    zone = queries.zone_of(booking.location)
    when = booking.start.astimezone(zone)
    return (
        f"Reminder: your appointment at {booking.location.name} is on {when:%a %d %b at %H:%M}. "
        f"To change it call {booking.location.phone}."
    )


@transaction.atomic
def send_reminder(*, acting_user: User | None, booking: Booking, offset_h: int) -> Reminder | None:
    """Send one reminder once: the unique (booking, offset) row is written in the same
    transaction as the message, so a second run finds it and sends nothing."""
    if Reminder.objects.filter(booking=booking, offset_h=offset_h).exists():
        return None
    outcome, message_id = _send(
        acting_user, booking.patient, reminder_text(booking), f"Appointment at {booking.location.name}"
    )
    reminder = Reminder.objects.create(booking=booking, offset_h=offset_h, outcome=outcome, message_id=message_id)
    _record(
        acting_user,
        reminder,
        {"booking": [None, booking.pk], "offset_h": [None, offset_h], "outcome": [None, outcome]},
        new=True,
        location_id=booking.location_id,
        patient_id=booking.patient_id,
    )
    return reminder


def send_due_reminders(*, now: datetime | None = None) -> list[Reminder]:
    """Every reminder due by ``now`` and not yet sent, for live bookings still in the future.
    Run every few minutes (``manage.py send_due_reminders``); each booking x offset once."""
    now = now or timezone.now()
    sent: list[Reminder] = []
    policies: dict[int, list[int]] = {}
    longest = max([48, *(max(p.reminder_offsets or [0]) for p in SchedulingPolicy.objects.all())])
    upcoming = (
        Booking.objects.filter(status=BookingStatus.BOOKED, start__gt=now, start__lte=now + timedelta(hours=longest))
        .select_related("patient", "location")
        .order_by("start")
    )
    for booking in upcoming:
        if booking.location_id not in policies:
            policies[booking.location_id] = queries.policy_for(booking.location).reminder_offsets
        done = set(booking.reminders.values_list("offset_h", flat=True))
        due = [h for h in policies[booking.location_id] if h not in done and booking.start - timedelta(hours=h) <= now]
        # Only the nearest due offset, and never one further out than a reminder already sent:
        # a booking made 3 hours ahead gets the 2-hour reminder, not a late "48-hour" one too.
        if not due or any(h < min(due) for h in done):
            continue
        reminder = send_reminder(acting_user=None, booking=booking, offset_h=min(due))
        if reminder is not None:
            sent.append(reminder)
    return sent


# --- Clinic-wide replanning ------------------------------------------------------------------------


@dataclass
class ReplanReport:
    booked: list[SeriesRequest]
    waitlisted: list[SeriesRequest]
    result: PlanResult


@transaction.atomic
def replan_location(
    *, acting_user: User | None, location: Location, first_day: date, seconds: float = 5.0
) -> ReplanReport:
    """Plan every unconfirmed series request at ``location`` at once (confirmed bookings stay
    fixed), book those that fit and put the rest on the waitlist."""
    _lock(location)
    requests = list(queries.open_requests(location))
    demands = {r.pk: queries.demand_for(r, earliest=first_day) for r in requests}
    if not demands:
        return ReplanReport([], [], PlanResult({}, [], SolveStats("EMPTY", 0.0)))
    days = max((d.latest_first_day - first_day).days + d.window_days for d in demands.values()) + 1
    capacity = queries.build_capacity(location, first_day, days)
    result = plan_many(capacity, list(demands.values()), seconds=seconds)
    zone = queries.zone_of(location)
    booked, waitlisted = [], []
    for request in requests:
        sessions = result.proposals.get(request.pk)
        if sessions:
            confirm_series(
                acting_user=acting_user,
                series_request=request,
                sessions=[
                    PlannedSession(
                        to_datetime(s.start, first_day, zone), to_datetime(s.end, first_day, zone), s.chair_id
                    )
                    for s in sessions
                ],
            )
            booked.append(request)
        else:
            if request.status == SeriesStatus.REQUESTED:
                add_to_waitlist(
                    acting_user=acting_user,
                    patient=request.patient,
                    duration_min=demands[request.pk].duration_min,
                    series_request=request,
                    note="No complete series fitted in clinic-wide replanning.",
                )
            waitlisted.append(request)
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        object_type="scheduling.Replanning",
        object_id=f"{location.pk}:{first_day.isoformat()}",
        location_id=location.pk,
        changes={
            "booked": [None, [r.pk for r in booked]],
            "waitlisted": [None, [r.pk for r in waitlisted]],
            "completed_bound": [None, result.completed_bound],
        },
    )
    return ReplanReport(booked, waitlisted, result)
