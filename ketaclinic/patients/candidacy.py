"""From stored intake answers to the frozen result the prescriber reviews: classification,
contraindication screen and MIDAS. Pure Python with no Django in it.

Intake answers are one flat mapping: the keys of :meth:`classification.IntakeAnswers.from_mapping`,
plus ``contraindications`` (rule key -> true/false/null), ``midas`` (q1–q5, a, b) and free text
(``other_diagnoses``, ``current_medicines``, ``allergies``, attack description). A caller may leave
out the classification keys in :data:`OPTIONAL_DEFAULTS`: each is then classified as absent (a
feature not present, a duration outside the ICHD-3 window, no triptans failed) and every
criterion resting on it says "not answered", so a missing answer is visible and never reads as
a diagnosis. Decision support only: the prescriber decides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any, Final

from ketaclinic.infusions.scores import ScoreInputError, midas
from ketaclinic.patients.classification import (
    ContraindicationRule,
    IntakeAnswers,
    Severity,
    classify,
    screen,
)

# The keys an API caller must send; everything else the classification reads has a default.
REQUIRED_KEYS: Final = (
    "headache_days_per_month",
    "migraine_feature_days_per_month",
    "months_at_this_frequency",
    "lifetime_migraine_attacks",
    "debilitating_headache_days_per_month",
    "preventive_trials",
)

# Defaults for unanswered classification inputs. The attack duration default is outside the
# ICHD-3 4–72 h window on purpose, so 1.1 B is "not met" rather than guessed; its reason is
# replaced by "not answered" below, so the placeholder number is never shown.
_UNANSWERED_DURATION_HOURS: Final = 0.1
OPTIONAL_DEFAULTS: Final[Mapping[str, object]] = {
    "attack_duration_hours_min": _UNANSWERED_DURATION_HOURS,
    "attack_duration_hours_max": _UNANSWERED_DURATION_HOURS,
    "unilateral": False,
    "pulsating": False,
    "moderate_or_severe": False,
    "aggravated_by_activity": False,
    "nausea_or_vomiting": False,
    "photophobia": False,
    "phonophobia": False,
    "aura": False,
    "triptans_failed": 0,
    "acute_medication_days": {},
}

CLASSIFICATION_KEYS: Final = frozenset(f.name for f in fields(IntakeAnswers))
MIDAS_KEYS: Final = ("q1", "q2", "q3", "q4", "q5", "a", "b")

# Which inputs each criterion rests on, so an unanswered input can be named in its reason.
_CRITERION_INPUTS: Final[Mapping[str, tuple[str, ...]]] = {
    "1.1.B": ("attack_duration_hours_min", "attack_duration_hours_max"),
    "1.1.C": ("unilateral", "pulsating", "moderate_or_severe", "aggravated_by_activity"),
    "1.1.D": ("nausea_or_vomiting", "photophobia", "phonophobia"),
    "1.2.A": ("aura",),
    "1.2.B": ("aura",),
    "1.2.C": ("aura",),
    "1.3.B": (
        "attack_duration_hours_min",
        "unilateral",
        "pulsating",
        "moderate_or_severe",
        "aggravated_by_activity",
        "nausea_or_vomiting",
        "photophobia",
        "phonophobia",
        "aura",
    ),
    "8.2": ("acute_medication_days",),
    "EHF.resistant": ("triptans_failed",),
    "EHF.refractory": ("triptans_failed",),
}
# Criteria whose every input is one answer group: when all of them are unanswered the reason
# is replaced outright (its numbers would be placeholders).
_REPLACE_WHEN_ALL_UNANSWERED: Final = frozenset({"1.1.B", "1.1.C", "1.1.D", "1.2.A", "1.2.B", "1.2.C", "8.2"})


def complete_answers(answers: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The classification keys of ``answers`` with defaults filled in, and the keys defaulted."""
    given = {key: value for key, value in answers.items() if key in CLASSIFICATION_KEYS}
    unanswered = sorted(key for key in OPTIONAL_DEFAULTS if given.get(key) is None)
    for key in unanswered:
        given[key] = OPTIONAL_DEFAULTS[key]
    return given, unanswered


def missing_required(answers: Mapping[str, Any]) -> list[str]:
    return [key for key in REQUIRED_KEYS if answers.get(key) is None]


def parse_answers(answers: Mapping[str, Any]) -> tuple[IntakeAnswers, list[str]]:
    """Validate answers for classification. Raises ValueError naming the first bad field."""
    missing = missing_required(answers)
    if missing:
        raise ValueError(f"{missing[0]}: required field is missing")
    completed, unanswered = complete_answers(answers)
    return IntakeAnswers.from_mapping(completed), unanswered


def _explain(code: str, reason: str, unanswered: set[str]) -> str:
    names = [name for name in _CRITERION_INPUTS.get(code, ()) if name in unanswered]
    if not names:
        return reason
    labels = ", ".join(name.replace("_", " ") for name in names)
    if code in _REPLACE_WHEN_ALL_UNANSWERED and len(names) == len(_CRITERION_INPUTS[code]):
        return f"Not answered ({labels}) — not met."
    return f"Not answered: {labels} (counted as absent). {reason}"


def rules_as_data(rules: Iterable[ContraindicationRule]) -> list[dict[str, str]]:
    return [
        {"key": r.key, "question": r.question, "severity": str(r.severity), "reason": r.reason, "source": r.source}
        for r in rules
    ]


def rules_version(rules: Sequence[ContraindicationRule]) -> str:
    """SHA-256 of the rules' content: equal rules give the same version whatever their ids."""
    canonical = json.dumps(rules_as_data(rules), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_contraindication_answers(answers: Mapping[str, object], known_keys: Iterable[str]) -> None:
    """Raise ValueError for an unknown key or a value that is not true, false or null."""
    known = set(known_keys)
    for key, value in answers.items():
        if key not in known:
            raise ValueError(f"contraindications.{key}: unknown contraindication key")
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"contraindications.{key}: must be true, false or null, got {value!r}")


def score_midas(raw: object) -> dict[str, Any] | None:
    """The MIDAS result as data, or None when the questionnaire is incomplete."""
    if not isinstance(raw, Mapping) or any(not isinstance(raw.get(k), int) for k in MIDAS_KEYS):
        return None
    result = midas(*(int(raw[k]) for k in MIDAS_KEYS))
    return {
        "score": result.score,
        "grade": result.grade,
        "grade_label": result.grade_label,
        "headache_days": result.headache_days,
        "average_pain": result.average_pain,
    }


def check_midas(raw: Mapping[str, object]) -> None:
    """Raise ValueError if a complete MIDAS questionnaire is out of range."""
    if all(isinstance(raw.get(k), int) for k in MIDAS_KEYS):
        try:
            score_midas(raw)
        except ScoreInputError as error:
            raise ValueError(f"midas: {error}") from None


def evaluate(answers: Mapping[str, Any], rules: Sequence[ContraindicationRule]) -> dict[str, Any]:
    """Classify, screen and score one intake; the JSON-ready result frozen at submission."""
    parsed, unanswered = parse_answers(answers)
    result = classify(parsed)
    unanswered_set = set(unanswered)
    contraindication_answers = answers.get("contraindications") or {}
    check_contraindication_answers(contraindication_answers, (r.key for r in rules))
    screened = screen(contraindication_answers, tuple(rules))
    questions = {r.key: r.question for r in rules}
    return {
        "summary": result.summary(),
        "chronic_migraine": result.chronic_migraine,
        "migraine_without_aura": result.migraine_without_aura,
        "migraine_with_aura": result.migraine_with_aura,
        "probable_migraine": result.probable_migraine,
        "medication_overuse_risk": result.medication_overuse_risk,
        "preventive_classes_failed": result.preventive_classes_failed,
        "failed_classes": sorted(str(c) for c in parsed.failed_preventive_classes),
        "resistant": result.resistant,
        "refractory": result.refractory,
        "criteria": [
            {"code": c.code, "met": c.met, "reason": _explain(c.code, c.reason, unanswered_set)}
            for c in result.criteria
        ],
        "unanswered": unanswered,
        "screen": {
            "verdict": str(screened.verdict),
            "findings": [
                {
                    "key": f.key,
                    "severity": str(f.severity),
                    "reason": f.reason,
                    "question": questions.get(f.key, ""),
                }
                for f in screened.findings
            ],
        },
        "rules": rules_as_data(rules),
        "midas": score_midas(answers.get("midas")),
    }


def api_contraindications(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """Screen findings as the API reports them: absolute stays absolute; relative and unanswered
    both mean "needs review" and are reported as relative, an unanswered one with a reason that
    starts "Not answered"."""
    findings = result.get("screen", {}).get("findings", [])
    return [
        {
            "severity": str(Severity.ABSOLUTE) if f["severity"] == Severity.ABSOLUTE else str(Severity.RELATIVE),
            "reason": f["reason"],
        }
        for f in findings
    ]
