"""Staff entering questionnaires on a patient's behalf, and the per-location outcome definitions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.actions import create_user
from ketaclinic.accounts.models import User
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.outcomes import actions, queries
from ketaclinic.outcomes.dashboard import Row, total
from ketaclinic.outcomes.models import OutcomeDefinition, PromResponse

DENVER = ZoneInfo("America/Denver")
NOW = datetime(2026, 6, 15, 10, tzinfo=DENVER)
MIDAS_OK = {"answered_on": "2026-06-15", "q1": 3, "q2": 4, "q3": 5, "q4": 2, "q5": 6, "a": 30, "b": 7}


def _url(w: World, instrument: str) -> str:
    return f"/outcomes/patients/{w.patient.pk}/questionnaires/{instrument}/"


def _post(w: World, user: str, instrument: str, data: dict[str, Any], query: str = "") -> Any:
    with time_machine.travel(NOW, tick=False):
        return signed_in_client(w[user]).post(_url(w, instrument) + query, data)


# --- Questionnaires entered by staff ---------------------------------------------------------


def test_a_nurse_enters_midas_for_the_patient_and_it_is_scored_and_audited_as_on_behalf(world: World) -> None:
    page = _post(world, "nurse", "midas", MIDAS_OK)
    assert page.status_code == 302 and page["Location"] == f"/outcomes/patients/{world.patient.pk}/"
    response = PromResponse.objects.get(patient=world.patient)
    # 3 + 4 + 5 + 2 + 6 = 20 days: grade III (11–20, Stewart 2001); A and B stored, not scored.
    assert (response.instrument, response.score, response.grade) == ("midas", 20, "III")
    assert response.answers["a"] == 30 and response.answers["b"] == 7
    assert response.is_on_behalf and response.entered_by == world["nurse"]
    assert response.completed_at.astimezone(DENVER).date() == date(2026, 6, 15)
    event = AuditEvent.objects.get(object_type="outcomes.PromResponse", object_id=str(response.pk))
    assert event.actor == world["nurse"] and event.patient_id == world.patient.pk
    assert event.reason == "entered by staff on the patient's behalf"
    assert event.changes["score"] == [None, 20]


def test_the_clinician_page_links_to_questionnaire_entry_and_marks_staff_entries(world: World) -> None:
    _post(world, "nurse", "midas", MIDAS_OK)
    with time_machine.travel(NOW, tick=False):
        text = signed_in_client(world["nurse"]).get(f"/outcomes/patients/{world.patient.pk}/").content.decode()
    assert f'href="{_url(world, "pgic")}"' in text and f'href="{_url(world, "hit6")}"' in text
    assert "2026-06-15: 20 (grade III; headache days 30, average pain 7/10) · entered by staff" in text


def test_an_earlier_paper_form_is_dated_on_the_day_the_patient_answered(world: World) -> None:
    _post(world, "nurse", "midas", {**MIDAS_OK, "answered_on": "2026-06-01"})
    response = PromResponse.objects.get(patient=world.patient)
    assert response.completed_at == datetime(2026, 6, 1, 12, tzinfo=DENVER)


def test_hit6_is_scored_without_the_licensed_wording(world: World) -> None:
    page = _post(
        world,
        "prescriber",
        "hit6",
        {"answered_on": "2026-06-15", **{f"item{n}": "sometimes" for n in range(1, 6)}, "item6": "always"},
    )
    assert page.status_code == 302
    response = PromResponse.objects.get(patient=world.patient)
    # Five × 10 + 13 = 63 points: severe impact (≥60).
    assert (response.score, response.grade) == (63, "severe")
    assert response.answers == {"answers": ["sometimes"] * 5 + ["always"]}


def test_the_hit6_page_numbers_the_items_when_no_wording_is_licensed(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        text = signed_in_client(world["nurse"]).get(_url(world, "hit6")).content.decode()
    assert "Item 6 (as numbered on the licensed form)" in text


@pytest.mark.parametrize(("version", "value", "direction"), [("ninds_cde", 2, "improved"), ("reversed", 2, "worse")])
def test_pgic_stores_the_scale_version_chosen_for_the_patients_form(
    world: World, version: str, value: int, direction: str
) -> None:
    page = _post(world, "nurse", "pgic", {"answered_on": "2026-06-15", "version": version, "value": value})
    assert page.status_code == 302
    response = PromResponse.objects.get(patient=world.patient)
    assert (response.score, response.version, response.grade) == (value, version, direction)


def test_the_pgic_page_labels_the_answers_for_the_chosen_scale(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        text = signed_in_client(world["nurse"]).get(_url(world, "pgic") + "?version=reversed").content.decode()
    assert "1: very much worse" in text and 'name="version" value="reversed"' in text


@pytest.mark.parametrize(
    ("instrument", "data", "message"),
    [
        # q1 + q2 cannot exceed the 90-day period (MIDAS counts q2 without q1's days).
        ("midas", {**MIDAS_OK, "q1": 60, "q2": 40}, "more than the 90-day period"),
        ("midas", {**MIDAS_OK, "b": 11}, "less than or equal to 10"),
        ("midas", {**MIDAS_OK, "answered_on": "2026-06-16"}, "has not happened yet"),
        ("pgic", {"answered_on": "2026-06-15", "version": "upside_down", "value": 2}, "not one of the available"),
        ("pgic", {"answered_on": "2026-06-15", "value": 8}, "not one of the available"),
        ("hit6", {"answered_on": "2026-06-15", "item1": "never"}, "This field is required"),
    ],
)
def test_bad_answers_say_what_is_wrong_and_save_nothing(
    world: World, instrument: str, data: dict[str, Any], message: str
) -> None:
    events = AuditEvent.objects.count()
    page = _post(world, "nurse", instrument, data)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not PromResponse.objects.exists()
    assert AuditEvent.objects.count() == events


def test_the_front_desk_may_enter_a_questionnaire_and_returns_to_the_patient_record(world: World) -> None:
    page = _post(world, "frontdesk", "midas", MIDAS_OK)
    assert page.status_code == 302 and page["Location"] == f"/patients/{world.patient.pk}/"
    assert PromResponse.objects.get(patient=world.patient).entered_by == world["frontdesk"]


@pytest.mark.parametrize("user", ["outsider", "billing"])
def test_staff_without_the_grant_or_the_location_cannot_enter_a_questionnaire(world: World, user: str) -> None:
    assert _post(world, user, "midas", MIDAS_OK).status_code == 403
    assert not PromResponse.objects.exists()


def test_an_unknown_questionnaire_is_not_found(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        assert signed_in_client(world["nurse"]).get(_url(world, "phq9")).status_code == 404


# --- Outcome definitions per location --------------------------------------------------------


def _home_director(w: World) -> User:
    """A medical director who works at the home location only."""
    user = create_user(
        acting_user=None,
        username="homedirector",
        password=PASSWORD,
        roles=[Role.MEDICAL_DIRECTOR],
        first_name="Hope",
        last_name="Director",
        location_ids=[w.location.pk],
    )
    TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def _definition_form(**changes: Any) -> dict[str, Any]:
    fields = {name: getattr(OutcomeDefinition(), name) for name in actions.DEFINITION_FIELDS}
    fields.update(changes)
    return {k: ("on" if v is True else "" if v is False else v) for k, v in fields.items() if v is not False}


def test_a_location_gets_its_own_definitions_and_the_change_is_audited(world: World) -> None:
    director = _home_director(world)
    page = signed_in_client(director).post(
        f"/outcomes/definitions/locations/{world.location.pk}/",
        _definition_form(triptan_rule="effective_2h", baseline_days=42),
    )
    assert page.status_code == 302
    row = OutcomeDefinition.objects.get(location=world.location)
    assert (row.triptan_rule, row.baseline_days, row.updated_by) == ("effective_2h", 42, director)
    assert queries.definition_row(world.other_location).location_id is None
    event = AuditEvent.objects.get(object_type="outcomes.OutcomeDefinition", object_id=str(row.pk))
    assert event.actor == director and event.location_id == world.location.pk
    assert event.changes["baseline_days"] == [None, 42] and event.changes["triptan_rule"] == [None, "effective_2h"]

    signed_in_client(director).post(
        f"/outcomes/definitions/locations/{world.location.pk}/", _definition_form(triptan_rule="effective_2h")
    )
    change = AuditEvent.objects.filter(object_type="outcomes.OutcomeDefinition", action="update").get()
    assert change.changes == {"baseline_days": [42, 28]}


def test_the_location_form_starts_from_the_clinic_wide_values_in_force(world: World) -> None:
    actions.save_outcome_definition(acting_user=world["director"], location=None, fields={"baseline_days": 35})
    text = signed_in_client(world["director"]).get(f"/outcomes/definitions/locations/{world.location.pk}/")
    body = text.content.decode()
    assert 'name="baseline_days" value="35"' in body and "uses the clinic-wide definitions now" in body


def test_the_patient_page_prints_the_definitions_of_the_patients_location(world: World) -> None:
    actions.save_outcome_definition(
        acting_user=world["director"], location=world.location, fields={"triptan_rule": "effective_2h"}
    )
    actions.save_outcome_definition(
        acting_user=world["director"], location=world.other_location, fields={"triptan_rule": "any_use"}
    )
    home = signed_in_client(world["nurse"]).get(f"/outcomes/patients/{world.patient.pk}/").content.decode()
    away = signed_in_client(world["outsider"]).get(f"/outcomes/patients/{world.other_patient.pk}/").content.decode()
    assert "only when it helped within 2 h" in home and "any day it was taken" not in home
    assert "any day it was taken" in away and "only when it helped within 2 h" not in away


def test_a_director_cannot_edit_another_locations_definitions(world: World) -> None:
    director = _home_director(world)
    url = f"/outcomes/definitions/locations/{world.other_location.pk}/"
    client = signed_in_client(director)
    assert client.get(url).status_code == 403
    assert client.post(url, _definition_form(baseline_days=42)).status_code == 403
    assert not OutcomeDefinition.objects.exists()


def test_only_a_director_at_every_location_may_change_the_clinic_wide_definitions(world: World) -> None:
    director = _home_director(world)
    client = signed_in_client(director)
    page = client.get("/outcomes/definitions/").content.decode()
    assert "only a medical director who works at every location" in page
    assert "Set definitions for Home Site" in page and "Away Site" not in page
    assert client.post("/outcomes/definitions/", _definition_form(baseline_days=42)).status_code == 403
    assert not OutcomeDefinition.objects.exists()
    page_all = signed_in_client(world["director"]).post("/outcomes/definitions/", _definition_form(baseline_days=42))
    assert page_all.status_code == 302
    assert OutcomeDefinition.objects.get(location=None).baseline_days == 42


def test_bad_location_definitions_say_what_is_wrong_and_save_nothing(world: World) -> None:
    page = signed_in_client(world["director"]).post(
        f"/outcomes/definitions/locations/{world.location.pk}/",
        _definition_form(responder_thresholds_pct="50,150", min_recorded_share=0.2),
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "greater than or equal to 0.5" in body
    assert not OutcomeDefinition.objects.exists()


def test_the_dashboard_prints_each_locations_definitions_when_they_differ(world: World) -> None:
    client = signed_in_client(world["director"])
    same = client.get("/outcomes/").content.decode()
    assert "count outcomes under different definitions" not in same
    actions.save_outcome_definition(
        acting_user=world["director"], location=world.location, fields={"responder_thresholds_pct": "40"}
    )
    page = client.get("/outcomes/").content.decode()
    assert "count outcomes under different definitions" in page
    assert "<h2>Home Site</h2>" in page and "<h2>Away Site</h2>" in page
    assert "reduction in monthly migraine days of at least 40%, both windows sufficient" in page
    csv_text = client.get("/outcomes/export.csv").content.decode()
    assert "definition at Home Site: responder" in csv_text and "definition at Away Site: responder" in csv_text


def test_a_threshold_a_location_does_not_use_has_no_rate() -> None:
    def row(responders: dict[int, int]) -> Row:
        return Row("X", "P", 2, 0, 0, 2, 2, responders, None, None, None, 0, 28)

    home, away = row({40: 1}), row({50: 2})
    assert home.rate(40) == 50.0 and home.rate(50) is None
    both = total([home, away], (40, 50), 28)
    assert both.responders == {} and both.rate(50) is None
    assert total([home, row({40: 2})], (40,), 28).rate(40) == 75.0
