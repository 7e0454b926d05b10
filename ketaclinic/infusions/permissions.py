"""Who may open and chart infusion records.

Role decides whether a person may ever do it (``core.permissions.GRANTS``); location decides
where: a session belongs to its location, and staff act only at the locations they work at."""

from __future__ import annotations

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.core.permissions import has_grant
from ketaclinic.infusions.models import InfusionSession
from ketaclinic.patients.models import Patient


def _at(user: AnyUser, grant: str, location_id: int) -> bool:
    return has_grant(user, grant) and isinstance(user, User) and user.works_at(location_id)


def can_view_infusions(user: AnyUser) -> bool:
    return has_grant(user, "view_infusions")


def can_chart_infusions(user: AnyUser) -> bool:
    return has_grant(user, "chart_infusion")


def can_approve_overrides(user: AnyUser) -> bool:
    return has_grant(user, "approve_override")


def can_cosign_infusions(user: AnyUser) -> bool:
    return has_grant(user, "cosign_infusion")


def can_view_session(user: AnyUser, session: InfusionSession) -> bool:
    return _at(user, "view_infusions", session.location_id)


def can_chart_session(user: AnyUser, session: InfusionSession) -> bool:
    """Checklist, bag, pump events, vitals, side effects, recovery, discharge, signing."""
    return _at(user, "view_infusions", session.location_id) and _at(user, "chart_infusion", session.location_id)


def can_override_session(user: AnyUser, session: InfusionSession) -> bool:
    """Override a baseline-vitals block or acknowledge a soft-limit dose on this session."""
    return can_chart_session(user, session) and _at(user, "approve_override", session.location_id)


def can_cosign_session(user: AnyUser, session: InfusionSession) -> bool:
    """Co-sign (and so lock) this record; the action also refuses the nurse who signed."""
    return can_view_session(user, session) and _at(user, "cosign_infusion", session.location_id)


def can_manage_protocols(user: AnyUser) -> bool:
    return has_grant(user, "manage_protocols")


def can_write_orders(user: AnyUser) -> bool:
    return has_grant(user, "write_orders")


# --- Protocol library, orders, printable record, monitor log (views_library) -----------------


def _works_with(user: AnyUser, grant: str, location_id: int) -> bool:
    return has_grant(user, grant) and isinstance(user, User) and user.works_at(location_id)


def can_view_protocols(user: AnyUser) -> bool:
    """Staff who read infusion records may read the protocol library they run under."""
    return has_grant(user, "view_infusions") or has_grant(user, "manage_protocols")


def can_write_order_for(user: AnyUser, patient: Patient) -> bool:
    """A prescriber orders only for patients at a location where they work."""
    return _works_with(user, "write_orders", patient.location_id)


def can_view_orders(user: AnyUser) -> bool:
    return has_grant(user, "view_infusions") or has_grant(user, "write_orders")


def can_view_patient_orders(user: AnyUser, patient: Patient) -> bool:
    return _works_with(user, "view_infusions", patient.location_id) or can_write_order_for(user, patient)


def can_view_record(user: AnyUser, session: InfusionSession) -> bool:
    """The printable infusion record (HTML and PDF) of a session at one of the user's locations."""
    return _works_with(user, "view_infusions", session.location_id)


def can_view_monitor_log(user: AnyUser) -> bool:
    return has_grant(user, "view_infusions")


def can_view_all_monitor_messages(user: AnyUser) -> bool:
    """Messages from an unknown chair belong to no location: the medical director sees them."""
    return has_grant(user, "manage_protocols")
