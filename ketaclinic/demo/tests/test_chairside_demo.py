"""The chairside part of the demo clinic (``infusions.demo.seed``) on a small world: a past
infusion becomes a complete, co-signed record with its drug accounted for on the ledger, and
today's bookings get records that match where each stands on the board."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from ketaclinic.accounts.actions import create_user
from ketaclinic.core.audit import verify_chain
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.demo.seed import DemoContext
from ketaclinic.infusions import demo
from ketaclinic.infusions.models import (
    Alert,
    InfusionOrder,
    InfusionSession,
    Protocol,
    SessionStatus,
    VitalPhase,
    VitalSource,
)
from ketaclinic.infusions.queries import pain_before_after
from ketaclinic.inventory.actions import receive_stock
from ketaclinic.inventory.choices import EntryKind
from ketaclinic.inventory.ledger import verify_location
from ketaclinic.inventory.models import LedgerEntry
from ketaclinic.inventory.queries import session_balance
from ketaclinic.inventory.tests.factories import SUPPLIER, make_product
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import actions as scheduling
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import chairs, open_clinic

ZONE = ZoneInfo("America/Denver")
# A Wednesday, 12:40 in Denver: the clinic is open, so the board shows this very moment.
NOW = datetime(2026, 12, 9, 12, 40, tzinfo=ZONE)
PAST_DAY = date(2026, 12, 7)


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _book(world: World, patient: Patient, day: date, at: time, chair: int) -> Booking:
    start = datetime.combine(day, at, tzinfo=ZONE)
    return scheduling.book_appointment(
        acting_user=world["frontdesk"],
        patient=patient,
        kind="induction",
        start=start,
        end=start + timedelta(minutes=190),
        chair=chairs(world)[chair],
    )


def _clinic(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[DemoContext, dict[str, Booking]]:
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    nurse2 = create_user(
        acting_user=None,
        username="nurse2",
        password=PASSWORD,
        roles=[Role.NURSE],
        location_ids=[world.location.pk],
        first_name="Second",
        last_name="Nurse",
    )
    open_clinic(world, PAST_DAY - timedelta(days=7), days=14, nurses=2)
    patients = [world.patient] + [
        register_patient(
            acting_user=None,
            location=world.location,
            first_name=f"Demo{i}",
            last_name="Chair",
            date_of_birth=date(1980 + i, 1, 1),
        )
        for i in range(4)
    ]
    receive_stock(
        acting_user=world["director"],
        product=make_product(world.location, world["director"]),
        lot_number="LOT-D1",
        expires_on=NOW.date() + timedelta(days=300),
        containers=3,
        invoice_number="INV-D1",
        received_at=NOW - timedelta(days=20),
        **SUPPLIER,
    )
    today = NOW.date()
    bookings = {
        "past": _book(world, patients[0], PAST_DAY, time(9), 0),
        "done": _book(world, patients[1], today, time(8), 0),
        "recovering": _book(world, patients[2], today, time(9, 45), 1),
        "infusing": _book(world, patients[3], today, time(11), 2),
        "checked_in": _book(world, patients[4], today, time(13), 3),
        "later": _book(world, patients[0], today, time(13, 30), 0),
    }
    users = {**world.users, "nurse2": nurse2}
    ctx = DemoContext(location=world.location, users=users, patients=patients, rng=random.Random(5), now=timezone.now())
    return ctx, bookings


def _session(booking: Booking) -> InfusionSession:
    return InfusionSession.objects.get(booking=booking)


def test_a_past_infusion_becomes_a_locked_record_with_its_drug_accounted_for(
    world: World, monkeypatch: pytest.MonkeyPatch, frozen: None
) -> None:
    ctx, bookings = _clinic(world, monkeypatch)
    demo.seed(ctx)
    session = _session(bookings["past"])
    assert session.status == SessionStatus.LOCKED
    assert session.nurse_signed_by is not None and session.cosigned_by == world["prescriber"]
    assert session.nurse_signed_by != session.cosigned_by
    assert session.checked_in_at.date() == PAST_DAY  # charted at the booking's time, not the seeding's
    assert session.discharged_to and session.discharged_at is not None
    assert session.stopped_at is not None and session.discharged_at >= session.stopped_at + timedelta(minutes=60)
    bookings["past"].refresh_from_db()
    assert bookings["past"].status == "done"
    # The ledger: dispensed for this session, the computed total administered, the rest wasted
    # with a second nurse as witness; nothing outstanding.
    assert session_balance(session.ledger_ref).balanced
    kinds = set(LedgerEntry.objects.filter(session_ref=session.ledger_ref).values_list("kind", flat=True))
    assert {EntryKind.DISPENSE, EntryKind.ADMINISTER} <= kinds
    waste = LedgerEntry.objects.filter(session_ref=session.ledger_ref, kind=EntryKind.WASTE).first()
    if waste is not None:
        assert waste.witness is not None and waste.witness != waste.recorded_by
    # Vitals at the protocol's interval while infusing, never a gap longer than it.
    interval = timedelta(minutes=session.protocol_version.vitals_interval_min)
    taken = list(
        session.vitals.filter(phase=VitalPhase.INFUSION).order_by("taken_at").values_list("taken_at", flat=True)
    )
    assert session.started_at is not None
    marks = [session.started_at, *taken]
    assert len(taken) >= 8
    assert max(b - a for a, b in zip(marks, marks[1:], strict=False)) <= interval
    pain = pain_before_after(session)
    assert pain is not None and pain[1] < pain[0]
    latest = session.recovery_scores.order_by("-scored_at").first()
    assert latest is not None and latest.discharge_eligible
    assert not session.alerts.filter(acknowledged_at__isnull=True).exists()
    assert verify_location(world.location.pk).ok
    assert verify_chain().ok


def test_today_each_booking_has_the_record_its_board_status_needs(
    world: World, monkeypatch: pytest.MonkeyPatch, frozen: None
) -> None:
    ctx, bookings = _clinic(world, monkeypatch)
    demo.seed(ctx)
    assert _session(bookings["done"]).status == SessionStatus.SIGNED  # waiting for the co-signature
    assert _session(bookings["recovering"]).status == SessionStatus.RECOVERING
    assert _session(bookings["infusing"]).status == SessionStatus.INFUSING
    checked_in = _session(bookings["checked_in"])
    assert checked_in.status == SessionStatus.CHECKED_IN and checked_in.checklist_completed_at is None
    assert not InfusionSession.objects.filter(booking=bookings["later"]).exists()
    for name in ("done", "recovering", "infusing", "checked_in", "later"):
        bookings[name].refresh_from_db()
    assert [bookings[n].status for n in ("done", "recovering", "infusing", "checked_in", "later")] == [
        "done",
        "recovering",
        "infusing",
        "checked_in",
        "booked",
    ]
    infusing = _session(bookings["infusing"])
    last = infusing.vitals.order_by("-taken_at").first()
    assert last is not None and NOW - last.taken_at <= timedelta(minutes=infusing.protocol_version.vitals_interval_min)
    open_alerts = Alert.objects.filter(acknowledged_at__isnull=True)
    assert {a.session_id for a in open_alerts} == {infusing.pk}
    unvalidated = InfusionSession.objects.filter(
        vitals__source=VitalSource.DEVICE, vitals__validated_at__isnull=True
    ).distinct()
    assert list(unvalidated) == [_session(bookings["recovering"])]
    # The signed record of the day is fully accounted for; the running ones still hold their bag.
    assert session_balance(_session(bookings["done"]).ledger_ref).balanced
    assert not session_balance(infusing.ledger_ref).balanced
    assert all(
        ref.startswith("infusion-session-") for ref in LedgerEntry.objects.values_list("session_ref", flat=True) if ref
    )


def test_the_library_has_history_and_every_booked_patient_an_active_order(
    world: World, monkeypatch: pytest.MonkeyPatch, frozen: None
) -> None:
    ctx, bookings = _clinic(world, monkeypatch)
    demo.seed(ctx)
    induction = Protocol.objects.get(code=demo.INDUCTION)
    versions = list(induction.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].change_note and versions[1].created_at < NOW
    assert versions[1].soft_max_mg_per_kg_h == Decimal("0.800")
    for patient_id in {b.patient_id for b in bookings.values()}:
        assert InfusionOrder.objects.filter(patient_id=patient_id, is_active=True).count() == 1
    sessions = InfusionSession.objects.count()
    demo.seed(ctx)  # a second run adds nothing
    assert InfusionSession.objects.count() == sessions
    assert induction.versions.count() == 2


def test_a_day_by_day_history_can_chart_up_to_a_moment_and_the_seed_finishes_the_rest(
    world: World, monkeypatch: pytest.MonkeyPatch, frozen: None
) -> None:
    ctx, bookings = _clinic(world, monkeypatch)
    demo.chart_through(ctx, datetime.combine(PAST_DAY, time(18), tzinfo=ZONE))
    assert list(InfusionSession.objects.values_list("booking_id", flat=True)) == [bookings["past"].pk]
    assert _session(bookings["past"]).status == SessionStatus.LOCKED
    demo.seed(ctx)
    assert InfusionSession.objects.count() == 5  # past, done, recovering, infusing, checked in
