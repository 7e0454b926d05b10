"""Who may open the scheduling pages and API (merged into core/tests/test_routes.py's walk)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from ketaclinic.core.testing import Route, World
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.models import WaitlistOffer
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, local, next_monday, open_clinic, protocol


def _patient(w: World) -> dict[str, Any]:
    return {"pk": w.patient.pk}


def _series(w: World) -> dict[str, Any]:
    request = actions.request_series(
        acting_user=None, patient=w.patient, protocol=protocol(), earliest_start=next_monday()
    )
    return {"pk": request.pk}


def _booking(w: World) -> dict[str, Any]:
    monday = next_monday()
    open_clinic(w, monday, days=7)
    return {"pk": book_infusion(w, monday, time(9), chairs(w)[0]).pk}


def _offer(w: World) -> dict[str, Any]:
    """An offer held for the shared patient (the patient persona's own record)."""
    monday = next_monday()
    entry = actions.add_to_waitlist(acting_user=None, patient=w.patient, duration_min=190)
    start = local(w.location, monday + timedelta(days=2), time(9))
    offer = WaitlistOffer.objects.create(
        entry=entry,
        chair=chairs(w)[0],
        start=start,
        end=start + timedelta(minutes=190),
        expires_at=start - timedelta(hours=1),
    )
    return {"pk": offer.pk}


def _proposal_body(w: World) -> dict[str, Any]:
    monday = next_monday()
    open_clinic(w, monday)
    return {"patient_id": w.patient.pk, "protocol_id": protocol().pk, "earliest_start": monday.isoformat()}


def _booking_body(w: World) -> dict[str, Any]:
    monday = next_monday()
    open_clinic(w, monday)
    start = local(w.location, monday + timedelta(days=1), time(13))
    return {
        "patient_id": w.patient.pk,
        "chair_id": chairs(w)[1].pk,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=190)).isoformat(),
        "type": "induction",
    }


ROUTES: dict[str, Route] = {
    # Outsiders see the board of their own location (the away site), so 200.
    "scheduling:board": Route("view_schedule"),
    "scheduling:week": Route("view_schedule"),
    "scheduling:replan": Route("run_replanning"),
    "scheduling:calendar": Route("manage_calendar"),
    "scheduling:series_rules": Route("manage_calendar"),
    "scheduling:patient_series": Route("view_schedule", kwargs=_patient, overrides={"outsider": 403}),
    # The patient downloads their own calendar from the portal.
    "scheduling:patient_ics": Route("view_schedule", kwargs=_patient, overrides={"outsider": 403, "patient": 200}),
    "scheduling:series": Route("view_schedule", kwargs=_series, overrides={"outsider": 403}),
    # Changes are POST only: a permitted GET is told so (405).
    "scheduling:series_waitlist": Route("book_appointments", kwargs=lambda w: {"pk": 1}, ok=405),
    "scheduling:booking_status": Route("view_schedule", kwargs=lambda w: {"pk": 1}, ok=405),
    "scheduling:booking_check_in": Route("chart_infusion", kwargs=lambda w: {"pk": 1}, ok=405),
    "scheduling:booking_cancel": Route("book_appointments", kwargs=_booking),
    "scheduling:maintenance_request": Route("book_appointments", kwargs=_patient, ok=405),
    "scheduling:maintenance_interval": Route("write_orders", kwargs=lambda w: {"pk": 1}, ok=405),
    # Booking staff at the patient's location, or the patient the slot is held for.
    "scheduling:offer": Route("book_appointments", kwargs=_offer, overrides={"outsider": 403, "patient": 200}),
    "api:propose_series": Route("book_appointments", api=True, method="post", body=_proposal_body),
    "api:create_booking": Route("book_appointments", api=True, method="post", ok=201, body=_booking_body),
    "api:list_bookings": Route("view_schedule", api=True),
}
