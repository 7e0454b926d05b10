"""Tests for the candidacy logic in `ketaclinic.patients.classification`.

Plain pytest, no database: every ICHD-3 and EHF criterion at its boundary, the medication-overuse
thresholds, the contraindication screen and the intake validation.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.patients.classification import (
    DEFAULT_CONTRAINDICATION_RULES,
    DEFAULT_RULES,
    AcuteMedicationClass,
    AuraCharacteristic,
    ClassificationRules,
    ContraindicationRule,
    IntakeAnswers,
    PreventiveClass,
    PreventiveTrial,
    Severity,
    TrialOutcome,
    Verdict,
    classify,
    screen,
)

FAILED = TrialOutcome.INEFFECTIVE
THREE_FAILED_CLASSES = (
    PreventiveTrial(PreventiveClass.ANTIDEPRESSANT, TrialOutcome.INEFFECTIVE, "amitriptyline"),
    PreventiveTrial(PreventiveClass.ANTIEPILEPTIC, TrialOutcome.NOT_TOLERATED, "topiramate"),
    PreventiveTrial(PreventiveClass.BETA_BLOCKER, TrialOutcome.INEFFECTIVE, "propranolol"),
)
ALL_CLASSES_FAILED = tuple(PreventiveTrial(c, FAILED) for c in PreventiveClass)
THREE_AURA_FEATURES = frozenset(
    {
        AuraCharacteristic.SPREADS_GRADUALLY,
        AuraCharacteristic.POSITIVE_SYMPTOM,
        AuraCharacteristic.HEADACHE_WITHIN_60_MIN,
    }
)


def make_answers(**overrides: Any) -> IntakeAnswers:
    """A chronic migraine patient without aura who is resistant (EHF) but not overusing."""
    base = IntakeAnswers(
        headache_days_per_month=20,
        migraine_feature_days_per_month=12,
        months_at_this_frequency=6,
        lifetime_migraine_attacks=100,
        debilitating_headache_days_per_month=10,
        attack_duration_hours_min=6,
        attack_duration_hours_max=24,
        unilateral=True,
        pulsating=True,
        moderate_or_severe=True,
        aggravated_by_activity=True,
        nausea_or_vomiting=True,
        photophobia=True,
        phonophobia=True,
        aura=False,
        triptans_failed=2,
        acute_medication_days={AcuteMedicationClass.TRIPTAN: 6},
        preventive_trials=THREE_FAILED_CLASSES,
        months_debilitating=6,
    )
    return dataclasses.replace(base, **overrides)


def make_payload(**overrides: object) -> dict[str, object]:
    """The JSON an API client sends for `make_answers()`."""
    payload: dict[str, object] = {
        "headache_days_per_month": 20,
        "migraine_feature_days_per_month": 12,
        "months_at_this_frequency": 6,
        "lifetime_migraine_attacks": 100,
        "debilitating_headache_days_per_month": 10,
        "attack_duration_hours_min": 6,
        "attack_duration_hours_max": 24,
        "unilateral": True,
        "pulsating": True,
        "moderate_or_severe": True,
        "aggravated_by_activity": True,
        "nausea_or_vomiting": True,
        "photophobia": True,
        "phonophobia": True,
        "aura": False,
        "triptans_failed": 2,
        "acute_medication_days": {"triptan": 6},
        "preventive_trials": [
            {
                "drug_class": "antidepressant",
                "outcome": "ineffective",
                "drug_name": "amitriptyline",
            },
            {"drug_class": "antiepileptic", "outcome": "not_tolerated", "drug_name": "topiramate"},
            {"drug_class": "beta_blocker", "outcome": "ineffective", "drug_name": "propranolol"},
        ],
        "months_debilitating": 6,
    }
    payload.update(overrides)
    return payload


def met(answers: IntakeAnswers, code: str, rules: ClassificationRules = DEFAULT_RULES) -> bool:
    return classify(answers, rules).criterion(code).met


def reason(answers: IntakeAnswers, code: str, rules: ClassificationRules = DEFAULT_RULES) -> str:
    return classify(answers, rules).criterion(code).reason


# --- the baseline patient --------------------------------------------------------------------


def test_baseline_patient_has_chronic_migraine_and_is_resistant() -> None:
    result = classify(make_answers())
    assert result.migraine_without_aura
    assert not result.migraine_with_aura
    assert result.chronic_migraine
    assert not result.probable_migraine
    assert not result.medication_overuse_risk
    assert result.preventive_classes_failed == 3
    assert result.resistant
    assert not result.refractory


def test_every_criterion_is_reported_once_in_a_stable_order() -> None:
    codes = [c.code for c in classify(make_answers()).criteria]
    assert codes == [
        "1.1.A",
        "1.1.B",
        "1.1.C",
        "1.1.D",
        "1.2.A",
        "1.2.B",
        "1.2.C",
        "1.3.A",
        "1.3.B",
        "1.3.C",
        "1.5",
        "8.2",
        "EHF.resistant",
        "EHF.refractory",
    ]


def test_unknown_criterion_code_raises_key_error() -> None:
    with pytest.raises(KeyError):
        classify(make_answers()).criterion("9.9")


# --- ICHD-3 1.3 chronic migraine at its boundaries ----------------------------------------------


@pytest.mark.parametrize(("headache_days", "expected"), [(14, False), (15, True)])
def test_chronic_migraine_needs_15_headache_days(headache_days: int, expected: bool) -> None:
    answers = make_answers(
        headache_days_per_month=headache_days,
        migraine_feature_days_per_month=8,
        months_at_this_frequency=3,
        debilitating_headache_days_per_month=8,
    )
    assert met(answers, "1.3.A") is expected
    assert classify(answers).chronic_migraine is expected


def test_headache_day_reason_names_the_count_and_threshold() -> None:
    text = reason(make_answers(headache_days_per_month=15), "1.3.A")
    assert text.startswith("Headache on 15 days/month (threshold ≥15)")
    assert text.endswith("— met.")
    assert "for >3 months" in text
    assert "at least 3 whole months" in text


@pytest.mark.parametrize(("migraine_days", "expected"), [(7, False), (8, True)])
def test_chronic_migraine_needs_8_migraine_days(migraine_days: int, expected: bool) -> None:
    answers = make_answers(
        headache_days_per_month=15,
        migraine_feature_days_per_month=migraine_days,
        months_at_this_frequency=3,
    )
    assert met(answers, "1.3.C") is expected
    assert classify(answers).chronic_migraine is expected
    assert f"Migraine features on {migraine_days} days/month (threshold ≥8)" in reason(answers, "1.3.C")


@pytest.mark.parametrize(("months", "expected"), [(2, False), (3, True)])
def test_chronic_migraine_needs_3_months_at_that_frequency(months: int, expected: bool) -> None:
    answers = make_answers(months_at_this_frequency=months)
    assert met(answers, "1.3.A") is expected
    assert met(answers, "1.3.C") is expected
    assert classify(answers).chronic_migraine is expected


def test_strict_more_than_3_months_reading_is_one_setting_away() -> None:
    strict = ClassificationRules(chronic_min_months=4)
    assert not classify(make_answers(months_at_this_frequency=3), strict).chronic_migraine
    assert classify(make_answers(months_at_this_frequency=4), strict).chronic_migraine
    assert "threshold ≥4" in reason(make_answers(), "1.3.A", strict)


@pytest.mark.parametrize(("attacks", "expected"), [(4, False), (5, True)])
def test_migraine_needs_5_lifetime_attacks(attacks: int, expected: bool) -> None:
    answers = make_answers(lifetime_migraine_attacks=attacks)
    assert met(answers, "1.1.A") is expected
    assert met(answers, "1.3.B") is expected
    assert classify(answers).migraine_without_aura is expected
    assert classify(answers).chronic_migraine is expected


def test_chronic_migraine_needs_attacks_with_migraine_features() -> None:
    answers = make_answers(unilateral=False, pulsating=False, moderate_or_severe=False)
    assert not met(answers, "1.3.B")
    assert not classify(answers).chronic_migraine
    assert "1.1 B–D: no, 1.2 B–C: no" in reason(answers, "1.3.B")


def test_chronic_migraine_can_rest_on_attacks_with_aura() -> None:
    answers = make_answers(
        unilateral=False,
        pulsating=False,
        moderate_or_severe=False,
        aura=True,
        aura_features=THREE_AURA_FEATURES,
    )
    result = classify(answers)
    assert not result.migraine_without_aura
    assert result.migraine_with_aura
    assert result.chronic_migraine
    assert "1.1 B–D: no, 1.2 B–C: yes" in result.criterion("1.3.B").reason


def test_frequent_headache_without_migraine_days_is_not_chronic_migraine() -> None:
    answers = make_answers(headache_days_per_month=25, migraine_feature_days_per_month=0)
    assert met(answers, "1.3.A")
    assert not met(answers, "1.3.C")
    assert not classify(answers).chronic_migraine


# --- ICHD-3 1.1 migraine without aura -----------------------------------------------------------


@pytest.mark.parametrize(
    ("low_hours", "high_hours", "expected", "detail"),
    [
        (4, 72, True, "within the window"),
        (6, 24, True, "within the window"),
        (1, 3.5, False, "outside the window"),
        (2, 8, True, "part of the range is within the window"),
        (1, 4, True, "part of the range is within the window"),
        (72, 96, True, "part of the range is within the window"),
        (73, 96, False, "outside the window"),
    ],
)
def test_attack_duration_must_reach_the_4_to_72_hour_window(
    low_hours: float, high_hours: float, expected: bool, detail: str
) -> None:
    answers = make_answers(attack_duration_hours_min=low_hours, attack_duration_hours_max=high_hours)
    assert met(answers, "1.1.B") is expected
    text = reason(answers, "1.1.B")
    assert f"last {low_hours:g}–{high_hours:g} h (ICHD-3 window 4–72 h)" in text
    assert detail in text


@pytest.mark.parametrize("features", list(itertools.product([False, True], repeat=4)))
def test_pain_criterion_needs_two_of_four_characteristics(
    features: tuple[bool, bool, bool, bool],
) -> None:
    unilateral, pulsating, severe, aggravated = features
    answers = make_answers(
        unilateral=unilateral,
        pulsating=pulsating,
        moderate_or_severe=severe,
        aggravated_by_activity=aggravated,
    )
    assert met(answers, "1.1.C") is (sum(features) >= 2)
    assert reason(answers, "1.1.C").startswith(f"{sum(features)} of 4 pain characteristics")


@pytest.mark.parametrize("symptoms", list(itertools.product([False, True], repeat=3)))
def test_associated_symptoms_need_nausea_or_both_photo_and_phonophobia(
    symptoms: tuple[bool, bool, bool],
) -> None:
    nausea, photophobia, phonophobia = symptoms
    answers = make_answers(nausea_or_vomiting=nausea, photophobia=photophobia, phonophobia=phonophobia)
    assert met(answers, "1.1.D") is (nausea or (photophobia and phonophobia))


def test_photophobia_alone_does_not_satisfy_associated_symptoms() -> None:
    answers = make_answers(nausea_or_vomiting=False, photophobia=True, phonophobia=False)
    assert not classify(answers).migraine_without_aura
    assert "photophobia and phonophobia together" in reason(answers, "1.1.D")


def test_migraine_without_aura_needs_every_criterion_a_to_d() -> None:
    assert classify(make_answers()).migraine_without_aura
    assert not classify(make_answers(attack_duration_hours_min=1, attack_duration_hours_max=3)).migraine_without_aura
    assert not classify(make_answers(unilateral=False, pulsating=False, moderate_or_severe=False)).migraine_without_aura


# --- ICHD-3 1.2 migraine with aura --------------------------------------------------------------


def test_migraine_with_aura_needs_three_aura_characteristics() -> None:
    two = frozenset(list(THREE_AURA_FEATURES)[:2])
    assert classify(make_answers(aura=True, aura_features=THREE_AURA_FEATURES)).migraine_with_aura
    assert not classify(make_answers(aura=True, aura_features=two)).migraine_with_aura
    assert reason(make_answers(aura=True, aura_features=two), "1.2.C").startswith("2 of 6 aura characteristics")


@pytest.mark.parametrize(("aura_attacks", "expected"), [(1, False), (2, True)])
def test_migraine_with_aura_needs_two_attacks_with_aura(aura_attacks: int, expected: bool) -> None:
    answers = make_answers(aura=True, aura_features=THREE_AURA_FEATURES, lifetime_aura_attacks=aura_attacks)
    assert met(answers, "1.2.A") is expected
    assert classify(answers).migraine_with_aura is expected


def test_uncounted_aura_attacks_fall_back_to_all_attacks_and_say_so() -> None:
    answers = make_answers(aura=True, aura_features=THREE_AURA_FEATURES, lifetime_migraine_attacks=2)
    assert met(answers, "1.2.A")
    assert "prescriber confirms how many had aura" in reason(answers, "1.2.A")


def test_no_aura_fails_every_aura_criterion() -> None:
    result = classify(make_answers(aura=False))
    assert not result.migraine_with_aura
    assert result.criterion("1.2.B").reason == "No aura reported — not met."
    assert not result.criterion("1.2.A").met
    assert result.criterion("1.2.A").reason.startswith("No aura reported, so 0 attacks with aura")


def test_patient_with_both_kinds_of_attack_gets_both_diagnoses() -> None:
    result = classify(make_answers(aura=True, aura_features=THREE_AURA_FEATURES))
    assert result.migraine_without_aura
    assert result.migraine_with_aura


# --- ICHD-3 1.5 probable migraine ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "missing_code"),
    [
        ({"lifetime_migraine_attacks": 4}, "1.1.A"),
        ({"attack_duration_hours_min": 1, "attack_duration_hours_max": 2}, "1.1.B"),
        ({"unilateral": False, "pulsating": False, "moderate_or_severe": False}, "1.1.C"),
        ({"nausea_or_vomiting": False, "phonophobia": False}, "1.1.D"),
    ],
)
def test_all_but_one_migraine_criterion_is_probable_migraine(overrides: dict[str, object], missing_code: str) -> None:
    result = classify(make_answers(**overrides))
    assert not result.migraine_without_aura
    assert result.probable_migraine
    assert f"missing {missing_code})" in result.criterion("1.5").reason


def test_two_missing_criteria_is_not_probable_migraine() -> None:
    result = classify(
        make_answers(lifetime_migraine_attacks=4, attack_duration_hours_min=1, attack_duration_hours_max=3)
    )
    assert not result.migraine_without_aura
    assert not result.probable_migraine
    assert result.summary().startswith("ICHD-3 migraine criteria not met")


def test_full_migraine_is_not_also_probable_migraine() -> None:
    result = classify(make_answers())
    assert not result.probable_migraine
    assert "does not apply" in result.criterion("1.5").reason


def test_aura_with_two_characteristics_is_probable_migraine_with_aura() -> None:
    answers = make_answers(
        aura=True,
        aura_features=frozenset(list(THREE_AURA_FEATURES)[:2]),
        lifetime_migraine_attacks=4,
        attack_duration_hours_min=1,
        attack_duration_hours_max=3,
    )
    result = classify(answers)
    assert not result.migraine_with_aura
    assert not result.migraine_without_aura
    assert result.probable_migraine
    assert "missing 1.2.C" in result.criterion("1.5").reason


# --- ICHD-3 8.2 medication-overuse risk ---------------------------------------------------------


@pytest.mark.parametrize(
    "med_class",
    [
        AcuteMedicationClass.TRIPTAN,
        AcuteMedicationClass.ERGOT,
        AcuteMedicationClass.OPIOID,
        AcuteMedicationClass.COMBINATION_ANALGESIC,
    ],
)
@pytest.mark.parametrize(("days", "expected"), [(9, False), (10, True)])
def test_ten_day_classes_overuse_at_10_days(med_class: AcuteMedicationClass, days: int, expected: bool) -> None:
    answers = make_answers(acute_medication_days={med_class: days})
    assert classify(answers).medication_overuse_risk is expected
    if expected:
        assert f"{med_class} 10 days/month (threshold ≥10)" in reason(answers, "8.2")


@pytest.mark.parametrize(("days", "expected"), [(14, False), (15, True)])
def test_simple_analgesics_overuse_at_15_days(days: int, expected: bool) -> None:
    answers = make_answers(acute_medication_days={AcuteMedicationClass.SIMPLE_ANALGESIC: days})
    assert classify(answers).medication_overuse_risk is expected


@pytest.mark.parametrize(("simple_days", "expected"), [(4, False), (5, True)])
def test_several_classes_together_overuse_at_10_days_in_total(simple_days: int, expected: bool) -> None:
    answers = make_answers(
        acute_medication_days={
            AcuteMedicationClass.TRIPTAN: 5,
            AcuteMedicationClass.SIMPLE_ANALGESIC: simple_days,
        }
    )
    assert classify(answers).medication_overuse_risk is expected
    assert f"2 class(es) together on {5 + simple_days} days/month" in reason(answers, "8.2")


def test_one_class_below_its_threshold_is_not_several_classes() -> None:
    answers = make_answers(acute_medication_days={AcuteMedicationClass.SIMPLE_ANALGESIC: 12})
    assert not classify(answers).medication_overuse_risk


@pytest.mark.parametrize(("headache_days", "expected"), [(14, False), (15, True)])
def test_overuse_risk_needs_15_headache_days(headache_days: int, expected: bool) -> None:
    answers = make_answers(
        headache_days_per_month=headache_days,
        migraine_feature_days_per_month=8,
        acute_medication_days={AcuteMedicationClass.TRIPTAN: 12},
    )
    assert classify(answers).medication_overuse_risk is expected


def test_overuse_reason_asks_prescriber_to_confirm_duration() -> None:
    answers = make_answers(acute_medication_days={AcuteMedicationClass.OPIOID: 10})
    assert ">3 months: the prescriber confirms" in reason(answers, "8.2")


def test_gepant_days_are_not_counted_by_default_but_reported() -> None:
    answers = make_answers(acute_medication_days={AcuteMedicationClass.GEPANT_DITAN: 20})
    assert not classify(answers).medication_overuse_risk
    assert "not counted under these rules: gepant_ditan 20 days/month" in reason(answers, "8.2")


def test_medical_director_can_add_a_gepant_threshold() -> None:
    rules = ClassificationRules(
        moh_single_class_min_days_per_month={
            **DEFAULT_RULES.moh_single_class_min_days_per_month,
            AcuteMedicationClass.GEPANT_DITAN: 10,
        }
    )
    answers = make_answers(acute_medication_days={AcuteMedicationClass.GEPANT_DITAN: 10})
    assert classify(answers, rules).medication_overuse_risk


# --- EHF resistant and refractory ---------------------------------------------------------------


def test_two_failed_drugs_in_one_class_count_as_one_class() -> None:
    trials = (
        PreventiveTrial(PreventiveClass.ANTIEPILEPTIC, FAILED, "topiramate"),
        PreventiveTrial(PreventiveClass.ANTIEPILEPTIC, TrialOutcome.NOT_TOLERATED, "valproate"),
        PreventiveTrial(PreventiveClass.BETA_BLOCKER, FAILED, "propranolol"),
    )
    result = classify(make_answers(preventive_trials=trials))
    assert result.preventive_classes_failed == 2
    assert not result.resistant


@pytest.mark.parametrize("outcome", [TrialOutcome.EFFECTIVE, TrialOutcome.ONGOING])
def test_effective_and_ongoing_trials_are_not_failures(outcome: TrialOutcome) -> None:
    trials = (*THREE_FAILED_CLASSES[:2], PreventiveTrial(PreventiveClass.CGRP, outcome))
    result = classify(make_answers(preventive_trials=trials))
    assert result.preventive_classes_failed == 2
    assert not result.resistant


def test_effective_trial_in_a_failed_class_is_flagged_for_the_prescriber() -> None:
    trials = (
        *THREE_FAILED_CLASSES,
        PreventiveTrial(PreventiveClass.BETA_BLOCKER, TrialOutcome.EFFECTIVE, "metoprolol"),
    )
    answers = make_answers(preventive_trials=trials)
    assert classify(answers).preventive_classes_failed == 3
    assert "effective trial is also recorded in: beta_blocker" in reason(answers, "EHF.resistant")


@pytest.mark.parametrize(("classes_failed", "expected"), [(2, False), (3, True)])
def test_resistant_needs_three_failed_classes(classes_failed: int, expected: bool) -> None:
    answers = make_answers(preventive_trials=THREE_FAILED_CLASSES[:classes_failed])
    assert classify(answers).resistant is expected
    assert reason(answers, "EHF.resistant").startswith(f"{classes_failed} preventive class(es) failed")


@pytest.mark.parametrize(("days", "expected"), [(7, False), (8, True)])
def test_resistant_needs_8_debilitating_days(days: int, expected: bool) -> None:
    answers = make_answers(debilitating_headache_days_per_month=days)
    assert classify(answers).resistant is expected
    assert f"debilitating headache on {days} days/month (threshold ≥8)" in reason(answers, "EHF.resistant")


@pytest.mark.parametrize(("months", "expected"), [(2, False), (3, True), (None, False)])
def test_resistant_needs_3_consecutive_debilitating_months(months: int | None, expected: bool) -> None:
    answers = make_answers(months_debilitating=months)
    assert classify(answers).resistant is expected
    if months is None:
        assert "for not recorded consecutive month(s)" in reason(answers, "EHF.resistant")


@pytest.mark.parametrize(("triptans", "expected"), [(1, False), (2, True)])
def test_resistant_needs_two_failed_triptans(triptans: int, expected: bool) -> None:
    assert classify(make_answers(triptans_failed=triptans)).resistant is expected


def test_resistant_needs_an_ichd3_migraine_diagnosis() -> None:
    answers = make_answers(lifetime_migraine_attacks=4)
    assert not classify(answers).resistant
    assert "ICHD-3 migraine (1.1, 1.2 or 1.3): no" in reason(answers, "EHF.resistant")


@pytest.mark.parametrize(("classes_failed", "expected"), [(7, False), (8, True)])
def test_refractory_needs_every_class_failed(classes_failed: int, expected: bool) -> None:
    answers = make_answers(preventive_trials=ALL_CLASSES_FAILED[:classes_failed])
    result = classify(answers)
    assert result.refractory is expected
    assert result.resistant
    assert result.criterion("EHF.refractory").reason.startswith(
        f"{classes_failed} of 8 required preventive classes failed"
    )


@pytest.mark.parametrize(("months", "expected"), [(5, False), (6, True)])
def test_refractory_needs_6_consecutive_debilitating_months(months: int, expected: bool) -> None:
    answers = make_answers(preventive_trials=ALL_CLASSES_FAILED, months_debilitating=months)
    assert classify(answers).refractory is expected


def test_refractory_respects_the_classes_available_to_the_clinic() -> None:
    us_rules = ClassificationRules(
        ehf_refractory_required_classes=frozenset(PreventiveClass) - {PreventiveClass.CALCIUM_CHANNEL_BLOCKER}
    )
    trials = tuple(t for t in ALL_CLASSES_FAILED if t.drug_class != "calcium_channel_blocker")
    answers = make_answers(preventive_trials=trials)
    assert not classify(answers).refractory
    assert classify(answers, us_rules).refractory


def test_refractory_reason_names_the_classes_not_failed() -> None:
    answers = make_answers(preventive_trials=ALL_CLASSES_FAILED[:6])
    assert "not failed: onabotulinumtoxina, other" in reason(answers, "EHF.refractory")


@given(st.lists(st.tuples(st.sampled_from(PreventiveClass), st.sampled_from(TrialOutcome)), max_size=20))
def test_failed_class_count_is_the_number_of_distinct_failed_classes(
    trials: list[tuple[PreventiveClass, TrialOutcome]],
) -> None:
    answers = make_answers(preventive_trials=tuple(PreventiveTrial(c, o) for c, o in trials))
    count = classify(answers).preventive_classes_failed
    expected = {c for c, o in trials if o in {TrialOutcome.INEFFECTIVE, TrialOutcome.NOT_TOLERATED}}
    assert count == len(expected)
    assert count <= len(PreventiveClass)


@given(
    trials=st.lists(st.tuples(st.sampled_from(PreventiveClass), st.sampled_from(TrialOutcome)), max_size=20),
    debilitating_days=st.integers(0, 20),
    months=st.one_of(st.none(), st.integers(0, 24)),
    triptans=st.integers(0, 4),
)
def test_refractory_implies_resistant_under_default_rules(
    trials: list[tuple[PreventiveClass, TrialOutcome]],
    debilitating_days: int,
    months: int | None,
    triptans: int,
) -> None:
    answers = make_answers(
        preventive_trials=tuple(PreventiveTrial(c, o) for c, o in trials),
        debilitating_headache_days_per_month=debilitating_days,
        months_debilitating=months,
        triptans_failed=triptans,
    )
    result = classify(answers)
    assert not result.refractory or result.resistant


@given(
    headache_days=st.integers(0, 31),
    attacks=st.integers(0, 10),
    low_hours=st.floats(0.5, 100),
    features=st.lists(st.booleans(), min_size=8, max_size=8),
    aura_features=st.frozensets(st.sampled_from(AuraCharacteristic)),
)
def test_diagnoses_are_consistent_and_every_reason_states_its_verdict(
    headache_days: int,
    attacks: int,
    low_hours: float,
    features: list[bool],
    aura_features: frozenset[AuraCharacteristic],
) -> None:
    aura = features[7]
    answers = make_answers(
        headache_days_per_month=headache_days,
        migraine_feature_days_per_month=headache_days // 2,
        debilitating_headache_days_per_month=headache_days // 2,
        lifetime_migraine_attacks=attacks,
        attack_duration_hours_min=low_hours,
        attack_duration_hours_max=low_hours * 2,
        unilateral=features[0],
        pulsating=features[1],
        moderate_or_severe=features[2],
        aggravated_by_activity=features[3],
        nausea_or_vomiting=features[4],
        photophobia=features[5],
        phonophobia=features[6],
        aura=aura,
        aura_features=aura_features if aura else frozenset(),
    )
    result = classify(answers)
    if result.probable_migraine:
        assert not (result.migraine_without_aura or result.migraine_with_aura)
    if result.chronic_migraine:
        assert result.migraine_without_aura or result.migraine_with_aura
    for criterion in result.criteria:
        if criterion.met:
            assert "— met." in criterion.reason
        else:
            assert "— not met." in criterion.reason or "does not apply" in criterion.reason


# --- summary ------------------------------------------------------------------------------------


def test_summary_names_diagnoses_resistance_and_overuse() -> None:
    answers = make_answers(acute_medication_days={AcuteMedicationClass.TRIPTAN: 12})
    assert classify(answers).summary() == (
        "Chronic migraine; migraine without aura; resistant (EHF); medication-overuse risk; "
        "3 preventive class(es) failed — decision support; the prescriber decides."
    )


def test_summary_prefers_refractory_over_resistant() -> None:
    summary = classify(make_answers(preventive_trials=ALL_CLASSES_FAILED)).summary()
    assert "refractory (EHF)" in summary
    assert "resistant (EHF)" not in summary


# --- rules validation ---------------------------------------------------------------------------


def test_negative_threshold_is_rejected() -> None:
    with pytest.raises(ValueError, match="^chronic_min_headache_days_per_month:"):
        ClassificationRules(chronic_min_headache_days_per_month=-1)


def test_inverted_duration_window_is_rejected() -> None:
    with pytest.raises(ValueError, match="^attack_duration_max_hours:"):
        ClassificationRules(attack_duration_min_hours=10, attack_duration_max_hours=4)


def test_empty_refractory_class_set_is_rejected() -> None:
    with pytest.raises(ValueError, match="^ehf_refractory_required_classes:"):
        ClassificationRules(ehf_refractory_required_classes=frozenset())


# --- IntakeAnswers.from_mapping -----------------------------------------------------------------


def test_from_mapping_builds_the_same_answers_as_the_constructor() -> None:
    answers = IntakeAnswers.from_mapping(make_payload())
    assert answers == make_answers()
    assert answers.acute_medication_days[AcuteMedicationClass.TRIPTAN] == 6
    assert answers.acute_medication_days[AcuteMedicationClass.OPIOID] == 0
    assert answers.preventive_trials[1].drug_name == "topiramate"


def test_from_mapping_accepts_optional_fields() -> None:
    answers = IntakeAnswers.from_mapping(
        make_payload(
            aura=True,
            aura_features=["spreads_gradually", "positive_symptom", "headache_within_60_min"],
            lifetime_aura_attacks=3,
            months_debilitating=None,
            preventive_trials=[
                {
                    "drug_class": "cgrp",
                    "outcome": "ongoing",
                    "drug_name": "erenumab",
                    "dose": "140 mg monthly",
                    "duration_weeks": 8,
                    "reason_stopped": "",
                }
            ],
        )
    )
    assert answers.aura_features == THREE_AURA_FEATURES
    assert answers.months_debilitating is None
    assert answers.preventive_trials[0].duration_weeks == 8


REQUIRED_KEYS = [
    key for key in make_payload() if key not in {"months_debilitating", "lifetime_aura_attacks", "aura_features"}
]


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_from_mapping_names_a_missing_required_key(key: str) -> None:
    payload = make_payload()
    del payload[key]
    with pytest.raises(ValueError, match=f"^{key}: required field is missing$"):
        IntakeAnswers.from_mapping(payload)


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"headache_days_per_month": -1}, "headache_days_per_month"),
        ({"headache_days_per_month": 32}, "headache_days_per_month"),
        ({"migraine_feature_days_per_month": -1}, "migraine_feature_days_per_month"),
        ({"debilitating_headache_days_per_month": 32}, "debilitating_headache_days_per_month"),
        ({"months_at_this_frequency": -1}, "months_at_this_frequency"),
        ({"lifetime_migraine_attacks": -5}, "lifetime_migraine_attacks"),
        ({"triptans_failed": -1}, "triptans_failed"),
        ({"months_debilitating": -1}, "months_debilitating"),
        ({"headache_days_per_month": "15"}, "headache_days_per_month"),
        ({"headache_days_per_month": 15.5}, "headache_days_per_month"),
        ({"headache_days_per_month": True}, "headache_days_per_month"),
        ({"unilateral": "yes"}, "unilateral"),
        ({"aura": 1}, "aura"),
        ({"attack_duration_hours_min": 0}, "attack_duration_hours_min"),
        ({"attack_duration_hours_min": "4"}, "attack_duration_hours_min"),
        ({"attack_duration_hours_max": 5}, "attack_duration_hours_max"),
        ({"migraine_feature_days_per_month": 21}, "migraine_feature_days_per_month"),
        ({"debilitating_headache_days_per_month": 21}, "debilitating_headache_days_per_month"),
        ({"headache_day_per_month": 15}, "headache_day_per_month"),
        ({"acute_medication_days": [6]}, "acute_medication_days"),
        ({"acute_medication_days": {"nsaid": 4}}, "acute_medication_days.nsaid"),
        ({"acute_medication_days": {"triptan": 32}}, "acute_medication_days.triptan"),
        ({"acute_medication_days": {"triptan": -1}}, "acute_medication_days.triptan"),
        ({"acute_medication_days": {"triptan": "6"}}, "acute_medication_days.triptan"),
        ({"preventive_trials": "topiramate"}, "preventive_trials"),
        ({"preventive_trials": ["topiramate"]}, r"preventive_trials\[0\]"),
        (
            {"preventive_trials": [{"drug_class": "nsaid", "outcome": "ineffective"}]},
            r"preventive_trials\[0\].drug_class",
        ),
        (
            {"preventive_trials": [{"drug_class": "cgrp", "outcome": "failed"}]},
            r"preventive_trials\[0\].outcome",
        ),
        (
            {"preventive_trials": [{"drug_class": "cgrp"}]},
            r"preventive_trials\[0\].outcome",
        ),
        (
            {"preventive_trials": [{"drug_class": "cgrp", "outcome": "ongoing", "doze": "x"}]},
            r"preventive_trials\[0\].doze",
        ),
        (
            {"preventive_trials": [{"drug_class": "cgrp", "outcome": "ongoing", "dose": 140}]},
            r"preventive_trials\[0\].dose",
        ),
        (
            {"preventive_trials": [{"drug_class": "cgrp", "outcome": "ongoing", "duration_weeks": -2}]},
            r"preventive_trials\[0\].duration_weeks",
        ),
        ({"aura_features": ["spreads_gradually"]}, "aura_features"),
        ({"aura": True, "aura_features": ["sparkles"]}, "aura_features"),
        ({"aura": True, "aura_features": "spreads_gradually"}, "aura_features"),
        ({"aura": True, "lifetime_aura_attacks": 101}, "lifetime_aura_attacks"),
        ({"lifetime_aura_attacks": 2}, "lifetime_aura_attacks"),
        ({"aura": True, "lifetime_aura_attacks": "2"}, "lifetime_aura_attacks"),
    ],
)
def test_from_mapping_rejects_bad_input_naming_the_field(overrides: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValueError, match=f"^{field_name}: "):
        IntakeAnswers.from_mapping(make_payload(**overrides))


def test_constructor_validates_like_from_mapping() -> None:
    with pytest.raises(ValueError, match="^headache_days_per_month: must be between 0 and 31"):
        make_answers(headache_days_per_month=40)


def test_answers_are_immutable() -> None:
    answers = make_answers()
    with pytest.raises(dataclasses.FrozenInstanceError):
        answers.headache_days_per_month = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        answers.acute_medication_days[AcuteMedicationClass.OPIOID] = 3  # type: ignore[index]


# --- contraindication screen --------------------------------------------------------------------


def all_answered(value: bool = False) -> dict[str, bool | None]:
    return {rule.key: value for rule in DEFAULT_CONTRAINDICATION_RULES}


def test_all_no_is_clear() -> None:
    result = screen(all_answered(False))
    assert result.verdict == Verdict.CLEAR
    assert result.findings == ()


def test_relative_yes_needs_review() -> None:
    answers = all_answered(False) | {"pregnancy": True}
    result = screen(answers)
    assert result.verdict == Verdict.NEEDS_REVIEW
    assert [(f.key, f.severity) for f in result.findings] == [("pregnancy", "relative")]


def test_absolute_yes_is_contraindicated_and_listed_first() -> None:
    answers = all_answered(False) | {"active_psychosis": True, "severe_hepatic_impairment": True}
    result = screen(answers)
    assert result.verdict == "contraindicated"
    assert [f.key for f in result.findings] == ["severe_hepatic_impairment", "active_psychosis"]
    assert result.findings[0].severity == Severity.ABSOLUTE


def test_missing_answer_is_unanswered_never_no() -> None:
    answers = all_answered(False)
    del answers["raised_intracranial_pressure"]
    result = screen(answers)
    assert result.verdict == Verdict.NEEDS_REVIEW
    assert result.unanswered_keys == ("raised_intracranial_pressure",)
    assert result.findings[0].reason.startswith("Not answered: Does the patient have raised")


def test_null_answer_is_unanswered() -> None:
    answers = all_answered(False) | {"pregnancy": None}
    assert screen(answers).unanswered_keys == ("pregnancy",)


def test_empty_screen_reports_every_question_unanswered() -> None:
    result = screen({})
    assert result.verdict == Verdict.NEEDS_REVIEW
    assert len(result.unanswered_keys) == len(DEFAULT_CONTRAINDICATION_RULES)


def test_unanswered_does_not_hide_an_absolute_yes() -> None:
    result = screen({"ketamine_hypersensitivity": True})
    assert result.verdict == Verdict.CONTRAINDICATED


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="^pregnant: unknown contraindication key"):
        screen(all_answered(False) | {"pregnant": True})


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_non_boolean_answer_is_rejected(value: object) -> None:
    # Untyped JSON can send anything; the screen must refuse it rather than guess.
    answers: dict[str, object] = {**all_answered(False), "pregnancy": value}
    with pytest.raises(ValueError, match="^pregnancy: must be true, false or null"):
        screen(answers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "severity"),
    [
        ("ketamine_hypersensitivity", "absolute"),
        ("aneurysmal_vascular_disease", "absolute"),
        ("arteriovenous_malformation", "absolute"),
        ("intracerebral_haemorrhage_history", "absolute"),
        ("severe_hepatic_impairment", "absolute"),
        ("active_substance_use_disorder", "absolute"),
        ("pregnancy", "relative"),
        ("active_psychosis", "relative"),
        ("history_of_psychosis", "relative"),
        ("poorly_controlled_cardiovascular_disease", "relative"),
        ("uncontrolled_hypertension", "relative"),
        ("moderate_hepatic_impairment", "relative"),
        ("raised_intracranial_pressure", "relative"),
        ("raised_intraocular_pressure", "relative"),
    ],
)
def test_default_rules_carry_the_referenced_severity(key: str, severity: str) -> None:
    result = screen(all_answered(False) | {key: True})
    assert [(f.key, f.severity) for f in result.findings] == [(key, severity)]
    expected = Verdict.CONTRAINDICATED if severity == "absolute" else Verdict.NEEDS_REVIEW
    assert result.verdict == expected


def test_default_rules_have_unique_keys_questions_and_sources() -> None:
    keys = [rule.key for rule in DEFAULT_CONTRAINDICATION_RULES]
    assert len(keys) == len(set(keys)) == 14
    for rule in DEFAULT_CONTRAINDICATION_RULES:
        assert rule.question.endswith("?")
        assert rule.source
        assert rule.reason


def test_clinic_rules_replace_the_defaults() -> None:
    rules = (ContraindicationRule("breastfeeding", "Is the patient breastfeeding?", Severity.RELATIVE, "r", "clinic"),)
    assert screen({"breastfeeding": False}, rules).verdict == Verdict.CLEAR
    with pytest.raises(ValueError, match="^pregnancy: unknown"):
        screen({"pregnancy": False}, rules)


def test_duplicate_rule_keys_are_rejected() -> None:
    rule = DEFAULT_CONTRAINDICATION_RULES[0]
    with pytest.raises(ValueError, match="duplicate"):
        screen({}, (rule, rule))


def test_rule_cannot_be_unanswered_severity_or_badly_keyed() -> None:
    with pytest.raises(ValueError, match="^severity:"):
        ContraindicationRule("x", "?", Severity.UNANSWERED, "r", "s")
    with pytest.raises(ValueError, match="^key:"):
        ContraindicationRule("Bad Key", "?", Severity.ABSOLUTE, "r", "s")
