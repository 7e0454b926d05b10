"""The front desk's lead inbox: who wrote, texted or called, and what has been done about it."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.forms import add_action_errors
from ketaclinic.leads import actions
from ketaclinic.leads.choices import LeadStatus
from ketaclinic.leads.forms import LeadAssignForm, LeadConvertForm, LeadFilterForm, LeadNoteForm, LeadStatusForm
from ketaclinic.leads.models import Lead
from ketaclinic.leads.permissions import can_manage_lead, can_manage_leads, can_view_lead, can_view_leads
from ketaclinic.leads.queries import assignable_staff, inbox

PAGE_SIZE = 100


def _lead_for(request: HttpRequest, pk: int, *, manage: bool) -> tuple[User, Lead]:
    user = cast(User, request.user)
    lead = get_object_or_404(Lead.objects.select_related("location", "assigned_to", "patient"), pk=pk)
    allowed = can_manage_lead(user, lead) if manage else can_view_lead(user, lead)
    if not allowed:
        raise PermissionDenied
    return user, lead


@signed_in(can_view_leads)
def lead_inbox(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = LeadFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    leads = list(inbox(user, status=filters.get("status", ""), mine=bool(filters.get("mine")))[:PAGE_SIZE])
    return render(
        request,
        "leads/inbox.html",
        {"form": form, "leads": leads, "is_filtered": bool(request.GET), "page_size": PAGE_SIZE},
    )


def _detail(
    request: HttpRequest,
    user: User,
    lead: Lead,
    *,
    note_form: LeadNoteForm | None = None,
    status_form: LeadStatusForm | None = None,
    assign_form: LeadAssignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # A lead is not a health record (the form refuses health details), but a text-message lead
    # may hold anything the person typed: reading one is audited like a chart.
    audit.record_read(user, lead, patient_id=lead.patient_id, location_id=lead.location_id)
    staff = assignable_staff(lead.location_id)
    return render(
        request,
        "leads/detail.html",
        {
            "lead": lead,
            "notes": lead.notes.select_related("author"),
            "can_manage": can_manage_lead(user, lead),
            "note_form": note_form or LeadNoteForm(),
            "status_form": status_form
            or LeadStatusForm(initial={"status": lead.status if lead.status != LeadStatus.BECAME_PATIENT else ""}),
            "assign_form": assign_form or LeadAssignForm(staff=staff, initial={"assignee": lead.assigned_to_id}),
        },
        status=status,
    )


@signed_in(can_view_leads)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for(request, pk, manage=False)
    return _detail(request, user, lead)


@signed_in(can_manage_leads)
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for(request, pk, manage=True)
    form = LeadStatusForm(request.POST)
    if form.is_valid():
        try:
            actions.set_lead_status(acting_user=user, lead=lead, status=LeadStatus(form.cleaned_data["status"]))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Status is now “{lead.get_status_display()}”.")
        return redirect("leads:detail", pk=lead.pk)
    return _detail(request, user, lead, status_form=form, status=400)


@signed_in(can_manage_leads)
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for(request, pk, manage=True)
    form = LeadAssignForm(request.POST, staff=assignable_staff(lead.location_id))
    if form.is_valid():
        assignee = form.cleaned_data["assignee"]
        try:
            actions.assign_lead(acting_user=user, lead=lead, assignee=assignee)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Assigned to {assignee}." if assignee else "No longer assigned to anyone.")
        return redirect("leads:detail", pk=lead.pk)
    return _detail(request, user, lead, assign_form=form, status=400)


@signed_in(can_manage_leads)
@require_POST
def lead_note(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for(request, pk, manage=True)
    form = LeadNoteForm(request.POST)
    if form.is_valid():
        try:
            actions.add_lead_note(acting_user=user, lead=lead, body=form.cleaned_data["body"])
        except ValidationError as exc:
            form.add_error("body", exc.message_dict.get("body", exc.messages))
        else:
            messages.success(request, "Note added.")
            return redirect("leads:detail", pk=lead.pk)
    return _detail(request, user, lead, note_form=form, status=400)


@signed_in(can_manage_leads)
@require_http_methods(["GET", "POST"])
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for(request, pk, manage=True)
    if lead.patient_id is not None:
        messages.info(request, "This lead is already a patient.")
        return redirect("leads:detail", pk=lead.pk)
    form = LeadConvertForm.for_lead(lead, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = actions.convert_lead_to_patient(
                acting_user=user,
                lead=lead,
                first_name=data["first_name"],
                last_name=data["last_name"],
                date_of_birth=data["date_of_birth"],
                email=data["email"],
                phone=data["phone"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            invited = (
                " A portal invitation was emailed."
                if patient.email
                else " No email address: no portal invitation was sent."
            )
            messages.success(request, f"Patient record {patient.mrn} created for {patient.full_name}.{invited}")
            return redirect("patients:detail", pk=patient.pk)
    return render(request, "leads/convert.html", {"lead": lead, "form": form})
