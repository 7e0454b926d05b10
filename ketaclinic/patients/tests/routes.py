"""Who may open the patients app's URLs (merged into core/tests/test_routes.py's walk)."""

from __future__ import annotations

from typing import Any

from ketaclinic.core.testing import Route, World
from ketaclinic.patients.tests.factories import MINIMAL_INTAKE, submit_api_intake


def _patient(w: World) -> dict[str, Any]:
    return {"pk": w.patient.pk}


def _patient_with_intake(w: World) -> dict[str, Any]:
    submit_api_intake(w, MINIMAL_INTAKE)
    return {"patient_id": w.patient.pk}


ROUTES: dict[str, Route] = {
    "patients:edit": Route("edit_patients", kwargs=_patient),
    "patients:weight": Route("edit_patients", kwargs=_patient),
    "patients:invite": Route("edit_patients", kwargs=_patient, ok=405),
    "patients:review": Route("review_candidacy", kwargs=_patient),
    "patients:screening_rules": Route("manage_screening_rules"),
    "patients:screening_rule_edit": Route("manage_screening_rules", kwargs=lambda w: {"pk": 1}),
    "portal:intake": Route("use_portal"),
    "portal:intake_step": Route("use_portal", kwargs=lambda w: {"step": "history"}),
    # An unknown link gets a page saying so (404), for everyone.
    "portal:invitation": Route("public", kwargs=lambda w: {"token": "not-a-real-token"}, ok=404),
    "api:submit_patient_intake": Route(
        "edit_patients",
        api=True,
        method="post",
        ok=201,
        kwargs=lambda w: {"patient_id": w.patient.pk},
        body=lambda w: MINIMAL_INTAKE,
        # The patient may submit their own intake (w.patient is the patient persona's record).
        overrides={"patient": 201},
    ),
    "api:get_classification": Route(
        "view_patients", api=True, kwargs=_patient_with_intake, overrides={"outsider": 403}
    ),
}
