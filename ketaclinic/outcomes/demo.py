"""Demo diaries, questionnaires and daily text settings (all synthetic).

Every patient with an induction series in the demo schedule keeps a diary from five weeks
before the first infusion to today: about 16–20 headache days and 10–14 migraine days per 28
at baseline. After induction some respond (migraine days halve or better), some partly, some
not, and one responds and then relapses, so the relapse flag shows. Days are missed at random
and one patient has a week-long gap; patients without a portal account answer by text. MIDAS
and HIT-6 at baseline and after induction, PGIC after induction. Everything goes through the
actions, written a week at a time as the patient would (``now`` set to that evening)."""

# Synthetic demo probabilities are tuning numbers, not clinical thresholds.
# ruff: noqa: PLR2004
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from ketaclinic.messaging.actions import record_sms_consent
from ketaclinic.messaging.choices import Purpose
from ketaclinic.outcomes import actions, queries
from ketaclinic.outcomes.choices import DiarySource, Instrument

if TYPE_CHECKING:
    from random import Random

    from ketaclinic.demo.seed import DemoContext
    from ketaclinic.patients.models import Patient

# (share of baseline migraine days kept after induction, relapse) by profile.
PROFILES = {"responder": (0.35, False), "partial": (0.6, False), "non_responder": (0.9, False), "relapse": (0.25, True)}
MISSING_SHARE = 0.07
BASELINE_LEAD_DAYS = 35


def _day(rng: Random, day: date, migraine_rate: float, headache_rate: float) -> dict[str, Any] | None:
    if rng.random() < MISSING_SHARE:
        return None
    roll = rng.random()
    if roll < migraine_rate:
        triptan = rng.random() < 0.6
        return {
            "date": day,
            "headache": True,
            "duration_min": rng.choice([240, 360, 480, 720]),
            "peak_severity": rng.choice(["moderate", "severe", "severe"]),
            "pain_nrs": rng.randint(6, 9),
            "unilateral": rng.random() < 0.7,
            "pulsating": True,
            "aggravated_by_activity": rng.random() < 0.8,
            "nausea": rng.random() < 0.7,
            "photophobia": True,
            "phonophobia": rng.random() < 0.8,
            "aura": rng.random() < 0.1,
            "acute_medications": (
                [{"drug_class": "triptan", "helped_within_2h": rng.random() < 0.6}] if triptan else []
            )
            + ([{"drug_class": "simple_analgesic", "helped_within_2h": False}] if rng.random() < 0.3 else []),
        }
    if roll < headache_rate:
        return {
            "date": day,
            "headache": True,
            "duration_min": rng.choice([60, 120, 180]),
            "peak_severity": "mild",
            "pain_nrs": rng.randint(2, 4),
            "unilateral": False,
            "pulsating": False,
            "nausea": False,
            "acute_medications": (
                [{"drug_class": "simple_analgesic", "helped_within_2h": True}] if rng.random() < 0.5 else []
            ),
        }
    return {"date": day, "headache": False}


def _rates(profile: str, day: date, *, first: date, last: date, today: date, base_mmd: float) -> tuple[float, float]:
    keep, relapses = PROFILES[profile]
    if day < first:
        mmd = base_mmd
    elif day <= last:
        mmd = base_mmd * (1 + keep) / 2
    elif relapses and (today - day).days < 28:  # noqa: PLR2004 - back to baseline for the last 4 weeks
        mmd = base_mmd
    else:
        mmd = base_mmd * keep
    migraine = mmd / 28
    return migraine, migraine + 6 / 28


def _diary(ctx: DemoContext, patient: Patient, profile: str, dates: queries.InductionDates, gap: bool) -> None:
    assert dates.first is not None and dates.last is not None  # noqa: S101 - only called for booked series
    rng = ctx.rng
    zone = queries.zone_of(patient)
    today = queries.local_today(patient, ctx.now)
    base_mmd = rng.uniform(10, 14)
    start = dates.first - timedelta(days=BASELINE_LEAD_DAYS)
    gap_start = dates.last + timedelta(days=rng.randint(3, 10)) if gap else None
    user = patient.user
    source = DiarySource.WEB if user else DiarySource.SMS
    week: list[dict[str, Any]] = []
    day = start
    while day <= today:
        missing_for_gap = gap_start is not None and gap_start <= day < gap_start + timedelta(days=8)
        migraine, headache = _rates(profile, day, first=dates.first, last=dates.last, today=today, base_mmd=base_mmd)
        entry = None if missing_for_gap else _day(rng, day, migraine, headache)
        if entry is not None:
            week.append(entry)
        if (day.weekday() == 6 or day == today) and week:
            evening = datetime.combine(day, time(21), tzinfo=zone)
            actions.save_diary_entries(
                acting_user=user, patient=patient, entries=week, source=source, now=min(evening, ctx.now)
            )
            week = []
        day += timedelta(days=1)


def _proms(ctx: DemoContext, patient: Patient, profile: str, dates: queries.InductionDates) -> None:
    assert dates.first is not None and dates.last is not None  # noqa: S101 - only called for booked series
    rng = ctx.rng
    zone = queries.zone_of(patient)
    baseline_at = datetime.combine(dates.first - timedelta(days=3), time(18), tzinfo=zone)
    actions.record_prom(
        acting_user=patient.user,
        patient=patient,
        instrument=Instrument.MIDAS,
        answers={"q1": 6, "q2": 10, "q3": 8, "q4": 9, "q5": 12, "a": 55, "b": 7},
        completed_at=baseline_at,
    )
    actions.record_prom(
        acting_user=ctx.users["nurse"],
        patient=patient,
        instrument=Instrument.HIT6,
        answers={"answers": ["very_often", "always", "very_often", "sometimes", "always", "very_often"]},
        completed_at=baseline_at,
    )
    after = datetime.combine(dates.last + timedelta(days=28), time(18), tzinfo=zone)
    if after > ctx.now:
        return
    better = PROFILES[profile][0] < 0.5  # noqa: PLR2004 - halved or better
    actions.record_prom(
        acting_user=ctx.users["nurse"],
        patient=patient,
        instrument=Instrument.HIT6,
        answers={"answers": ["sometimes", "rarely", "sometimes", "rarely", "sometimes", "rarely"]}
        if better
        else {"answers": ["very_often", "sometimes", "very_often", "sometimes", "always", "sometimes"]},
        completed_at=after,
    )
    actions.record_prom(
        acting_user=patient.user,
        patient=patient,
        instrument=Instrument.PGIC,
        answers={"value": rng.choice([1, 2]) if better else rng.choice([3, 4])},
        completed_at=after,
    )


def seed(ctx: DemoContext) -> None:
    treated = []
    for patient in ctx.patients:
        dates = queries.induction_dates(patient)
        if dates.first is not None and dates.last is not None and dates.first <= queries.local_today(patient, ctx.now):
            treated.append((patient, dates))
    # The earliest finished series relapses; the rest cycle through the other profiles.
    treated.sort(key=lambda pair: pair[1].first or date.max)
    cycle = ["responder", "partial", "responder", "non_responder"]
    for index, (patient, dates) in enumerate(treated):
        profile = "relapse" if index == 0 else cycle[index % len(cycle)]
        _proms(ctx, patient, profile, dates)
        _diary(ctx, patient, profile, dates, gap=index == 2)  # noqa: PLR2004 - one patient with a gap
        if patient.phone:
            record_sms_consent(
                acting_user=ctx.users["frontdesk"],
                phone=patient.phone,
                purpose=Purpose.CARE,
                source="front desk (verbal)",
                patient=patient,
            )
            actions.set_diary_prompt(
                acting_user=ctx.users["frontdesk"],
                patient=patient,
                is_enabled=True,
                local_time=time(rng_hour(ctx.rng), 0),
            )


def rng_hour(rng: Random) -> int:
    """A realistic evening check-in hour (19:00–21:00)."""
    return rng.choice([19, 20, 21])
