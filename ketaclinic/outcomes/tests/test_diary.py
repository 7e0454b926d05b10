"""Diary actions, questionnaires, relapse flags and the local calendar day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.outcomes import actions
from ketaclinic.outcomes.choices import DiarySource
from ketaclinic.outcomes.models import DiaryEntry, PromResponse, RelapseFlag
from ketaclinic.outcomes.tests.factories import diary, induction

DENVER = ZoneInfo("America/Denver")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Spring forward: 8 March 2026 is a 23-hour day; 23:30 MDT is 05:30 UTC on the 9th.
        (datetime(2026, 3, 8, 23, 30, tzinfo=DENVER), date(2026, 3, 8)),
        # Fall back: 1 November 2026 is a 25-hour day; 23:30 MST is 06:30 UTC on the 2nd.
        (datetime(2026, 11, 1, 23, 30, tzinfo=DENVER), date(2026, 11, 1)),
        (datetime(2026, 3, 9, 0, 10, tzinfo=DENVER), date(2026, 3, 9)),
    ],
)
def test_the_portal_records_the_patients_local_day_across_daylight_saving(
    world: World, moment: datetime, expected: date
) -> None:
    client = signed_in_client(world["patient"])
    with time_machine.travel(moment, tick=False):
        response = client.post("/portal/diary/day/today/", {"headache": "no"})
    assert response.status_code == 302
    entry = DiaryEntry.objects.get(patient=world.patient)
    assert entry.date == expected and entry.source == "web" and not entry.is_on_behalf and not entry.is_late


def test_the_portal_saves_a_headache_day_from_the_one_screen_form(world: World) -> None:
    client = signed_in_client(world["patient"])
    with time_machine.travel(datetime(2026, 6, 10, 21, tzinfo=DENVER), tick=False):
        page = client.get("/portal/diary/day/today/")
        assert b"No headache that day" in page.content and b"Yes, I had a headache" in page.content
        response = client.post(
            "/portal/diary/day/today/",
            {
                "headache": "yes",
                "peak_severity": "severe",
                "duration_min": "240",
                "features": ["unilateral", "pulsating", "nausea"],
                "medications": ["triptan"],
                "helped_within_2h": "on",
            },
        )
    assert response.status_code == 302
    entry = DiaryEntry.objects.get(patient=world.patient)
    assert entry.unilateral and entry.nausea and not entry.photophobia and entry.duration_min == 240
    assert entry.acute_medications == [{"drug_class": "triptan", "helped_within_2h": True}]


def test_a_headache_day_without_severity_is_refused_in_words_and_nothing_is_saved(world: World) -> None:
    client = signed_in_client(world["patient"])
    response = client.post("/portal/diary/day/today/", {"headache": "yes", "duration_min": "60"})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not DiaryEntry.objects.exists()


def test_an_entry_written_days_later_is_marked_late_and_older_days_need_staff(world: World) -> None:
    with time_machine.travel(datetime(2026, 6, 10, 12, tzinfo=DENVER), tick=False):
        [late] = actions.save_diary_entries(
            acting_user=world["patient"],
            patient=world.patient,
            entries=[{"date": "2026-06-06", "headache": False}],
            source=DiarySource.WEB,
        )
        with pytest.raises(ValidationError, match="more than 7 days ago"):
            actions.save_diary_entries(
                acting_user=world["patient"],
                patient=world.patient,
                entries=[{"date": "2026-05-30", "headache": False}],
                source=DiarySource.WEB,
            )
        [staff] = actions.save_diary_entries(
            acting_user=world["frontdesk"],
            patient=world.patient,
            entries=[{"date": "2026-05-30", "headache": False}],
            source=DiarySource.STAFF,
        )
    assert late.is_late and not late.is_on_behalf
    assert staff.is_late and staff.is_on_behalf and staff.entered_by == world["frontdesk"]


def test_relapse_is_flagged_once_for_the_prescriber_and_audited(world: World) -> None:
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=DENVER), tick=False):
        induction(world, [date(2026, 4, 6), date(2026, 4, 8)])
    with time_machine.travel(datetime(2026, 6, 15, 20, tzinfo=DENVER), tick=False):
        diary(world, date(2026, 3, 9), "m" * 12 + "." * 16)  # baseline 12
        diary(world, date(2026, 4, 9), "m" * 2 + "." * 26)  # first window 2: a responder
        assert not RelapseFlag.objects.exists()
        # 19 May – 15 June: 8 migraine days in 28 (> 6 = 50% of baseline).
        diary(world, date(2026, 5, 7), "." * 12 + "m." * 8 + "." * 12)
        diary(world, date(2026, 6, 14), "..")
    flag = RelapseFlag.objects.get()
    assert flag.rolling_migraine_days_per_28 == 8.0 and flag.threshold_per_28 == 6.0
    assert flag.window_end == date(2026, 6, 15)
    assert AuditEvent.objects.filter(object_type="outcomes.RelapseFlag", action="create").count() == 1
    client = signed_in_client(world["prescriber"])
    page = client.get(f"/outcomes/patients/{world.patient.pk}/")
    assert b"Possible relapse" in page.content and b"Offer a maintenance infusion" in page.content
    client.post(f"/outcomes/relapse/{flag.pk}/acknowledge/", {"note": "Maintenance booked"})
    flag.refresh_from_db()
    assert flag.status == "acknowledged" and flag.acknowledged_by == world["prescriber"]


def test_nurses_see_the_relapse_but_cannot_mark_it_handled(world: World) -> None:
    flag = RelapseFlag.objects.create(
        patient=world.patient,
        window_start=date(2026, 5, 1),
        window_end=date(2026, 5, 28),
        rolling_migraine_days_per_28=9,
        baseline_migraine_days_per_28=12,
        threshold_per_28=6,
    )
    response = signed_in_client(world["nurse"]).post(f"/outcomes/relapse/{flag.pk}/acknowledge/")
    assert response.status_code == 403
    flag.refresh_from_db()
    assert flag.status == "open"


def test_proms_are_scored_by_the_shared_scorer_and_pgic_keeps_its_version(world: World) -> None:
    midas = actions.record_prom(
        acting_user=world["patient"],
        patient=world.patient,
        instrument="midas",
        answers={"q1": 3, "q2": 4, "q3": 5, "q4": 2, "q5": 6, "a": 30, "b": 7},
    )
    pgic = actions.record_prom(
        acting_user=world["nurse"], patient=world.patient, instrument="pgic", answers={"value": 2}
    )
    assert (midas.score, midas.grade, midas.answers["a"], midas.is_on_behalf) == (20, "III", 30, False)
    assert (pgic.score, pgic.version, pgic.grade, pgic.is_on_behalf) == (2, "ninds_cde", "improved", True)
    before = PromResponse.objects.count()
    with pytest.raises(ValidationError, match="more than the 90-day period"):
        actions.record_prom(
            acting_user=world["patient"],
            patient=world.patient,
            instrument="midas",
            answers={"q1": 60, "q2": 40, "q3": 0, "q4": 0, "q5": 0, "a": 0, "b": 0},
        )
    assert PromResponse.objects.count() == before


def test_hit6_is_not_offered_in_the_portal_until_the_clinic_enters_licensed_wording(world: World) -> None:
    client = signed_in_client(world["patient"])
    assert b"Your clinic will give you this questionnaire" in client.get("/portal/diary/questionnaires/hit6/").content
    actions.save_instrument_text(
        acting_user=world["director"],
        instrument="hit6",
        items=[f"Licensed item {n}" for n in range(1, 7)],
        licence_note="Test licence 123",
    )
    page = client.get("/portal/diary/questionnaires/hit6/")
    assert b"Licensed item 6" in page.content
    response = client.post("/portal/diary/questionnaires/hit6/", {f"item{n}": "sometimes" for n in range(1, 7)})
    assert response.status_code == 302
    assert PromResponse.objects.get(instrument="hit6").score == 60
