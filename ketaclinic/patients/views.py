"""Patient records for staff, and the patient's own portal home."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.models import AuditEvent
from ketaclinic.patients import actions
from ketaclinic.patients.forms import BreakGlassForm, PatientSearchForm
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import (
    can_break_glass,
    can_use_portal,
    can_view_patient,
    can_view_patients,
    visible_to,
)

PAGE_SIZE = 50


@signed_in(can_view_patients)
def patient_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = PatientSearchForm(request.GET or None)
    patients = visible_to(Patient.objects.select_related("location"), user)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if query:
        patients = patients.filter(
            Q(last_name__icontains=query) | Q(first_name__icontains=query) | Q(mrn__iexact=query)
        )
    shown = list(patients[:PAGE_SIZE])
    # A list of names is health data too: audit who saw which list.
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="patients.Patient",
        object_id="list",
        changes={"query": query, "patient_ids": [p.pk for p in shown]},
    )
    return render(request, "patients/list.html", {"form": form, "patients": shown, "query": query})


@signed_in(can_view_patients)
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if not can_view_patient(user, patient):
        if can_break_glass(user, patient):
            return redirect("patients:break_glass", pk=patient.pk)
        raise PermissionDenied
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    return render(
        request,
        "patients/detail.html",
        {"patient": patient, "is_break_glass": not user.works_at(patient.location_id)},
    )


@signed_in(can_view_patients)
@require_http_methods(["GET", "POST"])
def patient_break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if can_view_patient(user, patient):
        return redirect("patients:detail", pk=patient.pk)
    if not can_break_glass(user, patient):
        raise PermissionDenied
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.break_glass(acting_user=user, patient=patient, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.warning(
                request,
                "Emergency access granted for 60 minutes. This access is flagged for review.",
            )
            return redirect("patients:detail", pk=patient.pk)
    # Only the location is shown before access: not the patient's name or any health data.
    return render(
        request,
        "patients/break_glass.html",
        {"form": form, "patient_id": patient.pk, "location": patient.location},
    )


@signed_in(can_use_portal)
def portal_home(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    patient = user.patient_record
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    return render(request, "patients/portal_home.html", {"patient": patient})
