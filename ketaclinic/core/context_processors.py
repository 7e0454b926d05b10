from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from ketaclinic.accounts.permissions import can_manage_staff, can_use_staff_pages, can_view_audit
from ketaclinic.clinics.permissions import can_view_locations
from ketaclinic.consents.permissions import can_manage_consent_documents
from ketaclinic.core.access import is_second_factor_verified
from ketaclinic.infusions.permissions import can_view_protocols
from ketaclinic.inventory.permissions import can_view_inventory
from ketaclinic.leads.permissions import can_view_leads
from ketaclinic.messaging.permissions import can_message_patients, can_view_message_log
from ketaclinic.outcomes.permissions import can_view_clinic_outcomes
from ketaclinic.patients.permissions import can_use_portal, can_view_patients
from ketaclinic.scheduling.permissions import can_view_schedule
from ketaclinic.website.permissions import can_edit_website

# (label, URL name, who sees it) in menu order; the first match wins among alternatives.
NAV: list[tuple[str, str, Callable[[Any], bool]]] = [
    ("Home", "core:home", can_use_staff_pages),
    ("Patients", "patients:list", can_view_patients),
    ("Leads", "leads:inbox", can_view_leads),
    ("Schedule", "scheduling:board", can_view_schedule),
    ("Messages", "messaging:conversations", can_message_patients),
    ("Message log", "messaging:log", lambda u: can_view_message_log(u) and not can_message_patients(u)),
    ("Protocols", "infusions:library", can_view_protocols),
    ("Controlled substances", "inventory:home", can_view_inventory),
    ("Locations", "clinics:list", can_view_locations),
    ("Staff", "accounts:staff_list", can_manage_staff),
    ("Outcomes", "outcomes:dashboard", can_view_clinic_outcomes),
    ("Consents", "consents:documents", can_manage_consent_documents),
    ("Website", "website:editor", can_edit_website),
    ("Audit trail", "core:audit", can_view_audit),
    ("My care", "portal:home", can_use_portal),
]


def _nav(request: HttpRequest) -> list[tuple[str, str]]:
    user = request.user
    if not user.is_authenticated:
        return []
    if getattr(user, "is_staff_member", False) and not is_second_factor_verified(user):
        return []
    return [(label, reverse(name)) for label, name, check in NAV if check(user)]


def clinic(request: HttpRequest) -> dict[str, Any]:
    return {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "IDLE_TIMEOUT_SECONDS": settings.IDLE_TIMEOUT_SECONDS,
        "nav_items": _nav(request),
    }
