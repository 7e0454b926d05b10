from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.responses import Status

from ketaclinic.api.permissions import require
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.patients import actions
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import can_create_patients, can_view_patient, can_view_patients

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
