"""Leads built through the real action."""

from __future__ import annotations

from typing import Any

from ketaclinic.clinics.models import Location
from ketaclinic.leads.actions import create_lead
from ketaclinic.leads.choices import ContactMethod, LeadSource
from ketaclinic.leads.models import Lead


def make_lead(location: Location, **overrides: Any) -> Lead:
    fields: dict[str, Any] = {
        "source": LeadSource.WEBSITE,
        "name": "Ada Brightwater",
        "email": "ada.brightwater@example.org",
        "phone": "+13035550177",
        "preferred_contact": ContactMethod.EMAIL,
        "message": "What are your opening hours?",
    }
    fields.update(overrides)
    return create_lead(acting_user=None, location=location, **fields)
