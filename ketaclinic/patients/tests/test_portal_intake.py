"""The portal questionnaire: save and resume, nothing lost on errors, submission, and the
outcome the patient sees."""

from __future__ import annotations

import pytest

from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.infusions.actions import create_protocol
from ketaclinic.patients.actions import decide_candidacy, save_intake_draft
from ketaclinic.patients.choices import Decision
from ketaclinic.patients.models import Intake
from ketaclinic.patients.tests.factories import FULL_INTAKE, submit_full

HISTORY = {
    "age_at_onset": "14",
    "headache_days_per_month": "20",
    "migraine_feature_days_per_month": "10",
    "debilitating_headache_days_per_month": "9",
    "months_at_this_frequency": "8",
    "months_debilitating": "6",
    "lifetime_migraine_attacks": "300",
}


def test_save_and_continue_later_keeps_a_draft_that_the_next_visit_shows(world: World) -> None:
    client = signed_in_client(world["patient"])
    response = client.post("/portal/intake/history/", {**HISTORY, "then": "later"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    intake = Intake.objects.get(patient=world.patient)
    assert intake.status == "draft"
    assert intake.answers["headache_days_per_month"] == 20

    page = client.get("/portal/intake/history/")
    assert b'value="20"' in page.content
    assert b"Continue the questionnaire" in client.get("/portal/").content


def test_an_invalid_value_shows_the_error_and_keeps_everything_typed(world: World) -> None:
    client = signed_in_client(world["patient"])
    response = client.post("/portal/intake/history/", {**HISTORY, "headache_days_per_month": "45", "then": "next"})
    assert response.status_code == 200
    assert b"31" in response.content
    assert b'value="300"' in response.content  # the other answers are still on the page
    assert not Intake.objects.exists()


def test_more_migraine_days_than_headache_days_is_refused(world: World) -> None:
    client = signed_in_client(world["patient"])
    response = client.post("/portal/intake/history/", {**HISTORY, "migraine_feature_days_per_month": "25"})
    assert response.status_code == 200
    assert b"cannot be more than your headache days" in response.content
    assert not Intake.objects.exists()


def test_preventive_rows_are_saved_and_shown_again(world: World) -> None:
    client = signed_in_client(world["patient"])
    data = {
        "trial-TOTAL_FORMS": "3",
        "trial-INITIAL_FORMS": "0",
        "trial-0-drug_class": "antiepileptic",
        "trial-0-drug_name": "topiramate",
        "trial-0-dose": "100 mg daily",
        "trial-0-duration_weeks": "12",
        "trial-0-outcome": "not_tolerated",
        "trial-0-reason_stopped": "tingling",
        "then": "next",
    }
    assert client.post("/portal/intake/preventives/", data).status_code == 302
    trials = Intake.objects.get(patient=world.patient).answers["preventive_trials"]
    assert trials == [
        {
            "drug_class": "antiepileptic",
            "drug_name": "topiramate",
            "dose": "100 mg daily",
            "duration_weeks": 12,
            "outcome": "not_tolerated",
            "reason_stopped": "tingling",
        }
    ]
    assert b"topiramate" in client.get("/portal/intake/preventives/").content


def test_submitting_an_incomplete_questionnaire_is_refused(world: World) -> None:
    client = signed_in_client(world["patient"])
    client.post("/portal/intake/history/", {**HISTORY, "then": "later"})
    client.post("/portal/intake/")
    assert Intake.objects.get(patient=world.patient).status == "draft"


def test_submitting_a_complete_draft_freezes_classification_screen_and_midas(world: World) -> None:
    save_intake_draft(acting_user=world["patient"], patient=world.patient, answers=FULL_INTAKE)
    client = signed_in_client(world["patient"])
    response = client.post("/portal/intake/")
    assert response.status_code == 302
    intake = Intake.objects.get(patient=world.patient)
    assert intake.status == "submitted"
    assert intake.result["chronic_migraine"] is True
    assert intake.result["screen"]["verdict"] == "clear"
    assert intake.result["midas"]["score"] == 55
    assert intake.result["midas"]["grade"] == "IV"
    assert len(intake.rules_version) == 64
    assert b"waiting for your prescriber" in client.get("/portal/").content


def test_submitted_answers_cannot_be_changed_from_the_portal(world: World) -> None:
    submit_full(world.patient)
    client = signed_in_client(world["patient"])
    client.post("/portal/intake/history/", {**HISTORY, "then": "next"})
    assert Intake.objects.get(patient=world.patient).answers["headache_days_per_month"] == 22


@pytest.mark.parametrize(
    ("decision", "extra", "expected"),
    [
        (Decision.APPROVED, {}, b"Your prescriber has approved treatment; the clinic will contact you to schedule"),
        (Decision.DECLINED, {"note_to_patient": "A kind explanation for you."}, b"A kind explanation for you."),
        (Decision.MORE_INFO, {"note_to_patient": "Please list your triptans."}, b"Please list your triptans."),
    ],
)
def test_patient_sees_the_outcome_in_plain_words(
    world: World, decision: str, extra: dict[str, str], expected: bytes
) -> None:
    intake = submit_full(world.patient)
    protocol = create_protocol(acting_user=None, code="induction", name="Induction")
    decide_candidacy(
        acting_user=world["prescriber"],
        patient=world.patient,
        intake=intake,
        decision=decision,
        password=PASSWORD,
        protocol=protocol if decision == Decision.APPROVED else None,
        note="" if decision == Decision.APPROVED else "Clinical reasoning recorded here.",
        **extra,
    )
    assert expected in signed_in_client(world["patient"]).get("/portal/").content


def test_after_more_information_the_patient_edits_a_new_version(world: World) -> None:
    intake = submit_full(world.patient)
    decide_candidacy(
        acting_user=world["prescriber"],
        patient=world.patient,
        intake=intake,
        decision=Decision.MORE_INFO,
        password=PASSWORD,
        note="Need the preventive history.",
        note_to_patient="Please list every preventive you tried.",
    )
    client = signed_in_client(world["patient"])
    client.post("/portal/intake/history/", {**HISTORY, "then": "next"})
    versions = list(Intake.objects.filter(patient=world.patient).order_by("version").values_list("version", "status"))
    assert versions == [(1, "submitted"), (2, "draft")]
    new = Intake.objects.get(patient=world.patient, version=2)
    assert new.answers["headache_days_per_month"] == 20
    assert new.answers["midas"] == FULL_INTAKE["midas"]  # copied from v1, nothing to retype
    assert client.post("/portal/intake/").status_code == 302
    assert Intake.objects.get(patient=world.patient, version=2).status == "submitted"
