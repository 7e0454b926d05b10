"""Who may see and work leads.

Role decides whether a person may ever see the lead inbox (``view_leads``) or work it
(``manage_leads``); location decides which leads. Leads hold contact details, and a text-message
lead may hold anything the person typed, so they stay with the staff of their location."""

from __future__ import annotations

from django.db.models import QuerySet

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.core.permissions import has_grant
from ketaclinic.leads.models import Lead


def can_view_leads(user: AnyUser) -> bool:
    return has_grant(user, "view_leads")


def can_manage_leads(user: AnyUser) -> bool:
    return has_grant(user, "manage_leads")


def can_view_lead(user: AnyUser, lead: Lead) -> bool:
    return can_view_leads(user) and isinstance(user, User) and user.works_at(lead.location_id)


def can_manage_lead(user: AnyUser, lead: Lead) -> bool:
    return can_manage_leads(user) and isinstance(user, User) and user.works_at(lead.location_id)


def can_create_lead_at(user: AnyUser, location_id: int) -> bool:
    return can_manage_leads(user) and isinstance(user, User) and user.works_at(location_id)


def can_be_assigned_lead(user: User, lead: Lead) -> bool:
    """A lead may be given to someone who can work it at its location."""
    return user.is_active and can_manage_lead(user, lead)


def visible_to(queryset: QuerySet[Lead], user: AnyUser) -> QuerySet[Lead]:
    """Leads listed for a staff user: those at the user's locations."""
    if not can_view_leads(user) or not isinstance(user, User):
        return queryset.none()
    if user.all_locations:
        return queryset
    return queryset.filter(location_id__in=user.location_ids)
