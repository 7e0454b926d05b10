"""Hand-computed cases for the pure endpoint arithmetic (no database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ketaclinic.outcomes import endpoints
from ketaclinic.outcomes.endpoints import Definitions, DiaryDay, Medication, classify_day, summarise_window

DEFS = Definitions()
D0 = date(2026, 3, 2)


def migraine(day: date) -> DiaryDay:
    """A full ICHD-3 migraine day: 6 h, unilateral, pulsating, severe, nausea."""
    return DiaryDay(day, True, 360, "severe", 8, unilateral=True, pulsating=True, nausea=True)


def free(day: date) -> DiaryDay:
    return DiaryDay(day, False)


def tension(day: date) -> DiaryDay:
    """A 2 h mild bilateral pressing headache with no nausea: a headache day, not migraine."""
    return DiaryDay(day, True, 120, "mild", 3, unilateral=False, pulsating=False, nausea=False)


def test_a_full_migraine_day_is_a_migraine_and_headache_day_with_the_ichd_reason() -> None:
    c = classify_day(migraine(D0), DEFS)
    assert (c.is_migraine_day, c.is_headache_day, c.migraine_reason, c.is_moderate_severe) == (
        True,
        True,
        "ichd_features",
        True,
    )


def test_a_mild_bilateral_headache_without_features_is_a_headache_day_only() -> None:
    c = classify_day(tension(D0), DEFS)
    assert c.is_headache_day and not c.is_migraine_day and not c.is_moderate_severe


def test_a_headache_free_day_is_neither() -> None:
    c = classify_day(free(D0), DEFS)
    assert not c.is_headache_day and not c.is_migraine_day and not c.is_acute_medication_day


def test_probable_migraine_counts_only_when_configured() -> None:
    # Unilateral + pulsating (C met), 2 h (B met), no nausea and light sensitivity alone (D not met).
    day = DiaryDay(D0, True, 120, "mild", unilateral=True, pulsating=True, photophobia=True)
    assert classify_day(day, DEFS).migraine_reason == "probable"
    assert not classify_day(day, replace(DEFS, count_probable_migraine=False)).is_migraine_day


def test_a_short_headache_under_the_minimum_is_not_a_headache_day() -> None:
    day = DiaryDay(D0, True, 45, "mild")
    assert not classify_day(day, DEFS).is_headache_day
    assert classify_day(day, replace(DEFS, headache_min_duration_min=30)).is_headache_day


def test_aura_alone_makes_a_migraine_day() -> None:
    assert classify_day(DiaryDay(D0, True, 20, "mild", aura=True), DEFS).migraine_reason == "aura"


def test_a_triptan_day_counts_as_migraine_under_any_use_but_not_under_effective_when_it_did_not_help() -> None:
    # Mild 1 h headache, no features: only the triptan could make it a migraine day.
    day = DiaryDay(D0, True, 60, "mild", medications=(Medication("triptan", helped_within_2h=False),))
    any_use = classify_day(day, DEFS)
    effective = classify_day(day, replace(DEFS, triptan_rule="effective_2h"))
    assert any_use.is_migraine_day and any_use.migraine_reason == "specific_medication"
    assert not effective.is_migraine_day
    assert effective.is_headache_day and effective.medication_classes == {"triptan"}


def test_an_effective_triptan_counts_under_both_rules() -> None:
    day = DiaryDay(D0, True, 60, "mild", medications=(Medication("triptan", helped_within_2h=True),))
    assert classify_day(day, replace(DEFS, triptan_rule="effective_2h")).is_migraine_day


def test_a_simple_analgesic_makes_a_headache_day_but_not_a_migraine_day() -> None:
    c = classify_day(DiaryDay(D0, True, 20, "mild", medications=(Medication("simple_analgesic"),)), DEFS)
    assert c.is_headache_day and not c.is_migraine_day and c.is_acute_medication_day


def test_the_text_shorthand_for_migraine_features_meets_the_feature_criteria() -> None:
    assert classify_day(DiaryDay(D0, True, None, "moderate", migraine_features=True), DEFS).migraine_reason == (
        "ichd_features"
    )


def test_nrs_stands_in_for_severity_when_severity_is_missing() -> None:
    assert classify_day(DiaryDay(D0, True, 90, None, pain_nrs=4), DEFS).is_moderate_severe
    assert not classify_day(DiaryDay(D0, True, 90, None, pain_nrs=3), DEFS).is_moderate_severe


def triptan_only(day: date) -> DiaryDay:
    return DiaryDay(day, True, 60, "mild", medications=(Medication("triptan", False),))


def _days(pattern: str, start: date = D0) -> list[endpoints.DayClass]:
    """m = migraine, h = headache only, t = triptan-only day, . = free, _ = missing (no entry)."""
    makers: dict[str, Callable[[date], DiaryDay]] = {
        "m": migraine,
        "h": tension,
        ".": free,
        "t": triptan_only,
    }
    out = []
    for i, ch in enumerate(pattern):
        if ch != "_":
            out.append(classify_day(makers[ch](start + timedelta(days=i)), DEFS))
    return out


def test_a_diary_with_gaps_is_normalised_over_recorded_days_not_assumed_free() -> None:
    # 28 days: 24 recorded (4 missing); 6 migraine days, 3 more headache-only days.
    pattern = "mm..h.__m...h.m..m.__.h..m."
    pattern += "." * (28 - len(pattern))
    assert len(pattern) == 28 and pattern.count("_") == 4
    w = summarise_window(_days(pattern), D0, D0 + timedelta(days=27), DEFS)
    assert w.days_recorded == 24
    assert w.migraine_days == 6 and w.headache_days == 9
    # 6 × 28 / 24 = 7.0 and 9 × 28 / 24 = 10.5, not 6 and 9 (which would treat gaps as free days).
    assert w.migraine_days_per_28 == 7.0
    assert w.headache_days_per_28 == 10.5
    # 24 / 28 = 85.7% ≥ 80%.
    assert w.sufficient


def test_a_window_under_80_percent_recorded_is_flagged_insufficient_but_still_shown() -> None:
    # 22 of 28 recorded (78.6%): 11 migraine days -> 11 × 28 / 22 = 14.0, insufficient.
    pattern = "m." * 11 + "_" * 6
    w = summarise_window(_days(pattern), D0, D0 + timedelta(days=27), DEFS)
    assert (w.days_recorded, w.migraine_days, w.migraine_days_per_28, w.sufficient) == (22, 11, 14.0, False)
    # Exactly 80% (22.4 days) cannot be reached with whole days; 23 of 28 is enough.
    w23 = summarise_window(_days("m." * 11 + "." + "_" * 5), D0, D0 + timedelta(days=27), DEFS)
    assert w23.days_recorded == 23 and w23.sufficient


def test_a_window_with_nothing_recorded_has_no_rate() -> None:
    w = summarise_window([], D0, D0 + timedelta(days=27), DEFS)
    assert w.migraine_days_per_28 is None and not w.sufficient


def test_triptan_days_count_as_migraine_days_in_a_window() -> None:
    w = summarise_window(_days("t" * 4 + "." * 24), D0, D0 + timedelta(days=27), DEFS)
    assert w.migraine_days == 4 and w.med_days_by_class["triptan"] == 4 and w.acute_med_days == 4


def test_change_percent_and_responders_hand_computed() -> None:
    base = summarise_window(_days("m" * 14 + "." * 14), D0, D0 + timedelta(days=27), DEFS)
    later = D0 + timedelta(days=60)
    follow = summarise_window(_days("m" * 6 + "." * 22, later), later, later + timedelta(days=27), DEFS)
    change = endpoints.change_from_baseline(base, follow, DEFS)
    # 6 − 14 = −8 days; −8 / 14 = −57.1%.
    assert change.change_migraine_days == -8.0
    assert change.percent_change == -57.1
    assert change.responders == {30: True, 50: True, 75: False}
    assert change.evaluable


def test_no_responder_is_claimed_when_a_window_is_insufficient() -> None:
    base = summarise_window(_days("m" * 14 + "." * 14), D0, D0 + timedelta(days=27), DEFS)
    later = D0 + timedelta(days=60)
    sparse = summarise_window(_days("." * 10 + "_" * 18, later), later, later + timedelta(days=27), DEFS)
    change = endpoints.change_from_baseline(base, sparse, DEFS)
    assert change.change_migraine_days == -14.0
    assert not change.evaluable and not any(change.responders.values())


def test_baseline_is_the_28_days_before_the_first_induction_and_windows_follow_the_last() -> None:
    assert endpoints.baseline_bounds(date(2026, 4, 1), DEFS) == (date(2026, 3, 4), date(2026, 3, 31))
    bounds = endpoints.follow_up_bounds(date(2026, 4, 20), date(2026, 6, 18), DEFS)
    assert bounds == [
        (date(2026, 4, 21), date(2026, 5, 18)),
        (date(2026, 5, 19), date(2026, 6, 15)),
        (date(2026, 6, 16), date(2026, 7, 13)),
    ]


def test_a_window_across_the_spring_daylight_saving_change_has_28_calendar_days() -> None:
    # US clocks went forward on 8 March 2026: the window is still 28 calendar days.
    start = date(2026, 2, 23)
    w = summarise_window(_days("m" + "." * 27, start), start, start + timedelta(days=27), DEFS)
    assert w.length_days == 28 and w.days_recorded == 28 and w.migraine_days_per_28 == 1.0


def test_medication_overuse_follows_ichd3_thresholds() -> None:
    assert endpoints.medication_overuse(16.0, {"triptan": 10.0, "any": 10.0}, DEFS)
    assert not endpoints.medication_overuse(14.0, {"triptan": 12.0, "any": 12.0}, DEFS)
    assert not endpoints.medication_overuse(16.0, {"simple_analgesic": 14.0, "any": 14.0}, DEFS)
    assert endpoints.medication_overuse(16.0, {"simple_analgesic": 15.0, "any": 15.0}, DEFS)
    # Several classes together on ≥10 days, none alone reaching its threshold.
    assert endpoints.medication_overuse(16.0, {"simple_analgesic": 6.0, "triptan": 5.0, "any": 10.0}, DEFS)


def test_session_pain_responder_needs_a_two_point_drop() -> None:
    rows = endpoints.session_pain([(D0, 7, 5), (D0, 7, 6)], DEFS)
    assert [r.responder for r in rows] == [True, False]
    assert rows[0].drop == 2


def test_relapse_after_response_when_rolling_days_exceed_half_of_baseline() -> None:
    base = summarise_window(_days("m" * 12 + "." * 16), D0, D0 + timedelta(days=27), DEFS)
    f_start = D0 + timedelta(days=40)
    # First follow-up: 4 migraine days (−66.7%, a responder), then 28 days with 8 (> 6 = 50% of 12).
    days = _days("m" * 12 + "." * 16) + _days("m" * 4 + "." * 24 + "m" * 8 + "." * 20, f_start)
    windows = [
        summarise_window(days, s, e, DEFS)
        for s, e in endpoints.follow_up_bounds(f_start - timedelta(days=1), f_start + timedelta(days=55), DEFS)
    ]
    check = endpoints.check_relapse(days, base, windows, f_start + timedelta(days=55), DEFS)
    assert check is not None
    assert check.had_response and check.threshold_per_28 == 6.0
    assert check.rolling.migraine_days_per_28 == 8.0 and check.is_relapse


def test_no_relapse_without_a_prior_response() -> None:
    base = summarise_window(_days("m" * 12 + "." * 16), D0, D0 + timedelta(days=27), DEFS)
    f_start = D0 + timedelta(days=40)
    days = _days("m" * 12 + "." * 16) + _days("m" * 10 + "." * 18, f_start)
    windows = [summarise_window(days, f_start, f_start + timedelta(days=27), DEFS)]
    check = endpoints.check_relapse(days, base, windows, f_start + timedelta(days=27), DEFS)
    assert check is not None and not check.had_response and not check.is_relapse


@pytest.mark.parametrize(
    ("n", "total", "total_sq", "t", "expected"),
    [
        (0, 0.0, 0.0, None, (None, None, None)),
        (1, -5.0, 25.0, None, (-5.0, None, None)),
        # values −4, −6, −8: mean −6, sd 2, t(0.975, 2) = 4.303 -> half-width 4.303 × 2 / √3 = 4.97.
        (3, -18.0, 116.0, 4.302652729911275, (-6.0, -10.97, -1.03)),
    ],
)
def test_confidence_interval_from_database_sums(
    n: int, total: float, total_sq: float, t: float | None, expected: tuple[float | None, ...]
) -> None:
    assert endpoints.ci_from_sums(n, total, total_sq, t) == expected


def test_every_definition_is_described_in_words() -> None:
    words = DEFS.describe()
    assert "28 days" in words["month"]
    assert "any day it was taken" in words["migraine_day"]
    assert "80%" in words["sufficient"]
    assert "helped within 2 h" in replace(DEFS, triptan_rule="effective_2h").describe()["migraine_day"]
