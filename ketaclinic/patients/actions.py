"""Changes to patient records and emergency access. Each writes its own audit event."""

from __future__ import annotations

import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.patients.models import BreakGlassGrant, Patient
from ketaclinic.patients.permissions import can_break_glass

# A reason short enough to be "x" or "urgent" tells a reviewer nothing.
MIN_REASON_CHARS = 10


def _new_mrn() -> str:
    # Random rather than sequential, so an MRN does not reveal how many patients a clinic has.
    while True:
        mrn = f"K{secrets.randbelow(10**7):07d}"
        if not Patient.objects.filter(mrn=mrn).exists():
            return mrn


@transaction.atomic
def register_patient(
    *,
    acting_user: User | None,
    location: Location,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    email: str = "",
    phone: str = "",
    preferred_name: str = "",
    user: User | None = None,
) -> Patient:
    """Create a patient record at ``location``."""
    patient = Patient(
        mrn=_new_mrn(),
        location=location,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        preferred_name=preferred_name.strip(),
        date_of_birth=date_of_birth,
        email=email,
        phone=phone,
        user=user,
    )
    patient.full_clean()
    if date_of_birth > timezone.localdate():
        raise ValidationError({"date_of_birth": "The date of birth is in the future."})
    patient.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=patient,
        patient_id=patient.pk,
        location_id=location.pk,
        changes=audit.changes_between(
            {},
            {
                "mrn": patient.mrn,
                "first_name": patient.first_name,
                "last_name": patient.last_name,
                "date_of_birth": date_of_birth,
            },
        ),
    )
    return patient


@transaction.atomic
def break_glass(*, acting_user: User, patient: Patient, reason: str) -> BreakGlassGrant:
    """Open a record outside the user's locations for a short time, with a stated reason that is
    flagged in the audit trail (HIPAA 164.312(a)(2)(ii) emergency access)."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationError({"reason": "Say why you need this record (at least a short sentence)."})
    if not can_break_glass(acting_user, patient):
        raise ValidationError("Break-glass is only for records outside your own locations.")
    now = timezone.now()
    grant = BreakGlassGrant.objects.create(
        user=acting_user,
        patient=patient,
        reason=reason,
        granted_at=now,
        expires_at=now + BreakGlassGrant.default_expiry(),
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.BREAK_GLASS,
        obj=patient,
        patient_id=patient.pk,
        location_id=patient.location_id,
        reason=reason,
        is_break_glass=True,
    )
    return grant
