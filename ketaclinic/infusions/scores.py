"""Clinical scores used around an infusion and as outcomes: modified Aldrete, MIDAS, HIT-6,
PGIC, RASS, MOAA/S and the pain numeric rating scale.

Pure functions with no Django in them. One place for every score, so outcome reports and the
infusion chart cannot drift apart. Each number cites its source; the summaries are in
docs/clinical-reference.md §4–§5. A score supports a clinician's decision and never makes it.

Only scoring ships here: HIT-6 item wording is licensed (QualityMetric and GlaxoSmithKline),
so a licensed clinic enters the wording itself.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal


class ScoreInputError(ValueError):
    """A score item outside its scale (the message names the item)."""


def _checked_int(field: str, value: int, low: int, high: int) -> int:
    """Return `value` if it is a whole number in [low, high]; booleans and floats are refused."""
    if isinstance(value, bool):
        raise ScoreInputError(f"{field} must be a whole number, got {value!r}.")
    try:
        number = operator.index(value)
    except TypeError:
        raise ScoreInputError(f"{field} must be a whole number, got {value!r}.") from None
    if not low <= number <= high:
        raise ScoreInputError(f"{field} must be between {low} and {high}, got {number}.")
    return number


# ---------------------------------------------------------------------------------------------
# Modified Aldrete (docs/clinical-reference.md §5)
# ---------------------------------------------------------------------------------------------

# Each of activity, respiration, circulation, consciousness and SpO2 scores 0–2, maximum 10.
ALDRETE_ITEM_MAX: Final = 2
ALDRETE_TOTAL_MAX: Final = 10
# Common discharge threshold ≥9 (modified Aldrete, docs/clinical-reference.md §5). A protocol
# setting: pass the clinic's threshold and record the variant used beside the score.
ALDRETE_DISCHARGE_THRESHOLD_DEFAULT: Final = 9


@dataclass(frozen=True)
class AldreteResult:
    """A modified Aldrete total and whether it reaches the discharge threshold used."""

    total: int
    threshold: int
    discharge_eligible: bool


def aldrete(  # noqa: PLR0913 - one parameter per item, named as on the form
    activity: int,
    respiration: int,
    circulation: int,
    consciousness: int,
    oxygen_saturation: int,
    *,
    threshold: int = ALDRETE_DISCHARGE_THRESHOLD_DEFAULT,
) -> AldreteResult:
    """Modified Aldrete total (0–10) and whether it meets `threshold`.

    Variants differ in what earns each point (circulation ±20 mmHg or ±20% of baseline; SpO2
    >92% on room air), not in the arithmetic; the caller records which variant was used.
    """
    items = {
        "activity": activity,
        "respiration": respiration,
        "circulation": circulation,
        "consciousness": consciousness,
        "oxygen_saturation": oxygen_saturation,
    }
    total = sum(_checked_int(name, value, 0, ALDRETE_ITEM_MAX) for name, value in items.items())
    checked_threshold = _checked_int("threshold", threshold, 0, ALDRETE_TOTAL_MAX)
    return AldreteResult(total, checked_threshold, total >= checked_threshold)


# ---------------------------------------------------------------------------------------------
# MIDAS (Stewart et al., Neurology 2001;56 Suppl 1:S20)
# ---------------------------------------------------------------------------------------------

# MIDAS asks about the last 3 months; 90 days is the ceiling for any day count.
MIDAS_PERIOD_DAYS: Final = 90
# Average pain, question B, on a 0–10 scale (Stewart 2001).
MIDAS_PAIN_MAX: Final = 10
# Grade I 0–5, II 6–10, III 11–20, IV ≥21 (Stewart 2001): the top score of grades I–III.
MIDAS_GRADE_I_MAX: Final = 5
MIDAS_GRADE_II_MAX: Final = 10
MIDAS_GRADE_III_MAX: Final = 20
MIDAS_GRADE_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "I": "little or no disability",
        "II": "mild disability",
        "III": "moderate disability",
        "IV": "severe disability",
    }
)

MidasGrade = Literal["I", "II", "III", "IV"]


@dataclass(frozen=True)
class MidasResult:
    """A MIDAS score (sum of questions 1–5) and grade; A and B are recorded, not scored."""

    score: int
    grade: MidasGrade
    headache_days: int
    average_pain: int

    @property
    def grade_label(self) -> str:
        return MIDAS_GRADE_LABELS[self.grade]


def midas_grade(score: int) -> MidasGrade:
    """Grade for a MIDAS score: I 0–5, II 6–10, III 11–20, IV ≥21 (Stewart 2001)."""
    checked = _checked_int("MIDAS score", score, 0, 5 * MIDAS_PERIOD_DAYS)
    if checked <= MIDAS_GRADE_I_MAX:
        return "I"
    if checked <= MIDAS_GRADE_II_MAX:
        return "II"
    if checked <= MIDAS_GRADE_III_MAX:
        return "III"
    return "IV"


def midas(  # noqa: PLR0913, PLR0917 - one parameter per question, numbered as on the form
    q1: int, q2: int, q3: int, q4: int, q5: int, a: int, b: int
) -> MidasResult:
    """Score MIDAS: the sum of the five day counts, graded I–IV.

    q1 days of work or school missed; q2 days productivity at work or school halved, not
    counting q1's days; q3 days without household work; q4 days household productivity halved,
    not counting q3's days; q5 days of family, social or leisure activity missed. `a` is
    headache days and `b` average pain 0–10 (recorded, not scored). Because q2 excludes q1's
    days and q4 excludes q3's, q1 + q2 and q3 + q4 cannot exceed the 90-day period.
    """
    days = {"q1": q1, "q2": q2, "q3": q3, "q4": q4, "q5": q5}
    checked = {name: _checked_int(name, value, 0, MIDAS_PERIOD_DAYS) for name, value in days.items()}
    for first, second in (("q1", "q2"), ("q3", "q4")):
        if checked[first] + checked[second] > MIDAS_PERIOD_DAYS:
            raise ScoreInputError(
                f"{first} + {second} is {checked[first] + checked[second]} days, more than the "
                f"{MIDAS_PERIOD_DAYS}-day period; {second} must not count {first}'s days again."
            )
    headache_days = _checked_int("a (headache days)", a, 0, MIDAS_PERIOD_DAYS)
    average_pain = _checked_int("b (average pain)", b, 0, MIDAS_PAIN_MAX)
    score = sum(checked.values())
    return MidasResult(score, midas_grade(score), headache_days, average_pain)


# ---------------------------------------------------------------------------------------------
# HIT-6 (QualityMetric / GlaxoSmithKline; docs/clinical-reference.md §4)
# ---------------------------------------------------------------------------------------------

Hit6Answer = Literal["never", "rarely", "sometimes", "very_often", "always"]
Hit6Band = Literal["little_or_no", "some", "substantial", "severe"]

# Item points: Never 6, Rarely 8, Sometimes 10, Very often 11, Always 13.
HIT6_POINTS: Final[Mapping[str, int]] = MappingProxyType(
    {"never": 6, "rarely": 8, "sometimes": 10, "very_often": 11, "always": 13}
)
HIT6_ITEM_COUNT: Final = 6
# Impact bands: ≤49 little or no, 50–55 some, 56–59 substantial, ≥60 severe.
HIT6_SOME_MIN: Final = 50
HIT6_SUBSTANTIAL_MIN: Final = 56
HIT6_SEVERE_MIN: Final = 60
HIT6_TOTAL_MIN: Final = HIT6_ITEM_COUNT * 6
HIT6_TOTAL_MAX: Final = HIT6_ITEM_COUNT * 13


@dataclass(frozen=True)
class Hit6Result:
    """A HIT-6 total (36–78) and its impact band."""

    score: int
    band: Hit6Band


def hit6_band(score: int) -> Hit6Band:
    """Impact band for a HIT-6 total: ≤49 little/no, 50–55 some, 56–59 substantial, ≥60 severe."""
    checked = _checked_int("HIT-6 score", score, HIT6_TOTAL_MIN, HIT6_TOTAL_MAX)
    if checked >= HIT6_SEVERE_MIN:
        return "severe"
    if checked >= HIT6_SUBSTANTIAL_MIN:
        return "substantial"
    if checked >= HIT6_SOME_MIN:
        return "some"
    return "little_or_no"


def hit6(answers: Sequence[str]) -> Hit6Result:
    """Score HIT-6 from exactly six answers, each one of never, rarely, sometimes, very_often,
    always."""
    if isinstance(answers, str):
        raise ScoreInputError("HIT-6 answers must be a list of six answers, not one string.")
    if len(answers) != HIT6_ITEM_COUNT:
        raise ScoreInputError(f"HIT-6 needs exactly {HIT6_ITEM_COUNT} answers, got {len(answers)}.")
    points = []
    for number, answer in enumerate(answers, start=1):
        if answer not in HIT6_POINTS:
            raise ScoreInputError(f"HIT-6 item {number} answer {answer!r} is not one of {', '.join(HIT6_POINTS)}.")
        points.append(HIT6_POINTS[answer])
    score = sum(points)
    return Hit6Result(score, hit6_band(score))


# ---------------------------------------------------------------------------------------------
# PGIC, Patient Global Impression of Change (docs/clinical-reference.md §4)
# ---------------------------------------------------------------------------------------------

PgicVersion = Literal["ninds_cde", "reversed"]
PgicDirection = Literal["improved", "no_change", "worse"]

PGIC_VERSIONS: Final = frozenset({"ninds_cde", "reversed"})
# NINDS Common Data Element wording: 1 = very much improved … 7 = very much worse. Other
# versions reverse the order, so the version is stored with every score.
PGIC_NINDS_LABELS: Final[Mapping[int, str]] = MappingProxyType(
    {
        1: "very much improved",
        2: "much improved",
        3: "minimally improved",
        4: "no change",
        5: "minimally worse",
        6: "much worse",
        7: "very much worse",
    }
)
PGIC_SCALE_MAX: Final = 7
_PGIC_NO_CHANGE: Final = 4


@dataclass(frozen=True)
class PgicResult:
    """A PGIC answer as given, its version, and its meaning on the NINDS CDE scale."""

    value: int
    version: PgicVersion
    ninds_value: int
    label: str
    direction: PgicDirection


def pgic(value: int, version: PgicVersion) -> PgicResult:
    """Normalise a 7-point PGIC answer to improved / no_change / worse.

    `version` "ninds_cde": 1 very much improved … 7 very much worse; "reversed": 1 very much
    worse … 7 very much improved.
    """
    if version not in PGIC_VERSIONS:
        raise ScoreInputError(f"PGIC version {version!r} is not one of ninds_cde, reversed.")
    checked = _checked_int("PGIC", value, 1, PGIC_SCALE_MAX)
    ninds_value = checked if version == "ninds_cde" else PGIC_SCALE_MAX + 1 - checked
    direction: PgicDirection
    if ninds_value < _PGIC_NO_CHANGE:
        direction = "improved"
    elif ninds_value == _PGIC_NO_CHANGE:
        direction = "no_change"
    else:
        direction = "worse"
    return PgicResult(checked, version, ninds_value, PGIC_NINDS_LABELS[ninds_value], direction)


# ---------------------------------------------------------------------------------------------
# Sedation: RASS and MOAA/S (docs/clinical-reference.md §5)
# ---------------------------------------------------------------------------------------------

# Richmond Agitation-Sedation Scale (Sessler et al., Am J Respir Crit Care Med 2002).
RASS_LABELS: Final[Mapping[int, str]] = MappingProxyType(
    {
        4: "combative",
        3: "very agitated",
        2: "agitated",
        1: "restless",
        0: "alert and calm",
        -1: "drowsy",
        -2: "light sedation",
        -3: "moderate sedation",
        -4: "deep sedation",
        -5: "unarousable",
    }
)
RASS_MIN: Final = -5
RASS_MAX: Final = 4

# Modified Observer's Assessment of Alertness/Sedation (Chernik et al., J Clin Psychopharmacol
# 1990; the modified form adds levels 1 and 0).
MOAAS_LABELS: Final[Mapping[int, str]] = MappingProxyType(
    {
        5: "responds readily to name spoken in normal tone",
        4: "lethargic response to name spoken in normal tone",
        3: "responds only after name is called loudly and/or repeatedly",
        2: "responds only after mild prodding or shaking",
        1: "responds only after painful trapezius squeeze",
        0: "no response after painful trapezius squeeze",
    }
)
MOAAS_MIN: Final = 0
MOAAS_MAX: Final = 5


def validate_rass(score: int) -> int:
    """Return a RASS score (−5 unarousable … +4 combative) or raise ScoreInputError."""
    return _checked_int("RASS", score, RASS_MIN, RASS_MAX)


def rass_label(score: int) -> str:
    return RASS_LABELS[validate_rass(score)]


def validate_moaas(score: int) -> int:
    """Return a MOAA/S score (0 no response to pain … 5 responds readily) or raise."""
    return _checked_int("MOAA/S", score, MOAAS_MIN, MOAAS_MAX)


def moaas_label(score: int) -> str:
    return MOAAS_LABELS[validate_moaas(score)]


# ---------------------------------------------------------------------------------------------
# Pain numeric rating scale (docs/clinical-reference.md §4)
# ---------------------------------------------------------------------------------------------

PAIN_NRS_MIN: Final = 0
PAIN_NRS_MAX: Final = 10
# A ≥2-point drop on the 0–10 scale is the responder definition in Schwenk et al. 2018 and
# Pomeroy et al. 2017 (docs/clinical-reference.md §1, §4).
PAIN_RESPONDER_MIN_DROP_DEFAULT: Final = 2


def validate_pain_nrs(score: int, field: str = "pain NRS") -> int:
    """Return a 0–10 pain rating or raise ScoreInputError naming `field`."""
    return _checked_int(field, score, PAIN_NRS_MIN, PAIN_NRS_MAX)


def session_pain_responder(before: int, after: int, min_drop: int = PAIN_RESPONDER_MIN_DROP_DEFAULT) -> bool:
    """True when pain fell by at least `min_drop` points from `before` to `after` the session."""
    drop = validate_pain_nrs(before, "pain before") - validate_pain_nrs(after, "pain after")
    return drop >= _checked_int("min_drop", min_drop, 1, PAIN_NRS_MAX)
