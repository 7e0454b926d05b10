"""Every change to leads, audited."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.leads.choices import ContactMethod, LeadSource, LeadStatus
from ketaclinic.leads.models import Lead, LeadNote
from ketaclinic.leads.permissions import can_be_assigned_lead
from ketaclinic.patients.actions import invite_to_portal, register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.website.phi_guard import default_guard


@transaction.atomic
def create_lead(
    *,
    acting_user: User | None,
    location: Location,
    source: LeadSource,
    name: str = "",
    email: str = "",
    phone: str = "",
    preferred_contact: ContactMethod = ContactMethod.EMAIL,
    message: str = "",
    at: datetime | None = None,
) -> Lead:
    """Record a new lead. At least one way to reach the person is required. ``at`` back-dates
    the record (the demo's history only)."""
    if not email and not phone:
        raise ValidationError("A lead needs an email address or a phone number.")
    when = at or timezone.now()
    lead = Lead(
        location=location,
        source=source,
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        preferred_contact=preferred_contact,
        message=message.strip(),
        created_at=when,
        updated_at=when,
    )
    lead.full_clean()
    lead.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=lead,
        location_id=location.pk,
        changes=audit.changes_between(
            {}, {"source": source, "name": lead.name, "email": lead.email, "phone": lead.phone}
        ),
    )
    return lead


def _touch(lead: Lead, fields: list[str]) -> None:
    lead.updated_at = timezone.now()
    lead.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def set_lead_status(*, acting_user: User, lead: Lead, status: LeadStatus) -> Lead:
    """Move a lead along the inbox. "Became patient" is set only by converting the lead."""
    if lead.patient_id is not None:
        raise ValidationError("This lead is already a patient; work the patient record instead.")
    if status == LeadStatus.BECAME_PATIENT:
        raise ValidationError({"status": "Use “Convert to patient” to create the patient record."})
    before = lead.status
    if before == status:
        return lead
    lead.status = status
    _touch(lead, ["status"])
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=lead,
        location_id=lead.location_id,
        changes={"status": [before, status]},
    )
    return lead


@transaction.atomic
def assign_lead(*, acting_user: User, lead: Lead, assignee: User | None) -> Lead:
    """Give the lead to someone who works leads at its location (or to nobody)."""
    if assignee is not None and not can_be_assigned_lead(assignee, lead):
        raise ValidationError({"assignee": f"{assignee} cannot work leads at {lead.location}."})
    before = lead.assigned_to.username if lead.assigned_to else None
    lead.assigned_to = assignee
    _touch(lead, ["assigned_to"])
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=lead,
        location_id=lead.location_id,
        changes=audit.changes_between(
            {"assigned_to": before}, {"assigned_to": assignee.username if assignee else None}
        ),
    )
    return lead


@transaction.atomic
def add_lead_note(*, acting_user: User, lead: Lead, body: str, at: datetime | None = None) -> LeadNote:
    """Append a note. Notes go through the health-information guard like the contact form: a
    lead is not a medical record, so health details belong in the patient record once the lead
    is converted. ``at`` back-dates the note (the demo's history only)."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write the note first."})
    result = default_guard().check(body)
    if result.contains_phi:
        found = ", ".join(f"“{f.excerpt}”" for f in result.findings)
        raise ValidationError(
            {
                "body": f"Leave health details out of lead notes (found: {found}). "
                "Record them in the patient record after converting the lead."
            }
        )
    note = LeadNote.objects.create(lead=lead, author=acting_user, body=body, created_at=at or timezone.now())
    _touch(lead, [])
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=note,
        location_id=lead.location_id,
        changes={"lead_id": [None, lead.pk], "body": [None, body]},
    )
    return note


@transaction.atomic
def convert_lead_to_patient(
    *,
    acting_user: User,
    lead: Lead,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    email: str | None = None,
    phone: str | None = None,
) -> Patient:
    """Create the patient record for a lead, link the two, and mark the lead "became patient".

    When the patient has an email address, a portal invitation (an expiring, single-use link)
    goes out at once so they can complete their history online."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.patient_id is not None:
        raise ValidationError("This lead has already been converted to a patient.")
    patient = register_patient(
        acting_user=acting_user,
        location=lead.location,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        email=(lead.email if email is None else email).strip(),
        phone=(lead.phone if phone is None else phone).strip(),
    )
    before = lead.status
    lead.patient = patient
    lead.status = LeadStatus.BECAME_PATIENT
    _touch(lead, ["patient", "status"])
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=lead,
        patient_id=patient.pk,
        location_id=lead.location_id,
        changes={"status": [before, lead.status], "patient_id": [None, patient.pk]},
    )
    if patient.email:
        invite_to_portal(acting_user=acting_user, patient=patient)
    return patient
