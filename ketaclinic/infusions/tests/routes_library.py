"""Who may open the protocol library, orders, printable record and monitor log. The outsider is
a nurse at another location: refused wherever the patient or session belongs to the home site."""

from __future__ import annotations

from typing import Any

from ketaclinic.core.testing import Route, World
from ketaclinic.infusions.models import InfusionSession
from ketaclinic.infusions.tests.factories import make_session, version

OUTSIDER_REFUSED = {"outsider": 403}


def _protocol(w: World) -> dict[str, Any]:
    return {"pk": version().protocol_id}


def _patient(w: World) -> dict[str, Any]:
    return {"pk": w.patient.pk}


def _session(w: World) -> dict[str, Any]:
    """One session per world (the record and its PDF share it; a second booking would clash)."""
    existing = InfusionSession.objects.filter(patient=w.patient).first()
    return {"pk": (existing or make_session(w, "infusing")).pk}


ROUTES: dict[str, Route] = {
    "infusions:library": Route("view_infusions"),
    "infusions:protocol_new": Route("manage_protocols"),
    "infusions:protocol": Route("view_infusions", kwargs=_protocol),
    "infusions:protocol_publish": Route("manage_protocols", kwargs=_protocol),
    "infusions:orders": Route("view_infusions", kwargs=_patient, overrides=OUTSIDER_REFUSED),
    "infusions:record": Route("view_infusions", kwargs=_session, overrides=OUTSIDER_REFUSED),
    "infusions:record_pdf": Route("view_infusions", kwargs=_session, overrides=OUTSIDER_REFUSED),
    "infusions:monitor_log": Route("view_infusions"),
}
