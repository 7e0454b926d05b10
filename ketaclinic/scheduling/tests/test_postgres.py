"""Concurrency guarantees that only PostgreSQL can show (SQLite serialises every writer):
50 simultaneous requests for one chair and time, and for the last nurse place."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from ketaclinic.clinics.models import Chair
from ketaclinic.core.testing import World, make_world
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import chairs, local, next_monday, open_clinic

pytestmark = [pytest.mark.postgres]

REQUESTS = 50


@pytest.fixture
def pg_world(committed_db: None) -> World:
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: DATABASE_URL=postgres://...")
    return make_world()


def _patients(world: World, count: int) -> list[Patient]:
    return [
        register_patient(
            acting_user=None,
            location=world.location,
            first_name=f"C{i}",
            last_name="Concurrent",
            date_of_birth=world.patient.date_of_birth,
        )
        for i in range(count)
    ]


def _race(world: World, attempts: list[tuple[Patient, Chair]], minute: int = 0) -> tuple[int, int, list[BaseException]]:
    monday = next_monday()
    start = local(world.location, monday, time(9)) + timedelta(minutes=minute)
    barrier = threading.Barrier(len(attempts))
    won, refused, errors = [0], [0], []
    lock = threading.Lock()

    def attempt(patient: Patient, chair: Chair) -> None:
        try:
            barrier.wait()
            actions.book_appointment(
                acting_user=world["frontdesk"],
                patient=patient,
                kind="induction",
                start=start,
                end=start + timedelta(minutes=190),
                chair=chair,
            )
            with lock:
                won[0] += 1
        except actions.BookingConflict:
            with lock:
                refused[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won[0], refused[0], errors


def test_fifty_concurrent_bookings_of_one_chair_and_time_let_exactly_one_through(pg_world: World) -> None:
    open_clinic(pg_world, next_monday(), days=7, nurses=2)
    chair = chairs(pg_world)[0]
    patients = _patients(pg_world, REQUESTS)
    won, refused, errors = _race(pg_world, [(p, chair) for p in patients])
    assert errors == []
    assert (won, refused) == (1, REQUESTS - 1)
    assert Booking.objects.count() == 1


def test_fifty_concurrent_bookings_for_the_last_nurse_place_let_exactly_one_through(pg_world: World) -> None:
    monday = next_monday()
    open_clinic(pg_world, monday, days=7, nurses=1)
    # Two infusions already run at 09:00 with one nurse (ratio 1:3): one place is left.
    seated = _patients(pg_world, 2)
    for patient, chair in zip(seated, chairs(pg_world)[:2], strict=True):
        start = local(pg_world.location, monday, time(9))
        actions.book_appointment(
            acting_user=None,
            patient=patient,
            kind="induction",
            start=start,
            end=start + timedelta(minutes=190),
            chair=chair,
        )
    free = chairs(pg_world)[2:]
    patients = _patients(pg_world, REQUESTS)
    won, refused, errors = _race(pg_world, [(p, free[i % 2]) for i, p in enumerate(patients)])
    assert errors == []
    assert (won, refused) == (1, REQUESTS - 1)
    assert Booking.objects.count() == 3


def test_the_database_itself_refuses_an_overlap_on_one_chair(pg_world: World) -> None:
    monday = next_monday()
    open_clinic(pg_world, monday, days=7)
    chair = chairs(pg_world)[0]
    booking = actions.book_appointment(
        acting_user=None,
        patient=pg_world.patient,
        kind="induction",
        start=local(pg_world.location, monday, time(9)),
        end=local(pg_world.location, monday, time(12)),
        chair=chair,
    )
    clash = Booking(
        patient=pg_world.patient,
        location=pg_world.location,
        chair=chair,
        appointment_type=booking.appointment_type,
        start=booking.start + timedelta(hours=1),
        end=booking.end + timedelta(hours=1),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    assert Booking.objects.count() == 1
