"""The API contract: diary upsert, outcomes against baseline, MIDAS and HIT-6 scoring."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, api_client
from ketaclinic.outcomes.models import DiaryEntry
from ketaclinic.outcomes.tests.factories import diary, induction

DENVER = ZoneInfo("America/Denver")
BOOKED_AT = datetime(2026, 3, 1, 9, tzinfo=DENVER)
NOW = datetime(2026, 6, 15, 18, tzinfo=DENVER)
INDUCTION_DAYS = [date(2026, 4, 6), date(2026, 4, 8), date(2026, 4, 10), date(2026, 4, 13)]


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def treated(world: World) -> World:
    """Induction 6–13 April 2026; baseline 9 March–5 April with 12 migraine days of 28;
    first follow-up window 14 April–11 May with 4 of 28; second window half recorded."""
    with time_machine.travel(BOOKED_AT, tick=False):
        induction(world, INDUCTION_DAYS)
    with time_machine.travel(NOW, tick=False):
        diary(world, date(2026, 3, 9), "m" * 12 + "." * 16)
        diary(world, date(2026, 4, 14), "mmmm" + "." * 24)
        diary(world, date(2026, 5, 12), "m." * 10 + "_" * 8)
    return world


def test_outcomes_default_to_the_infusion_series_and_match_hand_computation(treated: World) -> None:
    with time_machine.travel(NOW, tick=False):
        response = api_client(treated["prescriber"]).get(f"/api/v1/patients/{treated.patient.pk}/outcomes")
    assert response.status_code == 200
    data = response.json()
    assert data["baseline"]["start"] == "2026-03-09" and data["baseline"]["end"] == "2026-04-05"
    assert data["baseline"]["migraine_days_per_28"] == 12.0
    assert data["baseline"]["days_recorded"] == 28 and data["baseline"]["sufficient"] is True
    first, second = data["windows"][0], data["windows"][1]
    assert (first["start"], first["end"]) == ("2026-04-14", "2026-05-11")
    assert first["migraine_days_per_28"] == 4.0
    # Second window: 20 of 28 recorded (71%), 10 migraine days -> 10 × 28 / 20 = 14.0, flagged.
    assert (second["days_recorded"], second["migraine_days_per_28"], second["sufficient"]) == (20, 14.0, False)
    assert data["change_migraine_days"] == -8.0
    assert data["percent_change"] == -66.7
    assert data["responder_50"] is True
    assert "28 days" in data["definitions"]["month"]
    assert AuditEvent.objects.filter(action="read", object_type="outcomes.PatientOutcomes").count() == 1


def test_explicit_dates_give_exactly_one_window(treated: World) -> None:
    query = "baseline_start=2026-03-09&baseline_end=2026-04-05&window_start=2026-05-12&window_end=2026-05-31"
    with time_machine.travel(NOW, tick=False):
        data = api_client(treated["nurse"]).get(f"/api/v1/patients/{treated.patient.pk}/outcomes?{query}").json()
    assert len(data["windows"]) == 1
    window = data["windows"][0]
    # 12–31 May: 20 days, all recorded, migraine on alternate days = 10 -> 10 × 28 / 20 = 14.0.
    assert (window["start"], window["end"], window["days_recorded"]) == ("2026-05-12", "2026-05-31", 20)
    assert window["migraine_days_per_28"] == 14.0 and window["sufficient"] is True
    assert data["change_migraine_days"] == 2.0
    assert data["percent_change"] == 16.7
    assert data["responder_50"] is False


def test_a_half_given_window_is_refused(treated: World) -> None:
    response = api_client(treated["nurse"]).get(
        f"/api/v1/patients/{treated.patient.pk}/outcomes?window_start=2026-05-12"
    )
    assert response.status_code == 422


def test_diary_post_upserts_by_date_and_audits_each_day(world: World) -> None:
    client = api_client(world["nurse"])
    url = f"/api/v1/patients/{world.patient.pk}/diary"
    with time_machine.travel(NOW, tick=False):
        first = post(
            client, url, [{"date": "2026-06-10", "headache": False}, {"date": "2026-06-11", "headache": False}]
        )
        second = post(
            client,
            url,
            [
                {
                    "date": "2026-06-11",
                    "headache": True,
                    "duration_min": 240,
                    "peak_severity": "moderate",
                    "pain_nrs": 6,
                    "unilateral": True,
                    "pulsating": True,
                    "aggravated_by_activity": False,
                    "nausea": True,
                    "vomiting": False,
                    "photophobia": True,
                    "phonophobia": True,
                    "aura": False,
                    "acute_medications": [{"drug_class": "triptan", "helped_within_2h": True}],
                }
            ],
        )
    assert first.status_code == 200 and second.status_code == 200
    assert second.json()["entries"][0]["revision"] == 2
    day = DiaryEntry.objects.get(patient=world.patient, date=date(2026, 6, 11))
    assert day.headache and day.med_triptan and day.specific_med_helped_2h and day.is_on_behalf
    assert DiaryEntry.objects.filter(patient=world.patient).count() == 2
    events = AuditEvent.objects.filter(object_type="outcomes.DiaryEntry")
    assert events.count() == 3
    assert "on the patient's behalf" in events.first().reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad",
    [
        [{"date": "2026-06-10", "headache": "maybe"}],
        [{"date": "2026-06-10", "headache": True, "peak_severity": "awful"}],
        [{"date": "2026-06-10", "headache": True, "pain_nrs": 11}],
        [{"date": "2026-06-10", "headache": True, "acute_medications": [{"drug_class": "aspirin"}]}],
        [{"date": "2026-06-10", "headache": False, "duration_min": 90}],
        [{"date": "2026-06-20", "headache": False}],
        [{"date": "2026-06-10", "headache": False}, {"date": "2026-06-10", "headache": True}],
        [{"date": "2026-06-10", "headache": False, "mood": "low"}],
    ],
)
def test_a_bad_diary_batch_is_refused_and_writes_nothing(world: World, bad: list[dict[str, Any]]) -> None:
    client = api_client(world["nurse"])
    before = (DiaryEntry.objects.count(), AuditEvent.objects.count())
    with time_machine.travel(NOW, tick=False):
        response = post(
            client, f"/api/v1/patients/{world.patient.pk}/diary", [{"date": "2026-06-09", "headache": False}, *bad]
        )
    assert response.status_code == 422
    assert response.json()["detail"]
    assert (DiaryEntry.objects.count(), AuditEvent.objects.count()) == before


def test_the_patient_writes_their_own_diary_but_not_someone_elses(world: World) -> None:
    client = api_client(world["patient"])
    with time_machine.travel(NOW, tick=False):
        own = post(client, f"/api/v1/patients/{world.patient.pk}/diary", [{"date": "2026-06-14", "headache": False}])
        other = post(
            client, f"/api/v1/patients/{world.other_patient.pk}/diary", [{"date": "2026-06-14", "headache": False}]
        )
        too_old = post(
            client, f"/api/v1/patients/{world.patient.pk}/diary", [{"date": "2026-05-01", "headache": False}]
        )
    assert own.status_code == 200 and own.json()["entries"][0]["source"] == "api"
    assert other.status_code == 403
    assert too_old.status_code == 422 and "ask the clinic" in json.dumps(too_old.json())


@pytest.mark.parametrize(
    ("body", "score", "grade"),
    [
        ({"q1": 0, "q2": 1, "q3": 2, "q4": 0, "q5": 2, "a": 10, "b": 5}, 5, "I"),
        ({"q1": 2, "q2": 2, "q3": 2, "q4": 0, "q5": 0, "a": 10, "b": 5}, 6, "II"),
        ({"q1": 5, "q2": 5, "q3": 5, "q4": 5, "q5": 1, "a": 40, "b": 8}, 21, "IV"),
    ],
)
def test_midas_endpoint_scores_and_grades(world: World, body: dict[str, int], score: int, grade: str) -> None:
    response = post(api_client(world["frontdesk"]), "/api/v1/scores/midas", body)
    assert response.status_code == 200
    assert response.json()["score"] == score and response.json()["grade"] == grade


@pytest.mark.parametrize(
    "body",
    [
        {"q1": -1, "q2": 0, "q3": 0, "q4": 0, "q5": 0, "a": 0, "b": 0},
        {"q1": 60, "q2": 40, "q3": 0, "q4": 0, "q5": 0, "a": 0, "b": 0},
        {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 91, "a": 0, "b": 0},
        {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0, "a": 0, "b": 11},
        {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0, "a": 0},
    ],
)
def test_midas_refuses_negative_or_impossible_day_counts(world: World, body: dict[str, int]) -> None:
    assert post(api_client(world["nurse"]), "/api/v1/scores/midas", body).status_code == 422


def test_hit6_endpoint_scores_and_bands(world: World) -> None:
    client = api_client(world["billing"])
    answers = ["never", "rarely", "sometimes", "very_often", "always", "always"]
    response = post(client, "/api/v1/scores/hit6", {"answers": answers})
    # 6 + 8 + 10 + 11 + 13 + 13 = 61 -> severe.
    assert response.json() == {"score": 61, "band": "severe"}
    assert post(client, "/api/v1/scores/hit6", {"answers": ["never"] * 6}).json() == {
        "score": 36,
        "band": "little_or_no",
    }
    assert post(client, "/api/v1/scores/hit6", {"answers": ["never"] * 5}).status_code == 422
    assert post(client, "/api/v1/scores/hit6", {"answers": ["often"] * 6}).status_code == 422
