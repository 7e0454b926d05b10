"""The day board shows each chair's live chairside state (issue 5, "Views"): a nurse checks an
infusion booking in from the board (the record opens), the card shows the session's status,
current dose and overdue vitals, unacknowledged alerts stand out, and the query count does not
grow with sessions, vitals or alerts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import InfusionSession, SessionStatus
from ketaclinic.infusions.tests.factories import BASELINE, make_session, order, version
from ketaclinic.patients.actions import register_patient
from ketaclinic.scheduling import actions as scheduling
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, local, next_monday, open_clinic


def _board(client: Client, world: World, day: date) -> str:
    response = client.get(f"/schedule/?location={world.location.pk}&date={day.isoformat()}")
    assert response.status_code == 200
    return response.content.decode()


def _day_of(session: InfusionSession) -> date:
    """The board day of a session's booking (the factory picks the first free weekday slot)."""
    assert session.booking is not None
    return session.booking.start.astimezone(ZoneInfo(session.location.time_zone)).date()


def _booked(world: World) -> Booking:
    monday = next_monday()
    open_clinic(world, monday)
    return book_infusion(world, monday, time(9), chairs(world)[0])


def test_a_nurse_checks_an_infusion_in_from_the_board_and_lands_on_the_record(world: World) -> None:
    order(world)
    booking = _booked(world)
    client = signed_in_client(world["nurse"])
    page = _board(client, world, next_monday())
    assert f"/schedule/bookings/{booking.pk}/check-in/" in page
    # The record drives infusing → recovering → done; the board does not offer those by hand.
    assert 'value="infusing"' not in page
    response = client.post(f"/schedule/bookings/{booking.pk}/check-in/")
    session = InfusionSession.objects.get(booking=booking)
    assert response.status_code == 302
    assert response["Location"] == f"/infusions/sessions/{session.pk}/"
    booking.refresh_from_db()
    assert booking.status == "checked_in"
    assert session.status == SessionStatus.CHECKED_IN


def test_check_in_without_an_order_is_refused_with_the_reason_and_opens_nothing(world: World) -> None:
    booking = _booked(world)
    client = signed_in_client(world["nurse"])
    response = client.post(f"/schedule/bookings/{booking.pk}/check-in/", follow=True)
    assert "no active infusion order" in response.content.decode()
    assert not InfusionSession.objects.filter(booking=booking).exists()
    booking.refresh_from_db()
    assert booking.status == "booked"


def test_the_front_desk_marks_arrival_but_cannot_open_the_chairside_record(world: World) -> None:
    order(world)
    booking = _booked(world)
    client = signed_in_client(world["frontdesk"])
    page = _board(client, world, next_monday())
    assert f"/schedule/bookings/{booking.pk}/check-in/" not in page
    assert 'value="checked_in"' in page
    assert client.post(f"/schedule/bookings/{booking.pk}/check-in/").status_code == 403
    assert not InfusionSession.objects.filter(booking=booking).exists()


def test_a_nurse_from_another_location_cannot_check_in_here(world: World) -> None:
    order(world)
    booking = _booked(world)
    response = signed_in_client(world["outsider"]).post(f"/schedule/bookings/{booking.pk}/check-in/")
    assert response.status_code == 403
    assert not InfusionSession.objects.filter(booking=booking).exists()


def test_an_infusing_chair_shows_status_dose_and_overdue_vitals(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    page = _board(signed_in_client(world["nurse"]), world, _day_of(session))
    assert f'href="/infusions/sessions/{session.pk}/"' in page
    assert "Infusing</span>" in page
    assert f"{version().start_mg_per_kg_h.normalize()} mg/kg/h" in page
    assert "Vitals overdue since" in page
    assert "/status/" not in page  # no manual status buttons once the record exists


def test_vitals_just_charted_are_due_again_at_the_protocol_interval_not_overdue(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    actions.record_vitals(acting_user=world["nurse"], session=session, values=BASELINE)
    page = _board(signed_in_client(world["nurse"]), world, _day_of(session))
    assert "Vitals overdue" not in page
    assert "Vitals due" in page


def test_an_unacknowledged_alert_stands_out_until_acknowledged(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    _, alerts = actions.record_vitals(
        acting_user=world["nurse"], session=session, values={**BASELINE, "systolic": 172, "diastolic": 96}
    )
    assert alerts
    client = signed_in_client(world["nurse"])
    page = _board(client, world, _day_of(session))
    assert f"Unacknowledged alerts ({len(alerts)})" in page
    assert "board__slot--alert" in page
    assert alerts[0].message in page
    for alert in alerts:
        actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="Rate reduced, BP rechecked")
    page = _board(client, world, _day_of(session))
    assert "Unacknowledged alerts" not in page
    assert "board__slot--alert" not in page


def test_monitor_readings_awaiting_validation_are_counted_on_the_card(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    now = timezone.now()
    actions.record_device_vitals(
        session=session,
        readings=[
            actions.DeviceReading(values=BASELINE, taken_at=now - timedelta(minutes=m), message_id=f"M{m}")
            for m in (10, 5)
        ],
    )
    client = signed_in_client(world["nurse"])
    assert "2 monitor readings to validate" in _board(client, world, _day_of(session))
    actions.validate_device_vitals(acting_user=world["nurse"], session=session)
    assert "to validate" not in _board(client, world, _day_of(session))


def test_the_board_query_count_does_not_grow_with_sessions_vitals_or_alerts(
    world: World, django_assert_num_queries: Callable[[int], AbstractContextManager[object]]
) -> None:
    session = make_session(world, "infusing", started_minutes_ago=90)
    client = signed_in_client(world["nurse"])
    _board(client, world, _day_of(session))  # the first request of a sign-in does its own bookkeeping
    with CaptureQueriesContext(connection) as one:
        _board(client, world, _day_of(session))
    now = timezone.now()
    for minutes in range(80, 0, -10):
        actions.record_vitals(
            acting_user=world["nurse"],
            session=session,
            values={**BASELINE, "systolic": 175 if minutes == 20 else 126},
            taken_at=now - timedelta(minutes=minutes),
        )
    other = register_patient(
        acting_user=None,
        location=world.location,
        first_name="Second",
        last_name="Chair",
        date_of_birth=date(1985, 3, 3),
    )
    actions.write_order(acting_user=world["prescriber"], patient=other, protocol_version=version())
    start = local(world.location, _day_of(session), time(9))
    second = scheduling.book_appointment(
        acting_user=world["frontdesk"],
        patient=other,
        kind="induction",
        start=start,
        end=start + timedelta(minutes=190),
        chair=chairs(world)[1],
    )
    actions.check_in(acting_user=world["nurse"], booking=second)
    with django_assert_num_queries(len(one)):
        page = _board(client, world, _day_of(session))
    assert page.count("Chairside record</a>") == 2


def test_an_empty_day_offers_the_next_day_with_appointments(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    book_infusion(world, monday + timedelta(days=2), time(9), chairs(world)[0])
    client = signed_in_client(world["nurse"])
    page = client.get("/schedule/", {"location": str(world.location.pk), "date": monday.isoformat()})
    text = page.content.decode()
    wednesday = monday + timedelta(days=2)
    assert "the next day with appointments" in text
    assert f"date={wednesday.isoformat()}" in text
