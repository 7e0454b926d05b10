"""POST /patients/{id}/intake and GET /patients/{id}/classification, including the ICHD-3 1.3
boundaries through the API and refusals that write nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, api_client
from ketaclinic.patients.models import Intake
from ketaclinic.patients.tests.factories import MINIMAL_INTAKE


def _post(world: World, body: dict[str, Any], persona: str = "prescriber") -> Any:
    return api_client(world[persona]).post(
        f"/api/v1/patients/{world.patient.pk}/intake", data=body, content_type="application/json"
    )


def _classification(world: World, persona: str = "prescriber") -> Any:
    return api_client(world[persona]).get(f"/api/v1/patients/{world.patient.pk}/classification")


def _body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(MINIMAL_INTAKE)
    body.update(changes)
    return body


def test_minimal_body_is_accepted_and_classification_has_exactly_the_documented_shape(world: World) -> None:
    response = _post(world, MINIMAL_INTAKE)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "submitted"

    result = _classification(world)
    assert result.status_code == 200
    data = result.json()
    assert set(data) == {"chronic_migraine", "criteria", "preventive_classes_failed", "contraindications"}
    assert isinstance(data["chronic_migraine"], bool)
    assert data["preventive_classes_failed"] == 2
    for criterion in data["criteria"]:
        assert set(criterion) == {"code", "met", "reason"}
    assert {"1.3.A", "1.3.B", "1.3.C"} <= {c["code"] for c in data["criteria"]}
    for finding in data["contraindications"]:
        assert set(finding) == {"severity", "reason"}
        assert finding["severity"] in {"absolute", "relative"}


def test_unanswered_attack_features_are_not_met_and_say_not_answered(world: World) -> None:
    _post(world, MINIMAL_INTAKE)
    criteria = {c["code"]: c for c in _classification(world).json()["criteria"]}
    for code in ("1.1.B", "1.1.C", "1.1.D"):
        assert criteria[code]["met"] is False
        assert "Not answered" in criteria[code]["reason"]
    # 1.3 B rests on 1.1 B–D, so chronic migraine cannot be concluded without them.
    assert criteria["1.3.B"]["met"] is False
    assert "Not answered" in criteria["1.3.B"]["reason"]


def test_unanswered_contraindication_questions_are_reported_as_needing_review(world: World) -> None:
    _post(world, _body(contraindications={"pregnancy": False}))
    findings = _classification(world).json()["contraindications"]
    assert findings, "an unasked question must never read as no"
    assert all(f["severity"] == "relative" and f["reason"].startswith("Not answered") for f in findings)


def test_an_absolute_yes_is_reported_first_with_its_reason(world: World) -> None:
    _post(world, _body(contraindications={"aneurysmal_vascular_disease": True}))
    findings = _classification(world).json()["contraindications"]
    assert findings[0]["severity"] == "absolute"
    assert "blood pressure" in findings[0]["reason"]


def _chronic_body(**changes: Any) -> dict[str, Any]:
    # Every attack feature answered so 1.3 B is met and only the boundary under test decides.
    features = {
        "attack_duration_hours_min": 6,
        "attack_duration_hours_max": 24,
        "unilateral": True,
        "pulsating": True,
        "moderate_or_severe": True,
        "aggravated_by_activity": True,
        "nausea_or_vomiting": True,
        "photophobia": True,
        "phonophobia": True,
    }
    return _body(
        **{
            "headache_days_per_month": 15,
            "migraine_feature_days_per_month": 8,
            "months_at_this_frequency": 3,
            **features,
            **changes,
        }
    )


@pytest.mark.parametrize(
    ("changes", "code", "expected"),
    [
        ({"headache_days_per_month": 14}, "1.3.A", False),
        ({"headache_days_per_month": 15}, "1.3.A", True),
        ({"migraine_feature_days_per_month": 7}, "1.3.C", False),
        ({"migraine_feature_days_per_month": 8}, "1.3.C", True),
        ({"months_at_this_frequency": 2}, "1.3.A", False),
        ({"months_at_this_frequency": 3}, "1.3.A", True),
    ],
)
def test_chronic_migraine_boundaries_through_the_api(
    world: World, changes: dict[str, Any], code: str, expected: bool
) -> None:
    assert _post(world, _chronic_body(**changes)).status_code == 201
    data = _classification(world).json()
    criterion = next(c for c in data["criteria"] if c["code"] == code)
    assert criterion["met"] is expected
    assert data["chronic_migraine"] is expected


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"headache_days_per_month": -1}, "headache_days_per_month"),
        ({"headache_days_per_month": 32}, "headache_days_per_month"),
        ({"migraine_feature_days_per_month": 25}, "migraine_feature_days_per_month"),
        ({"preventive_trials": [{"drug_class": "homeopathy", "outcome": "ineffective"}]}, "drug_class"),
        ({"preventive_trials": [{"drug_class": "cgrp", "outcome": "meh"}]}, "outcome"),
        ({"contraindications": {"likes_cats": True}}, "likes_cats"),
        ({"headache_dayz_per_month": 3}, "headache_dayz_per_month"),
    ],
)
def test_invalid_intake_is_refused_with_422_and_writes_nothing(
    world: World, changes: dict[str, Any], needle: str
) -> None:
    intakes, events = Intake.objects.count(), AuditEvent.objects.filter(object_type="patients.Intake").count()
    response = _post(world, _body(**changes))
    assert response.status_code == 422, response.content
    assert needle in str(response.json()["detail"])
    assert Intake.objects.count() == intakes
    assert AuditEvent.objects.filter(object_type="patients.Intake").count() == events


def test_missing_required_key_is_refused(world: World) -> None:
    body = _body()
    del body["months_at_this_frequency"]
    response = _post(world, body)
    assert response.status_code == 422
    assert "months_at_this_frequency" in str(response.json()["detail"])
    assert not Intake.objects.exists()


def test_intake_submission_is_audited_and_resubmission_is_a_new_version(world: World) -> None:
    _post(world, MINIMAL_INTAKE)
    _post(world, _body(headache_days_per_month=25))
    versions = list(Intake.objects.filter(patient=world.patient).order_by("version").values_list("version", "status"))
    assert versions == [(1, "submitted"), (2, "submitted")]
    assert AuditEvent.objects.filter(object_type="patients.Intake", actor=world["prescriber"]).count() == 2


def test_classification_read_is_audited(world: World) -> None:
    _post(world, MINIMAL_INTAKE)
    _classification(world, "nurse")
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, actor=world["nurse"], patient_id=world.patient.pk
    ).exists()


def test_outsider_and_nurse_cannot_submit_and_outsider_cannot_read(world: World) -> None:
    assert _post(world, MINIMAL_INTAKE, "nurse").status_code == 403
    assert _post(world, MINIMAL_INTAKE, "outsider").status_code == 403
    _post(world, MINIMAL_INTAKE)
    assert _classification(world, "outsider").status_code == 403


def test_classification_before_any_intake_is_404(world: World) -> None:
    assert _classification(world).status_code == 404


def test_patient_may_submit_their_own_intake_but_not_someone_elses(world: World) -> None:
    assert _post(world, MINIMAL_INTAKE, "patient").status_code == 201
    other = api_client(world["patient"]).post(
        f"/api/v1/patients/{world.other_patient.pk}/intake", data=MINIMAL_INTAKE, content_type="application/json"
    )
    assert other.status_code == 403
