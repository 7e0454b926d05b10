"""Who may see and write diaries, questionnaires and outcomes.

Role decides whether a person may ever do it (``core.permissions.GRANTS``); the patient's
location decides for whom. A patient may always read and write their own diary."""

from __future__ import annotations

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.clinics.models import Location
from ketaclinic.core.permissions import has_grant
from ketaclinic.patients.models import Patient


def _at(user: AnyUser, patient: Patient, grant: str) -> bool:
    return has_grant(user, grant) and isinstance(user, User) and user.works_at(patient.location_id)


def is_own_record(user: AnyUser, patient: Patient) -> bool:
    return (
        isinstance(user, User) and user.is_patient_user and has_grant(user, "use_portal") and patient.user_id == user.pk
    )


def can_view_outcomes(user: AnyUser) -> bool:
    return has_grant(user, "view_outcomes")


def can_view_patient_outcomes(user: AnyUser, patient: Patient) -> bool:
    return is_own_record(user, patient) or _at(user, patient, "view_outcomes")


def can_enter_diary(user: AnyUser) -> bool:
    return has_grant(user, "enter_diary_for_patient")


def can_enter_patient_diary(user: AnyUser, patient: Patient) -> bool:
    """The patient for themselves, or staff entering on the patient's behalf at their location."""
    return is_own_record(user, patient) or _at(user, patient, "enter_diary_for_patient")


def can_view_clinic_outcomes(user: AnyUser) -> bool:
    return has_grant(user, "view_clinic_outcomes")


def can_manage_outcome_definitions(user: AnyUser) -> bool:
    return has_grant(user, "manage_outcome_definitions")


def can_manage_location_definitions(user: AnyUser, location: Location) -> bool:
    """A location's own outcome definitions: the grant, at one of the user's locations."""
    return has_grant(user, "manage_outcome_definitions") and isinstance(user, User) and user.works_at(location.pk)


def can_manage_clinic_definitions(user: AnyUser) -> bool:
    """The clinic-wide definitions apply at every location without its own, so changing them
    needs the grant at every location."""
    if not (has_grant(user, "manage_outcome_definitions") and isinstance(user, User)):
        return False
    return user.all_locations or set(Location.objects.values_list("id", flat=True)) <= user.location_ids


def can_acknowledge_relapse(user: AnyUser, patient: Patient) -> bool:
    """Prescribers and the medical director act on a relapse flag (review_candidacy holders)."""
    return _at(user, patient, "review_candidacy")


def can_use_scores(user: AnyUser) -> bool:
    return has_grant(user, "use_api")
