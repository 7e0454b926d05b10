"""Every change to leads, audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.leads.choices import ContactMethod, LeadSource
from ketaclinic.leads.models import Lead


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
) -> Lead:
    """Record a new lead. At least one way to reach the person is required."""
    if not email and not phone:
        raise ValidationError("A lead needs an email address or a phone number.")
    lead = Lead(
        location=location,
        source=source,
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        preferred_contact=preferred_contact,
        message=message.strip(),
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
