"""Read helpers for the lead inbox."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from ketaclinic.accounts.models import User
from ketaclinic.core.permissions import GRANTS
from ketaclinic.leads.choices import LeadStatus
from ketaclinic.leads.models import Lead
from ketaclinic.leads.permissions import visible_to

OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.CONSULTATION_BOOKED)


def inbox(user: User, *, status: str = "", mine: bool = False, location_id: int | None = None) -> QuerySet[Lead]:
    """Leads the user may see, newest first, filtered as asked. No status means the open ones."""
    leads = visible_to(Lead.objects.select_related("location", "assigned_to"), user).annotate(note_count=Count("notes"))
    leads = leads.filter(status=status) if status else leads.filter(status__in=OPEN_STATUSES)
    if mine:
        leads = leads.filter(assigned_to=user)
    if location_id is not None:
        leads = leads.filter(location_id=location_id)
    return leads.order_by("-created_at")


def assignable_staff(location_id: int) -> QuerySet[User]:
    """Active staff who work leads at a location: the choices for "assign to"."""
    roles, _ = GRANTS["manage_leads"]
    return (
        User.objects.filter(is_active=True, roles__role__in=roles)
        .filter(Q(all_locations=True) | Q(locations=location_id))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
