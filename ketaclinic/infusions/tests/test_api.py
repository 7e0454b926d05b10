"""The chairside API contract (issue 5): pump rate, vitals, titration and a session's state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, api_client
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import Alert, InfusionSession, SessionEvent, VitalSign
from ketaclinic.infusions.tests.factories import make_session

PUMP = reverse("api:infusion_pump_rate")
NORMAL = {"systolic": 128, "diastolic": 80, "heart_rate": 76, "spo2": 98, "resp_rate": 14}


def _post(world: World, who: str, url: str, body: dict[str, Any]) -> Any:
    return api_client(world[who]).post(url, body, content_type="application/json")


def _vitals_url(session: InfusionSession) -> str:
    return reverse("api:infusion_session_vitals", kwargs={"session_id": session.pk})


def _rate_url(session: InfusionSession) -> str:
    return reverse("api:infusion_session_rate", kwargs={"session_id": session.pk})


def _state_url(session: InfusionSession) -> str:
    return reverse("api:infusion_session", kwargs={"session_id": session.pk})


def _vitals(**values: Any) -> dict[str, Any]:
    return {"taken_at": timezone.now().isoformat(), **NORMAL, **values}


# --- POST /dose/pump-rate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "weight", "concentration", "rate"),
    [
        (0.5, 70, 1, 35.0),  # clinical-reference §2 worked example
        (0.3, 70, 1, 21.0),
        (0.35, 71.3, 2, 12.5),  # 12.4775 rounds half-up to 0.1
        (1.0, 85.5, 2, 42.8),  # 42.75 rounds up, as a nurse would
        (0.1, 20, 10, 0.2),
    ],
)
def test_pump_rate_is_dose_times_weight_over_concentration(
    world: World, dose: float, weight: float, concentration: float, rate: float
) -> None:
    body = {"dose_mg_per_kg_h": dose, "weight_kg": weight, "concentration_mg_per_ml": concentration}
    response = _post(world, "nurse", PUMP, body)
    assert response.status_code == 200
    assert response.json() == {"rate_ml_per_h": rate}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("dose_mg_per_kg_h", 0, "greater than zero"),
        ("dose_mg_per_kg_h", -0.5, "greater than zero"),
        ("dose_mg_per_kg_h", 50, "misplaced decimal"),
        ("weight_kg", 0, "greater than zero"),
        ("weight_kg", 700, "plausible range"),
        ("concentration_mg_per_ml", 50, "plausible range"),
        ("concentration_mg_per_ml", -1, "greater than zero"),
    ],
)
def test_pump_rate_refuses_non_positive_or_absurd_input_naming_the_field(
    world: World, field: str, value: float, words: str
) -> None:
    body: dict[str, Any] = {"dose_mg_per_kg_h": 0.5, "weight_kg": 70, "concentration_mg_per_ml": 1, field: value}
    response = _post(world, "nurse", PUMP, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert list(detail) == [field]
    assert words in detail[field][0]


def test_pump_rate_that_rounds_to_zero_cannot_be_programmed(world: World) -> None:
    body = {"dose_mg_per_kg_h": 0.01, "weight_kg": 20, "concentration_mg_per_ml": 10}
    response = _post(world, "nurse", PUMP, body)
    assert response.status_code == 422
    assert "0.0 mL/h" in response.json()["detail"]["dose_mg_per_kg_h"][0]


def test_pump_rate_needs_every_number(world: World) -> None:
    response = _post(world, "nurse", PUMP, {"dose_mg_per_kg_h": 0.5, "weight_kg": 70})
    assert response.status_code == 422
    response = _post(world, "nurse", PUMP, {"dose_mg_per_kg_h": "lots", "weight_kg": 70, "concentration_mg_per_ml": 1})
    assert response.status_code == 422


def test_pump_rate_is_open_to_any_staff_with_the_api_but_not_to_patients(world: World) -> None:
    body = {"dose_mg_per_kg_h": 0.5, "weight_kg": 70, "concentration_mg_per_ml": 1}
    assert _post(world, "frontdesk", PUMP, body).status_code == 200
    assert _post(world, "patient", PUMP, body).status_code == 403


# --- POST /sessions/{id}/vitals ----------------------------------------------------------------


def test_normal_vitals_are_charted_without_alerts(world: World) -> None:
    session = make_session(world, "infusing")
    before = VitalSign.objects.count()
    response = _post(world, "nurse", _vitals_url(session), _vitals(pain_nrs=4, sedation=0, dissociation=1))
    assert response.status_code == 201
    body = response.json()
    assert body["alerts"] == []
    assert body["phase"] == "infusion"
    vital = VitalSign.objects.get(pk=body["id"])
    assert (vital.systolic, vital.diastolic, vital.spo2, vital.pain_nrs, vital.dissociation) == (128, 80, 98, 4, 1)
    assert vital.recorded_by == world["nurse"]
    assert VitalSign.objects.count() == before + 1
    assert AuditEvent.objects.filter(object_type="infusions.VitalSign", object_id=str(vital.pk)).exists()


def test_vitals_outside_thresholds_answer_with_the_alerts_raised(world: World) -> None:
    session = make_session(world, "infusing")
    # Baseline 124/78: 166 is above 160 and +42 from baseline; SpO2 90 is below 92.
    response = _post(world, "nurse", _vitals_url(session), _vitals(systolic=166, spo2=90))
    assert response.status_code == 201
    alerts = response.json()["alerts"]
    assert {(a["kind"], a["parameter"]) for a in alerts} == {
        ("absolute", "systolic"),
        ("change", "systolic"),
        ("absolute", "spo2"),
    }
    assert all(set(a) == {"id", "kind", "parameter", "value", "message"} for a in alerts)
    assert {a["id"] for a in alerts} == set(Alert.objects.filter(session=session).values_list("pk", flat=True))
    change = next(a for a in alerts if a["kind"] == "change")
    assert "rose 42 mmHg" in change["message"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"spo2": 120}, "spo2"),
        ({"heart_rate": 0}, "heart_rate"),
        ({"systolic": 80, "diastolic": 90}, "diastolic"),
        ({"resp_rate": 14.5}, "resp_rate"),
        ({"sedation": 9}, "sedation"),
        ({"pain_nrs": 11}, "pain_nrs"),
    ],
)
def test_impossible_vitals_are_refused_and_nothing_is_written(world: World, values: dict[str, Any], field: str) -> None:
    session = make_session(world, "infusing")
    client = api_client(world["nurse"])
    counts = (VitalSign.objects.count(), Alert.objects.count(), AuditEvent.objects.count())
    response = client.post(_vitals_url(session), _vitals(**values), content_type="application/json")
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert (VitalSign.objects.count(), Alert.objects.count(), AuditEvent.objects.count()) == counts


def test_vitals_in_the_future_are_refused_under_the_field_name(world: World) -> None:
    session = make_session(world, "infusing")
    body = _vitals(taken_at=(timezone.now() + timedelta(hours=1)).isoformat())
    response = _post(world, "nurse", _vitals_url(session), body)
    assert response.status_code == 422
    assert "future" in response.json()["detail"]["taken_at"][0]


def test_vitals_need_chart_infusion_at_the_sessions_location(world: World) -> None:
    session = make_session(world, "infusing")
    count = VitalSign.objects.count()
    outsider = _post(world, "outsider", _vitals_url(session), _vitals())
    assert outsider.status_code == 403
    assert "location" in outsider.json()["detail"]
    assert _post(world, "frontdesk", _vitals_url(session), _vitals()).status_code == 403
    assert _post(world, "billing", _vitals_url(session), _vitals()).status_code == 403
    assert VitalSign.objects.count() == count


def test_vitals_for_an_unknown_session_are_not_found(world: World) -> None:
    url = reverse("api:infusion_session_vitals", kwargs={"session_id": 999_999})
    assert _post(world, "nurse", url, _vitals()).status_code == 404


@pytest.mark.parametrize("stage", ["signed", "locked"])
def test_vitals_on_a_signed_record_conflict(world: World, stage: str) -> None:
    session = make_session(world, stage)
    count = VitalSign.objects.count()
    response = _post(world, "nurse", _vitals_url(session), _vitals())
    assert response.status_code == 409
    assert "addendum" in response.json()["detail"]
    assert VitalSign.objects.count() == count


# --- POST /sessions/{id}/rate ------------------------------------------------------------------


def test_a_nurse_titrates_within_the_limits(world: World) -> None:
    session = make_session(world, "infusing")
    response = _post(world, "nurse", _rate_url(session), {"dose_mg_per_kg_h": 0.4, "reason": "Pain 6/10"})
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "titrate"
    assert body["dose_mg_per_kg_h"] == 0.4
    assert body["pump_rate_ml_per_h"] == 28.0  # 0.4 mg/kg/h × 70 kg ÷ 1 mg/mL
    assert body["limit_level"] == "ok"
    assert body["override_by"] is None
    event = SessionEvent.objects.get(pk=body["id"])
    assert event.dose_mg_per_kg_h == Decimal("0.400")
    assert event.recorded_by == world["nurse"]


def test_the_typed_pump_rate_must_match_the_computed_one(world: World) -> None:
    session = make_session(world, "infusing")
    body = {"dose_mg_per_kg_h": 0.4, "reason": "Pain 6/10", "pump_rate_ml_per_h": 280}
    response = _post(world, "nurse", _rate_url(session), body)
    assert response.status_code == 422
    assert "28.0 mL/h" in response.json()["detail"]["pump_rate_ml_per_h"][0]
    assert not SessionEvent.objects.filter(session=session, kind="titrate").exists()


@pytest.mark.parametrize("who", ["nurse", "prescriber"])
def test_no_one_can_go_above_the_hard_limit(world: World, who: str) -> None:
    session = make_session(world, "infusing")
    body = {"dose_mg_per_kg_h": 2.5, "reason": "Pain", "override_reason": "Refractory"}
    response = _post(world, who, _rate_url(session), body)
    assert response.status_code == 409
    assert response.json()["limit"] == "hard"
    assert "hard limit of 2 mg/kg/h" in response.json()["detail"]
    assert not SessionEvent.objects.filter(session=session, kind="titrate").exists()


def test_above_the_soft_limit_without_an_override_reason_conflicts(world: World) -> None:
    session = make_session(world, "infusing")
    response = _post(world, "prescriber", _rate_url(session), {"dose_mg_per_kg_h": 1.2, "reason": "Pain 8/10"})
    assert response.status_code == 409
    assert response.json()["limit"] == "soft"
    assert "soft limit of 1 mg/kg/h" in response.json()["detail"]
    assert not SessionEvent.objects.filter(session=session, kind="titrate").exists()


def test_a_nurses_override_reason_alone_does_not_pass_the_soft_limit(world: World) -> None:
    session = make_session(world, "infusing")
    body = {"dose_mg_per_kg_h": 1.2, "reason": "Pain 8/10", "override_reason": "Tolerating well"}
    response = _post(world, "nurse", _rate_url(session), body)
    assert response.status_code == 409
    assert response.json()["limit"] == "soft"
    assert "A prescriber must acknowledge" in response.json()["detail"]
    assert not SessionEvent.objects.filter(session=session, kind="titrate").exists()


def test_a_prescriber_overrides_the_soft_limit_with_a_reason(world: World) -> None:
    session = make_session(world, "infusing")
    body = {"dose_mg_per_kg_h": 1.2, "reason": "Pain 8/10", "override_reason": "Tolerating well, no dissociation"}
    response = _post(world, "prescriber", _rate_url(session), body)
    assert response.status_code == 201
    result = response.json()
    assert (result["limit_level"], result["override_by"]) == ("soft", "prescriber")
    assert result["override_reason"] == "Tolerating well, no dissociation"
    assert result["pump_rate_ml_per_h"] == 84.0


def test_a_step_bigger_than_the_protocols_is_a_soft_limit(world: World) -> None:
    session = make_session(world, "infusing")
    response = _post(world, "nurse", _rate_url(session), {"dose_mg_per_kg_h": 0.6, "reason": "Pain"})
    assert response.status_code == 409
    assert response.json()["limit"] == "soft"
    assert response.json()["detail"].startswith("Soft limit: A step of 0.3")


def test_a_rate_change_needs_a_reason(world: World) -> None:
    session = make_session(world, "infusing")
    response = _post(world, "nurse", _rate_url(session), {"dose_mg_per_kg_h": 0.4, "reason": " "})
    assert response.status_code == 422
    assert "reason" in response.json()["detail"]


@pytest.mark.parametrize("stage", ["recovering", "locked"])
def test_a_rate_change_outside_the_infusion_conflicts(world: World, stage: str) -> None:
    session = make_session(world, stage)
    count = SessionEvent.objects.count()
    response = _post(world, "nurse", _rate_url(session), {"dose_mg_per_kg_h": 0.4, "reason": "Pain"})
    assert response.status_code == 409
    assert response.json()["limit"] == ""
    assert SessionEvent.objects.count() == count


def test_a_rate_change_needs_chart_infusion_at_the_location(world: World) -> None:
    session = make_session(world, "infusing")
    body = {"dose_mg_per_kg_h": 0.4, "reason": "Pain"}
    assert _post(world, "outsider", _rate_url(session), body).status_code == 403
    assert _post(world, "admin", _rate_url(session), body).status_code == 403
    unknown = reverse("api:infusion_session_rate", kwargs={"session_id": 999_999})
    assert _post(world, "nurse", unknown, body).status_code == 404
    assert not SessionEvent.objects.filter(session=session, kind="titrate").exists()


# --- GET /sessions/{id} ------------------------------------------------------------------------


def test_session_state_shows_the_chair_dose_totals_vitals_and_alerts(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=60)
    _vital, alerts = actions.record_vitals(
        acting_user=world["nurse"], session=session, values={**NORMAL, "systolic": 170}
    )
    response = api_client(world["nurse"]).get(_state_url(session))
    assert response.status_code == 200
    state = response.json()
    assert state["status"] == "infusing"
    assert state["patient_initials"] == "P.E."
    assert "Example" not in response.content.decode()
    assert state["chair"] == session.chair.name  # type: ignore[union-attr]
    assert state["dose_mg_per_kg_h"] == 0.3
    assert state["pump_rate_ml_per_h"] == 21.0
    assert state["is_running"] is True
    # 0.3 mg/kg/h × 70 kg for about an hour: 21 mg, 21 mL of the 1 mg/mL bag.
    assert state["totals"]["total_mg"] == pytest.approx(21.0, abs=0.1)
    assert state["total_ml"] == pytest.approx(21.0, abs=0.1)
    assert state["infusion_min"] == pytest.approx(60.0, abs=0.5)
    assert state["last_vitals"]["systolic"] == 170
    assert [v["phase"] for v in state["vitals"]] == ["baseline", "infusion"]
    assert [a["id"] for a in state["open_alerts"]] == [a.pk for a in alerts]
    assert state["vitals_due"]["interval_min"] == 10
    assert state["vitals_due"]["overdue"] is False
    assert [e["kind"] for e in state["timeline"]] == ["start"]
    curve = state["predicted_concentration"]
    assert "estimate" in curve["label"]
    assert len(curve["minutes"]) == len(curve["clements_ng_per_ml"]) == len(curve["domino_ng_per_ml"])


def test_session_state_before_the_start_has_no_totals(world: World) -> None:
    session = make_session(world, "ready")
    state = api_client(world["prescriber"]).get(_state_url(session)).json()
    assert state["status"] == "ready"
    assert state["totals"] == {"total_mg": 0.0, "total_ml": 0.0, "infusion_min": 0.0}
    assert state["dose_mg_per_kg_h"] is None
    assert state["predicted_concentration"] is None
    assert state["vitals_due"]["due_at"] is None


def test_reading_a_session_is_audited(world: World) -> None:
    session = make_session(world, "infusing")
    response = api_client(world["nurse"]).get(_state_url(session))
    assert response.status_code == 200
    read = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_type="infusions.InfusionSession").get()
    assert (read.actor, read.object_id, read.patient_id) == (world["nurse"], str(session.pk), world.patient.pk)


def test_session_state_is_refused_outside_ones_locations_and_roles(world: World) -> None:
    session = make_session(world, "infusing")
    assert api_client(world["outsider"]).get(_state_url(session)).status_code == 403
    assert api_client(world["frontdesk"]).get(_state_url(session)).status_code == 403
    assert api_client(world["nurse"]).get(reverse("api:infusion_session", kwargs={"session_id": 0})).status_code == 404
    assert not AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, object_type="infusions.InfusionSession"
    ).exists()
