"""Who may see and change locations and chairs."""

from __future__ import annotations

from django.db.models import QuerySet

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.clinics.models import Location
from ketaclinic.core.permissions import has_grant


def can_view_locations(user: AnyUser) -> bool:
    return has_grant(user, "view_locations")


def can_manage_locations(user: AnyUser) -> bool:
    return has_grant(user, "manage_locations")


def visible_to(queryset: QuerySet[Location], user: AnyUser) -> QuerySet[Location]:
    """Locations a user may see: all for administrators and all-locations staff, else their own."""
    if not can_view_locations(user):
        return queryset.none()
    if can_manage_locations(user) or not isinstance(user, User) or user.all_locations:
        return queryset
    return queryset.filter(id__in=user.location_ids)
