"""The scheduling API contract: proposals (200 or 409 with the binding rule), bookings (201
or 409 on any conflict, nothing written), and a location's day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from ketaclinic.core.testing import World, api_client
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, local, next_monday, open_clinic, protocol


def test_a_proposal_lists_six_sessions_with_times_and_chairs(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    response = api_client(world["frontdesk"]).post(
        "/api/v1/series/proposals",
        {"patient_id": world.patient.pk, "protocol_id": protocol().pk, "earliest_start": monday.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 200
    sessions = response.json()
    assert len(sessions) == 6
    assert {s["chair_id"] for s in sessions} <= {c.pk for c in chairs(world)}
    starts = [datetime.fromisoformat(s["start"]) for s in sessions]
    assert starts == sorted(starts)
    assert starts[0].date() >= monday
    assert not Booking.objects.exists()


def test_a_proposal_that_cannot_fit_answers_409_with_the_binding_rule(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, prescriber=False)
    response = api_client(world["frontdesk"]).post(
        "/api/v1/series/proposals",
        {"patient_id": world.patient.pk, "protocol_id": protocol().pk, "earliest_start": monday.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["binding_rule"] == "prescriber"
    assert response.json()["detail"].startswith("prescriber cover")


def _body(world: World, start: datetime, chair_index: int = 0) -> dict[str, object]:
    return {
        "patient_id": world.patient.pk,
        "chair_id": chairs(world)[chair_index].pk,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=190)).isoformat(),
        "type": "induction",
    }


def test_booking_answers_201_then_409_for_the_same_chair_and_writes_nothing_more(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    client = api_client(world["frontdesk"])
    start = local(world.location, monday, time(9))
    first = client.post("/api/v1/bookings", _body(world, start), content_type="application/json")
    assert first.status_code == 201
    assert first.json()["status"] == "booked"
    count = Booking.objects.count()
    second = client.post(
        "/api/v1/bookings", _body(world, start + timedelta(minutes=30)), content_type="application/json"
    )
    assert second.status_code == 409
    assert "detail" in second.json()
    assert Booking.objects.count() == count


def test_a_nurse_may_not_book_through_the_api(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    start = local(world.location, monday, time(9))
    response = api_client(world["nurse"]).post("/api/v1/bookings", _body(world, start), content_type="application/json")
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_the_day_lists_bookings_in_the_location_s_local_day(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    client = api_client(world["nurse"])
    response = client.get(f"/api/v1/bookings?location={world.location.pk}&date={monday.isoformat()}")
    assert response.status_code == 200
    assert [b["id"] for b in response.json()] == [booking.pk]
    other_day = client.get(
        f"/api/v1/bookings?location={world.location.pk}&date={(monday + timedelta(days=1)).isoformat()}"
    )
    assert other_day.json() == []
    refused = api_client(world["outsider"]).get(
        f"/api/v1/bookings?location={world.location.pk}&date={monday.isoformat()}"
    )
    assert refused.status_code == 403
