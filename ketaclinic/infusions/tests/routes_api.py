"""Who may call the chairside API (merged into the route walk). The outsider is a nurse at
another location: refused wherever the session belongs to the home location."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from django.utils import timezone

from ketaclinic.core.testing import Route, World
from ketaclinic.infusions.models import InfusionSession
from ketaclinic.infusions.tests.factories import make_session
from ketaclinic.patients.actions import register_patient

OUTSIDER_REFUSED = {"outsider": 403}
WALKER = "Routewalker"


def _session(w: World) -> dict[str, Any]:
    """One infusing session per world, shared by the routes that need it. Its patient and chair
    are its own, so the scheduling routes can still book the shared patient on chair 1."""
    found = InfusionSession.objects.filter(patient__last_name=WALKER).first()
    if found is None:
        walker = register_patient(
            acting_user=None, location=w.location, first_name="Rita", last_name=WALKER, date_of_birth=date(1984, 3, 9)
        )
        found = make_session(replace(w, patient=walker), "infusing", chair_index=3)
    return {"session_id": found.pk}


def _vitals_body(w: World) -> dict[str, Any]:
    return {
        "taken_at": timezone.now().isoformat(),
        "systolic": 128,
        "diastolic": 80,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": 14,
    }


ROUTES: dict[str, Route] = {
    "api:infusion_pump_rate": Route(
        "use_api",
        api=True,
        method="post",
        body=lambda w: {"dose_mg_per_kg_h": 0.5, "weight_kg": 70, "concentration_mg_per_ml": 1},
    ),
    "api:infusion_session": Route("view_infusions", api=True, kwargs=_session, overrides=OUTSIDER_REFUSED),
    "api:infusion_session_vitals": Route(
        "chart_infusion",
        api=True,
        method="post",
        ok=201,
        kwargs=_session,
        body=_vitals_body,
        overrides=OUTSIDER_REFUSED,
    ),
    "api:infusion_session_rate": Route(
        "chart_infusion",
        api=True,
        method="post",
        ok=201,
        kwargs=_session,
        body=lambda w: {"dose_mg_per_kg_h": 0.4, "reason": "Pain 6/10, tolerating well"},
        overrides=OUTSIDER_REFUSED,
    ),
}

ROUTES["api:infusion_aldrete"] = Route(
    "use_api",
    api=True,
    method="post",
    body=lambda w: {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 1, "oxygen_saturation": 2},
)
