"""Outcome pages, the dashboard (numbers, query count, CSV) and the SQL day rule."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.outcomes import dashboard, endpoints
from ketaclinic.outcomes.actions import save_diary_entries
from ketaclinic.outcomes.choices import DiarySource
from ketaclinic.outcomes.dashboard import migraine_day_sql
from ketaclinic.outcomes.models import DiaryEntry
from ketaclinic.outcomes.tests.factories import diary, induction

DENVER = ZoneInfo("America/Denver")
NOW = datetime(2026, 6, 15, 18, tzinfo=DENVER)


@pytest.fixture
def treated(world: World) -> World:
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=DENVER), tick=False):
        induction(world, [date(2026, 4, 6), date(2026, 4, 13)])
    with time_machine.travel(NOW, tick=False):
        diary(world, date(2026, 3, 9), "m" * 12 + "." * 16)
        diary(world, date(2026, 4, 14), "mmmm" + "." * 24)
        diary(world, date(2026, 5, 19), "." * 20)
    return world


def test_the_clinician_page_shows_calendar_chart_words_and_definitions(treated: World) -> None:
    with time_machine.travel(NOW, tick=False):
        page = signed_in_client(treated["nurse"]).get(f"/outcomes/patients/{treated.patient.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'class="hm hm--missing"' in text and 'class="hm hm--migraine"' in text
    assert "Before treatment the patient had 12 migraine days per 28 days" in text
    assert "a change of -8 (-66.7%)" in text
    assert "Infusion on Mon 06 Apr 2026" in text
    assert "Definitions used for these numbers" in text and "any day it was taken" in text


def test_the_patient_sees_their_own_diary_in_plain_words(treated: World) -> None:
    with time_machine.travel(NOW, tick=False):
        page = signed_in_client(treated["patient"]).get("/portal/diary/")
    text = page.content.decode()
    assert "Before treatment you had 12 migraine days per 28 days" in text
    assert "Hollow squares are days with no diary entry" in text
    assert "Answer MIDAS" in text


def test_the_dashboard_counts_responders_in_a_fixed_number_of_queries(treated: World) -> None:
    client = signed_in_client(treated["director"])
    with time_machine.travel(NOW, tick=False):
        client.get("/outcomes/")
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/outcomes/")
    text = page.content.decode()
    assert page.status_code == 200
    # One patient, evaluable, −8 days (−66.7%): a responder at 30% and 50%, not at 75%.
    assert "100.0%" in text and "-8.0" in text
    assert "A confidence interval needs at least two evaluable patients." in text
    assert "No finished infusions in this selection" in text
    # Session, user, roles, locations, and per location (two here) its definitions, a savepoint
    # and one aggregate, plus two for the adverse-event table (infusions counted, side effects
    # grouped): the count depends on locations, never on patients or infusions.
    # On PostgreSQL each location's aggregate also switches JIT off for its transaction (one more).
    per_vendor = 2 if connection.vendor == "postgresql" else 0
    assert len(queries) <= 28 + per_vendor, [q["sql"][:80] for q in queries.captured_queries]


def test_the_dashboard_interval_uses_students_t_from_the_database_sums() -> None:
    # Changes −8 and −4: mean −6, sd 2.83, t(0.975, 1) = 12.706 -> ±25.41.
    t = dashboard.t_quantile(2)
    assert t == pytest.approx(12.706, abs=1e-3)
    assert endpoints.ci_from_sums(2, -12.0, 80.0, t) == (-6.0, -31.41, 19.41)


def test_the_csv_export_has_a_row_per_group_the_totals_and_the_definitions(treated: World) -> None:
    with time_machine.travel(NOW, tick=False):
        response = signed_in_client(treated["director"]).get("/outcomes/export.csv")
    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0].startswith("location,protocol,patients,in_induction")
    assert any(line.startswith("Home Site,") for line in lines)
    assert any(line.startswith("All,All,1,") for line in lines)
    assert any(line.startswith("definition: migraine_day") for line in lines)


def test_the_sql_migraine_day_rule_equals_the_python_rule(world: World) -> None:
    """Every combination the fields can take, sampled, is classified the same both ways."""
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    start = date(2026, 1, 1)
    entries = []
    for i in range(300):
        headache = rng.random() < 0.8
        entry: dict[str, object] = {"date": start + timedelta(days=i), "headache": headache}
        if headache:
            entry.update(
                duration_min=rng.choice([None, 15, 30, 45, 60, 240]),
                peak_severity=rng.choice(["", "mild", "moderate", "severe"]),
                pain_nrs=rng.choice([None, 2, 4, 8]),
                migraine_features=rng.choice([None, None, None, True]),
                acute_medications=[
                    {"drug_class": c, "helped_within_2h": rng.choice([None, True, False])}
                    for c in rng.sample(endpoints.DRUG_CLASSES, rng.choice([0, 0, 1, 2]))
                ],
            )
            for name in (
                "unilateral",
                "pulsating",
                "aggravated_by_activity",
                "nausea",
                "vomiting",
                "photophobia",
                "phonophobia",
            ):
                entry[name] = rng.choice([None, True, False])
        entry["aura"] = rng.choice([None, False, False, True])
        entries.append(entry)
    save_diary_entries(acting_user=world["nurse"], patient=world.patient, entries=entries, source=DiarySource.STAFF)
    base = endpoints.Definitions()
    for rule, probable in itertools.product(("any_use", "effective_2h"), (True, False)):
        defs = replace(base, triptan_rule=rule, count_probable_migraine=probable)  # type: ignore[arg-type]
        expected = {
            e.date for e in DiaryEntry.objects.all() if endpoints.classify_day(e.to_day(), defs).is_migraine_day
        }
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT d.date FROM outcomes_diaryentry d WHERE {migraine_day_sql(defs)}")  # noqa: S608 - built from numbers
            got = {row[0] if isinstance(row[0], date) else date.fromisoformat(row[0]) for row in cursor.fetchall()}
        assert got == expected, (rule, probable)
        assert 0 < len(expected) < 300
