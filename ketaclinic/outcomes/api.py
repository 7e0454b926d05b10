"""Outcomes API: diary days (upsert by date), a patient's outcomes against baseline, and MIDAS
and HIT-6 scoring. Staff act at the patient's location; a patient may use their own record."""

from __future__ import annotations

from datetime import date
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from ketaclinic.api.permissions import require
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions import scores
from ketaclinic.outcomes import actions, endpoints, queries
from ketaclinic.outcomes.choices import DiarySource
from ketaclinic.outcomes.permissions import can_enter_patient_diary, can_use_scores, can_view_patient_outcomes
from ketaclinic.patients.models import Patient

router = Router(tags=["outcomes"])

SeverityIn = Literal["none", "mild", "moderate", "severe"]
DrugClassIn = Literal[
    "triptan", "gepant_ditan", "ergot", "simple_analgesic", "combination_analgesic", "opioid", "other"
]


class StrictSchema(Schema):
    # A misspelt key must be refused, not silently dropped: it could hide a symptom.
    model_config = ConfigDict(extra="forbid")


class MedicationIn(StrictSchema):
    drug_class: DrugClassIn
    helped_within_2h: bool | None = None


class DiaryEntryIn(StrictSchema):
    date: date
    headache: bool
    duration_min: int | None = Field(default=None, ge=0, le=actions.MAX_DURATION_MIN, description="Minutes")
    peak_severity: SeverityIn | None = None
    pain_nrs: int | None = Field(default=None, ge=0, le=10, description="Peak pain, 0–10")
    unilateral: bool | None = None
    pulsating: bool | None = None
    aggravated_by_activity: bool | None = None
    nausea: bool | None = None
    vomiting: bool | None = None
    photophobia: bool | None = None
    phonophobia: bool | None = None
    aura: bool | None = None
    migraine_features: bool | None = Field(
        default=None, description="Typical features reported without itemising them (the text code M)"
    )
    acute_medications: list[MedicationIn] = Field(default_factory=list)


class DiaryEntryOut(Schema):
    date: date
    headache: bool
    source: str
    is_late: bool
    is_on_behalf: bool
    revision: int


class DiaryWriteOut(Schema):
    saved: int
    entries: list[DiaryEntryOut]


def _patient(patient_id: int) -> Patient:
    return get_object_or_404(Patient.objects.select_related("location", "user"), pk=patient_id)


@router.post(
    "/patients/{patient_id}/diary",
    response=DiaryWriteOut,
    summary="Write diary days (a list; a day already recorded is replaced). Audited.",
)
def write_diary(request: HttpRequest, patient_id: int, entries: list[DiaryEntryIn]) -> DiaryWriteOut:
    patient = _patient(patient_id)
    user = require(
        request,
        can_enter_patient_diary,
        patient,
        message="Only the patient, or staff who enter diaries at the patient's location, may write this diary.",
    )
    source = DiarySource.API if user.pk == patient.user_id else DiarySource.STAFF
    saved = actions.save_diary_entries(
        acting_user=user,
        patient=patient,
        entries=[e.model_dump(mode="python") for e in entries],
        source=source,
    )
    return DiaryWriteOut(
        saved=len(saved),
        entries=[
            DiaryEntryOut(
                date=e.date,
                headache=e.headache,
                source=e.source,
                is_late=e.is_late,
                is_on_behalf=e.is_on_behalf,
                revision=e.revision,
            )
            for e in saved
        ],
    )


class WindowOut(Schema):
    migraine_days_per_28: float | None
    headache_days_per_28: float | None
    acute_med_days_per_28: float | None
    moderate_severe_days_per_28: float | None
    days_recorded: int
    length_days: int
    sufficient: bool
    medication_overuse: bool
    start: date
    end: date


class FollowUpOut(WindowOut):
    is_complete: bool


class OutcomesOut(Schema):
    baseline: WindowOut | None
    windows: list[FollowUpOut]
    change_migraine_days: float | None
    percent_change: float | None
    responder_30: bool
    responder_50: bool
    responder_75: bool
    evaluable: bool
    first_induction: date | None
    last_induction: date | None
    definitions: dict[str, str]


def _window(w: endpoints.Window) -> dict[str, object]:
    return {
        "migraine_days_per_28": w.migraine_days_per_28,
        "headache_days_per_28": w.headache_days_per_28,
        "acute_med_days_per_28": w.acute_med_days_per_28,
        "moderate_severe_days_per_28": w.per_28.get("moderate_severe_days"),
        "days_recorded": w.days_recorded,
        "length_days": w.length_days,
        "sufficient": w.sufficient,
        "medication_overuse": w.medication_overuse,
        "start": w.start,
        "end": w.end,
    }


def _pair(start: date | None, end: date | None, name: str) -> tuple[date, date] | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValidationError(f"Give both {name}_start and {name}_end, or neither.")
    if end < start:
        raise ValidationError(f"{name}_end is before {name}_start.")
    return start, end


@router.get(
    "/patients/{patient_id}/outcomes",
    response=OutcomesOut,
    summary="Monthly migraine days at baseline and per follow-up window, change and responder status. Audited.",
)
def get_outcomes(  # noqa: PLR0917 - django-ninja reads query parameters from the signature
    request: HttpRequest,
    patient_id: int,
    baseline_start: date | None = None,
    baseline_end: date | None = None,
    window_start: date | None = None,
    window_end: date | None = None,
) -> OutcomesOut:
    patient = _patient(patient_id)
    user = require(
        request,
        can_view_patient_outcomes,
        patient,
        message="Only the patient, or staff who see outcomes at the patient's location, may read this.",
    )
    report = queries.patient_report(
        patient,
        baseline=_pair(baseline_start, baseline_end, "baseline"),
        window=_pair(window_start, window_end, "window"),
    )
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="outcomes.PatientOutcomes",
        object_id=patient.pk,
        patient_id=patient.pk,
        location_id=patient.location_id,
    )
    change = report.change
    responders = change.responders if change else {}
    return OutcomesOut.model_validate(
        {
            "baseline": _window(report.baseline) if report.baseline else None,
            "windows": [{**_window(w), "is_complete": w.is_complete} for w in report.windows],
            "change_migraine_days": change.change_migraine_days if change else None,
            "percent_change": change.percent_change if change else None,
            "responder_30": responders.get(30, False),
            "responder_50": responders.get(50, False),
            "responder_75": responders.get(75, False),
            "evaluable": bool(change and change.evaluable),
            "first_induction": report.induction.first,
            "last_induction": report.induction.last,
            "definitions": report.definitions.describe(),
        }
    )


class MidasIn(StrictSchema):
    # Bounds are checked by the scorer so that every refusal names the rule it broke.
    q1: int = Field(description="Days of work or school missed (last 3 months)")
    q2: int = Field(description="Days work/school productivity halved, not counting q1's days")
    q3: int = Field(description="Days without household work")
    q4: int = Field(description="Days household productivity halved, not counting q3's days")
    q5: int = Field(description="Days of family, social or leisure activity missed")
    a: int = Field(description="Headache days in the last 3 months (recorded, not scored)")
    b: int = Field(description="Average pain 0–10 (recorded, not scored)")


class MidasOut(Schema):
    score: int
    grade: Literal["I", "II", "III", "IV"]
    grade_label: str


@router.post("/scores/midas", response=MidasOut, summary="Score MIDAS (Stewart 2001): sum of q1–q5, grade I–IV")
def score_midas(request: HttpRequest, payload: MidasIn) -> MidasOut:
    require(request, can_use_scores)
    try:
        result = scores.midas(**payload.model_dump())
    except scores.ScoreInputError as exc:
        raise ValidationError(str(exc)) from None
    return MidasOut(score=result.score, grade=result.grade, grade_label=result.grade_label)


class Hit6In(StrictSchema):
    answers: list[Literal["never", "rarely", "sometimes", "very_often", "always"]] = Field(
        min_length=scores.HIT6_ITEM_COUNT, max_length=scores.HIT6_ITEM_COUNT
    )


class Hit6Out(Schema):
    score: int
    band: Literal["little_or_no", "some", "substantial", "severe"]


@router.post("/scores/hit6", response=Hit6Out, summary="Score HIT-6: six answers, total 36–78 and impact band")
def score_hit6(request: HttpRequest, payload: Hit6In) -> Hit6Out:
    require(request, can_use_scores)
    try:
        result = scores.hit6(payload.answers)
    except scores.ScoreInputError as exc:
        raise ValidationError(str(exc)) from None
    return Hit6Out(score=result.score, band=result.band)
