from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from ketaclinic.accounts.permissions import can_manage_staff, can_use_staff_pages, can_view_audit
from ketaclinic.clinics.permissions import can_view_locations
from ketaclinic.core.access import is_second_factor_verified
from ketaclinic.patients.permissions import can_use_portal, can_view_patients


def _nav(request: HttpRequest) -> list[tuple[str, str]]:
    user = request.user
    if not user.is_authenticated:
        return []
    if getattr(user, "is_staff_member", False) and not is_second_factor_verified(user):
        return []
    items: list[tuple[str, str]] = []
    if can_use_staff_pages(user):
        items.append(("Home", reverse("core:home")))
    if can_view_patients(user):
        items.append(("Patients", reverse("patients:list")))
    if can_view_locations(user):
        items.append(("Locations", reverse("clinics:list")))
    if can_manage_staff(user):
        items.append(("Staff", reverse("accounts:staff_list")))
    if can_view_audit(user):
        items.append(("Audit trail", reverse("core:audit")))
    if can_use_portal(user):
        items.append(("My care", reverse("portal:home")))
    return items


def clinic(request: HttpRequest) -> dict[str, Any]:
    return {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "IDLE_TIMEOUT_SECONDS": settings.IDLE_TIMEOUT_SECONDS,
        "nav_items": _nav(request),
    }
