"""Who may see the schedule, book, change the calendar and run clinic-wide replanning.

Role decides whether a person may ever do it (core.permissions.GRANTS); location decides
where: staff act only at locations they work at."""

from __future__ import annotations

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.clinics.models import Location
from ketaclinic.core.permissions import has_grant
from ketaclinic.patients.models import Patient


def _at(user: AnyUser, location_id: int, grant: str) -> bool:
    return has_grant(user, grant) and isinstance(user, User) and user.works_at(location_id)


def can_view_schedule(user: AnyUser) -> bool:
    return has_grant(user, "view_schedule")


def can_view_location_schedule(user: AnyUser, location: Location) -> bool:
    return _at(user, location.pk, "view_schedule")


def can_book_appointments(user: AnyUser) -> bool:
    return has_grant(user, "book_appointments")


def can_book_for_patient(user: AnyUser, patient: Patient) -> bool:
    return _at(user, patient.location_id, "book_appointments")


def can_view_patient_schedule(user: AnyUser, patient: Patient) -> bool:
    return _at(user, patient.location_id, "view_schedule")


def can_manage_calendar(user: AnyUser) -> bool:
    return has_grant(user, "manage_calendar")


def can_manage_location_calendar(user: AnyUser, location: Location) -> bool:
    return _at(user, location.pk, "manage_calendar")


def can_run_replanning(user: AnyUser) -> bool:
    return has_grant(user, "run_replanning")


def can_replan_location(user: AnyUser, location: Location) -> bool:
    return _at(user, location.pk, "run_replanning")


def can_answer_offers(user: AnyUser) -> bool:
    """Front desk (booking for patients) or a patient in the portal."""
    return has_grant(user, "book_appointments") or has_grant(user, "use_portal")


def can_accept_offer(user: AnyUser, patient: Patient) -> bool:
    """The patient the slot is held for, or booking staff at the patient's location."""
    is_self = isinstance(user, User) and user.is_patient_user and patient.user_id == user.pk
    return is_self or can_book_for_patient(user, patient)


def can_set_maintenance_interval(user: AnyUser) -> bool:
    """Prescribers (who write orders) decide when maintenance falls due."""
    return has_grant(user, "write_orders")


def can_set_patient_maintenance_interval(user: AnyUser, patient: Patient) -> bool:
    return _at(user, patient.location_id, "write_orders")
