"""Who may read consent documents, publish new versions, sign, and download signed copies.

Documents themselves hold no health data; a patient's signatures do (they show the person is
being treated with ketamine), so they follow the patient record's rules: staff at the patient's
locations (or with break-glass access), and the patient for their own record."""

from __future__ import annotations

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.consents.models import ConsentSignature
from ketaclinic.core.permissions import has_grant
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import can_use_portal, can_view_patient


def can_view_consent_documents(user: AnyUser) -> bool:
    return has_grant(user, "view_patients")


def can_manage_consent_documents(user: AnyUser) -> bool:
    return has_grant(user, "manage_consent_documents")


def can_view_patient_consents(user: AnyUser, patient: Patient) -> bool:
    """Staff view of a patient's consents: the patient-record rule (location or break-glass)."""
    return has_grant(user, "view_patients") and can_view_patient(user, patient)


def can_sign_for(user: AnyUser, patient: Patient) -> bool:
    """Only the patient signs, from their own portal account."""
    return can_use_portal(user) and isinstance(user, User) and patient.user_id == user.pk


def can_download_signature(user: AnyUser, signature: ConsentSignature) -> bool:
    patient = signature.patient
    return can_sign_for(user, patient) or can_view_patient_consents(user, patient)
