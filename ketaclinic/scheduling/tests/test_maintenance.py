"""Maintenance after the induction: a prescriber-set interval puts the patient on the "maintenance
due" list with a one-click proposal, and ``request_maintenance`` (called by the outcomes module
on relapse) asks for one infusion, once."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.scheduling import actions, queries
from ketaclinic.scheduling.actions import PlannedSession
from ketaclinic.scheduling.choices import AppointmentKind, SeriesKind, SeriesStatus
from ketaclinic.scheduling.models import SeriesRequest
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, local, next_monday, open_clinic, protocol


def _induction(world: World) -> SeriesRequest:
    return actions.request_series(
        acting_user=world["frontdesk"], patient=world.patient, protocol=protocol(), earliest_start=next_monday()
    )


def test_maintenance_needs_an_earlier_series_and_a_reason_and_writes_nothing_otherwise(world: World) -> None:
    before = SeriesRequest.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="no series yet"):
        actions.request_maintenance(acting_user=world["prescriber"], patient=world.patient, reason="Relapse")
    _induction(world)
    with pytest.raises(ValidationError, match="Say why"):
        actions.request_maintenance(acting_user=world["prescriber"], patient=world.patient, reason="  ")
    assert SeriesRequest.objects.count() == before[0] + 1


def test_a_relapse_flagged_twice_asks_for_one_maintenance_infusion(world: World) -> None:
    induction = _induction(world)
    first = actions.request_maintenance(acting_user=None, patient=world.patient, reason="Relapse flagged by outcomes")
    again = actions.request_maintenance(acting_user=None, patient=world.patient, reason="Relapse flagged again")
    assert first.pk == again.pk
    assert (first.kind, first.sessions_wanted, first.protocol_id) == (SeriesKind.MAINTENANCE, 1, induction.protocol_id)
    assert first.weekdays == induction.weekdays
    assert SeriesRequest.objects.filter(kind=SeriesKind.MAINTENANCE).count() == 1
    assert AuditEvent.objects.filter(object_type="scheduling.SeriesRequest", object_id=str(first.pk)).count() == 2


def test_a_maintenance_request_is_proposed_and_booked_as_one_maintenance_infusion(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    _induction(world)
    request = actions.request_maintenance(acting_user=None, patient=world.patient, reason="Relapse")
    proposal = queries.propose(request)
    assert len(proposal.sessions) == 1
    s = proposal.sessions[0]
    bookings = actions.confirm_series(
        acting_user=world["frontdesk"],
        series_request=request,
        sessions=[PlannedSession(s.start, s.end, s.chair.pk)],
    )
    assert len(bookings) == 1
    assert bookings[0].appointment_type.kind == AppointmentKind.MAINTENANCE
    assert (bookings[0].series_number, bookings[0].series_total) == (1, 1)
    request.refresh_from_db()
    assert request.status == SeriesStatus.BOOKED


def test_the_prescriber_sets_the_interval_and_bad_values_change_nothing(world: World) -> None:
    induction = _induction(world)
    client = signed_in_client(world["prescriber"])
    url = f"/schedule/series/{induction.pk}/maintenance-interval/"
    assert client.post(url, {"interval_days": "28"}).status_code == 302
    induction.refresh_from_db()
    assert induction.maintenance_interval_days == 28
    response = client.post(url, {"interval_days": "2"}, follow=True)
    assert "greater than or equal to 7" in response.content.decode()
    induction.refresh_from_db()
    assert induction.maintenance_interval_days == 28
    assert signed_in_client(world["frontdesk"]).post(url, {"interval_days": "14"}).status_code == 403
    induction.refresh_from_db()
    assert induction.maintenance_interval_days == 28


def test_a_patient_past_the_interval_is_listed_and_one_click_opens_a_proposal(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    induction = _induction(world)
    actions.set_maintenance_interval(acting_user=world["prescriber"], series_request=induction, interval_days=28)
    book_infusion(world, monday, time(9), chairs(world)[0])
    due_day = monday + timedelta(days=26)
    with time_machine.travel(local(world.location, due_day, time(7)), tick=False):
        assert queries.maintenance_due(world.location, monday + timedelta(days=10)) == []
        due = queries.maintenance_due(world.location, due_day)
        assert [(d.patient, d.due_on) for d in due] == [(world.patient, monday + timedelta(days=28))]
        client = signed_in_client(world["frontdesk"])
        board = client.get(f"/schedule/?location={world.location.pk}&date={due_day.isoformat()}")
        assert "Propose a maintenance booking" in board.content.decode()
        response = client.post(f"/schedule/patients/{world.patient.pk}/maintenance/")
        request = SeriesRequest.objects.get(kind=SeriesKind.MAINTENANCE)
        assert response["Location"] == f"/schedule/series/{request.pk}/"
        # Asked for: no longer due.
        assert queries.maintenance_due(world.location, due_day) == []
