"""Who may open the lead inbox, a lead, and the lead API (merged into the route walk)."""

from __future__ import annotations

from ketaclinic.core.testing import Route, World
from ketaclinic.leads.actions import create_lead
from ketaclinic.leads.choices import LeadSource


def _lead(w: World) -> dict[str, int]:
    lead = create_lead(
        acting_user=None, location=w.location, source=LeadSource.PHONE, name="Route Walker", phone="+13035550111"
    )
    return {"pk": lead.pk}


ROUTES: dict[str, Route] = {
    "leads:inbox": Route("view_leads"),
    "leads:detail": Route("view_leads", kwargs=_lead),
    # Changes are POST only: a permitted GET is told so (405).
    "leads:status": Route("manage_leads", kwargs=_lead, ok=405),
    "leads:assign": Route("manage_leads", kwargs=_lead, ok=405),
    "leads:note": Route("manage_leads", kwargs=_lead, ok=405),
    "leads:convert": Route("manage_leads", kwargs=_lead),
    "api:list_leads": Route("view_leads", api=True),
    "api:create_lead": Route(
        "manage_leads",
        api=True,
        method="post",
        ok=201,
        body=lambda w: {"location_id": w.location.pk, "name": "Route Walker", "phone": "+13035550112"},
    ),
}
