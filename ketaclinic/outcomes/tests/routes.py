"""Who may open the outcome pages and API (merged into the route walk)."""

from __future__ import annotations

from datetime import timedelta

from ketaclinic.core.testing import Route, World
from ketaclinic.outcomes.models import RelapseFlag

_STAFF_OUT = {"outsider": 403}


def _patient(w: World) -> dict[str, int]:
    return {"pk": w.patient.pk}


def _flag(w: World) -> dict[str, int]:
    flag = RelapseFlag.objects.create(
        patient=w.patient,
        window_start=w.patient.created_at.date(),
        window_end=w.patient.created_at.date(),
        rolling_migraine_days_per_28=10,
        baseline_migraine_days_per_28=12,
        threshold_per_28=6,
    )
    return {"pk": flag.pk}


ROUTES: dict[str, Route] = {
    "outcomes:dashboard": Route("view_clinic_outcomes"),
    "outcomes:dashboard_csv": Route("view_clinic_outcomes"),
    "outcomes:definitions": Route("manage_outcome_definitions"),
    "outcomes:instrument_text": Route("manage_outcome_definitions", ok=405),
    "outcomes:patient": Route("view_outcomes", kwargs=_patient, overrides=_STAFF_OUT),
    "outcomes:staff_diary_day": Route(
        "enter_diary_for_patient", kwargs=lambda w: {"pk": w.patient.pk, "day": "today"}, overrides=_STAFF_OUT
    ),
    "outcomes:staff_questionnaire": Route(
        "enter_diary_for_patient", kwargs=lambda w: {"pk": w.patient.pk, "instrument": "midas"}, overrides=_STAFF_OUT
    ),
    "outcomes:location_definitions": Route("manage_outcome_definitions", kwargs=lambda w: {"pk": w.location.pk}),
    # POST only; a GET by anyone who may view outcomes is told so.
    "outcomes:acknowledge_relapse": Route("view_outcomes", kwargs=_flag, ok=405),
    "outcomes_portal:home": Route("use_portal"),
    "outcomes_portal:day": Route("use_portal", kwargs=lambda w: {"day": "today"}),
    "outcomes_portal:codes": Route("use_portal"),
    "outcomes_portal:texts": Route("use_portal", ok=405),
    "outcomes_portal:questionnaire": Route("use_portal", kwargs=lambda w: {"instrument": "midas"}),
    # A patient may write and read their own diary through the API with their own token.
    "api:write_diary": Route(
        "enter_diary_for_patient",
        api=True,
        method="post",
        kwargs=lambda w: {"patient_id": w.patient.pk},
        body=lambda w: [{"date": (w.patient.created_at.date() - timedelta(days=3)).isoformat(), "headache": False}],  # type: ignore[arg-type,return-value]
        overrides={"outsider": 403, "patient": 200},
    ),
    "api:get_outcomes": Route(
        "view_outcomes",
        api=True,
        kwargs=lambda w: {"patient_id": w.patient.pk},
        overrides={"outsider": 403, "patient": 200},
    ),
    "api:score_midas": Route(
        "use_api",
        api=True,
        method="post",
        body=lambda w: {"q1": 1, "q2": 2, "q3": 3, "q4": 0, "q5": 4, "a": 20, "b": 7},
    ),
    "api:score_hit6": Route("use_api", api=True, method="post", body=lambda w: {"answers": ["never"] * 6}),
}
