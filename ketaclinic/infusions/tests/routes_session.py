"""Who may open the chairside session page and use its actions (merged into the route walk).

Every persona's walk shares one infusing session at the home location, so the
charting POSTs are sent with an empty body: a permitted person gets the page back with the
form's errors (200) and nothing changes; the outsider, a nurse at another location, is
refused (403) everywhere."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from ketaclinic.core.testing import Route, World
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import InfusionSession
from ketaclinic.infusions.tests.factories import make_session
from ketaclinic.patients.actions import register_patient

OUTSIDER_REFUSED = {"outsider": 403}
WALKER = "Routewalker"


def _session(w: World) -> InfusionSession:
    """The walk's one infusing session, shared with the API routes (routes_api.py): its own
    patient on chair 4, so the scheduling routes can still book the world's patient."""
    found = InfusionSession.objects.filter(patient__last_name=WALKER).first()
    if found is None:
        walker = register_patient(
            acting_user=None, location=w.location, first_name="Rita", last_name=WALKER, date_of_birth=date(1984, 3, 9)
        )
        found = make_session(replace(w, patient=walker), "infusing", chair_index=3)
    return found


def _pk(w: World) -> dict[str, Any]:
    return {"pk": _session(w).pk}


def _alert(w: World) -> dict[str, Any]:
    session = _session(w)
    _, raised = actions.record_vitals(
        acting_user=w["nurse"], session=session, values={"systolic": 190, "diastolic": 85}
    )
    return {"pk": session.pk, "alert_pk": raised[0].pk}


def _post(access: str, ok: int = 200) -> Route:
    return Route(access, kwargs=_pk, method="post", ok=ok, overrides=OUTSIDER_REFUSED)


ROUTES: dict[str, Route] = {
    "infusions:session": Route("view_infusions", kwargs=_pk, overrides=OUTSIDER_REFUSED),
    "infusions:session_state": Route("view_infusions", kwargs=_pk, overrides=OUTSIDER_REFUSED),
    "infusions:session_live": Route("view_infusions", kwargs=_pk, overrides=OUTSIDER_REFUSED),
    "infusions:session_checklist": _post("chart_infusion"),
    "infusions:session_vitals": _post("chart_infusion"),
    # Nothing to validate: the nurse is sent back to the page with a message.
    "infusions:session_validate_vitals": _post("chart_infusion", ok=302),
    "infusions:session_acknowledge": Route("chart_infusion", kwargs=_alert, method="post", overrides=OUTSIDER_REFUSED),
    "infusions:session_override": _post("approve_override"),
    "infusions:session_bag": _post("chart_infusion"),
    "infusions:session_start": _post("chart_infusion"),
    "infusions:session_titrate": _post("chart_infusion"),
    "infusions:session_pause": _post("chart_infusion"),
    "infusions:session_resume": _post("chart_infusion"),
    "infusions:session_stop": _post("chart_infusion"),
    "infusions:session_bolus": _post("chart_infusion"),
    "infusions:session_side_effect": _post("chart_infusion"),
    "infusions:session_medication": _post("chart_infusion"),
    "infusions:session_recovery_score": _post("chart_infusion"),
    "infusions:session_discharge": _post("chart_infusion"),
    "infusions:session_account": _post("chart_infusion"),
    # Signing an infusing session is refused with a message on the page (a redirect).
    "infusions:session_sign": _post("chart_infusion", ok=302),
    "infusions:session_cosign": _post("cosign_infusion", ok=302),
    "infusions:session_addendum": _post("chart_infusion"),
}
