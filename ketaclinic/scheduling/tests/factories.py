"""Test data for scheduling, made through the real actions: a protocol with its series rule,
opening hours Monday to Friday 08:00-17:00, nurse and prescriber shifts, and bookings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from ketaclinic.clinics.models import Chair, Location
from ketaclinic.core.testing import World
from ketaclinic.infusions.actions import create_protocol
from ketaclinic.infusions.models import Protocol
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.choices import ShiftPresence, ShiftRole
from ketaclinic.scheduling.models import Booking, OpeningHours, StaffShift

OPENS, CLOSES = time(8), time(17)


def protocol() -> Protocol:
    found = Protocol.objects.filter(code="test-induction").first()
    if found is not None:
        return found
    made = create_protocol(acting_user=None, code="test-induction", name="Test induction (6 in 21 days)")
    actions.save_series_rule(acting_user=None, protocol=made, infusion_duration_min=120)
    return made


def next_monday(after: date | None = None) -> date:
    day = (after or timezone.now().date()) + timedelta(days=1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def local(location: Location, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(location.time_zone))


def open_clinic(w: World, first_day: date, days: int = 70, *, nurses: int = 1, prescriber: bool = True) -> None:
    """Opening hours Mon-Fri 08:00-17:00 and day shifts for ``nurses`` nurse(s) and the
    prescriber on every open day from ``first_day``. Safe to call twice."""
    location = w.location
    if not OpeningHours.objects.filter(location=location).exists():
        for weekday in range(5):
            actions.set_opening_hours(acting_user=None, location=location, weekday=weekday, opens=OPENS, closes=CLOSES)
    if StaffShift.objects.filter(location=location).exists():
        return
    staff = [(w["nurse"], ShiftRole.NURSE)] if nurses >= 1 else []
    if nurses >= 2:
        staff.append((w["director"], ShiftRole.NURSE))
    if prescriber:
        staff.append((w["prescriber"], ShiftRole.PRESCRIBER))
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for user, role in staff:
            StaffShift.objects.create(
                user=user,
                location=location,
                start=local(location, day, OPENS),
                end=local(location, day, CLOSES),
                role=role,
                presence=ShiftPresence.ON_SITE,
            )


def chairs(w: World) -> list[Chair]:
    return list(Chair.objects.filter(location=w.location).order_by("name"))


def book_infusion(w: World, day: date, at: time, chair: Chair, minutes: int = 190) -> Booking:
    start = local(w.location, day, at)
    return actions.book_appointment(
        acting_user=w["frontdesk"],
        patient=w.patient,
        kind="induction",
        start=start,
        end=start + timedelta(minutes=minutes),
        chair=chair,
    )
