"""Clinical scores: every grade and band boundary, and every out-of-range item."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.infusions.scores import (
    HIT6_POINTS,
    MOAAS_LABELS,
    RASS_LABELS,
    ScoreInputError,
    aldrete,
    hit6,
    hit6_band,
    midas,
    midas_grade,
    moaas_label,
    pgic,
    rass_label,
    session_pain_responder,
    validate_moaas,
    validate_pain_nrs,
    validate_rass,
)

NOT_WHOLE_NUMBERS: list[Any] = [True, False, 1.0, 1.5, "1", None]

# ---------------------------------------------------------------------------------------------
# Modified Aldrete
# ---------------------------------------------------------------------------------------------


def test_aldrete_full_marks_is_ten_and_eligible() -> None:
    result = aldrete(2, 2, 2, 2, 2)
    assert (result.total, result.threshold, result.discharge_eligible) == (10, 9, True)


def test_aldrete_nine_meets_the_default_threshold() -> None:
    result = aldrete(2, 2, 2, 2, 1)
    assert (result.total, result.discharge_eligible) == (9, True)


def test_aldrete_eight_is_below_the_default_threshold() -> None:
    result = aldrete(2, 2, 2, 1, 1)
    assert (result.total, result.discharge_eligible) == (8, False)


def test_aldrete_zero() -> None:
    assert aldrete(0, 0, 0, 0, 0).total == 0


def test_aldrete_threshold_is_a_clinic_setting() -> None:
    assert not aldrete(2, 2, 2, 2, 1, threshold=10).discharge_eligible
    assert aldrete(2, 2, 2, 1, 1, threshold=8).discharge_eligible


@pytest.mark.parametrize("item", ["activity", "respiration", "circulation", "consciousness", "oxygen_saturation"])
@pytest.mark.parametrize("bad", [-1, 3, *NOT_WHOLE_NUMBERS])
def test_aldrete_item_out_of_range_is_refused_by_name(item: str, bad: Any) -> None:
    items: dict[str, Any] = {
        "activity": 2,
        "respiration": 2,
        "circulation": 2,
        "consciousness": 2,
        "oxygen_saturation": 2,
    }
    items[item] = bad
    with pytest.raises(ScoreInputError, match=item):
        aldrete(**items)


@pytest.mark.parametrize("bad", [-1, 11, 9.0])
def test_aldrete_threshold_out_of_range_is_refused(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="threshold"):
        aldrete(2, 2, 2, 2, 2, threshold=bad)


# ---------------------------------------------------------------------------------------------
# MIDAS
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "score", "grade"),
    [
        ((0, 0, 0, 0, 0), 0, "I"),
        ((1, 1, 1, 1, 1), 5, "I"),  # top of grade I
        ((2, 1, 1, 1, 1), 6, "II"),  # bottom of grade II
        ((2, 2, 2, 2, 2), 10, "II"),  # top of grade II
        ((3, 2, 2, 2, 2), 11, "III"),  # bottom of grade III
        ((4, 4, 4, 4, 4), 20, "III"),  # top of grade III
        ((5, 4, 4, 4, 4), 21, "IV"),  # bottom of grade IV
        ((45, 45, 45, 45, 90), 270, "IV"),  # the most the period allows
    ],
)
def test_midas_score_and_grade(days: tuple[int, int, int, int, int], score: int, grade: str) -> None:
    result = midas(*days, a=30, b=7)
    assert (result.score, result.grade) == (score, grade)


@pytest.mark.parametrize(
    ("score", "grade"),
    [(0, "I"), (5, "I"), (6, "II"), (10, "II"), (11, "III"), (20, "III"), (21, "IV"), (450, "IV")],
)
def test_midas_grade_boundaries(score: int, grade: str) -> None:
    assert midas_grade(score) == grade


@pytest.mark.parametrize("bad", [-1, 451, 5.0])
def test_midas_grade_refuses_impossible_scores(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="MIDAS score"):
        midas_grade(bad)


def test_midas_records_a_and_b_without_scoring_them() -> None:
    result = midas(1, 1, 1, 1, 1, a=90, b=10)
    assert (result.score, result.headache_days, result.average_pain) == (5, 90, 10)
    assert midas(1, 1, 1, 1, 1, a=0, b=0).score == 5


def test_midas_grade_labels() -> None:
    assert midas(0, 0, 0, 0, 0, 0, 0).grade_label == "little or no disability"
    assert midas(30, 0, 0, 0, 0, 30, 8).grade_label == "severe disability"


@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
@pytest.mark.parametrize("bad", [-1, 91, *NOT_WHOLE_NUMBERS])
def test_midas_day_count_out_of_range_is_refused_by_name(question: str, bad: Any) -> None:
    days: dict[str, Any] = {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0}
    days[question] = bad
    with pytest.raises(ScoreInputError, match=question):
        midas(**days, a=10, b=5)


@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
def test_midas_day_count_of_90_is_allowed(question: str) -> None:
    days = {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0, question: 90}
    assert midas(**days, a=90, b=5).score == 90


@pytest.mark.parametrize(
    ("days", "pair"),
    [((60, 31, 0, 0, 0), "q1 \\+ q2"), ((0, 0, 45, 46, 0), "q3 \\+ q4")],
)
def test_midas_refuses_more_days_than_the_period_when_questions_exclude_each_other(
    days: tuple[int, int, int, int, int], pair: str
) -> None:
    # q2 counts days not already counted in q1 (q4 likewise for q3), so together ≤ 90.
    with pytest.raises(ScoreInputError, match=pair):
        midas(*days, a=90, b=5)


def test_midas_allows_the_excluding_pairs_to_fill_the_period() -> None:
    assert midas(60, 30, 45, 45, 0, a=90, b=5).score == 180


@pytest.mark.parametrize(("a", "b"), [(-1, 5), (91, 5), (10, -1), (10, 11), (10, 5.5)])
def test_midas_refuses_impossible_a_or_b(a: Any, b: Any) -> None:
    with pytest.raises(ScoreInputError, match=r"^(a|b) \("):
        midas(0, 0, 0, 0, 0, a=a, b=b)


# ---------------------------------------------------------------------------------------------
# HIT-6
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "score", "band"),
    [
        (["never"] * 6, 36, "little_or_no"),
        # 13 + 10 + 8 + 6 + 6 + 6 = 49
        (["always", "sometimes", "rarely", "never", "never", "never"], 49, "little_or_no"),
        # 13 + 13 + 6 + 6 + 6 + 6 = 50
        (["always", "always", "never", "never", "never", "never"], 50, "some"),
        # 13 + 13 + 11 + 6 + 6 + 6 = 55
        (["always", "always", "very_often", "never", "never", "never"], 55, "some"),
        # 13 + 13 + 10 + 8 + 6 + 6 = 56
        (["always", "always", "sometimes", "rarely", "never", "never"], 56, "substantial"),
        # 13 + 13 + 11 + 10 + 6 + 6 = 59
        (["always", "always", "very_often", "sometimes", "never", "never"], 59, "substantial"),
        # 13 + 13 + 11 + 11 + 6 + 6 = 60
        (["always", "always", "very_often", "very_often", "never", "never"], 60, "severe"),
        (["always"] * 6, 78, "severe"),
        (["rarely"] * 6, 48, "little_or_no"),
        (["sometimes"] * 6, 60, "severe"),
        (["very_often"] * 6, 66, "severe"),
    ],
)
def test_hit6_score_and_band(answers: list[str], score: int, band: str) -> None:
    result = hit6(answers)
    assert (result.score, result.band) == (score, band)


def test_hit6_item_points() -> None:
    # Never 6, Rarely 8, Sometimes 10, Very often 11, Always 13.
    assert dict(HIT6_POINTS) == {
        "never": 6,
        "rarely": 8,
        "sometimes": 10,
        "very_often": 11,
        "always": 13,
    }


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (36, "little_or_no"),
        (49, "little_or_no"),
        (50, "some"),
        (55, "some"),
        (56, "substantial"),
        (59, "substantial"),
        (60, "severe"),
        (78, "severe"),
    ],
)
def test_hit6_band_boundaries(score: int, band: str) -> None:
    assert hit6_band(score) == band


@pytest.mark.parametrize("bad", [35, 79, 50.0])
def test_hit6_band_refuses_an_impossible_total(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="HIT-6 score"):
        hit6_band(bad)


@pytest.mark.parametrize("count", [0, 5, 7])
def test_hit6_needs_exactly_six_answers(count: int) -> None:
    with pytest.raises(ScoreInputError, match=f"exactly 6 answers, got {count}"):
        hit6(["never"] * count)


@pytest.mark.parametrize("bad", ["Never", "often", "", "very often"])
def test_hit6_refuses_an_unknown_answer_naming_the_item(bad: str) -> None:
    with pytest.raises(ScoreInputError, match="item 4"):
        hit6(["never", "never", "never", bad, "never", "never"])


def test_hit6_refuses_a_single_string() -> None:
    with pytest.raises(ScoreInputError, match="not one string"):
        hit6("always")


@given(st.lists(st.sampled_from(list(HIT6_POINTS)), min_size=6, max_size=6))
def test_hit6_total_is_always_between_36_and_78(answers: list[str]) -> None:
    result = hit6(answers)
    assert 36 <= result.score <= 78
    assert result.score == sum(HIT6_POINTS[answer] for answer in answers)
    assert result.band == hit6_band(result.score)


@given(
    st.lists(st.sampled_from(list(HIT6_POINTS)), min_size=6, max_size=6),
    st.integers(min_value=0, max_value=5),
    st.sampled_from(list(HIT6_POINTS)),
)
def test_hit6_worse_answer_never_lowers_the_score(answers: list[str], index: int, replacement: str) -> None:
    changed = [*answers]
    changed[index] = replacement
    raised = HIT6_POINTS[replacement] >= HIT6_POINTS[answers[index]]
    assert (hit6(changed).score >= hit6(answers).score) == raised


# ---------------------------------------------------------------------------------------------
# PGIC
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "direction", "label"),
    [
        (1, "improved", "very much improved"),
        (2, "improved", "much improved"),
        (3, "improved", "minimally improved"),
        (4, "no_change", "no change"),
        (5, "worse", "minimally worse"),
        (6, "worse", "much worse"),
        (7, "worse", "very much worse"),
    ],
)
def test_pgic_ninds_cde_version(value: int, direction: str, label: str) -> None:
    result = pgic(value, "ninds_cde")
    assert (result.direction, result.label, result.ninds_value) == (direction, label, value)
    assert (result.value, result.version) == (value, "ninds_cde")


@pytest.mark.parametrize(
    ("value", "direction", "label"),
    [
        (1, "worse", "very much worse"),
        (2, "worse", "much worse"),
        (3, "worse", "minimally worse"),
        (4, "no_change", "no change"),
        (5, "improved", "minimally improved"),
        (6, "improved", "much improved"),
        (7, "improved", "very much improved"),
    ],
)
def test_pgic_reversed_version(value: int, direction: str, label: str) -> None:
    result = pgic(value, "reversed")
    assert (result.direction, result.label, result.ninds_value) == (direction, label, 8 - value)
    assert (result.value, result.version) == (value, "reversed")


@pytest.mark.parametrize("bad", [0, 8, *NOT_WHOLE_NUMBERS])
def test_pgic_refuses_a_value_off_the_scale(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="PGIC"):
        pgic(bad, "ninds_cde")


def test_pgic_refuses_an_unknown_version() -> None:
    with pytest.raises(ScoreInputError, match="version"):
        pgic(1, "guy_1976")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# RASS and MOAA/S
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", range(-5, 5))
def test_every_rass_score_is_valid_and_labelled(score: int) -> None:
    assert validate_rass(score) == score
    assert rass_label(score) == RASS_LABELS[score]


def test_rass_labels_at_the_ends_and_middle() -> None:
    assert (rass_label(4), rass_label(0), rass_label(-5)) == (
        "combative",
        "alert and calm",
        "unarousable",
    )


@pytest.mark.parametrize("bad", [-6, 5, *NOT_WHOLE_NUMBERS])
def test_rass_off_the_scale_is_refused(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="RASS"):
        validate_rass(bad)
    with pytest.raises(ScoreInputError, match="RASS"):
        rass_label(bad)


@pytest.mark.parametrize("score", range(6))
def test_every_moaas_score_is_valid_and_labelled(score: int) -> None:
    assert validate_moaas(score) == score
    assert moaas_label(score) == MOAAS_LABELS[score]


def test_moaas_labels_at_the_ends() -> None:
    assert moaas_label(5) == "responds readily to name spoken in normal tone"
    assert moaas_label(0) == "no response after painful trapezius squeeze"


@pytest.mark.parametrize("bad", [-1, 6, *NOT_WHOLE_NUMBERS])
def test_moaas_off_the_scale_is_refused(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="MOAA/S"):
        validate_moaas(bad)


# ---------------------------------------------------------------------------------------------
# Pain NRS and session responder
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", range(11))
def test_every_pain_rating_from_0_to_10_is_valid(score: int) -> None:
    assert validate_pain_nrs(score) == score


@pytest.mark.parametrize("bad", [-1, 11, *NOT_WHOLE_NUMBERS])
def test_pain_rating_off_the_scale_is_refused(bad: Any) -> None:
    with pytest.raises(ScoreInputError, match="pain NRS"):
        validate_pain_nrs(bad)


@pytest.mark.parametrize(
    ("before", "after", "is_responder"),
    [
        (8, 6, True),  # a 2-point drop is the responder definition (Schwenk 2018)
        (8, 7, False),  # 1 point is not enough
        (8, 8, False),
        (6, 8, False),  # worse
        (10, 0, True),
        (2, 0, True),
    ],
)
def test_session_pain_responder_default_two_points(before: int, after: int, is_responder: bool) -> None:
    assert session_pain_responder(before, after) is is_responder


def test_session_pain_responder_threshold_is_configurable() -> None:
    assert not session_pain_responder(8, 6, min_drop=3)
    assert session_pain_responder(8, 5, min_drop=3)


@pytest.mark.parametrize(
    ("before", "after", "min_drop", "field"),
    [
        (11, 5, 2, "pain before"),
        (8, -1, 2, "pain after"),
        (8, 6.5, 2, "pain after"),
        (8, 5, 0, "min_drop"),
        (8, 5, 11, "min_drop"),
    ],
)
def test_session_pain_responder_refuses_bad_input(before: Any, after: Any, min_drop: Any, field: str) -> None:
    with pytest.raises(ScoreInputError, match=field):
        session_pain_responder(before, after, min_drop=min_drop)


@given(st.integers(0, 10), st.integers(0, 10))
def test_responder_means_a_drop_of_at_least_two(before: int, after: int) -> None:
    assert session_pain_responder(before, after) is (before - after >= 2)
