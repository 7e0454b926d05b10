"""Patients API: demographics, intake submission and the classification/screen result."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict

from ketaclinic.accounts.models import User
from ketaclinic.api.permissions import require
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.patients import actions
from ketaclinic.patients.candidacy import api_contraindications, check_contraindication_answers
from ketaclinic.patients.classification import DAYS_PER_MONTH_MAX, DEFAULT_CONTRAINDICATION_RULES
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import (
    can_create_patients,
    can_submit_intake,
    can_view_classification,
    can_view_patient,
    can_view_patients,
)
from ketaclinic.patients.queries import active_contraindication_rules, latest_submitted_intake

router = Router(tags=["patients"])


class PatientOut(Schema):
    id: int
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    location_id: int


@router.get("/patients/{patient_id}", response=PatientOut, summary="One patient's demographics (audited)")
def get_patient(request: HttpRequest, patient_id: int) -> PatientOut:
    user = require(request, can_view_patients)
    patient = get_object_or_404(Patient, pk=patient_id)
    require(
        request,
        can_view_patient,
        patient,
        message="This patient belongs to a location you do not work at.",
    )
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    return _out(patient)


class PatientIn(Schema):
    location_id: int
    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    date_of_birth: date
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=16, description="International form, e.g. +15551234567")


def _out(patient: Patient) -> PatientOut:
    return PatientOut(
        id=patient.pk,
        mrn=patient.mrn,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        location_id=patient.location_id,
    )


@router.post("/patients", response={201: PatientOut}, summary="Register a patient at one of your locations")
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[PatientOut]:
    user = require(request, can_create_patients)
    location = Location.objects.filter(pk=payload.location_id).first()
    if location is None or not user.works_at(location.pk):
        raise PermissionDenied("You can only register patients at a location where you work.")
    patient = actions.register_patient(
        acting_user=user,
        location=location,
        first_name=payload.first_name,
        last_name=payload.last_name,
        date_of_birth=payload.date_of_birth,
        email=payload.email,
        phone=payload.phone,
    )
    return Status(201, _out(patient))


# --- Intake and classification -----------------------------------------------------------------

DaysPerMonth = Annotated[int, Field(ge=0, le=DAYS_PER_MONTH_MAX)]
DrugClass = Literal[
    "antidepressant",
    "antiepileptic",
    "beta_blocker",
    "calcium_channel_blocker",
    "cgrp",
    "ace_arb",
    "onabotulinumtoxina",
    "other",
]
Outcome = Literal["ineffective", "not_tolerated", "effective", "ongoing"]
AcuteClass = Literal["triptan", "ergot", "opioid", "combination_analgesic", "simple_analgesic", "gepant_ditan", "other"]
AuraFeature = Literal[
    "spreads_gradually",
    "successive_symptoms",
    "each_symptom_5_to_60_min",
    "unilateral_symptom",
    "positive_symptom",
    "headache_within_60_min",
]


class StrictSchema(Schema):
    # A misspelt key must be refused, not silently dropped: it could hide an answer.
    model_config = ConfigDict(extra="forbid")


class PreventiveTrialIn(StrictSchema):
    drug_class: DrugClass
    outcome: Outcome = Field(description="ineffective and not_tolerated count as failures (EHF, Sacco 2020)")
    drug_name: str = Field(default="", max_length=80)
    dose: str = Field(default="", max_length=60, description="With units, e.g. '100 mg daily'")
    duration_weeks: int | None = Field(default=None, ge=0, le=1000)
    reason_stopped: str = Field(default="", max_length=200)


class MidasIn(StrictSchema):
    q1: int = Field(ge=0, le=90, description="Days of work or school missed (last 3 months)")
    q2: int = Field(ge=0, le=90, description="Days work/school productivity halved, not counting q1's days")
    q3: int = Field(ge=0, le=90, description="Days without household work")
    q4: int = Field(ge=0, le=90, description="Days household productivity halved, not counting q3's days")
    q5: int = Field(ge=0, le=90, description="Days of family, social or leisure activity missed")
    a: int = Field(ge=0, le=90, description="Headache days (recorded, not scored)")
    b: int = Field(ge=0, le=10, description="Average pain 0–10 (recorded, not scored)")


_FEATURE_NOTE = "Optional; absent or null means not answered: counted as not present and the criterion says so."


class IntakeIn(StrictSchema):
    """The intake questionnaire. Only the first seven keys are required. Any other classification
    input left out (or null) is "not answered": it counts as absent, so the criteria resting on it
    are not met, and their reasons say "not answered" — a missing answer never reads as a
    diagnosis."""

    headache_days_per_month: DaysPerMonth
    migraine_feature_days_per_month: DaysPerMonth = Field(description="≤ headache_days_per_month")
    months_at_this_frequency: int = Field(ge=0, le=1200, description="Whole months at the current frequency")
    lifetime_migraine_attacks: int = Field(ge=0, le=100_000)
    debilitating_headache_days_per_month: DaysPerMonth = Field(description="≤ headache_days_per_month")
    preventive_trials: list[PreventiveTrialIn] = Field(max_length=60, description="[] when none were tried")
    contraindications: dict[str, bool | None] = Field(
        description=(
            "Yes/no answers keyed by screening rule: "
            + ", ".join(rule.key for rule in DEFAULT_CONTRAINDICATION_RULES)
            + " (the medical director may retire keys or reword questions on the screening-rules page)."
            " A key left out or null is unanswered and needs review: it is never read as no."
        )
    )
    attack_duration_hours_min: float | None = Field(default=None, gt=0, le=720, description=_FEATURE_NOTE)
    attack_duration_hours_max: float | None = Field(default=None, gt=0, le=720, description=_FEATURE_NOTE)
    unilateral: bool | None = Field(default=None, description=_FEATURE_NOTE)
    pulsating: bool | None = Field(default=None, description=_FEATURE_NOTE)
    moderate_or_severe: bool | None = Field(default=None, description=_FEATURE_NOTE)
    aggravated_by_activity: bool | None = Field(default=None, description=_FEATURE_NOTE)
    nausea_or_vomiting: bool | None = Field(default=None, description=_FEATURE_NOTE)
    photophobia: bool | None = Field(default=None, description=_FEATURE_NOTE)
    phonophobia: bool | None = Field(default=None, description=_FEATURE_NOTE)
    aura: bool | None = Field(default=None, description=_FEATURE_NOTE)
    aura_features: list[AuraFeature] | None = Field(default=None, description="ICHD-3 1.2 C characteristics")
    lifetime_aura_attacks: int | None = Field(default=None, ge=0)
    triptans_failed: int | None = Field(default=None, ge=0, le=20, description=_FEATURE_NOTE + " (as 0)")
    months_debilitating: int | None = Field(default=None, ge=0, le=1200, description="Null: not recorded")
    acute_medication_days: dict[AcuteClass, DaysPerMonth] | None = Field(
        default=None, description="Days/month per acute medication class. " + _FEATURE_NOTE
    )
    midas: MidasIn | None = None
    age_at_onset: int | None = Field(default=None, ge=0, le=120)
    other_diagnoses: str = Field(default="", max_length=2000)
    current_medicines: str = Field(default="", max_length=2000)
    allergies: str = Field(default="", max_length=1000)


class IntakeOut(Schema):
    id: int
    version: int
    status: str
    submitted_at: datetime | None
    screen_verdict: str


class CriterionOut(Schema):
    code: str
    met: bool
    reason: str


class ContraindicationOut(Schema):
    severity: Literal["absolute", "relative"]
    reason: str


class ClassificationOut(Schema):
    chronic_migraine: bool
    criteria: list[CriterionOut]
    preventive_classes_failed: int
    contraindications: list[ContraindicationOut] = Field(
        description="absolute = contraindicated; relative = needs review (an unanswered question is reported "
        "as relative with a reason starting 'Not answered')"
    )


def _intake_patient(request: HttpRequest, patient_id: int, check: Any) -> tuple[User, Patient]:
    patient = get_object_or_404(Patient, pk=patient_id)
    user = require(request, check, patient, message="You may not do this for this patient (role or location).")
    return user, patient


@router.post(
    "/patients/{patient_id}/intake",
    response={201: IntakeOut},
    summary="Submit a patient's intake questionnaire (classified and screened at once; audited)",
)
def submit_patient_intake(request: HttpRequest, patient_id: int, payload: IntakeIn) -> Status[IntakeOut]:
    user, patient = _intake_patient(request, patient_id, can_submit_intake)
    answers = payload.model_dump(mode="json", exclude_none=True)
    known = [rule.key for rule in active_contraindication_rules()]
    try:
        check_contraindication_answers(payload.contraindications, known)
    except ValueError as error:
        raise ValidationError({"contraindications": str(error)}) from None
    intake = actions.submit_intake(acting_user=user, patient=patient, answers=answers, require_complete=False)
    return Status(
        201,
        IntakeOut(
            id=intake.pk,
            version=intake.version,
            status=intake.status,
            submitted_at=intake.submitted_at,
            screen_verdict=intake.result["screen"]["verdict"],
        ),
    )


@router.get(
    "/patients/{patient_id}/classification",
    response=ClassificationOut,
    summary="Classification and contraindication screen of the latest submitted intake (audited)",
)
def get_classification(request: HttpRequest, patient_id: int) -> ClassificationOut:
    user, patient = _intake_patient(request, patient_id, can_view_classification)
    intake = latest_submitted_intake(patient)
    if intake is None:
        raise HttpError(404, "This patient has not submitted an intake yet.")
    audit.record_read(user, intake, patient_id=patient.pk, location_id=patient.location_id)
    result = intake.result
    return ClassificationOut(
        chronic_migraine=result["chronic_migraine"],
        criteria=[CriterionOut(**c) for c in result["criteria"]],
        preventive_classes_failed=result["preventive_classes_failed"],
        contraindications=[ContraindicationOut.model_validate(c) for c in api_contraindications(result)],
    )
