"""Pages: the day board (query count independent of bookings, the DST day), the series flow
(propose, move, confirm), cancellation, and the iCalendar download."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients.actions import register_patient
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.choices import SeriesStatus, ShiftRole
from ketaclinic.scheduling.models import Booking, SeriesRequest
from ketaclinic.scheduling.queries import propose
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, local, next_monday, open_clinic, protocol


def _board_queries(world: World, day: date) -> int:
    client = signed_in_client(world["nurse"])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/schedule/?location={world.location.pk}&date={day.isoformat()}")
    assert response.status_code == 200
    return len(captured)


def test_the_day_board_query_count_does_not_grow_with_bookings(
    world: World, django_assert_num_queries: Callable[[int], AbstractContextManager[object]]
) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7, nurses=2)
    book_infusion(world, monday, time(8), chairs(world)[0])
    one = _board_queries(world, monday)
    for index, chair in enumerate(chairs(world)[1:]):
        patient = register_patient(
            acting_user=None,
            location=world.location,
            first_name=f"B{index}",
            last_name="Board",
            date_of_birth=date(1990, 1, 1),
        )
        start = local(world.location, monday, time(8))
        actions.book_appointment(
            acting_user=None,
            patient=patient,
            kind="induction",
            start=start,
            end=start + timedelta(minutes=190),
            chair=chair,
        )
    client = signed_in_client(world["nurse"])
    with django_assert_num_queries(one):
        response = client.get(f"/schedule/?location={world.location.pk}&date={monday.isoformat()}")
    assert response.content.decode().count("board__booking") == 4


def test_the_board_shows_initials_type_series_number_and_status(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    series = actions.request_series(
        acting_user=None, patient=world.patient, protocol=_protocol(), earliest_start=monday
    )
    proposal = _propose(series)
    actions.confirm_series(acting_user=world["frontdesk"], series_request=series, sessions=proposal)
    first_day = proposal[0].start.date()
    page = signed_in_client(world["nurse"]).get(f"/schedule/?location={world.location.pk}&date={first_day.isoformat()}")
    text = page.content.decode()
    assert "PE" in text and "Induction infusion" in text and "1 of 6" in text and "Booked" in text
    assert 'data-refresh-seconds="30"' in text
    assert "js/scheduling.js" in text


def _protocol() -> Protocol:
    return protocol()


def _propose(series: SeriesRequest) -> list[actions.PlannedSession]:
    result = propose(series)
    return [actions.PlannedSession(s.start, s.end, s.chair.pk) for s in result.sessions]


def test_on_the_spring_forward_day_the_board_shows_nine_o_clock_at_nine(world: World) -> None:
    # Denver's clocks go forward on Sunday 2026-03-08; the clinic opens that Sunday for this test.
    dst_day = date(2026, 3, 8)
    with time_machine.travel("2026-03-01 12:00Z", tick=False):
        open_clinic(world, date(2026, 3, 2), days=14)
        actions.set_opening_hours(acting_user=None, location=world.location, weekday=6, opens=time(8), closes=time(17))
        for user, role in ((world["nurse"], ShiftRole.NURSE), (world["prescriber"], ShiftRole.PRESCRIBER)):
            actions.add_shift(
                acting_user=None,
                user=user,
                location=world.location,
                start=local(world.location, dst_day, time(8)),
                end=local(world.location, dst_day, time(17)),
                role=role,
            )
        booking = book_infusion(world, dst_day, time(9), chairs(world)[0])
    booking.refresh_from_db()
    assert booking.start.utcoffset() == timedelta(0)
    assert booking.start.hour == 15  # 09:00 MDT (UTC-6)
    text = (
        signed_in_client(world["nurse"])
        .get(f"/schedule/?location={world.location.pk}&date=2026-03-08")
        .content.decode()
    )
    assert "09:00–12:10" in text


def test_staff_book_a_series_move_one_session_and_confirm(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    client = signed_in_client(world["frontdesk"])
    response = client.post(
        f"/schedule/patients/{world.patient.pk}/",
        {
            "protocol": _protocol().pk,
            "earliest_start": monday.isoformat(),
            "weekdays": ["0", "2", "4"],
            "from_time": "08:00",
            "until_time": "17:00",
            "blackout_dates": "",
        },
    )
    series = SeriesRequest.objects.get(patient=world.patient)
    assert response.status_code == 302 and response["Location"] == f"/schedule/series/{series.pk}/"
    page = client.get(f"/schedule/series/{series.pk}/")
    assert "Proposed series" in page.content.decode()
    moved_day = monday + timedelta(days=2)
    chair = chairs(world)[2]
    page = client.get(
        f"/schedule/series/{series.pk}/?pin_date={moved_day.isoformat()}&pin_time=13:00&pin_chair={chair.pk}"
    )
    confirm = page.context["confirm_form"]
    assert confirm is not None
    response = client.post(f"/schedule/series/{series.pk}/", confirm.initial)
    assert response.status_code == 302
    bookings = list(Booking.objects.filter(series_request=series).order_by("start"))
    assert len(bookings) == 6
    assert [b.series_number for b in bookings] == [1, 2, 3, 4, 5, 6]
    assert any(b.start == local(world.location, moved_day, time(13)) and b.chair == chair for b in bookings)
    series.refresh_from_db()
    assert series.status == SeriesStatus.BOOKED


def test_bad_series_input_is_explained_and_writes_nothing(world: World) -> None:
    client = signed_in_client(world["frontdesk"])
    response = client.post(
        f"/schedule/patients/{world.patient.pk}/",
        {
            "protocol": _protocol().pk,
            "earliest_start": "2026-13-40",
            "weekdays": [],
            "from_time": "12:00",
            "until_time": "09:00",
        },
    )
    assert response.status_code == 200
    assert "must be able to stay after they arrive" in response.content.decode()
    assert not SeriesRequest.objects.exists()


def test_the_calendar_download_names_the_clinic_and_no_treatment(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    book_infusion(world, monday, time(9), chairs(world)[0])
    response = signed_in_client(world["patient"]).get(f"/schedule/patients/{world.patient.pk}/appointments.ics")
    assert response.status_code == 200
    body = response.content.decode()
    assert "BEGIN:VEVENT" in body
    assert f"SUMMARY:Appointment at {world.location.name}" in body
    assert "nfusion" not in body and "ketamine" not in body.lower()


def test_cancelling_from_the_board_asks_for_a_reason(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    client = signed_in_client(world["frontdesk"])
    response = client.post(f"/schedule/bookings/{booking.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == "booked"
    response = client.post(f"/schedule/bookings/{booking.pk}/cancel/", {"reason": "Patient has flu"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == "cancelled"


@pytest.mark.parametrize("name", ["nurse", "frontdesk"])
def test_status_buttons_move_a_booking_along_the_day(world: World, name: str) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    response = signed_in_client(world[name]).post(f"/schedule/bookings/{booking.pk}/status/", {"status": "checked_in"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == "checked_in"
