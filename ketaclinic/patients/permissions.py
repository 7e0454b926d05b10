"""Who may open which patient record.

Role decides whether a person may ever see patient records; location decides which ones.
Outside their locations, staff with the break-glass grant may open a record after stating a
reason (:func:`ketaclinic.patients.actions.break_glass`)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.core.permissions import has_grant
from ketaclinic.patients.models import BreakGlassGrant, Patient


def can_view_patients(user: AnyUser) -> bool:
    return has_grant(user, "view_patients")


def can_create_patients(user: AnyUser) -> bool:
    return has_grant(user, "create_patients")


def has_active_break_glass(user: User, patient: Patient) -> bool:
    return BreakGlassGrant.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now()).exists()


def can_view_patient(user: AnyUser, patient: Patient) -> bool:
    if isinstance(user, User) and user.is_patient_user and patient.user_id == user.pk:
        return True
    if not can_view_patients(user) or not isinstance(user, User):
        return False
    return user.works_at(patient.location_id) or has_active_break_glass(user, patient)


def can_break_glass(user: AnyUser, patient: Patient) -> bool:
    """Only for a record the user could not otherwise open."""
    return has_grant(user, "break_glass") and isinstance(user, User) and not user.works_at(patient.location_id)


def can_use_portal(user: AnyUser) -> bool:
    return has_grant(user, "use_portal") and isinstance(user, User) and hasattr(user, "patient_record")


def visible_to(queryset: QuerySet[Patient], user: AnyUser) -> QuerySet[Patient]:
    """Patients listed for a staff user: those at the user's locations."""
    if not can_view_patients(user) or not isinstance(user, User):
        return queryset.none()
    if user.all_locations:
        return queryset
    return queryset.filter(location_id__in=user.location_ids)


def _works_with(user: AnyUser, patient: Patient, grant: str) -> bool:
    return has_grant(user, grant) and isinstance(user, User) and user.works_at(patient.location_id)


def can_edit_patients(user: AnyUser) -> bool:
    return has_grant(user, "edit_patients")


def can_edit_patient(user: AnyUser, patient: Patient) -> bool:
    """Demographics, contacts, escort, payer, weights and portal invitations: at own locations
    only (break-glass is for reading in an emergency, not for editing)."""
    return _works_with(user, patient, "edit_patients")


def can_review_candidacy(user: AnyUser) -> bool:
    return has_grant(user, "review_candidacy")


def can_review_patient_candidacy(user: AnyUser, patient: Patient) -> bool:
    return _works_with(user, patient, "review_candidacy")


def can_manage_screening_rules(user: AnyUser) -> bool:
    return has_grant(user, "manage_screening_rules")


def can_submit_intake(user: AnyUser, patient: Patient) -> bool:
    """The patient for themselves (portal, or the API), or staff who edit records or review
    candidacy at the patient's location."""
    if isinstance(user, User) and user.is_patient_user:
        return has_grant(user, "use_portal") and patient.user_id == user.pk
    return _works_with(user, patient, "edit_patients") or _works_with(user, patient, "review_candidacy")


def can_view_classification(user: AnyUser, patient: Patient) -> bool:
    """Staff who may open patient records at the patient's location (audited read)."""
    return _works_with(user, patient, "view_patients")
