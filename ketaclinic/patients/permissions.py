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
