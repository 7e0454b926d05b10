"""Chairside test data made through the real actions: protocol with its cited first version,
an order, a booking, and a session taken as far along as a test needs."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import time_machine
from django.utils import timezone

from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import InfusionOrder, InfusionSession, ProtocolVersion
from ketaclinic.inventory.models import Container
from ketaclinic.inventory.tests.factories import receive
from ketaclinic.scheduling.actions import BookingConflict
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, next_monday, open_clinic, protocol

BASELINE = {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98, "resp_rate": 14, "pain_nrs": 7}
STAGES = ("checked_in", "ready", "infusing", "recovering", "discharged", "signed", "locked")


def version() -> ProtocolVersion:
    current = protocol().current_version
    if current is None:  # pragma: no cover - create_protocol always publishes version 1
        raise AssertionError("protocol without a version")
    return current


def order(w: World, **limits: Decimal | None) -> InfusionOrder:
    return actions.write_order(
        acting_user=w["prescriber"],
        patient=w.patient,
        protocol_version=version(),
        **limits,  # type: ignore[arg-type]
    )


def witness() -> actions.WitnessCredential:
    return actions.WitnessCredential(username="prescriber", password=PASSWORD)


def _free_booking(w: World, first_day: date, chair_index: int) -> Booking:
    """An induction booking on the first weekday slot where the patient and chair are free
    after next Monday (other tests and route tables book next Monday 09:00)."""
    for offset in range(1, 29):  # from Tuesday: route tables book Monday 09:00 themselves
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in (9, 13):
            try:
                return book_infusion(w, day, time(hour), chairs(w)[chair_index])
            except BookingConflict:
                continue
    raise AssertionError("no free slot in four weeks")


def make_session(
    w: World,
    stage: str = "infusing",
    *,
    weight_kg: str = "70.0",
    chair_index: int = 0,
    started_minutes_ago: int = 60,
    container: Container | None = None,
) -> InfusionSession:
    """A session at ``stage`` (one of STAGES) for the world's patient at the home location.

    Infusing sessions start ``started_minutes_ago`` minutes ago at the order's start dose from
    a 1 mg/mL bag (5 mL of 50 mg/mL in 250 mL). Later stages stop 5 minutes ago and back-date
    nothing else, so discharge-time rules are checked against real elapsed time by the caller.
    """
    if InfusionOrder.objects.filter(patient=w.patient, is_active=True).first() is None:
        order(w)
    first_day = next_monday()
    open_clinic(w, first_day)
    booking = _free_booking(w, first_day, chair_index)
    nurse = w["nurse"]
    session = actions.check_in(acting_user=nurse, booking=booking)
    if stage == "checked_in":
        return session
    session = actions.complete_checklist(
        acting_user=nurse,
        session=session,
        weight_kg=weight_kg,
        escort_name="Sam Escort",
        escort_phone="+13035550142",
        fasting_confirmed=True,
        pregnancy="no",
        items={item: True for item in session.protocol_version.checklist_items},
    )
    now = timezone.now()
    actions.record_vitals(
        acting_user=nurse, session=session, values=BASELINE, taken_at=now - timedelta(minutes=started_minutes_ago + 5)
    )
    vial = container or receive(w)[0]
    actions.prepare_bag(acting_user=nurse, session=session, container=vial, vial_ml_drawn="5", final_volume_ml="250")
    if stage == "ready":
        return InfusionSession.objects.get(pk=session.pk)
    actions.start_infusion(acting_user=nurse, session=session, at=now - timedelta(minutes=started_minutes_ago))
    if stage == "infusing":
        return InfusionSession.objects.get(pk=session.pk)
    actions.stop_infusion(acting_user=nurse, session=session, at=now - timedelta(minutes=5))
    session = InfusionSession.objects.get(pk=session.pk)
    if stage == "recovering":
        return session
    # Discharge needs the protocol's minimum recovery: move the clock rather than the rule.
    with time_machine.travel(now + timedelta(minutes=session.protocol_version.recovery_min_minutes + 1), tick=False):
        actions.record_vitals(acting_user=nurse, session=session, values={**BASELINE, "pain_nrs": 3})
        actions.record_recovery_score(
            acting_user=nurse,
            session=session,
            activity=2,
            respiration=2,
            circulation=2,
            consciousness=2,
            oxygen_saturation=2,
        )
        actions.discharge(acting_user=nurse, session=session, escort_name="Sam Escort")
        if stage == "discharged":
            return InfusionSession.objects.get(pk=session.pk)
        actions.account_for_drug(acting_user=nurse, session=session, waste_method="denaturing", witness=witness())
        actions.nurse_sign(acting_user=nurse, session=session)
        if stage == "signed":
            return InfusionSession.objects.get(pk=session.pk)
        actions.cosign(acting_user=w["prescriber"], session=session)
    return InfusionSession.objects.get(pk=session.pk)
