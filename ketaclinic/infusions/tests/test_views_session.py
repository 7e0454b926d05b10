"""The chairside session page through the Django test client: each stage renders, each action
charts through its endpoint, refusals show their message beside the field with nothing written,
the live-update endpoints, and a query count that does not grow with the flowsheet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import (
    Addendum,
    Alert,
    EventKind,
    InfusionSession,
    SessionEvent,
    SessionStatus,
    VitalPhase,
    VitalSign,
    VitalSource,
)
from ketaclinic.infusions.tests.factories import BASELINE, STAGES, make_session
from ketaclinic.infusions.views_session import (
    FLOWSHEET_ROWS_SHOWN,
    format_minutes,
    local_datetime,
    witness_field_names,
)
from ketaclinic.inventory.queries import session_balance
from ketaclinic.inventory.tests.factories import receive


def page(session: InfusionSession) -> str:
    return reverse("infusions:session", kwargs={"pk": session.pk})


def url(name: str, session: InfusionSession, **kw: Any) -> str:
    return reverse(f"infusions:session_{name}", kwargs={"pk": session.pk, **kw})


def nurse(world: World) -> Client:
    return signed_in_client(world["nurse"])


def text(response: Any) -> str:
    return str(response.content.decode())


def fresh(session: InfusionSession) -> InfusionSession:
    return InfusionSession.objects.get(pk=session.pk)


# --- The page at each stage ---------------------------------------------------------------------

STAGE_TEXT = {
    "checked_in": "Pre-infusion checklist",
    "ready": "Start the infusion now",
    "infusing": "Change the rate",
    "recovering": "Modified Aldrete",
    "discharged": "Sign the record: it becomes read-only",
    "signed": "waiting for a prescriber",
    "locked": "Locked.",
}


@pytest.mark.parametrize("stage", STAGES)
def test_the_page_shows_what_each_stage_needs(world: World, stage: str) -> None:
    session = make_session(world, stage)
    response = nurse(world).get(page(session))
    assert response.status_code == 200
    body = text(response)
    assert STAGE_TEXT[stage] in body
    assert "Pat Example" in body
    assert "PE" in body
    assert "Chair 1" in body
    assert f"version {session.protocol_version.number}" in body


def test_infusing_page_shows_the_pump_rate_large_with_units_and_totals(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    body = text(nurse(world).get(page(session)))
    # 0.3 mg/kg/h × 70 kg ÷ 1 mg/mL = 21.0 mL/h; an hour at that rate is 21 mg and 21 mL.
    assert '<span class="pump-rate__value">21.0</span> <span class="pump-rate__unit">mL/h</span>' in body
    assert '<span class="totals__value">21.0</span> mg' in body
    assert '<span class="totals__value">60</span> min' in body
    assert "Infusing for" in body
    assert "1 h 00 min" in body


def test_the_vitals_form_is_fast_to_type(world: World) -> None:
    session = make_session(world, "infusing")
    body = text(nurse(world).get(page(session)))
    assert 'name="systolic"' in body
    systolic = body[body.index('name="systolic"') - 200 : body.index('name="systolic"') + 200]
    assert 'inputmode="numeric"' in systolic
    assert "autofocus" in systolic
    # Nothing in the vitals form is required: a nurse types what she measured.
    form = body[body.index('action="' + url("vitals", session)) :]
    form = form[: form.index("</form>")]
    assert "required" not in form
    assert form.index('name="systolic"') < form.index('name="diastolic"') < form.index('name="heart_rate"')


@pytest.mark.parametrize("stage", ["checked_in", "ready", "infusing", "recovering", "locked"])
def test_every_element_id_is_unique_so_each_label_names_its_own_input(world: World, stage: str) -> None:
    session = make_session(world, stage)
    if stage != "locked":  # an open alert adds its acknowledge form
        actions.record_vitals(acting_user=None, session=session, values={"spo2": 85})
    ids = re.findall(r'\sid="([^"]+)"', text(nurse(world).get(page(session))))
    assert ids
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_opening_the_page_is_an_audited_read(world: World) -> None:
    session = make_session(world, "infusing")
    nurse(world).get(page(session))
    read = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_type="infusions.InfusionSession").last()
    assert read is not None
    assert read.object_id == str(session.pk)
    assert read.patient_id == world.patient.pk
    assert read.actor == world["nurse"]


def test_staff_at_another_location_and_front_desk_are_refused(world: World) -> None:
    session = make_session(world, "infusing")
    assert signed_in_client(world["outsider"]).get(page(session)).status_code == 403
    assert signed_in_client(world["frontdesk"]).get(page(session)).status_code == 403
    count = VitalSign.objects.count()
    response = signed_in_client(world["outsider"]).post(url("vitals", session), {"systolic": 120, "diastolic": 80})
    assert response.status_code == 403
    assert VitalSign.objects.count() == count


# --- Checklist, bag, start ----------------------------------------------------------------------


def _checklist(session: InfusionSession, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "weight_kg": "72.4",
        "escort_name": "Sam Escort",
        "escort_phone": "+13035550142",
        "escort_confirmed": "on",
        "fasting_confirmed": "on",
        "pregnancy": "no",
    }
    data.update({f"item_{i}": "on" for i, _ in enumerate(session.protocol_version.checklist_items)})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_completing_the_checklist_makes_the_session_ready(world: World) -> None:
    session = make_session(world, "checked_in")
    response = nurse(world).post(url("checklist", session), _checklist(session))
    assert response.status_code == 302
    session = fresh(session)
    assert session.status == SessionStatus.READY
    assert session.weight_kg == Decimal("72.4")


def test_an_unchecked_item_keeps_the_checklist_open_and_says_which(world: World) -> None:
    session = make_session(world, "checked_in")
    response = nurse(world).post(url("checklist", session), _checklist(session, item_2=None))
    assert response.status_code == 200
    assert "Not yet checked: IV access patent." in text(response)
    assert fresh(session).status == SessionStatus.CHECKED_IN


def test_a_weight_in_pounds_is_refused_beside_the_weight(world: World) -> None:
    session = make_session(world, "checked_in")
    response = nurse(world).post(url("checklist", session), _checklist(session, weight_kg="400"))
    assert response.status_code == 200
    errors = response.context["forms"]["checklist"].errors
    assert "weigh in kilograms" in errors["weight_kg"][0]
    assert fresh(session).weight_kg is None


def test_a_bag_is_prepared_from_stock_and_its_concentration_shown(world: World) -> None:
    session = make_session(world, "ready")
    vial = receive(world, lot_number="LOT-B2")[0]
    response = nurse(world).post(
        url("bag", session), {"container": vial.pk, "vial_ml_drawn": "10", "diluent": "ns", "final_volume_ml": "250"}
    )
    assert response.status_code == 302
    body = text(nurse(world).get(page(session)))
    assert "= <strong>2 mg/mL</strong>" in body
    # The start rate follows the newest bag: 0.3 × 70 ÷ 2 = 10.5 mL/h.
    assert '<span class="pump-rate__value">10.5</span>' in body


def test_a_bag_at_a_concentration_the_protocol_does_not_allow_is_refused(world: World) -> None:
    session = make_session(world, "ready")
    vial = receive(world, lot_number="LOT-B3")[0]
    bags = session.bags.count()
    response = nurse(world).post(
        url("bag", session), {"container": vial.pk, "vial_ml_drawn": "10", "diluent": "ns", "final_volume_ml": "100"}
    )
    assert response.status_code == 200
    assert "the protocol allows" in response.context["forms"]["bag"].errors["final_volume_ml"][0]
    assert session.bags.count() == bags


def test_start_needs_the_typed_pump_rate_to_match(world: World) -> None:
    session = make_session(world, "ready")
    client = nurse(world)
    response = client.post(url("start", session), {"dose_mg_per_kg_h": "0.3", "pump_rate_ml_per_h": "2.1"})
    assert response.status_code == 200
    assert "needs 21.0 mL/h" in response.context["forms"]["start"].errors["pump_rate_ml_per_h"][0]
    assert fresh(session).status == SessionStatus.READY
    response = client.post(url("start", session), {"dose_mg_per_kg_h": "0.3", "pump_rate_ml_per_h": "21"})
    assert response.status_code == 302
    assert fresh(session).status == SessionStatus.INFUSING


def test_start_with_a_second_nurse_double_check_records_the_checker(world: World) -> None:
    session = make_session(world, "ready")
    data = {"dose_mg_per_kg_h": "0.3", "pump_rate_ml_per_h": "21.0", "checker_username": "prescriber"}
    response = nurse(world).post(url("start", session), {**data, "checker_password": "wrong"})
    assert response.status_code == 200
    assert response.context["forms"]["start"].errors["checker_password"]
    response = nurse(world).post(url("start", session), {**data, "checker_password": PASSWORD})
    assert response.status_code == 302
    assert session.bags.last().double_checked_by == world["prescriber"]  # type: ignore[union-attr]


def test_a_high_baseline_blocks_the_start_until_a_prescriber_overrides(world: World) -> None:
    session = make_session(world, "ready")
    actions.record_vitals(acting_user=world["nurse"], session=session, values={**BASELINE, "systolic": 168})
    body = text(nurse(world).get(page(session)))
    assert "Start blocked." in body
    assert "systolic 168 mmHg is above 140 mmHg" in body
    assert url("override", session) not in body  # the nurse cannot override
    prescriber = signed_in_client(world["prescriber"])
    assert url("override", session) in text(prescriber.get(page(session)))
    assert prescriber.post(url("override", session), {"reason": ""}).status_code == 200
    assert fresh(session).baseline_override_at is None
    response = prescriber.post(url("override", session), {"reason": "White-coat hypertension, home BP normal"})
    assert response.status_code == 302
    assert fresh(session).baseline_override_by == world["prescriber"]
    assert nurse(world).post(url("override", session), {"reason": "x"}).status_code == 403


# --- Vitals and alerts --------------------------------------------------------------------------


def test_a_vitals_set_is_charted_and_raises_alerts_shown_at_the_top(world: World) -> None:
    session = make_session(world, "infusing")
    client = nurse(world)
    response = client.post(url("vitals", session), {"systolic": "172", "diastolic": "88", "heart_rate": "80"})
    assert response.status_code == 302
    assert response["Location"] == page(session) + "#region-alerts"
    vital = session.vitals.order_by("-pk").first()
    assert vital is not None
    assert (vital.systolic, vital.diastolic, vital.heart_rate) == (172, 88, 80)
    body = text(client.get(page(session)))
    alerts = body[body.index('id="region-alerts"') : body.index("</section>", body.index('id="region-alerts"'))]
    assert 'role="alert"' in alerts
    assert "Systolic 172 mmHg is above 160 mmHg." in alerts
    # In the flowsheet the value is marked by a sign and text, not by colour alone.
    assert '172<span aria-hidden="true">!</span>' in body
    assert "(outside limits: Systolic 172 mmHg is above 160 mmHg." in body


def test_an_impossible_value_is_refused_beside_its_field_and_nothing_is_written(world: World) -> None:
    session = make_session(world, "infusing")
    vitals = VitalSign.objects.count()
    audits = AuditEvent.objects.exclude(action=AuditEvent.Action.READ).count()
    response = nurse(world).post(url("vitals", session), {"systolic": "120", "diastolic": "80", "spo2": "150"})
    assert response.status_code == 200
    form = response.context["forms"]["vitals"]
    assert "SpO2 of 150 % is not possible" in form.errors["spo2"][0]
    body = text(response)
    assert 'id="id_spo2_error"' in body
    assert 'value="120"' in body  # what was typed stays in the form
    assert "Not saved: A SpO2 of 150 % is not possible" in body  # also at the top of the page
    assert VitalSign.objects.count() == vitals
    assert AuditEvent.objects.exclude(action=AuditEvent.Action.READ).count() == audits


def test_an_empty_vitals_form_asks_for_a_value(world: World) -> None:
    session = make_session(world, "infusing")
    response = nurse(world).post(url("vitals", session), {})
    assert response.status_code == 200
    assert "Enter at least one value." in text(response)


def test_acknowledging_an_alert_needs_the_action_taken(world: World) -> None:
    session = make_session(world, "infusing")
    _, raised = actions.record_vitals(acting_user=world["nurse"], session=session, values={"spo2": 88})
    alert = raised[0]
    client = nurse(world)
    response = client.post(url("acknowledge", session, alert_pk=alert.pk), {f"ack-{alert.pk}-action_taken": ""})
    assert response.status_code == 200
    assert "This field is required." in text(response)
    assert Alert.objects.get(pk=alert.pk).acknowledged_at is None
    response = client.post(
        url("acknowledge", session, alert_pk=alert.pk), {f"ack-{alert.pk}-action_taken": "Oxygen 2 L/min, SpO2 96%"}
    )
    assert response.status_code == 302
    alert = Alert.objects.get(pk=alert.pk)
    assert alert.acknowledged_by == world["nurse"]
    assert alert.action_taken == "Oxygen 2 L/min, SpO2 96%"
    assert f'id="alert-{alert.pk}"' not in text(client.get(page(session)))


def test_monitor_values_are_marked_until_a_nurse_validates_them(world: World) -> None:
    session = make_session(world, "infusing")
    reading = actions.DeviceReading(values={"heart_rate": 77}, taken_at=timezone.now(), message_id="M1")
    actions.record_device_vitals(session=session, readings=[reading], device="monitor-1")
    client = nurse(world)
    body = text(client.get(page(session)))
    assert "not validated" in body
    assert "Validate 1 monitor value" in body
    assert client.post(url("validate_vitals", session)).status_code == 302
    vital = session.vitals.get(source=VitalSource.DEVICE)
    assert vital.validated_by == world["nurse"]
    assert "not validated" not in text(client.get(page(session)))


# --- Pump events --------------------------------------------------------------------------------


def test_a_soft_limit_dose_asks_for_a_prescriber_then_goes_through_with_one(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    client = nurse(world)
    data = {"dose_mg_per_kg_h": "1.2", "reason": "Pain 7/10, tolerating well"}
    response = client.post(url("titrate", session), data)
    assert response.status_code == 200
    form = response.context["forms"]["titrate"]
    assert form.limit_level == "soft"
    body = text(response)
    assert "Soft limit: a prescriber" in body
    assert 'name="prescriber_username"' in body
    assert session.events.filter(kind=EventKind.TITRATE).count() == 0

    override = {
        **data,
        "override_reason": "Refractory pain, discussed with Dr Tester",
        "prescriber_username": "prescriber",
    }
    response = client.post(url("titrate", session), {**override, "prescriber_password": "wrong"})
    assert response.status_code == 200
    assert response.context["forms"]["titrate"].errors["prescriber_password"]
    assert session.events.filter(kind=EventKind.TITRATE).count() == 0

    response = client.post(url("titrate", session), {**override, "prescriber_password": PASSWORD})
    assert response.status_code == 302
    event = session.events.get(kind=EventKind.TITRATE)
    assert event.dose_mg_per_kg_h == Decimal("1.200")
    assert event.limit_level == "soft"
    assert event.override_by == world["prescriber"]
    assert event.pump_rate_ml_per_h == Decimal("84.0")


def test_a_prescriber_overrides_a_soft_limit_with_a_reason_alone(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    client = signed_in_client(world["prescriber"])
    data = {"dose_mg_per_kg_h": "1.2", "reason": "Pain 7/10"}
    response = client.post(url("titrate", session), data)
    assert response.status_code == 200
    assert 'name="prescriber_username"' not in text(response)  # a prescriber acknowledges themselves
    response = client.post(url("titrate", session), {**data, "override_reason": "Refractory pain"})
    assert response.status_code == 302
    assert session.events.get(kind=EventKind.TITRATE).override_by == world["prescriber"]


def test_a_dose_above_the_hard_limit_is_refused_for_everyone(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    for persona in ("nurse", "prescriber"):
        response = signed_in_client(world[persona]).post(
            url("titrate", session),
            {"dose_mg_per_kg_h": "2.5", "reason": "test", "override_reason": "please"},
        )
        assert response.status_code == 200
        assert response.context["forms"]["titrate"].limit_level == "hard"
        assert "Refused: above the hard limit." in text(response)
    assert session.events.filter(kind=EventKind.TITRATE).count() == 0


def test_pause_resume_and_stop_move_the_session_along(world: World) -> None:
    session = make_session(world, "infusing")
    client = nurse(world)
    assert client.post(url("pause", session), {"reason": ""}).status_code == 200
    assert client.post(url("pause", session), {"reason": "Nausea"}).status_code == 302
    assert fresh(session).status == SessionStatus.PAUSED
    body = text(client.get(page(session)))
    assert "Paused: the pump gives nothing" in body
    assert "Resume at 0.300 mg/kg/h = 21.0 mL/h" in body
    assert client.post(url("resume", session), {}).status_code == 302
    assert fresh(session).status == SessionStatus.INFUSING
    assert client.post(url("stop", session), {}).status_code == 200  # the reason is required
    assert client.post(url("stop", session), {"reason": "Infusion complete"}).status_code == 302
    assert fresh(session).status == SessionStatus.RECOVERING
    kinds = list(session.events.values_list("kind", flat=True))
    assert kinds == [EventKind.START, EventKind.PAUSE, EventKind.RESUME, EventKind.STOP]


def test_a_bolus_is_offered_only_when_the_protocol_allows_one(world: World) -> None:
    session = make_session(world, "infusing")
    client = nurse(world)
    assert url("bolus", session) not in text(client.get(page(session)))
    response = client.post(url("bolus", session), {"bolus_mg": "10", "reason": "Breakthrough pain"})
    assert response.status_code == 200
    assert response.context["forms"]["bolus"].errors["bolus_mg"] == ["This protocol does not allow a bolus."]
    assert not session.events.filter(kind=EventKind.BOLUS).exists()


def test_overdue_vitals_are_flagged_until_a_set_is_charted(world: World) -> None:
    # Started an hour ago, baseline before the start, nothing since: due 10 min after the start.
    session = make_session(world, "infusing", started_minutes_ago=60)
    client = nurse(world)
    assert "Vitals overdue" in text(client.get(page(session)))
    assert client.get(url("state", session)).json()["vitals_overdue"] is True
    client.post(url("vitals", session), {"systolic": "126", "diastolic": "80"})
    body = text(client.get(page(session)))
    assert "Vitals overdue" not in body
    assert "Next vitals due at" in body


def test_side_effects_and_medications_are_charted(world: World) -> None:
    session = make_session(world, "infusing")
    client = nurse(world)
    response = client.post(
        url("side_effect", session),
        {"kind": "nausea", "severity": "mild", "outcome": "resolved", "intervention": "Ondansetron"},
    )
    assert response.status_code == 302
    effect = session.side_effects.get()
    response = client.post(
        url("medication", session),
        {"drug": "Ondansetron", "dose": "4", "dose_unit": "mg", "route": "iv", "side_effect": effect.pk},
    )
    assert response.status_code == 302
    med = session.medications.get()
    assert (med.drug, med.dose, med.side_effect) == ("Ondansetron", Decimal("4.00"), effect)
    body = text(client.get(page(session)))
    assert "<strong>Ondansetron</strong> 4 mg IV" in body
    response = client.post(url("side_effect", session), {"kind": "other", "severity": "mild", "outcome": "resolved"})
    assert response.status_code == 200
    assert response.context["forms"]["side_effect"].errors["other_text"] == ["Describe the side effect."]


# --- Recovery, discharge, accountability, signatures ---------------------------------------------


def test_discharge_is_refused_until_the_rule_holds(world: World) -> None:
    session = make_session(world, "recovering")
    client = nurse(world)
    body = text(client.get(page(session)))
    assert "Minimum recovery of 60 min" in body
    assert "Score recovery (modified Aldrete) before discharge." in body
    response = client.post(url("discharge", session), {"escort_name": "Sam Escort"})
    assert response.status_code == 200
    assert "Minimum recovery of 60 min" in str(response.context["forms"]["discharge"].non_field_errors())
    assert fresh(session).status == SessionStatus.RECOVERING

    scores = {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2, "oxygen_saturation": 2}
    assert client.post(url("recovery_score", session), scores).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=60), tick=False):
        client = nurse(world)  # a fresh sign-in: an hour idle signs the first one out
        response = client.post(url("discharge", session), {"escort_name": "Someone Else"})
        assert response.status_code == 200
        assert "Sam Escort" in response.context["forms"]["discharge"].errors["escort_name"][0]
        assert client.post(url("discharge", session), {"escort_name": "sam escort"}).status_code == 302
    assert fresh(session).status == SessionStatus.DISCHARGED


def test_the_aldrete_form_shows_each_point_meaning_and_the_variant(world: World) -> None:
    session = make_session(world, "recovering")
    body = text(nurse(world).get(page(session)))
    assert "Modified Aldrete, circulation ±20 mmHg of baseline" in body
    assert "2 · BP within ±20 mmHg of baseline" in body
    assert "0 · Apnoeic" in body


def test_drug_is_accounted_for_with_a_witness_then_the_nurse_signs(world: World) -> None:
    session = make_session(world, "discharged")
    client = nurse(world)
    body = text(client.get(page(session)))
    assert "Ketamine not accounted for" in body
    response = client.post(url("sign", session))
    assert response.status_code == 302
    assert fresh(session).status == SessionStatus.DISCHARGED
    response = client.post(url("account", session), {"waste_method": "denaturing", "witness_username": "prescriber"})
    assert response.status_code == 200
    assert response.context["forms"]["account"].errors["witness_password"]
    response = client.post(
        url("account", session),
        {"waste_method": "denaturing", "witness_username": "prescriber", "witness_password": PASSWORD},
    )
    assert response.status_code == 302
    assert session_balance(session.ledger_ref).balanced
    assert client.post(url("sign", session)).status_code == 302
    session = fresh(session)
    assert session.status == SessionStatus.SIGNED
    assert session.nurse_signed_by == world["nurse"]


def test_cosign_is_by_a_second_person_and_locks_the_record(world: World) -> None:
    session = make_session(world, "signed")
    assert nurse(world).post(url("cosign", session)).status_code == 403
    prescriber = signed_in_client(world["prescriber"])
    body = text(prescriber.get(page(session)))
    assert "Co-signing locks the record" in body
    assert prescriber.post(url("cosign", session)).status_code == 302
    session = fresh(session)
    assert session.status == SessionStatus.LOCKED
    assert session.cosigned_by == world["prescriber"]


def test_the_nurse_who_signed_cannot_also_cosign(world: World) -> None:
    session = make_session(world, "discharged")
    director = signed_in_client(world["director"])
    actions.account_for_drug(
        acting_user=world["nurse"],
        session=session,
        waste_method="denaturing",
        witness=actions.WitnessCredential(username="prescriber", password=PASSWORD),
    )
    assert director.post(url("sign", session)).status_code == 302
    response = director.post(url("cosign", session), follow=True)
    assert "must be a second person" in text(response)
    assert fresh(session).status == SessionStatus.SIGNED


def test_a_locked_record_refuses_every_charting_post_and_takes_addenda(world: World) -> None:
    session = make_session(world, "locked")
    client = nurse(world)
    body = text(client.get(page(session)))
    assert url("vitals", session) not in body  # read-only page: no charting forms
    counts = (VitalSign.objects.count(), SessionEvent.objects.count())
    for name, data in [
        ("vitals", {"systolic": "120", "diastolic": "80"}),
        ("titrate", {"dose_mg_per_kg_h": "0.4", "reason": "x"}),
        ("side_effect", {"kind": "nausea", "severity": "mild", "outcome": "resolved"}),
        ("stop", {"reason": "x"}),
    ]:
        response = client.post(url(name, session), data, follow=True)
        assert "This record is signed and can no longer be changed." in text(response)
    assert (VitalSign.objects.count(), SessionEvent.objects.count()) == counts
    assert client.post(url("addendum", session), {"text": ""}).status_code == 200
    assert client.post(url("addendum", session), {"text": "BP at 10:40 was 132/84, not 123/84."}).status_code == 302
    assert Addendum.objects.get(session=session).author == world["nurse"]
    assert "BP at 10:40 was 132/84" in text(client.get(page(session)))


# --- Live updates -------------------------------------------------------------------------------


def test_the_state_token_changes_when_a_vital_or_alert_arrives_and_carries_no_values(world: World) -> None:
    session = make_session(world, "infusing")
    client = nurse(world)
    first = client.get(url("state", session)).json()
    assert first["status"] == "infusing"
    assert client.get(url("state", session)).json()["token"] == first["token"]
    actions.record_vitals(acting_user=None, session=session, values={"systolic": 190, "diastolic": 90})
    second = client.get(url("state", session)).json()
    assert second["token"] != first["token"]
    assert "190" not in str(second)
    alert = session.alerts.first()
    assert alert is not None
    actions.acknowledge_alert(acting_user=world["nurse"], alert=alert, action_taken="Rechecked")
    assert client.get(url("state", session)).json()["token"] != second["token"]


def test_the_state_poll_is_not_audited_but_the_live_regions_are(world: World) -> None:
    session = make_session(world, "infusing")
    client = nurse(world)
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.READ).count()
    client.get(url("state", session))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.READ).count() == reads
    actions.record_vitals(acting_user=None, session=session, values={"heart_rate": 131})
    response = client.get(url("live", session))
    assert response.status_code == 200
    body = text(response)
    for region in ("region-alerts", "region-status", "region-flowsheet", "region-timeline"):
        assert f'id="{region}"' in body
    assert "Heart rate 131 beats/min is above 120 beats/min." in body
    assert "Model estimate, not a measurement" in body  # the predicted-concentration chart
    assert AuditEvent.objects.filter(action=AuditEvent.Action.READ).count() == reads + 1


def test_the_page_carries_what_the_script_needs(world: World) -> None:
    session = make_session(world, "infusing")
    response = nurse(world).get(page(session))
    body = text(response)
    assert f'data-state-url="{url("state", session)}"' in body
    assert f'data-live-url="{url("live", session)}"' in body
    assert f'data-token="{response.context["token"]}"' in body
    assert 'aria-live="polite"' in body
    assert "<script>" not in body and "style=" not in body  # CSP: no inline script or style


# --- Speed --------------------------------------------------------------------------------------


def _queries_for_page(client: Client, session: InfusionSession) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(page(session)).status_code == 200
    return len(captured)


def test_the_page_query_count_does_not_grow_with_the_flowsheet(
    world: World, django_assert_max_num_queries: Any
) -> None:
    session = make_session(world, "infusing", started_minutes_ago=120)
    client = nurse(world)
    client.get(reverse("core:home"))  # the first request of a sign-in stores its activity
    start = timezone.now() - timedelta(minutes=110)
    for i in range(3):
        actions.record_vitals(
            acting_user=None,
            session=session,
            values={"heart_rate": 130, "spo2": 97},
            taken_at=start + timedelta(minutes=i),
        )
    few = _queries_for_page(client, session)
    for i in range(3, 40):
        actions.record_vitals(
            acting_user=None,
            session=session,
            values={"heart_rate": 130, "spo2": 97},
            taken_at=start + timedelta(minutes=i),
        )
    assert _queries_for_page(client, session) == few
    # On PostgreSQL the audited read also takes the audit chain's advisory lock (one more).
    # 31: the vitals are read twice, as plain values for the chart and counts and as rows for
    # the newest sets the table shows (cheaper than 240 model instances).
    bound = 31 + (1 if connection.vendor == "postgresql" else 0)
    with django_assert_max_num_queries(bound):
        client.get(page(session))


def test_the_baseline_still_marks_a_rise_when_it_is_older_than_the_rows_shown(world: World) -> None:
    """The table shows the newest 60 sets; a rise from baseline is marked against the baseline
    set even when that set is no longer among the rows shown. Baseline 100/60, then 120/70
    (+20: fine) and newest 142/70: +42 mmHg systolic is above the +40 change limit while
    below the absolute 160, so only the baseline can explain the mark."""
    session = make_session(world, "infusing", started_minutes_ago=120)
    start = timezone.now() - timedelta(minutes=100)
    VitalSign.objects.create(
        session=session, taken_at=start - timedelta(minutes=1), phase=VitalPhase.BASELINE, systolic=100, diastolic=60
    )
    VitalSign.objects.bulk_create(
        VitalSign(
            session=session,
            taken_at=start + timedelta(minutes=i),
            phase=VitalPhase.INFUSION,
            systolic=142 if i == 69 else 120,  # noqa: PLR2004 - the newest set
            diastolic=70,
            heart_rate=80,
            spo2=97,
        )
        for i in range(70)
    )
    response = nurse(world).get(page(session))
    rows = response.context["flow_rows"]
    assert len(rows) == FLOWSHEET_ROWS_SHOWN
    assert all(r.vital.phase != VitalPhase.BASELINE for r in rows)
    assert response.context["baseline_vital"].systolic == 100  # noqa: PLR2004
    newest, older = rows[0], rows[1]
    assert newest.vital.systolic == 142  # noqa: PLR2004
    assert "baseline" in newest.systolic.flag.lower()
    assert older.systolic.flag == ""
    assert older.diastolic.flag == ""
    html = response.content.decode()
    assert "(outside limits:" in html


# --- Small helpers ------------------------------------------------------------------------------


def test_minutes_read_as_hours_and_minutes() -> None:
    assert format_minutes(0) == "0 min"
    assert format_minutes(59.9) == "59 min"
    assert format_minutes(65) == "1 h 05 min"
    assert format_minutes(-3) == "0 min"


def test_a_typed_time_is_today_in_the_clinic_zone() -> None:
    now = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)  # 22:30 the day before in Denver
    at = local_datetime("America/Denver", time(22, 15), now)
    assert at is not None
    assert at.astimezone(UTC) == datetime(2026, 3, 2, 5, 15, tzinfo=UTC)
    assert local_datetime("America/Denver", None, now) is None


def test_witness_errors_are_shown_at_the_credential_they_concern() -> None:
    assert witness_field_names(credential_prefix="prescriber") == {
        "witness_username": "prescriber_username",
        "witness_password": "prescriber_password",
    }
