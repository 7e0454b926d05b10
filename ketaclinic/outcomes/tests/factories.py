"""Outcome test data, made through the real actions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any

from ketaclinic.core.testing import World
from ketaclinic.outcomes.actions import save_diary_entries
from ketaclinic.outcomes.choices import DiarySource
from ketaclinic.outcomes.models import DiaryEntry
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, open_clinic

MIGRAINE: dict[str, Any] = {
    "headache": True,
    "duration_min": 360,
    "peak_severity": "severe",
    "pain_nrs": 8,
    "unilateral": True,
    "pulsating": True,
    "nausea": True,
    "photophobia": True,
    "phonophobia": True,
}
FREE: dict[str, Any] = {"headache": False}


def induction(w: World, days: Iterable[date]) -> list[Booking]:
    """Induction infusions on ``days`` (weekdays) for the world's patient, at 09:00 local."""
    day_list = sorted(days)
    open_clinic(w, day_list[0] - timedelta(days=1), days=(day_list[-1] - day_list[0]).days + 3)
    chair = chairs(w)[0]
    return [book_infusion(w, d, time(9), chair) for d in day_list]


def diary(w: World, start: date, pattern: str, patient: Patient | None = None) -> list[DiaryEntry]:
    """One diary day per character from ``start``: m migraine, . free, _ missing. Entered by
    staff on the patient's behalf (no edit-window limit)."""
    entries = [
        {"date": start + timedelta(days=i), **(MIGRAINE if ch == "m" else FREE)}
        for i, ch in enumerate(pattern)
        if ch != "_"
    ]
    return save_diary_entries(
        acting_user=w["nurse"], patient=patient or w.patient, entries=entries, source=DiarySource.STAFF
    )
