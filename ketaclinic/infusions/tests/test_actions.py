"""The chairside actions: every write, its refusals (nothing written), limits, alerts,
discharge, drug accountability, signatures and the locked record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.infusions import actions, queries
from ketaclinic.infusions.models import (
    Addendum,
    Alert,
    BagPreparation,
    InfusionOrder,
    InfusionSession,
    MedicationAdministration,
    ProtocolVersion,
    RecoveryScore,
    SessionEvent,
    SideEffect,
    VitalSign,
)
from ketaclinic.infusions.tests.factories import BASELINE, make_session, order, version, witness
from ketaclinic.inventory.actions import WITNESS_FAILURE_REASON
from ketaclinic.inventory.models import LedgerEntry
from ketaclinic.inventory.queries import session_balance
from ketaclinic.inventory.tests.factories import receive
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, next_monday, open_clinic

NORMAL = {"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "resp_rate": 14}
TABLES = (SessionEvent, VitalSign, Alert, BagPreparation, SideEffect, MedicationAdministration, RecoveryScore)


def _counts() -> tuple[int, ...]:
    return (
        *(m.objects.count() for m in TABLES),
        Addendum.objects.count(),
        LedgerEntry.objects.count(),
        AuditEvent.objects.count(),
    )


@contextmanager
def nothing_written(
    expected: type[ValidationError] = ValidationError,
) -> Iterator[pytest.ExceptionInfo[ValidationError]]:
    """The block must raise ``expected`` and leave every chairside table, the ledger and the
    audit trail as they were."""
    before = _counts()
    with pytest.raises(expected) as caught:
        yield caught
    assert _counts() == before


def _level(caught: pytest.ExceptionInfo[ValidationError]) -> str:
    assert isinstance(caught.value, actions.LimitRefused)
    return caught.value.level


def _fresh(session: InfusionSession) -> InfusionSession:
    return InfusionSession.objects.get(pk=session.pk)


def _ago(minutes: float) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)


def _messages(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


def _values(current: ProtocolVersion) -> dict[str, Any]:
    """A version's settings, to publish a changed copy (the change note is given separately)."""
    return model_to_dict(current, fields=[f for f in actions.VERSION_FIELDS if f != "change_note"])


def _with_bolus(**changes: Any) -> ProtocolVersion:
    """Publish a version of the test protocol that allows a bolus (and any other changes)."""
    current = version()
    values = {**_values(current), "bolus_allowed": True, **changes}
    return actions.publish_protocol_version(
        acting_user=None, protocol=current.protocol, values=values, change_note="Allow a low-dose bolus."
    )


# --- Protocol library and orders ----------------------------------------------------------------


def test_a_protocol_starts_with_the_cited_defaults_and_is_audited(world: World) -> None:
    first = version()
    assert first.number == 1
    assert first.soft_max_mg_per_kg_h == Decimal("1.000")
    assert first.hard_max_mg_per_kg_h == Decimal("2.000")
    assert "§1" in first.sources
    assert AuditEvent.objects.filter(object_type="infusions.ProtocolVersion", object_id=str(first.pk)).exists()


def test_a_new_version_needs_a_change_note_and_leaves_the_old_one_alone(world: World) -> None:
    first = version()
    values = {**_values(first), "soft_max_mg_per_kg_h": Decimal("0.8")}
    with nothing_written():
        actions.publish_protocol_version(
            acting_user=world["director"], protocol=first.protocol, values=values, change_note=" "
        )
    second = actions.publish_protocol_version(
        acting_user=world["director"], protocol=first.protocol, values=values, change_note="Tighter soft limit."
    )
    assert second.number == 2
    assert ProtocolVersion.objects.get(pk=first.pk).soft_max_mg_per_kg_h == Decimal("1.000")
    event = AuditEvent.objects.get(object_type="infusions.ProtocolVersion", object_id=str(second.pk))
    assert set(event.changes) == {"soft_max_mg_per_kg_h"}
    assert event.reason == "Tighter soft limit."
    assert event.reason == "Tighter soft limit."


def test_a_version_with_soft_above_hard_is_refused(world: World) -> None:
    first = version()
    values = {**_values(first), "soft_max_mg_per_kg_h": Decimal("3.0")}
    with nothing_written():
        actions.publish_protocol_version(acting_user=None, protocol=first.protocol, values=values, change_note="x")


def test_only_a_prescriber_writes_an_order(world: World) -> None:
    protocol_version = version()
    with nothing_written():
        actions.write_order(acting_user=world["nurse"], patient=world.patient, protocol_version=protocol_version)


def test_an_order_may_narrow_but_not_widen_the_protocol(world: World) -> None:
    version()
    with nothing_written():
        order(world, hard_max_mg_per_kg_h=Decimal("2.5"))
    narrow = order(world, soft_max_mg_per_kg_h=Decimal("0.5"), hard_max_mg_per_kg_h=Decimal("0.8"))
    limits = queries.effective_limits(narrow)
    assert (limits.soft_max_mg_per_kg_h, limits.hard_max_mg_per_kg_h, limits.start_mg_per_kg_h) == (0.5, 0.8, 0.3)
    assert limits.max_total_mg_per_session == 400.0


def test_a_new_order_replaces_the_active_one(world: World) -> None:
    first = order(world)
    second = order(world, max_total_mg_per_session=Decimal("200"))
    assert list(InfusionOrder.objects.filter(patient=world.patient, is_active=True)) == [second]
    assert InfusionOrder.objects.get(pk=first.pk).is_active is False


# --- Check-in and checklist --------------------------------------------------------------------


def test_check_in_needs_an_active_order(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    with nothing_written():
        actions.check_in(acting_user=world["nurse"], booking=booking)


def test_checking_in_twice_opens_one_record(world: World) -> None:
    session = make_session(world, "checked_in")
    assert session.booking is not None
    again = actions.check_in(acting_user=world["nurse"], booking=session.booking)
    assert again.pk == session.pk
    assert InfusionSession.objects.count() == 1
    assert session.protocol_version == version()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weight_kg": "700"}, "weight_kg"),
        ({"weight_kg": "seventy"}, "weight_kg"),
        ({"escort_name": " "}, "escort_name"),
        ({"fasting_confirmed": False}, "fasting_confirmed"),
        ({"pregnancy": "yes"}, "pregnancy"),
        ({"pregnancy": ""}, "pregnancy"),
        ({"items": {}}, "items"),
    ],
)
def test_an_incomplete_checklist_is_refused(world: World, changes: dict[str, Any], field: str) -> None:
    session = make_session(world, "checked_in")
    values: dict[str, Any] = {
        "weight_kg": "70",
        "escort_name": "Sam Escort",
        "escort_phone": "+13035550142",
        "fasting_confirmed": True,
        "pregnancy": "no",
        "items": {item: True for item in session.protocol_version.checklist_items},
        **changes,
    }
    with nothing_written() as caught:
        actions.complete_checklist(acting_user=world["nurse"], session=session, **values)
    assert field in caught.value.message_dict
    assert _fresh(session).status == "checked_in"


def test_a_complete_checklist_makes_the_session_ready(world: World) -> None:
    session = make_session(world, "ready", weight_kg="82.46")
    assert session.status == "ready"
    assert session.weight_kg == Decimal("82.5")
    assert session.escort_name == "Sam Escort"
    assert session.checklist_completed_by == world["nurse"]


# --- Vitals and alerts -------------------------------------------------------------------------


def test_vitals_are_charted_with_their_phase_and_audited(world: World) -> None:
    session = make_session(world, "infusing")
    vital, alerts = actions.record_vitals(acting_user=world["nurse"], session=session, values=NORMAL)
    assert (vital.phase, vital.source, alerts) == ("infusion", "manual", [])
    assert queries.baseline_vitals(session).systolic == BASELINE["systolic"]  # type: ignore[union-attr]
    event = AuditEvent.objects.get(object_type="infusions.VitalSign", object_id=str(vital.pk))
    assert event.patient_id == world.patient.pk
    assert event.actor == world["nurse"]


@pytest.mark.parametrize(
    "values",
    [
        {**NORMAL, "spo2": 140},
        {**NORMAL, "systolic": 70, "diastolic": 90},
        {"heart_rate": "fast"},
        {},
        {**NORMAL, "resp_rate": 12.5},
    ],
)
def test_implausible_vitals_are_refused(world: World, values: dict[str, Any]) -> None:
    session = make_session(world, "infusing")
    with nothing_written():
        actions.record_vitals(acting_user=world["nurse"], session=session, values=values)


def test_vitals_charted_in_the_future_are_refused(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written():
        actions.record_vitals(
            acting_user=world["nurse"], session=session, values=NORMAL, taken_at=timezone.now() + timedelta(minutes=10)
        )


def test_absolute_and_change_alerts_are_raised_and_stored(world: World) -> None:
    session = make_session(world, "infusing")
    # Baseline 124/78: 122/103 is +25 diastolic (change) and above 100 (absolute); HR 130 > 120.
    _vital, alerts = actions.record_vitals(
        acting_user=world["nurse"],
        session=session,
        values={**NORMAL, "systolic": 150, "diastolic": 103, "heart_rate": 130},
    )
    assert sorted((a.kind, a.parameter) for a in alerts) == [
        ("absolute", "diastolic"),
        ("absolute", "heart_rate"),
        ("change", "diastolic"),
    ]
    assert Alert.objects.filter(session=session, acknowledged_at__isnull=True).count() == 3


def test_baseline_vitals_are_not_compared_with_themselves(world: World) -> None:
    session = make_session(world, "ready")
    _vital, alerts = actions.record_vitals(
        acting_user=world["nurse"], session=session, values={**NORMAL, "systolic": 139, "diastolic": 88}
    )
    assert alerts == []


def test_an_alert_is_acknowledged_with_the_action_taken(world: World) -> None:
    session = make_session(world, "infusing")
    _vital, (alert,) = actions.record_vitals(acting_user=world["nurse"], session=session, values={**NORMAL, "spo2": 89})
    with nothing_written():
        actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="  ")
    done = actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="O2 2 L/min, SpO2 96%")
    assert (done.acknowledged_by, done.action_taken) == (world["nurse"], "O2 2 L/min, SpO2 96%")
    assert done.acknowledged_at is not None
    assert AuditEvent.objects.filter(object_type="infusions.Alert", object_id=str(alert.pk)).exists()
    with nothing_written():
        actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="again")


def test_device_vitals_are_one_audit_event_and_need_validation(world: World) -> None:
    session = make_session(world, "infusing")
    before = AuditEvent.objects.count()
    readings = [
        actions.DeviceReading(values={"heart_rate": 80 + i, "spo2": 97}, taken_at=_ago(3 - i), message_id=f"M{i}")
        for i in range(3)
    ]
    stored = actions.record_device_vitals(session=session, readings=readings, device="monitor-1")
    assert len(stored) == 3
    assert AuditEvent.objects.count() == before + 1
    assert all(v.needs_validation for v, _ in stored)
    with nothing_written():
        actions.record_device_vitals(
            session=session,
            readings=[*readings, actions.DeviceReading(values={"spo2": 130}, taken_at=_ago(1), message_id="bad")],
        )
    assert actions.validate_device_vitals(acting_user=world["nurse"], session=session) == 3
    assert not VitalSign.objects.filter(session=session, validated_at__isnull=True, source="device").exists()
    assert actions.validate_device_vitals(acting_user=world["nurse"], session=session) == 0


# --- Baseline block ----------------------------------------------------------------------------


def _high_baseline_session(world: World) -> InfusionSession:
    session = make_session(world, "ready")
    actions.record_vitals(
        acting_user=world["nurse"], session=session, values={**BASELINE, "systolic": 152, "diastolic": 96}
    )
    return session


def test_a_high_baseline_blocks_the_start(world: World) -> None:
    session = _high_baseline_session(world)
    with nothing_written() as caught:
        actions.start_infusion(acting_user=world["nurse"], session=session)
    assert "systolic 152 mmHg is above 140 mmHg" in _messages(caught)
    assert _fresh(session).status == "ready"


def test_only_a_prescriber_overrides_a_baseline_block_and_only_with_a_reason(world: World) -> None:
    session = _high_baseline_session(world)
    with nothing_written():
        actions.override_baseline(acting_user=world["nurse"], session=session, reason="Known hypertension")
    with nothing_written():
        actions.override_baseline(acting_user=world["prescriber"], session=session, reason=" ")
    actions.override_baseline(acting_user=world["prescriber"], session=session, reason="Known hypertension, treated")
    session = _fresh(session)
    assert (session.baseline_override_by, session.baseline_override_reason) == (
        world["prescriber"],
        "Known hypertension, treated",
    )
    event = actions.start_infusion(acting_user=world["nurse"], session=session)
    assert event.kind == "start"
    assert _fresh(session).status == "infusing"


def test_the_start_needs_a_baseline(world: World) -> None:
    session = make_session(world, "ready")
    VitalSign.objects.filter(session=session).delete()
    with nothing_written():
        actions.start_infusion(acting_user=world["nurse"], session=session)


# --- Start and titration limits ----------------------------------------------------------------


def test_the_start_uses_the_orders_start_dose_and_computed_pump_rate(world: World) -> None:
    session = make_session(world, "infusing", weight_kg="80")
    start = session.events.get()
    assert (start.kind, start.dose_mg_per_kg_h, start.pump_rate_ml_per_h) == (
        "start",
        Decimal("0.300"),
        Decimal("24.0"),
    )
    bag = session.bags.get()
    assert (bag.pump_rate_confirmed_ml_per_h, bag.pump_confirmed_by) == (Decimal("24.0"), world["nurse"])
    assert session.booking.status == "infusing"  # type: ignore[union-attr]


def test_a_wrongly_programmed_pump_rate_is_refused(world: World) -> None:
    session = make_session(world, "ready")
    with nothing_written() as caught:
        actions.start_infusion(acting_user=world["nurse"], session=session, pump_rate_ml_per_h="210")
    assert "21.0 mL/h" in caught.value.message_dict["pump_rate_ml_per_h"][0]


def test_nurse_cannot_exceed_hard_limit(world: World) -> None:
    session = make_session(world, "infusing")
    for who in ("nurse", "prescriber"):
        with nothing_written(actions.LimitRefused) as caught:
            actions.set_rate(
                acting_user=world[who],
                session=session,
                dose_mg_per_kg_h="2.1",
                reason="Pain",
                override_reason="Refractory pain",
            )
        assert _level(caught) == "hard"
        assert "hard limit of 2 mg/kg/h" in _messages(caught)


def test_the_hard_limit_applies_at_the_start_too(world: World) -> None:
    session = make_session(world, "ready")
    with nothing_written():
        actions.start_infusion(
            acting_user=world["prescriber"], session=session, dose_mg_per_kg_h="2.5", override_reason="x"
        )


def test_above_the_soft_limit_needs_a_reason(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written(actions.LimitRefused) as caught:
        actions.set_rate(acting_user=world["prescriber"], session=session, dose_mg_per_kg_h="1.2", reason="Pain")
    assert _level(caught) == "soft"
    assert "Give an override reason" in _messages(caught)


def test_a_nurses_soft_override_needs_a_prescriber(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written(actions.LimitRefused) as caught:
        actions.set_rate(
            acting_user=world["nurse"], session=session, dose_mg_per_kg_h="1.2", reason="Pain", override_reason="OK"
        )
    assert "A prescriber must acknowledge" in _messages(caught)
    # A prescriber's name alone is not an acknowledgement: they re-enter their password.
    wrong_password = actions.WitnessCredential(username="prescriber", password="not-the-password")
    with pytest.raises(ValidationError):
        actions.set_rate(
            acting_user=world["nurse"],
            session=session,
            dose_mg_per_kg_h="1.2",
            reason="Pain",
            override_reason="OK",
            prescriber=wrong_password,
        )
    assert not session.events.filter(kind="titrate").exists()


def test_a_prescriber_at_the_chair_acknowledges_a_nurses_soft_override(world: World) -> None:
    session = make_session(world, "infusing")
    event = actions.set_rate(
        acting_user=world["nurse"],
        session=session,
        dose_mg_per_kg_h="1.2",
        reason="Pain 8/10",
        override_reason="Tolerating well",
        prescriber=witness(),
    )
    assert (event.limit_level, event.override_by, event.recorded_by) == ("soft", world["prescriber"], world["nurse"])
    assert event.pump_rate_ml_per_h == Decimal("84.0")
    audit = AuditEvent.objects.get(object_type="infusions.SessionEvent", object_id=str(event.pk))
    assert audit.changes["override_by"] == [None, "prescriber"]
    assert audit.changes["limit_level"] == [None, "soft"]


def test_narrowed_order_limits_apply(world: World) -> None:
    order(world, soft_max_mg_per_kg_h=Decimal("0.4"), hard_max_mg_per_kg_h=Decimal("0.5"))
    session = make_session(world, "infusing")
    with pytest.raises(actions.LimitRefused) as soft:
        actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.45", reason="Pain")
    assert (soft.value.level, "soft limit of 0.4" in _messages(soft)) == ("soft", True)
    with pytest.raises(actions.LimitRefused) as hard:
        actions.set_rate(
            acting_user=world["prescriber"], session=session, dose_mg_per_kg_h="0.6", reason="Pain", override_reason="x"
        )
    assert (hard.value.level, "hard limit of 0.5" in _messages(hard)) == ("hard", True)
    ok = actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.4", reason="Pain")
    assert ok.limit_level == "ok"


def test_a_step_bigger_than_the_protocols_is_soft(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written(actions.LimitRefused) as caught:
        actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.5", reason="Pain")
    assert "step of 0.200 mg/kg/h" in _messages(caught) or "step of 0.2" in _messages(caught)
    event = actions.set_rate(
        acting_user=world["prescriber"], session=session, dose_mg_per_kg_h="0.5", reason="Pain", override_reason="x"
    )
    assert event.limit_level == "soft"


def test_steps_sooner_than_the_protocols_interval_are_soft_but_decreases_are_not(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=40)
    actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.4", reason="Pain", at=_ago(10))
    with nothing_written(actions.LimitRefused) as caught:
        actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.5", reason="Pain")
    assert "15 min" in _messages(caught)
    down = actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.3", reason="Nausea")
    assert down.limit_level == "ok"
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        up = actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.4", reason="Pain")
    assert up.limit_level == "ok"


def test_the_same_rate_again_is_refused(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written():
        actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.300", reason="Pain")


def test_a_rate_change_needs_a_reason_and_a_sensible_number(world: World) -> None:
    session = make_session(world, "infusing")
    for dose, reason in (("0.4", " "), ("-0.1", "Pain"), ("0", "Pain"), ("abc", "Pain"), ("40", "Pain")):
        with nothing_written():
            actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h=dose, reason=reason)


def test_a_back_dated_event_before_the_last_one_is_refused(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    with nothing_written() as caught:
        actions.set_rate(
            acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.2", reason="Nausea", at=_ago(90)
        )
    assert "at" in caught.value.message_dict
    with nothing_written():
        actions.pause_infusion(acting_user=world["nurse"], session=session, reason="Toilet", at=_ago(61))
    assert queries.session_totals(session) is not None


def test_the_session_maximum_stops_increases_and_resumes(world: World) -> None:
    # 0.3 mg/kg/h × 70 kg for 60 min is 21 mg, past an order's 20 mg maximum.
    order(world, max_total_mg_per_session=Decimal("20"))
    session = make_session(world, "infusing", started_minutes_ago=60)
    with nothing_written(actions.LimitRefused) as caught:
        actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.4", reason="Pain")
    assert (_level(caught), "session maximum of 20 mg" in _messages(caught)) == ("hard", True)
    actions.pause_infusion(acting_user=world["nurse"], session=session, reason="Maximum reached")
    with nothing_written():
        actions.resume_infusion(acting_user=world["nurse"], session=session)
    actions.stop_infusion(acting_user=world["nurse"], session=session)
    assert _fresh(session).status == "recovering"


# --- Bolus -------------------------------------------------------------------------------------


def test_a_bolus_is_refused_unless_the_protocol_allows_it(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written() as caught:
        actions.give_bolus(acting_user=world["nurse"], session=session, bolus_mg="10", reason="Pain spike")
    assert "does not allow a bolus" in _messages(caught)


def test_a_bolus_respects_the_per_kg_maximum_and_the_session_total(world: World) -> None:
    _with_bolus()
    order(world, max_total_mg_per_session=Decimal("40"))
    session = make_session(world, "infusing", started_minutes_ago=60)  # 21 mg so far
    with nothing_written(actions.LimitRefused) as per_kg:
        actions.give_bolus(acting_user=world["nurse"], session=session, bolus_mg="36", reason="Pain")
    assert "0.50 mg/kg (35.0 mg)" in _messages(per_kg)
    with nothing_written():
        actions.give_bolus(acting_user=world["nurse"], session=session, bolus_mg="0", reason="Pain")
    with nothing_written():
        actions.give_bolus(acting_user=world["nurse"], session=session, bolus_mg="10", reason=" ")
    with nothing_written(actions.LimitRefused) as total:
        actions.give_bolus(acting_user=world["nurse"], session=session, bolus_mg="20", reason="Pain")
    assert "session maximum of 40 mg" in _messages(total)
    event = actions.give_bolus(acting_user=world["nurse"], session=session, bolus_mg="15", reason="Pain spike")
    assert (event.kind, event.bolus_mg) == ("bolus", Decimal("15.00"))
    totals = queries.session_totals(session)
    assert totals is not None
    assert totals.total_mg == pytest.approx(36.0, abs=0.1)


# --- Timeline totals ---------------------------------------------------------------------------


def test_totals_come_from_the_timeline(world: World) -> None:
    session = make_session(world, "ready")
    nurse = world["nurse"]
    now = timezone.now()
    actions.start_infusion(acting_user=nurse, session=session, at=now - timedelta(minutes=120))
    actions.set_rate(
        acting_user=nurse, session=session, dose_mg_per_kg_h="0.4", reason="Pain 6/10", at=now - timedelta(minutes=90)
    )
    actions.pause_infusion(acting_user=nurse, session=session, reason="Toilet", at=now - timedelta(minutes=60))
    assert _fresh(session).status == "paused"
    actions.resume_infusion(acting_user=nurse, session=session, at=now - timedelta(minutes=50))
    actions.stop_infusion(acting_user=nurse, session=session, at=now - timedelta(minutes=20))
    session = _fresh(session)
    totals = queries.session_totals(session)
    # 0.3 × 70 × 0.5 h + 0.4 × 70 × (0.5 + 0.5) h = 10.5 + 28 = 38.5 mg of a 1 mg/mL bag.
    assert totals is not None
    assert totals.total_mg == pytest.approx(38.5, abs=1e-6)
    assert totals.total_ml == pytest.approx(38.5, abs=1e-6)
    assert totals.infusion_min == pytest.approx(90.0, abs=1e-6)
    assert [e.kind for e in session.events.all()] == ["start", "titrate", "pause", "resume", "stop"]
    assert session.stopped_at == session.events.get(kind="stop").at


def test_state_rules_refuse_events_out_of_turn(world: World) -> None:
    session = make_session(world, "infusing")
    with nothing_written():
        actions.resume_infusion(acting_user=world["nurse"], session=session)
    with nothing_written():
        actions.pause_infusion(acting_user=world["nurse"], session=session, reason=" ")
    with nothing_written():
        actions.start_infusion(acting_user=world["nurse"], session=session)
    actions.stop_infusion(acting_user=world["nurse"], session=session)
    with nothing_written():
        actions.set_rate(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="0.4", reason="Pain")


# --- Side effects, medications, recovery -------------------------------------------------------


def test_side_effects_and_medications_are_recorded(world: World) -> None:
    session = make_session(world, "infusing")
    effect = actions.record_side_effect(
        acting_user=world["nurse"], session=session, kind="nausea", severity="mild", outcome="resolved"
    )
    med = actions.record_medication(
        acting_user=world["nurse"],
        session=session,
        drug="Ondansetron",
        dose="4",
        dose_unit="mg",
        route="iv",
        side_effect=effect,
    )
    med = MedicationAdministration.objects.get(pk=med.pk)
    assert (str(med), med.side_effect, med.given_by) == ("Ondansetron 4.00 mg iv", effect, world["nurse"])
    assert AuditEvent.objects.filter(object_type="infusions.MedicationAdministration", object_id=str(med.pk)).exists()
    with nothing_written():
        actions.record_side_effect(
            acting_user=world["nurse"], session=session, kind="other", severity="mild", outcome="resolved"
        )
    with nothing_written():
        actions.record_side_effect(
            acting_user=world["nurse"], session=session, kind="nausea", severity="awful", outcome="resolved"
        )
    with nothing_written():
        actions.record_medication(
            acting_user=world["nurse"], session=session, drug="Ondansetron", dose="0", dose_unit="mg", route="iv"
        )


def test_an_aldrete_score_is_only_for_recovery_and_each_item_is_0_to_2(world: World) -> None:
    infusing = make_session(world, "infusing")
    with nothing_written():
        actions.record_recovery_score(
            acting_user=world["nurse"],
            session=infusing,
            activity=2,
            respiration=2,
            circulation=2,
            consciousness=2,
            oxygen_saturation=2,
        )
    actions.stop_infusion(acting_user=world["nurse"], session=infusing)
    with nothing_written():
        actions.record_recovery_score(
            acting_user=world["nurse"],
            session=infusing,
            activity=3,
            respiration=2,
            circulation=2,
            consciousness=2,
            oxygen_saturation=2,
        )
    score = actions.record_recovery_score(
        acting_user=world["nurse"],
        session=infusing,
        activity=2,
        respiration=2,
        circulation=1,
        consciousness=2,
        oxygen_saturation=2,
    )
    assert (score.total, score.threshold, score.variant, score.discharge_eligible) == (9, 9, "mmhg_20", True)


# --- Discharge ---------------------------------------------------------------------------------


def _score(world: World, session: InfusionSession, total_items: tuple[int, int, int, int, int]) -> None:
    a, r, c, k, o = total_items
    actions.record_recovery_score(
        acting_user=world["nurse"],
        session=session,
        activity=a,
        respiration=r,
        circulation=c,
        consciousness=k,
        oxygen_saturation=o,
    )


def test_discharge_waits_for_the_minimum_recovery(world: World) -> None:
    session = make_session(world, "recovering")  # stopped 5 min ago; the protocol wants 60 min
    _score(world, session, (2, 2, 2, 2, 2))
    blockers = actions.discharge_blockers(_fresh(session))
    assert len(blockers) == 1
    assert blockers[0].startswith("Minimum recovery of 60 min: ")
    assert blockers[0].endswith(" min to go.")
    with nothing_written():
        actions.discharge(acting_user=world["nurse"], session=session, escort_name="Sam Escort")
    with time_machine.travel(timezone.now() + timedelta(minutes=56)):
        done = actions.discharge(acting_user=world["nurse"], session=session, escort_name="sam escort")
    assert (done.status, done.discharged_to, done.discharged_by) == ("discharged", "sam escort", world["nurse"])
    assert _fresh(session).booking.status == "done"  # type: ignore[union-attr]


def test_discharge_needs_a_passing_aldrete_no_open_alerts_and_the_named_escort(world: World) -> None:
    session = make_session(world, "recovering")
    later = timezone.now() + timedelta(minutes=61)
    with time_machine.travel(later):
        assert "Score recovery (modified Aldrete) before discharge." in actions.discharge_blockers(_fresh(session))
        _score(world, session, (2, 2, 1, 1, 2))
        assert "Latest Aldrete score 8/10 is below the discharge threshold of 9." in actions.discharge_blockers(
            _fresh(session)
        )
        _score(world, session, (2, 2, 2, 2, 2))
        _vital, (alert,) = actions.record_vitals(
            acting_user=world["nurse"], session=session, values={**NORMAL, "spo2": 90}
        )
        assert "1 alert(s) not yet acknowledged." in actions.discharge_blockers(_fresh(session))
        with nothing_written():
            actions.discharge(acting_user=world["nurse"], session=session, escort_name="Sam Escort")
        actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="Rechecked: 97% on room air")
        assert actions.discharge_blockers(_fresh(session)) == []
        with nothing_written():
            actions.discharge(acting_user=world["nurse"], session=session, escort_name="Someone Else")
        actions.discharge(acting_user=world["nurse"], session=session, escort_name="Sam Escort")
    assert _fresh(session).status == "discharged"


# --- Drug accountability -----------------------------------------------------------------------


def test_accounting_for_the_drug_balances_the_sessions_ledger(world: World) -> None:
    session = make_session(world, "discharged")
    assert session_balance(session.ledger_ref).balanced is False
    totals = queries.session_totals(session)
    assert totals is not None
    actions.account_for_drug(acting_user=world["nurse"], session=session, waste_method="denaturing", witness=witness())
    balance = session_balance(session.ledger_ref)
    assert balance.balanced is True
    assert balance.dispensed_ml == Decimal("5.000")
    administered = LedgerEntry.objects.get(session_ref=session.ledger_ref, kind="administer")
    assert administered.mg == Decimal(str(totals.total_mg)).quantize(Decimal("0.01"))
    waste = LedgerEntry.objects.get(session_ref=session.ledger_ref, kind="waste")
    assert waste.ml == balance.dispensed_ml - administered.ml
    with nothing_written():
        actions.account_for_drug(
            acting_user=world["nurse"], session=session, waste_method="denaturing", witness=witness()
        )


@pytest.mark.parametrize(
    "credential",
    [
        None,
        actions.WitnessCredential(username="nurse", password=PASSWORD),
        actions.WitnessCredential(username="", password=""),
    ],
)
def test_waste_needs_a_second_person_as_witness(world: World, credential: actions.WitnessCredential | None) -> None:
    session = make_session(world, "discharged")
    with nothing_written():
        actions.account_for_drug(
            acting_user=world["nurse"], session=session, waste_method="denaturing", witness=credential
        )
    assert session_balance(session.ledger_ref).balanced is False


def test_two_bags_from_one_vial_are_accounted_for(world: World) -> None:
    session = make_session(world, "ready")
    actions.start_infusion(acting_user=world["nurse"], session=session, dose_mg_per_kg_h="1.0", at=_ago(260))
    vial = session.bags.get().container
    assert vial is not None
    actions.prepare_bag(
        acting_user=world["nurse"], session=session, container=vial, vial_ml_drawn="5", final_volume_ml="250"
    )
    actions.stop_infusion(acting_user=world["nurse"], session=session)
    session = _fresh(session)
    actions.account_for_drug(acting_user=world["nurse"], session=session, waste_method="denaturing", witness=witness())
    balance = session_balance(session.ledger_ref)
    assert balance.balanced is True
    mg = sum(e.mg for e in LedgerEntry.objects.filter(session_ref=session.ledger_ref, kind="administer"))
    assert mg == pytest.approx(Decimal("303.33"), abs=Decimal("0.02"))  # 1.0 × 70 × 260/60


def test_a_bag_must_be_an_allowed_concentration_from_this_location(world: World) -> None:
    session = make_session(world, "ready")
    vial = session.bags.get().container
    assert vial is not None
    with nothing_written():
        actions.prepare_bag(
            acting_user=world["nurse"], session=session, container=vial, vial_ml_drawn="3", final_volume_ml="250"
        )
    away = receive(world, location=world.other_location)[0]
    with nothing_written() as caught:
        actions.prepare_bag(
            acting_user=world["nurse"], session=session, container=away, vial_ml_drawn="5", final_volume_ml="250"
        )
    assert "container" in caught.value.message_dict
    with nothing_written():
        actions.prepare_bag(
            acting_user=world["nurse"], session=session, container=vial, vial_ml_drawn="5", final_volume_ml="4"
        )


# --- Signatures and the locked record ----------------------------------------------------------


def test_signing_is_blocked_by_device_vitals_open_alerts_and_an_unbalanced_ledger(world: World) -> None:
    session = make_session(world, "recovering")
    actions.record_device_vitals(
        session=session, readings=[actions.DeviceReading(values={"heart_rate": 70}, taken_at=_ago(1), message_id="X")]
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        _score(world, session, (2, 2, 2, 2, 2))
        actions.discharge(acting_user=world["nurse"], session=session, escort_name="Sam Escort")
        # A late set after discharge (still chartable until signed) raises an alert.
        _vital, (alert,) = actions.record_vitals(
            acting_user=world["nurse"], session=session, values={**NORMAL, "spo2": 90}
        )
    blockers = actions.sign_blockers(_fresh(session))
    assert blockers == [
        "Review and validate 1 monitor reading(s).",
        "Acknowledge 1 alert(s).",
        "Ketamine not accounted for: dispensed 5.000 mL, administered 0.000 mL, wasted 0.000 mL.",
    ]
    with nothing_written():
        actions.nurse_sign(acting_user=world["nurse"], session=session)
    actions.validate_device_vitals(acting_user=world["nurse"], session=session)
    actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="Rechecked 97%")
    actions.account_for_drug(acting_user=world["nurse"], session=session, waste_method="denaturing", witness=witness())
    assert actions.sign_blockers(_fresh(session)) == []
    signed = actions.nurse_sign(acting_user=world["nurse"], session=session)
    assert (signed.status, signed.nurse_signed_by) == ("signed", world["nurse"])


def test_signing_needs_a_discharged_patient(world: World) -> None:
    session = make_session(world, "recovering")
    assert "Discharge the patient first." in actions.sign_blockers(session)
    with nothing_written():
        actions.nurse_sign(acting_user=world["nurse"], session=session)


def test_cosign_by_a_second_prescriber_locks_the_record(world: World) -> None:
    session = make_session(world, "signed")
    with nothing_written():
        actions.cosign(acting_user=world["nurse"], session=session)
    locked = actions.cosign(acting_user=world["prescriber"], session=session)
    assert (locked.status, locked.cosigned_by, locked.is_locked) == ("locked", world["prescriber"], True)
    assert AuditEvent.objects.filter(
        object_type="infusions.InfusionSession", object_id=str(session.pk), changes__status=["signed", "locked"]
    ).exists()
    with nothing_written():
        actions.cosign(acting_user=world["director"], session=session)


def test_the_nurse_who_signed_cannot_cosign(world: World) -> None:
    session = make_session(world, "discharged")
    actions.account_for_drug(acting_user=world["nurse"], session=session, waste_method="denaturing", witness=witness())
    actions.nurse_sign(acting_user=world["prescriber"], session=session)
    with nothing_written() as caught:
        actions.cosign(acting_user=world["prescriber"], session=session)
    assert "second person" in _messages(caught)
    assert actions.cosign(acting_user=world["director"], session=session).status == "locked"


@pytest.mark.parametrize("stage", ["signed", "locked"])
def test_nothing_changes_once_signed(world: World, stage: str) -> None:
    session = make_session(world, stage)
    nurse = world["nurse"]
    vial = receive(world)[0]
    changes: list[Callable[[], object]] = [
        lambda: actions.record_vitals(acting_user=nurse, session=session, values=NORMAL),
        lambda: actions.set_rate(acting_user=nurse, session=session, dose_mg_per_kg_h="0.4", reason="x"),
        lambda: actions.stop_infusion(acting_user=nurse, session=session),
        lambda: actions.record_side_effect(
            acting_user=nurse, session=session, kind="nausea", severity="mild", outcome="resolved"
        ),
        lambda: actions.record_medication(
            acting_user=nurse, session=session, drug="Ondansetron", dose="4", dose_unit="mg", route="iv"
        ),
        lambda: actions.validate_device_vitals(acting_user=nurse, session=session),
        lambda: actions.discharge(acting_user=nurse, session=session, escort_name="Sam Escort"),
        lambda: actions.account_for_drug(
            acting_user=nurse, session=session, waste_method="denaturing", witness=witness()
        ),
        lambda: actions.override_baseline(acting_user=world["prescriber"], session=session, reason="x"),
        lambda: actions.prepare_bag(
            acting_user=nurse, session=session, container=vial, vial_ml_drawn="5", final_volume_ml="250"
        ),
    ]
    for change in changes:
        with nothing_written():
            change()
    assert _fresh(session).status == stage


def test_an_addendum_is_for_signed_records_only(world: World) -> None:
    open_session = make_session(world, "discharged")
    with nothing_written() as caught:
        actions.add_addendum(acting_user=world["nurse"], session=open_session, text="Late entry")
    assert "Chart directly" in _messages(caught)


def test_an_addendum_corrects_a_locked_record(world: World) -> None:
    session = make_session(world, "locked")
    with nothing_written():
        actions.add_addendum(acting_user=world["nurse"], session=session, text="  ")
    addendum = actions.add_addendum(
        acting_user=world["nurse"], session=session, text="Pain at discharge was 2/10, not 3/10."
    )
    assert (addendum.author, addendum.text) == (world["nurse"], "Pain at discharge was 2/10, not 3/10.")
    assert AuditEvent.objects.filter(object_type="infusions.Addendum", object_id=str(addendum.pk)).exists()


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("infusions_sessionevent", "reason", "'edited'"),
        ("infusions_addendum", "text", "'edited'"),
        ("infusions_protocolversion", "hard_max_mg_per_kg_h", "9"),
    ],
)
def test_append_only_rows_refuse_update_and_delete_in_the_database(
    world: World, table: str, column: str, value: str
) -> None:
    session = make_session(world, "locked")
    actions.add_addendum(acting_user=world["nurse"], session=session, text="Note")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = {value}")  # noqa: S608 - fixed test names
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed test names


# --- Property: totals equal a hand computation --------------------------------------------------

# At most 9 × 30 min at ≤1.0 mg/kg/h × 83.7 kg stays under the 400 mg session maximum.
STEP = st.tuples(st.integers(min_value=1, max_value=30), st.sampled_from(["titrate", "pause"]), st.integers(1, 10))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first_dose=st.integers(1, 10),
    steps=st.lists(STEP, min_size=0, max_size=8),
    tail=st.integers(min_value=1, max_value=30),
)
def test_totals_equal_a_hand_computation_for_any_timeline(
    world: World, first_dose: int, steps: list[tuple[int, str, int]], tail: int
) -> None:
    """Doses are tenths of mg/kg/h (0.1–1.0); a "pause" step pauses a running pump or resumes a
    paused one. The prescriber charts, so step-size and interval soft rules are acknowledged."""
    session = _property_session(world)
    prescriber = world["prescriber"]
    weight = Fraction(str(session.weight_kg))
    concentration = Fraction(str(session.bags.get().concentration_mg_per_ml))
    minutes = sum(gap for gap, _k, _d in steps) + tail
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes + 1)
    expected_mg, running_min = Fraction(0), 0
    dose, running, at = Fraction(first_dose, 10), True, start
    with transaction.atomic():
        actions.start_infusion(
            acting_user=prescriber,
            session=session,
            dose_mg_per_kg_h=Decimal(first_dose) / 10,
            override_reason="test",
            at=start,
        )
        for gap, kind, tenths in [*steps, (tail, "stop", 0)]:
            if running:
                expected_mg += dose * weight * Fraction(gap, 60)
                running_min += gap
            at += timedelta(minutes=gap)
            if kind == "stop":
                actions.stop_infusion(acting_user=prescriber, session=session, at=at)
            elif kind == "pause":
                if running:
                    actions.pause_infusion(acting_user=prescriber, session=session, reason="test", at=at)
                else:
                    actions.resume_infusion(acting_user=prescriber, session=session, at=at)
                running = not running
            elif running and Fraction(tenths, 10) != dose:
                dose = Fraction(tenths, 10)
                actions.set_rate(
                    acting_user=prescriber,
                    session=session,
                    dose_mg_per_kg_h=Decimal(tenths) / 10,
                    reason="test",
                    override_reason="test",
                    at=at,
                )
        charted = _fresh(session)
        totals = queries.session_totals(charted)
        assert totals is not None
        assert totals.total_mg == pytest.approx(float(expected_mg), rel=1e-12, abs=1e-9)
        assert totals.total_ml == pytest.approx(float(expected_mg / concentration), rel=1e-12, abs=1e-9)
        assert totals.infusion_min == pytest.approx(running_min, abs=1e-9)
        # The pump's mL/h (rounded to 0.1) × hours × mg/mL gives the same mg to within the rounding.
        pump_mg, rounding_bound, rate = Fraction(0), Fraction(0), Fraction(0)
        segment_start: datetime | None = None
        for event in charted.events.order_by("at", "pk"):
            if segment_start is not None:
                hours = Fraction(int((event.at - segment_start).total_seconds()), 3600)
                pump_mg += rate * hours * concentration
                rounding_bound += Fraction(1, 20) * hours * concentration
            if event.pump_rate_ml_per_h is not None:
                rate = Fraction(str(event.pump_rate_ml_per_h))
            if event.kind in {"start", "resume"} or (event.kind == "titrate" and segment_start is not None):
                segment_start = event.at
            elif event.kind in {"pause", "stop"}:
                segment_start = None
        assert abs(pump_mg - expected_mg) <= rounding_bound + Fraction(1, 10**9)
        transaction.set_rollback(True)


def _property_session(world: World) -> InfusionSession:
    found = InfusionSession.objects.filter(patient=world.patient).first()
    return _fresh(found) if found else make_session(world, "ready", weight_kg="83.7")


def test_a_wrong_prescriber_password_for_an_override_is_refused_but_stays_on_the_audit_trail(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    events_before = SessionEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        actions.set_rate(
            acting_user=world["nurse"],
            session=session,
            dose_mg_per_kg_h="1.1",
            reason="pain 7/10",
            override_reason="prescriber at bedside agrees",
            prescriber=actions.WitnessCredential(username="prescriber", password="not-the-password"),
        )
    assert "prescriber_password" in refused.value.message_dict
    assert SessionEvent.objects.count() == events_before
    failure = AuditEvent.objects.filter(
        action=AuditEvent.Action.SIGN_IN_FAILED, actor_username="prescriber", reason=WITNESS_FAILURE_REASON
    )
    assert failure.count() == 1


def test_a_wrong_waste_witness_password_is_refused_but_stays_on_the_audit_trail(world: World) -> None:
    session = make_session(world, "discharged")
    with pytest.raises(ValidationError):
        actions.account_for_drug(
            acting_user=world["nurse"],
            session=session,
            waste_method="denaturing",
            witness=actions.WitnessCredential(username="prescriber", password="wrong"),
        )
    assert not session_balance(session.ledger_ref).balanced
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SIGN_IN_FAILED, actor_username="prescriber", reason=WITNESS_FAILURE_REASON
    ).exists()
