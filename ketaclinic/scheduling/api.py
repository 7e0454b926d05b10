"""Scheduling API: series proposals, booking one appointment, and a location's day.

Contract relied on by outside checks: ``POST /series/proposals`` answers the proposed sessions
(200) or 409 with the binding rule; ``POST /bookings`` answers 201 or 409 on any conflict;
``GET /bookings?location=&date=`` lists a local day's bookings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from ketaclinic.api.permissions import require
from ketaclinic.clinics.models import Chair, Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import actions, queries
from ketaclinic.scheduling.choices import BindingRule
from ketaclinic.scheduling.models import Booking, SeriesRequest
from ketaclinic.scheduling.permissions import (
    can_book_appointments,
    can_book_for_patient,
    can_view_location_schedule,
    can_view_schedule,
)

router = Router(tags=["scheduling"])
# The query parameter is called "date", which would shadow the type inside the schema.
Day = date


class ProposalIn(Schema):
    patient_id: int
    protocol_id: int
    earliest_start: date


class SessionOut(Schema):
    start: datetime
    end: datetime
    chair_id: int


class ConflictOut(Schema):
    detail: str
    binding_rule: str = ""
    earliest_feasible_start: date | None = None


def _rule_label(rule: str) -> str:
    return BindingRule(rule).label if rule in BindingRule.values else rule


@router.post(
    "/series/proposals",
    response={200: list[SessionOut], 409: ConflictOut},
    summary="Propose a whole series for a patient (nothing is booked)",
)
def propose_series(request: HttpRequest, payload: ProposalIn) -> Status[list[SessionOut] | ConflictOut]:
    user = require(request, can_book_appointments)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=payload.patient_id)
    require(request, can_book_for_patient, patient, message="This patient belongs to a location you do not work at.")
    protocol = get_object_or_404(Protocol, pk=payload.protocol_id, is_active=True)
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    draft = SeriesRequest(
        patient=patient, location=patient.location, protocol=protocol, earliest_start=payload.earliest_start
    )
    proposal = queries.propose(draft)
    if not proposal.sessions:
        later = proposal.earliest_feasible_day
        detail = f"{_rule_label(proposal.binding_rule)}: no complete series of {protocol.induction_infusions} fits"
        detail += (
            f"; the earliest start that works is {later:%Y-%m-%d}" if later else "; add the patient to the waitlist"
        )
        return Status(
            409, ConflictOut(detail=detail, binding_rule=proposal.binding_rule, earliest_feasible_start=later)
        )
    return Status(200, [SessionOut(start=s.start, end=s.end, chair_id=s.chair.pk) for s in proposal.sessions])


class BookingIn(Schema):
    patient_id: int
    chair_id: int | None = None
    start: datetime
    end: datetime
    type: Literal["consultation", "induction", "maintenance", "follow_up"]


class BookingOut(Schema):
    id: int
    patient_id: int
    location_id: int
    chair_id: int | None
    start: datetime
    end: datetime
    type: str
    status: str
    series_number: int | None
    series_total: int | None


def _out(booking: Booking) -> BookingOut:
    return BookingOut(
        id=booking.pk,
        patient_id=booking.patient_id,
        location_id=booking.location_id,
        chair_id=booking.chair_id,
        start=booking.start,
        end=booking.end,
        type=booking.appointment_type.code,
        status=booking.status,
        series_number=booking.series_number,
        series_total=booking.series_total,
    )


@router.post("/bookings", response={201: BookingOut, 409: ConflictOut}, summary="Book one appointment")
def create_booking(request: HttpRequest, payload: BookingIn) -> Status[BookingOut | ConflictOut]:
    user = require(request, can_book_appointments)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=payload.patient_id)
    require(request, can_book_for_patient, patient, message="This patient belongs to a location you do not work at.")
    chair = get_object_or_404(Chair, pk=payload.chair_id) if payload.chair_id is not None else None
    try:
        booking = actions.book_appointment(
            acting_user=user, patient=patient, kind=payload.type, start=payload.start, end=payload.end, chair=chair
        )
    except actions.BookingConflict as exc:
        return Status(409, ConflictOut(detail=exc.message, binding_rule=exc.rule))
    return Status(201, _out(booking))


class DayQuery(Schema):
    location: int | None = None
    day: Day | None = Field(default=None, alias="date")


@router.get("/bookings", response=list[BookingOut], summary="A location's bookings on one local day (audited)")
def list_bookings(request: HttpRequest, filters: Query[DayQuery]) -> list[BookingOut]:
    user = require(request, can_view_schedule)
    if filters.location is None:
        location = Location.objects.filter(id__in=user.location_ids).order_by("id").first()
        if location is None:
            raise PermissionDenied("You do not work at any location.")
    else:
        location = get_object_or_404(Location, pk=filters.location)
    require(request, can_view_location_schedule, location, message="You do not work at this location.")
    day = filters.day or timezone.now().astimezone(queries.zone_of(location)).date()
    bookings = queries.day_bookings(location, day)
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="scheduling.Booking",
        object_id=f"day:{day.isoformat()}",
        location_id=location.pk,
        changes={"booking_ids": [b.pk for b in bookings]},
    )
    return [_out(b) for b in bookings]
