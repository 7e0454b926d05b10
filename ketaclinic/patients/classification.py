"""Candidacy logic for IV ketamine: migraine classification, treatment resistance, medication
overuse and the contraindication screen, computed from a patient's intake answers.

Pure Python with no Django in it, so every rule can be tested at its boundary.

- `classify()` applies ICHD-3 1.1 (migraine without aura), 1.2 (with aura), 1.3 (chronic
  migraine), 1.5 (probable migraine) and 8.2 (medication-overuse headache) and the European
  Headache Federation definitions of resistant and refractory migraine (Sacco et al., J Headache
  Pain 2020;21:76). It explains itself criterion by criterion: each `CriterionResult` carries the
  patient's numbers, the threshold used and the verdict in plain English.
- `screen()` checks yes/no answers against the contraindications of docs/clinical-reference.md
  §1. An unanswered question is never read as "no".

Every threshold is a named field of `ClassificationRules` or a `ContraindicationRule`, shipped as
a default that cites docs/clinical-reference.md, so the clinic's medical director can change it.
Intake answers are the patient's recollection. ICHD-3 also requires that each diagnosis is "not
better accounted for by another ICHD-3 diagnosis" (1.1 E, 1.2 D, 1.3 D), which software cannot
judge. So every result here is decision support: it informs the prescriber's decision and never
replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Final

# A month has at most 31 days, so any per-month day count above it is a typing error.
DAYS_PER_MONTH_MAX: Final = 31

# ICHD-3 8.2 "several classes together": overuse spread over two or more classes.
_MIN_CLASSES_FOR_COMBINED_OVERUSE: Final = 2


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


class AcuteMedicationClass(StrEnum):
    """Classes of acute (attack) medication, as ICHD-3 8.2 groups them for medication overuse.

    `simple_analgesic` is ICHD-3's "non-opioid analgesic": paracetamol, aspirin and other NSAIDs.
    `combination_analgesic` is a fixed combination of analgesic drugs or of an analgesic with an
    adjuvant such as caffeine.
    """

    TRIPTAN = "triptan"
    ERGOT = "ergot"
    OPIOID = "opioid"
    COMBINATION_ANALGESIC = "combination_analgesic"
    SIMPLE_ANALGESIC = "simple_analgesic"
    GEPANT_DITAN = "gepant_ditan"
    OTHER = "other"


class PreventiveClass(StrEnum):
    """The eight preventive drug classes the EHF definition counts.

    docs/clinical-reference.md §4 (EHF classes as adapted in Eur J Med Res 2022, Table 3):
    antidepressants (amitriptyline, venlafaxine); antiepileptics (valproate, topiramate);
    beta-blockers (propranolol, metoprolol, atenolol, timolol); calcium-channel blockers
    (flunarizine, cinnarizine); CGRP-pathway drugs (gepants, monoclonal antibodies); ACE
    inhibitor (lisinopril) or ARB (candesartan); onabotulinumtoxinA; other established
    preventives.
    """

    ANTIDEPRESSANT = "antidepressant"
    ANTIEPILEPTIC = "antiepileptic"
    BETA_BLOCKER = "beta_blocker"
    CALCIUM_CHANNEL_BLOCKER = "calcium_channel_blocker"
    CGRP = "cgrp"
    ACE_ARB = "ace_arb"
    ONABOTULINUMTOXINA = "onabotulinumtoxina"
    OTHER = "other"


class TrialOutcome(StrEnum):
    """How a preventive trial ended. EHF: failure is lack of efficacy or of tolerability."""

    INEFFECTIVE = "ineffective"
    NOT_TOLERATED = "not_tolerated"
    EFFECTIVE = "effective"
    ONGOING = "ongoing"


# EHF (Sacco 2020, docs/clinical-reference.md §4): "Failure = lack of efficacy or of tolerability".
FAILED_OUTCOMES: Final[frozenset[TrialOutcome]] = frozenset({TrialOutcome.INEFFECTIVE, TrialOutcome.NOT_TOLERATED})


class AuraCharacteristic(StrEnum):
    """The six aura characteristics of ICHD-3 1.2 criterion C (ICHD-3, Cephalalgia 2018;38:1).

    Not on docs/clinical-reference.md, which covers 1.1, 1.3 and 1.5 only.
    """

    SPREADS_GRADUALLY = "spreads_gradually"  # at least one symptom spreads over ≥5 min
    SUCCESSIVE_SYMPTOMS = "successive_symptoms"  # two or more symptoms occur in succession
    EACH_SYMPTOM_5_TO_60_MIN = "each_symptom_5_to_60_min"  # each symptom lasts 5–60 min
    UNILATERAL_SYMPTOM = "unilateral_symptom"  # at least one symptom is unilateral
    POSITIVE_SYMPTOM = "positive_symptom"  # at least one symptom is positive (e.g. scintillation)
    HEADACHE_WITHIN_60_MIN = "headache_within_60_min"  # headache with or within 60 min of aura


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreventiveTrial:
    """One past or current trial of a migraine preventive, as the patient or chart reports it.

    Only `drug_class` and `outcome` enter the EHF count; the rest is kept for the prescriber,
    who judges whether the dose and duration made it an adequate trial.
    """

    drug_class: PreventiveClass
    outcome: TrialOutcome
    drug_name: str = ""
    dose: str = ""
    duration_weeks: int | None = None
    reason_stopped: str = ""

    def __post_init__(self) -> None:
        """Reject values no typed caller could produce but an untyped one might."""
        if self.drug_class not in set(PreventiveClass):
            raise ValueError(f"drug_class: unknown preventive class {self.drug_class!r}")
        if self.outcome not in set(TrialOutcome):
            raise ValueError(f"outcome: unknown trial outcome {self.outcome!r}")
        if self.duration_weeks is not None and self.duration_weeks < 0:
            raise ValueError(f"duration_weeks: must be ≥0, got {self.duration_weeks}")

    @property
    def is_failed(self) -> bool:
        """Whether the trial counts as a failure under the EHF definition."""
        return self.outcome in FAILED_OUTCOMES


def _check_days_per_month(name: str, days: int) -> None:
    if not 0 <= days <= DAYS_PER_MONTH_MAX:
        raise ValueError(f"{name}: must be between 0 and {DAYS_PER_MONTH_MAX} days/month, got {days}")


def _check_not_negative(name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{name}: must be ≥0, got {value}")


@dataclass(frozen=True)
class IntakeAnswers:
    """A patient's intake answers about their headache, as classification needs them.

    Day counts are per month of the recent pattern. `months_at_this_frequency` is how long the
    current headache and migraine-day frequency has lasted, in whole months.
    `months_debilitating` is how many consecutive months have had the current number of
    debilitating days; None means not recorded. Attack features describe a typical untreated
    (or unsuccessfully treated) attack. `lifetime_aura_attacks` is the number of attacks with
    aura; None means not counted separately. `acute_medication_days` maps each acute medication
    class to the days/month it is taken; absent classes are 0.
    """

    headache_days_per_month: int
    migraine_feature_days_per_month: int
    months_at_this_frequency: int
    lifetime_migraine_attacks: int
    debilitating_headache_days_per_month: int
    attack_duration_hours_min: float
    attack_duration_hours_max: float
    unilateral: bool
    pulsating: bool
    moderate_or_severe: bool
    aggravated_by_activity: bool
    nausea_or_vomiting: bool
    photophobia: bool
    phonophobia: bool
    aura: bool
    triptans_failed: int
    acute_medication_days: Mapping[AcuteMedicationClass, int] = field(default_factory=dict, hash=False)
    preventive_trials: tuple[PreventiveTrial, ...] = ()
    months_debilitating: int | None = None
    aura_features: frozenset[AuraCharacteristic] = frozenset()
    lifetime_aura_attacks: int | None = None

    def __post_init__(self) -> None:
        """Check ranges and consistency; raise ValueError naming the offending field."""
        for name in (
            "headache_days_per_month",
            "migraine_feature_days_per_month",
            "debilitating_headache_days_per_month",
        ):
            _check_days_per_month(name, getattr(self, name))
        for name in (
            "months_at_this_frequency",
            "lifetime_migraine_attacks",
            "triptans_failed",
            "months_debilitating",
            "lifetime_aura_attacks",
        ):
            value = getattr(self, name)
            if value is not None:
                _check_not_negative(name, value)
        # A migraine day or a debilitating day is a headache day.
        for name in ("migraine_feature_days_per_month", "debilitating_headache_days_per_month"):
            if getattr(self, name) > self.headache_days_per_month:
                raise ValueError(
                    f"{name}: {getattr(self, name)} exceeds headache_days_per_month ({self.headache_days_per_month})"
                )
        self._check_attack_duration()
        self._check_aura()
        object.__setattr__(self, "acute_medication_days", _normalise_medication_days(self.acute_medication_days))
        object.__setattr__(self, "preventive_trials", tuple(self.preventive_trials))
        object.__setattr__(self, "aura_features", frozenset(self.aura_features))

    def _check_attack_duration(self) -> None:
        if self.attack_duration_hours_min <= 0:
            raise ValueError(f"attack_duration_hours_min: must be >0 hours, got {self.attack_duration_hours_min}")
        if self.attack_duration_hours_max < self.attack_duration_hours_min:
            raise ValueError(
                f"attack_duration_hours_max: {self.attack_duration_hours_max} is below "
                f"attack_duration_hours_min ({self.attack_duration_hours_min})"
            )

    def _check_aura(self) -> None:
        unknown = set(self.aura_features) - set(AuraCharacteristic)
        if unknown:
            raise ValueError(f"aura_features: unknown characteristic(s) {sorted(unknown)}")
        if not self.aura and self.aura_features:
            raise ValueError("aura_features: aura characteristics given but aura is false")
        if not self.aura and self.lifetime_aura_attacks:
            raise ValueError("lifetime_aura_attacks: attacks with aura given but aura is false")
        if self.lifetime_aura_attacks is not None and self.lifetime_aura_attacks > self.lifetime_migraine_attacks:
            raise ValueError(
                f"lifetime_aura_attacks: {self.lifetime_aura_attacks} exceeds "
                f"lifetime_migraine_attacks ({self.lifetime_migraine_attacks})"
            )

    @property
    def failed_preventive_classes(self) -> frozenset[PreventiveClass]:
        """Distinct classes with at least one failed trial (two failed antiepileptics = one)."""
        return frozenset(t.drug_class for t in self.preventive_trials if t.is_failed)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> IntakeAnswers:
        """Build answers from decoded JSON or form data, validating every field.

        The keys are the field names. All are required except `months_debilitating`,
        `lifetime_aura_attacks` and `aura_features` (null or absent: not recorded), so that a
        forgotten question cannot silently mean "none": `acute_medication_days` must be given
        even when empty (`{}`), and so must `preventive_trials` (`[]`).

        Raises ValueError whose message starts with the offending field's name, for a missing
        required key, an unknown key, a wrong type or a value out of range.
        """
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown field")
        return cls(
            headache_days_per_month=_read_int(data, "headache_days_per_month"),
            migraine_feature_days_per_month=_read_int(data, "migraine_feature_days_per_month"),
            months_at_this_frequency=_read_int(data, "months_at_this_frequency"),
            lifetime_migraine_attacks=_read_int(data, "lifetime_migraine_attacks"),
            debilitating_headache_days_per_month=_read_int(data, "debilitating_headache_days_per_month"),
            attack_duration_hours_min=_read_hours(data, "attack_duration_hours_min"),
            attack_duration_hours_max=_read_hours(data, "attack_duration_hours_max"),
            unilateral=_read_bool(data, "unilateral"),
            pulsating=_read_bool(data, "pulsating"),
            moderate_or_severe=_read_bool(data, "moderate_or_severe"),
            aggravated_by_activity=_read_bool(data, "aggravated_by_activity"),
            nausea_or_vomiting=_read_bool(data, "nausea_or_vomiting"),
            photophobia=_read_bool(data, "photophobia"),
            phonophobia=_read_bool(data, "phonophobia"),
            aura=_read_bool(data, "aura"),
            triptans_failed=_read_int(data, "triptans_failed"),
            acute_medication_days=_read_medication_days(data),
            preventive_trials=_read_trials(data),
            months_debilitating=_read_optional_int(data, "months_debilitating"),
            aura_features=_read_aura_features(data),
            lifetime_aura_attacks=_read_optional_int(data, "lifetime_aura_attacks"),
        )


def _normalise_medication_days(
    days: Mapping[AcuteMedicationClass, int],
) -> Mapping[AcuteMedicationClass, int]:
    """Return a read-only mapping with every class present, checking keys and day ranges."""
    unknown = sorted(str(key) for key in days if key not in set(AcuteMedicationClass))
    if unknown:
        raise ValueError(f"acute_medication_days: unknown medication class {unknown[0]!r}")
    full = {med_class: days.get(med_class, 0) for med_class in AcuteMedicationClass}
    for med_class, count in full.items():
        _check_days_per_month(f"acute_medication_days.{med_class}", count)
    return MappingProxyType(full)


_TRIAL_KEYS: Final = frozenset(f.name for f in fields(PreventiveTrial))


def _require(data: Mapping[str, object], name: str) -> object:
    if name not in data:
        raise ValueError(f"{name}: required field is missing")
    return data[name]


def _as_int(name: str, value: object) -> int:
    # bool is a subclass of int; true/false where a count belongs is a client error.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be a whole number, got {value!r}")
    return value


def _read_int(data: Mapping[str, object], name: str) -> int:
    return _as_int(name, _require(data, name))


def _read_optional_int(data: Mapping[str, object], name: str) -> int | None:
    value = data.get(name)
    return None if value is None else _as_int(name, value)


def _read_bool(data: Mapping[str, object], name: str) -> bool:
    value = _require(data, name)
    if not isinstance(value, bool):
        raise ValueError(f"{name}: must be true or false, got {value!r}")
    return value


def _read_hours(data: Mapping[str, object], name: str) -> float:
    value = _require(data, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: must be a number of hours, got {value!r}")
    return float(value)


def _read_medication_days(data: Mapping[str, object]) -> dict[AcuteMedicationClass, int]:
    raw = _require(data, "acute_medication_days")
    if not isinstance(raw, Mapping):
        raise ValueError("acute_medication_days: must be an object of class -> days/month")
    result: dict[AcuteMedicationClass, int] = {}
    for key, value in raw.items():
        name = f"acute_medication_days.{key}"
        try:
            med_class = AcuteMedicationClass(key)
        except ValueError:
            raise ValueError(f"{name}: unknown medication class") from None
        result[med_class] = _as_int(name, value)
    return result


def _read_trials(data: Mapping[str, object]) -> tuple[PreventiveTrial, ...]:
    raw = _require(data, "preventive_trials")
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        raise ValueError("preventive_trials: must be a list of trials")
    return tuple(_read_trial(f"preventive_trials[{index}]", item) for index, item in enumerate(raw))


def _read_choice(item: Mapping[str, object], name: str, choices: type[StrEnum], prefix: str) -> str:
    if name not in item:
        raise ValueError(f"{prefix}.{name}: required field is missing")
    value = item[name]
    allowed = [str(choice) for choice in choices]
    if value not in allowed:
        raise ValueError(f"{prefix}.{name}: must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def _read_trial(prefix: str, item: object) -> PreventiveTrial:
    if not isinstance(item, Mapping):
        raise ValueError(f"{prefix}: must be an object")
    unknown = sorted(set(item) - _TRIAL_KEYS)
    if unknown:
        raise ValueError(f"{prefix}.{unknown[0]}: unknown field")
    drug_class = PreventiveClass(_read_choice(item, "drug_class", PreventiveClass, prefix))
    outcome = TrialOutcome(_read_choice(item, "outcome", TrialOutcome, prefix))
    texts: dict[str, str] = {}
    for name in ("drug_name", "dose", "reason_stopped"):
        value = item.get(name, "")
        if not isinstance(value, str):
            raise ValueError(f"{prefix}.{name}: must be text, got {value!r}")
        texts[name] = value
    duration = item.get("duration_weeks")
    duration_weeks = None if duration is None else _as_int(f"{prefix}.duration_weeks", duration)
    try:
        return PreventiveTrial(
            drug_class=drug_class,
            outcome=outcome,
            drug_name=texts["drug_name"],
            dose=texts["dose"],
            duration_weeks=duration_weeks,
            reason_stopped=texts["reason_stopped"],
        )
    except ValueError as error:
        raise ValueError(f"{prefix}.{error}") from None


def _read_aura_features(data: Mapping[str, object]) -> frozenset[AuraCharacteristic]:
    raw = data.get("aura_features")
    if raw is None:
        return frozenset()
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        raise ValueError("aura_features: must be a list of aura characteristics")
    features: set[AuraCharacteristic] = set()
    for value in raw:
        try:
            features.add(AuraCharacteristic(value))
        except ValueError:
            raise ValueError(f"aura_features: unknown characteristic {value!r}") from None
    return frozenset(features)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

_DEFAULT_MOH_SINGLE_CLASS_MIN_DAYS_PER_MONTH: Final = MappingProxyType(
    {
        # ICHD-3 8.2, docs/clinical-reference.md §4: ≥10 days/month for ergotamine, triptans,
        # opioids and combination analgesics ...
        AcuteMedicationClass.ERGOT: 10,
        AcuteMedicationClass.TRIPTAN: 10,
        AcuteMedicationClass.OPIOID: 10,
        AcuteMedicationClass.COMBINATION_ANALGESIC: 10,
        # ... and ≥15 days/month for non-opioid (simple) analgesics.
        AcuteMedicationClass.SIMPLE_ANALGESIC: 15,
        # Gepants/ditans and other acute drugs have no threshold on docs/clinical-reference.md:
        # they are left out by default; the medical director may add one.
    }
)


@dataclass(frozen=True)
class ClassificationRules:
    """Thresholds for `classify()`, each a default citing docs/clinical-reference.md §4.

    The clinic's medical director may change any of them; every `CriterionResult` reason prints
    the threshold that was applied, so a result is never read without its rule.
    """

    # ICHD-3 1.1 A (and 1.3 B): at least five attacks.
    min_lifetime_attacks: int = 5
    # ICHD-3 1.1 B: attacks last 4–72 h untreated or unsuccessfully treated.
    attack_duration_min_hours: float = 4.0
    attack_duration_max_hours: float = 72.0
    # ICHD-3 1.1 C: at least 2 of unilateral, pulsating, moderate/severe, aggravated by activity.
    min_pain_characteristics: int = 2
    # ICHD-3 1.2 A: at least two attacks with aura (ICHD-3 text; not on clinical-reference.md).
    min_aura_attacks: int = 2
    # ICHD-3 1.2 C: at least three of six aura characteristics (ICHD-3 text, as above).
    min_aura_characteristics: int = 3
    # ICHD-3 1.3 A: headache on ≥15 days/month.
    chronic_min_headache_days_per_month: int = 15
    # ICHD-3 1.3 C: ≥8 days/month with migraine features.
    chronic_min_migraine_days_per_month: int = 8
    # ICHD-3 1.3 A and C say "for >3 months". An intake answer in whole months cannot express
    # "more than 3", so the default reads the rule as "at least 3 whole months" (3 qualifies,
    # 2 does not). A clinic that wants the strict reading sets 4. Printed in every reason.
    chronic_min_months: int = 3
    # ICHD-3 8.2 A: medication-overuse headache needs headache on ≥15 days/month.
    moh_min_headache_days_per_month: int = 15
    # ICHD-3 8.2: per-class overuse thresholds, days/month.
    moh_single_class_min_days_per_month: Mapping[AcuteMedicationClass, int] = field(
        default_factory=lambda: _DEFAULT_MOH_SINGLE_CLASS_MIN_DAYS_PER_MONTH, hash=False
    )
    # ICHD-3 8.2: "several classes together" on ≥10 days/month. Intake gives days per class, not
    # days with any drug, so the total is the sum over classes: an upper bound when two classes
    # are taken on the same day, which suits a risk flag.
    moh_multiple_classes_min_days_per_month: int = 10
    moh_multiple_classes: frozenset[AcuteMedicationClass] = frozenset(
        {
            AcuteMedicationClass.ERGOT,
            AcuteMedicationClass.TRIPTAN,
            AcuteMedicationClass.OPIOID,
            AcuteMedicationClass.COMBINATION_ANALGESIC,
            AcuteMedicationClass.SIMPLE_ANALGESIC,
        }
    )
    # EHF resistant (Sacco 2020): failed ≥3 preventive classes ...
    ehf_resistant_min_classes_failed: int = 3
    # ... with ≥8 debilitating headache days/month (resistant and refractory) ...
    ehf_min_debilitating_days_per_month: int = 8
    # ... for ≥3 consecutive months (resistant) or ≥6 consecutive months (refractory).
    ehf_resistant_min_months: int = 3
    ehf_refractory_min_months: int = 6
    # EHF refractory: failed "all available preventives". Which classes are available differs by
    # country (flunarizine and cinnarizine are not marketed in the US), so the default is all
    # eight classes and a clinic removes those its patients cannot obtain.
    ehf_refractory_required_classes: frozenset[PreventiveClass] = frozenset(PreventiveClass)
    # EHF: "debilitating" presumes proper acute treatment, including failure of ≥2 different
    # triptans.
    ehf_min_triptans_failed: int = 2

    def __post_init__(self) -> None:
        """Reject rule sets that could never be met or that make no sense."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, int | float) and value < 0:
                raise ValueError(f"{item.name}: must be ≥0, got {value}")
        if self.attack_duration_max_hours < self.attack_duration_min_hours:
            raise ValueError("attack_duration_max_hours: below attack_duration_min_hours")
        if not self.ehf_refractory_required_classes:
            raise ValueError("ehf_refractory_required_classes: must name at least one class")
        object.__setattr__(
            self,
            "moh_single_class_min_days_per_month",
            MappingProxyType(dict(self.moh_single_class_min_days_per_month)),
        )


DEFAULT_RULES: Final = ClassificationRules()


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    """One criterion checked against the answers: its code, whether it is met, and why.

    Codes: "1.1.A"–"1.1.D", "1.2.A"–"1.2.C", "1.3.A"–"1.3.C" (ICHD-3), "1.5" (probable
    migraine), "8.2" (medication-overuse risk), "EHF.resistant", "EHF.refractory".
    """

    code: str
    met: bool
    reason: str


@dataclass(frozen=True)
class Classification:
    """The classification of one intake, with every criterion that led to it.

    `migraine_without_aura` and `migraine_with_aura` are independent: ICHD-3 gives both
    diagnoses to a patient who has both kinds of attack. `medication_overuse_risk` flags the
    ICHD-3 8.2 day thresholds; the required duration of overuse (>3 months) is the prescriber's
    to confirm. A diagnosis here is provisional until the prescriber has excluded other causes.
    """

    migraine_without_aura: bool
    migraine_with_aura: bool
    chronic_migraine: bool
    probable_migraine: bool
    medication_overuse_risk: bool
    preventive_classes_failed: int
    resistant: bool
    refractory: bool
    criteria: tuple[CriterionResult, ...]

    def criterion(self, code: str) -> CriterionResult:
        """Return the result for one criterion code, e.g. "1.3.A"."""
        for result in self.criteria:
            if result.code == code:
                return result
        raise KeyError(code)

    def summary(self) -> str:
        """One line for lists and the chart, e.g. "Chronic migraine; migraine without aura; ..."."""
        labels: list[str] = []
        if self.chronic_migraine:
            labels.append("chronic migraine")
        if self.migraine_without_aura:
            labels.append("migraine without aura")
        if self.migraine_with_aura:
            labels.append("migraine with aura")
        if self.probable_migraine:
            labels.append("probable migraine")
        if not labels:
            labels.append("ICHD-3 migraine criteria not met")
        if self.refractory:
            labels.append("refractory (EHF)")
        elif self.resistant:
            labels.append("resistant (EHF)")
        if self.medication_overuse_risk:
            labels.append("medication-overuse risk")
        labels.append(f"{self.preventive_classes_failed} preventive class(es) failed")
        text = "; ".join(labels)
        return f"{text[0].upper()}{text[1:]} — decision support; the prescriber decides."


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "not met"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _hours(value: float) -> str:
    return f"{value:g}"


def _months_phrase(months: int, rules: ClassificationRules) -> str:
    return (
        f"for {months} month(s) (threshold ≥{rules.chronic_min_months}; ICHD-3 says "
        f'"for >3 months", read by this clinic as at least {rules.chronic_min_months} whole '
        "months)"
    )


def _check_1_1(answers: IntakeAnswers, rules: ClassificationRules) -> tuple[CriterionResult, ...]:
    """ICHD-3 1.1 migraine without aura, criteria A–D."""
    attacks_met = answers.lifetime_migraine_attacks >= rules.min_lifetime_attacks
    a = CriterionResult(
        "1.1.A",
        attacks_met,
        f"{answers.lifetime_migraine_attacks} lifetime migraine attack(s) "
        f"(threshold ≥{rules.min_lifetime_attacks}) — {_verdict(attacks_met)}.",
    )

    low, high = answers.attack_duration_hours_min, answers.attack_duration_hours_max
    window_low, window_high = rules.attack_duration_min_hours, rules.attack_duration_max_hours
    # A reported range is met when it overlaps the window: ICHD-3 asks for attacks of 4–72 h,
    # and a patient whose attacks last "2–8 h" has attacks inside it.
    within = window_low <= low and high <= window_high
    overlaps = low <= window_high and high >= window_low
    if within:
        detail = "within the window"
    elif overlaps:
        detail = "part of the range is within the window"
    else:
        detail = "outside the window"
    b = CriterionResult(
        "1.1.B",
        overlaps,
        f"Untreated attacks last {_hours(low)}–{_hours(high)} h (ICHD-3 window "
        f"{_hours(window_low)}–{_hours(window_high)} h): {detail} — {_verdict(overlaps)}.",
    )

    features = {
        "unilateral": answers.unilateral,
        "pulsating": answers.pulsating,
        "moderate or severe": answers.moderate_or_severe,
        "aggravated by routine activity": answers.aggravated_by_activity,
    }
    present = [name for name, is_present in features.items() if is_present]
    pain_met = len(present) >= rules.min_pain_characteristics
    c = CriterionResult(
        "1.1.C",
        pain_met,
        f"{len(present)} of 4 pain characteristics ({', '.join(present) or 'none'}; threshold "
        f"≥{rules.min_pain_characteristics}) — {_verdict(pain_met)}.",
    )

    # ICHD-3 1.1 D: nausea and/or vomiting, or photophobia and phonophobia together.
    associated_met = answers.nausea_or_vomiting or (answers.photophobia and answers.phonophobia)
    d = CriterionResult(
        "1.1.D",
        associated_met,
        f"Nausea/vomiting: {_yes_no(answers.nausea_or_vomiting)}; photophobia: "
        f"{_yes_no(answers.photophobia)}; phonophobia: {_yes_no(answers.phonophobia)} "
        "(needs nausea/vomiting, or photophobia and phonophobia together) — "
        f"{_verdict(associated_met)}.",
    )
    return (a, b, c, d)


def _check_1_2(answers: IntakeAnswers, rules: ClassificationRules) -> tuple[CriterionResult, ...]:
    """ICHD-3 1.2 migraine with aura, criteria A–C."""
    if not answers.aura:
        aura_attacks = 0
        counted = "No aura reported, so 0 attacks with aura"
    elif answers.lifetime_aura_attacks is None:
        aura_attacks = answers.lifetime_migraine_attacks
        counted = (
            f"{aura_attacks} lifetime attack(s); attacks with aura not counted separately, so "
            "all attacks are counted and the prescriber confirms how many had aura"
        )
    else:
        aura_attacks = answers.lifetime_aura_attacks
        counted = f"{aura_attacks} lifetime attack(s) with aura"
    attacks_met = answers.aura and aura_attacks >= rules.min_aura_attacks
    a = CriterionResult(
        "1.2.A",
        attacks_met,
        f"{counted} (threshold ≥{rules.min_aura_attacks}) — {_verdict(attacks_met)}.",
    )
    b = CriterionResult(
        "1.2.B",
        answers.aura,
        ("Fully reversible aura symptoms reported — met." if answers.aura else "No aura reported — not met."),
    )
    present = sorted(answers.aura_features)
    characteristics_met = len(present) >= rules.min_aura_characteristics
    c = CriterionResult(
        "1.2.C",
        characteristics_met,
        f"{len(present)} of 6 aura characteristics ({', '.join(present) or 'none'}; threshold "
        f"≥{rules.min_aura_characteristics}) — {_verdict(characteristics_met)}.",
    )
    return (a, b, c)


def _check_1_3(
    answers: IntakeAnswers,
    rules: ClassificationRules,
    attacks_1_1_b_to_d: bool,
    attacks_1_2_b_to_c: bool,
) -> tuple[CriterionResult, ...]:
    """ICHD-3 1.3 chronic migraine, criteria A–C."""
    months = answers.months_at_this_frequency
    months_met = months >= rules.chronic_min_months

    headache_days = answers.headache_days_per_month
    headache_days_met = headache_days >= rules.chronic_min_headache_days_per_month
    a_met = headache_days_met and months_met
    a = CriterionResult(
        "1.3.A",
        a_met,
        f"Headache on {headache_days} days/month (threshold "
        f"≥{rules.chronic_min_headache_days_per_month}) {_months_phrase(months, rules)} — "
        f"{_verdict(a_met)}.",
    )

    attacks = answers.lifetime_migraine_attacks
    qualifying = attacks_1_1_b_to_d or attacks_1_2_b_to_c
    b_met = attacks >= rules.min_lifetime_attacks and qualifying
    b = CriterionResult(
        "1.3.B",
        b_met,
        f"{attacks} lifetime attack(s) (threshold ≥{rules.min_lifetime_attacks}); attacks fulfil "
        f"1.1 B–D: {_yes_no(attacks_1_1_b_to_d)}, 1.2 B–C: {_yes_no(attacks_1_2_b_to_c)} "
        f"(needs one) — {_verdict(b_met)}.",
    )

    migraine_days = answers.migraine_feature_days_per_month
    migraine_days_met = migraine_days >= rules.chronic_min_migraine_days_per_month
    c_met = migraine_days_met and months_met
    c = CriterionResult(
        "1.3.C",
        c_met,
        f"Migraine features on {migraine_days} days/month (threshold "
        f"≥{rules.chronic_min_migraine_days_per_month}) {_months_phrase(months, rules)} — "
        f"{_verdict(c_met)}.",
    )
    return (a, b, c)


def _check_1_5(results_1_1: tuple[CriterionResult, ...], results_1_2: tuple[CriterionResult, ...]) -> CriterionResult:
    """ICHD-3 1.5 probable migraine: all but one of 1.1 A–D, or of 1.2 A–C."""

    def missing(results: tuple[CriterionResult, ...]) -> list[str]:
        return [result.code for result in results if not result.met]

    missing_1_1, missing_1_2 = missing(results_1_1), missing(results_1_2)
    if not missing_1_1 or not missing_1_2:
        return CriterionResult("1.5", False, "Full migraine criteria (1.1 or 1.2) are met, so 1.5 does not apply.")
    met = len(missing_1_1) == 1 or len(missing_1_2) == 1
    return CriterionResult(
        "1.5",
        met,
        f"1.1 A–D: {len(results_1_1) - len(missing_1_1)} of {len(results_1_1)} met (missing "
        f"{', '.join(missing_1_1)}); 1.2 A–C: {len(results_1_2) - len(missing_1_2)} of "
        f"{len(results_1_2)} met (missing {', '.join(missing_1_2)}); needs all but one of "
        f"either — {_verdict(met)}.",
    )


def _check_8_2(answers: IntakeAnswers, rules: ClassificationRules) -> CriterionResult:
    """ICHD-3 8.2 medication-overuse headache, as a risk flag from monthly day counts."""
    days = answers.acute_medication_days
    overused = [
        f"{med_class} {days[med_class]} days/month (threshold ≥{threshold})"
        for med_class, threshold in rules.moh_single_class_min_days_per_month.items()
        if days[med_class] >= threshold
    ]
    combined_classes = [c for c in rules.moh_multiple_classes if days[c] > 0]
    combined_days = sum(days[c] for c in combined_classes)
    combined_overuse = (
        len(combined_classes) >= _MIN_CLASSES_FOR_COMBINED_OVERUSE
        and combined_days >= rules.moh_multiple_classes_min_days_per_month
    )
    headache_days = answers.headache_days_per_month
    headache_met = headache_days >= rules.moh_min_headache_days_per_month
    met = headache_met and (bool(overused) or combined_overuse)

    parts = [
        f"Headache on {headache_days} days/month (threshold ≥{rules.moh_min_headache_days_per_month})",
        "overuse: " + ("; ".join(overused) if overused else "no single class at its threshold"),
        f"{len(combined_classes)} class(es) together on {combined_days} days/month (sum over "
        f"classes; threshold ≥{rules.moh_multiple_classes_min_days_per_month} with two or more "
        "classes)",
    ]
    counted = set(rules.moh_single_class_min_days_per_month) | rules.moh_multiple_classes
    uncounted = [f"{c} {days[c]} days/month" for c in AcuteMedicationClass if c not in counted and days[c] > 0]
    if uncounted:
        parts.append(f"not counted under these rules: {', '.join(uncounted)}")
    reason = "; ".join(parts) + f" — {_verdict(met)}."
    if met:
        reason += " ICHD-3 8.2 also needs regular overuse for >3 months: the prescriber confirms."
    return CriterionResult("8.2", met, reason)


def _check_ehf(
    answers: IntakeAnswers, rules: ClassificationRules, has_migraine: bool
) -> tuple[CriterionResult, CriterionResult]:
    """EHF resistant and refractory migraine (Sacco 2020, docs/clinical-reference.md §4)."""
    failed = answers.failed_preventive_classes
    days = answers.debilitating_headache_days_per_month
    days_met = days >= rules.ehf_min_debilitating_days_per_month
    months = answers.months_debilitating
    triptans_met = answers.triptans_failed >= rules.ehf_min_triptans_failed

    common = (
        f"debilitating headache on {days} days/month (threshold "
        f"≥{rules.ehf_min_debilitating_days_per_month}); triptans failed: "
        f"{answers.triptans_failed} (threshold ≥{rules.ehf_min_triptans_failed}); ICHD-3 "
        f"migraine (1.1, 1.2 or 1.3): {_yes_no(has_migraine)}"
    )
    months_text = "not recorded" if months is None else str(months)
    effective = sorted(
        {t.drug_class for t in answers.preventive_trials if t.outcome == TrialOutcome.EFFECTIVE} & failed
    )
    caveat = (
        f" An effective trial is also recorded in: {', '.join(effective)}; the prescriber "
        "judges whether these classes have failed."
        if effective
        else ""
    )

    def months_met(minimum: int) -> bool:
        return months is not None and months >= minimum

    base_met = days_met and triptans_met and has_migraine
    resistant_met = (
        base_met
        and len(failed) >= rules.ehf_resistant_min_classes_failed
        and months_met(rules.ehf_resistant_min_months)
    )
    resistant = CriterionResult(
        "EHF.resistant",
        resistant_met,
        f"{len(failed)} preventive class(es) failed ({', '.join(sorted(failed)) or 'none'}; "
        f"threshold ≥{rules.ehf_resistant_min_classes_failed}); {common}; for {months_text} "
        f"consecutive month(s) (threshold ≥{rules.ehf_resistant_min_months}) — "
        f"{_verdict(resistant_met)}.{caveat}",
    )

    required = rules.ehf_refractory_required_classes
    not_failed = sorted(required - failed)
    refractory_met = base_met and not not_failed and months_met(rules.ehf_refractory_min_months)
    refractory = CriterionResult(
        "EHF.refractory",
        refractory_met,
        f"{len(required & failed)} of {len(required)} required preventive classes failed "
        f"(not failed: {', '.join(not_failed) or 'none'}); {common}; for {months_text} "
        f"consecutive month(s) (threshold ≥{rules.ehf_refractory_min_months}) — "
        f"{_verdict(refractory_met)}.{caveat}",
    )
    return resistant, refractory


def classify(answers: IntakeAnswers, rules: ClassificationRules = DEFAULT_RULES) -> Classification:
    """Classify one intake under ICHD-3 and the EHF definitions, explaining every criterion.

    Decision support only: the prescriber confirms each diagnosis and excludes other causes.
    """
    results_1_1 = _check_1_1(answers, rules)
    results_1_2 = _check_1_2(answers, rules)
    without_aura = all(result.met for result in results_1_1)
    with_aura = all(result.met for result in results_1_2)
    # 1.3 B asks for attacks fulfilling 1.1 B–D and/or 1.2 B–C; the attack count is 1.3 B's own.
    attacks_1_1_b_to_d = all(result.met for result in results_1_1[1:])
    attacks_1_2_b_to_c = all(result.met for result in results_1_2[1:])
    results_1_3 = _check_1_3(answers, rules, attacks_1_1_b_to_d, attacks_1_2_b_to_c)
    chronic = all(result.met for result in results_1_3)
    probable = _check_1_5(results_1_1, results_1_2)
    overuse = _check_8_2(answers, rules)
    resistant, refractory = _check_ehf(answers, rules, without_aura or with_aura or chronic)
    return Classification(
        migraine_without_aura=without_aura,
        migraine_with_aura=with_aura,
        chronic_migraine=chronic,
        probable_migraine=probable.met,
        medication_overuse_risk=overuse.met,
        preventive_classes_failed=len(answers.failed_preventive_classes),
        resistant=resistant.met,
        refractory=refractory.met,
        criteria=(
            *results_1_1,
            *results_1_2,
            *results_1_3,
            probable,
            overuse,
            resistant,
            refractory,
        ),
    )


# --------------------------------------------------------------------------------------------
# Contraindication screen
# --------------------------------------------------------------------------------------------


class Severity(StrEnum):
    """How strongly a finding weighs against infusion."""

    ABSOLUTE = "absolute"  # do not infuse
    RELATIVE = "relative"  # the prescriber weighs risk and benefit
    UNANSWERED = "unanswered"  # not asked or not known: never assumed "no"


class Verdict(StrEnum):
    """Overall result of the screen."""

    CLEAR = "clear"
    NEEDS_REVIEW = "needs_review"
    CONTRAINDICATED = "contraindicated"


@dataclass(frozen=True)
class ContraindicationRule:
    """One yes/no screening question; a "yes" is a finding of the given severity.

    `key` is the snake_case key of the API's `contraindications` object.
    """

    key: str
    question: str
    severity: Severity
    reason: str
    source: str

    def __post_init__(self) -> None:
        """Only absolute and relative are severities a rule can carry."""
        if self.severity not in (Severity.ABSOLUTE, Severity.RELATIVE):
            raise ValueError(f"severity: must be absolute or relative, got {self.severity!r}")
        if not self.key.isidentifier() or self.key != self.key.lower():
            raise ValueError(f"key: must be snake_case, got {self.key!r}")


_COHEN_2018: Final = (
    "Cohen SP et al., ASRA/AAPM/ASA consensus, Reg Anesth Pain Med 2018;43:521-546 (docs/clinical-reference.md §1)"
)
_SPRAVATO: Final = "Spravato (esketamine) label contraindications, used as an analogue (docs/clinical-reference.md §1)"

DEFAULT_CONTRAINDICATION_RULES: Final[tuple[ContraindicationRule, ...]] = (
    ContraindicationRule(
        key="ketamine_hypersensitivity",
        question="Has the patient had an allergic or hypersensitivity reaction to ketamine?",
        severity=Severity.ABSOLUTE,
        reason="Known hypersensitivity to ketamine.",
        source="Ketalar (ketamine) prescribing information, Contraindications; not on "
        "docs/clinical-reference.md: confirm against the current label",
    ),
    ContraindicationRule(
        key="aneurysmal_vascular_disease",
        question="Does the patient have aneurysmal vascular disease (intracranial, thoracic or "
        "abdominal aorta, or peripheral arteries)?",
        severity=Severity.ABSOLUTE,
        reason="Ketamine raises blood pressure (peak ~40 min, lasting ~4 h), which can rupture an aneurysm.",
        source=_SPRAVATO,
    ),
    ContraindicationRule(
        key="arteriovenous_malformation",
        question="Does the patient have an arteriovenous malformation?",
        severity=Severity.ABSOLUTE,
        reason="Blood-pressure rise during and after infusion risks haemorrhage from an AV malformation.",
        source=_SPRAVATO,
    ),
    ContraindicationRule(
        key="intracerebral_haemorrhage_history",
        question="Has the patient ever had an intracerebral haemorrhage?",
        severity=Severity.ABSOLUTE,
        reason="History of intracerebral haemorrhage; blood-pressure rise risks recurrence.",
        source=_SPRAVATO,
    ),
    ContraindicationRule(
        key="severe_hepatic_impairment",
        question="Does the patient have severe hepatic impairment?",
        severity=Severity.ABSOLUTE,
        reason="The consensus advises avoiding ketamine in severe hepatic impairment.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="active_substance_use_disorder",
        question="Does the patient have an active substance use disorder?",
        severity=Severity.ABSOLUTE,
        reason="The consensus advises against serial infusions with active substance abuse, "
        "and the clinic's treatment is a series.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="pregnancy",
        question="Is the patient pregnant, or could she be?",
        severity=Severity.RELATIVE,
        reason="Pregnancy is a relative contraindication in the consensus.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="active_psychosis",
        question="Does the patient currently have psychotic symptoms?",
        severity=Severity.RELATIVE,
        reason="Active psychosis is a relative contraindication in the consensus; ketamine "
        "can worsen psychotic symptoms.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="history_of_psychosis",
        question="Has the patient had a psychotic illness in the past?",
        severity=Severity.RELATIVE,
        reason="Past psychosis: the consensus names only active psychosis, so this is a clinic "
        "default for the prescriber to weigh.",
        source=f"Clinic default extending {_COHEN_2018}; unconfirmed",
    ),
    ContraindicationRule(
        key="poorly_controlled_cardiovascular_disease",
        question="Does the patient have poorly controlled cardiovascular disease (e.g. unstable "
        "angina, recent myocardial infarction, decompensated heart failure)?",
        severity=Severity.RELATIVE,
        reason="Poorly controlled cardiovascular disease is a relative contraindication in the "
        "consensus; a baseline ECG is advised when cardiovascular risk is high.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="uncontrolled_hypertension",
        question="Is the patient's blood pressure uncontrolled?",
        severity=Severity.RELATIVE,
        reason="Ketamine raises blood pressure (8–19% had a rise ≥40 mmHg systolic and/or "
        "≥25 mmHg diastolic with esketamine); the blood-pressure cut-off is a protocol setting.",
        source=f"{_COHEN_2018}; {_SPRAVATO}",
    ),
    ContraindicationRule(
        key="moderate_hepatic_impairment",
        question="Does the patient have moderate hepatic impairment?",
        severity=Severity.RELATIVE,
        reason="The consensus advises caution in moderate hepatic impairment; liver tests are "
        "advised with liver risk or frequent high dosing.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="raised_intracranial_pressure",
        question="Does the patient have raised intracranial pressure?",
        severity=Severity.RELATIVE,
        reason="The consensus advises avoiding ketamine, or low doses with extreme caution, "
        "with raised intracranial pressure.",
        source=_COHEN_2018,
    ),
    ContraindicationRule(
        key="raised_intraocular_pressure",
        question="Does the patient have raised intraocular pressure (e.g. glaucoma)?",
        severity=Severity.RELATIVE,
        reason="The consensus advises avoiding ketamine, or low doses with extreme caution, "
        "with raised intraocular pressure.",
        source=_COHEN_2018,
    ),
)


@dataclass(frozen=True)
class ContraindicationFinding:
    """A "yes" (absolute or relative) or a missing answer (unanswered) to one rule."""

    key: str
    severity: Severity
    reason: str


@dataclass(frozen=True)
class ScreenResult:
    """The screen's findings, most severe first, and the overall verdict."""

    findings: tuple[ContraindicationFinding, ...]
    verdict: Verdict

    @property
    def unanswered_keys(self) -> tuple[str, ...]:
        """Keys still to be asked before the screen can be clear."""
        return tuple(f.key for f in self.findings if f.severity == Severity.UNANSWERED)


_SEVERITY_ORDER: Final = (Severity.ABSOLUTE, Severity.RELATIVE, Severity.UNANSWERED)


def screen(
    answers: Mapping[str, bool | None],
    rules: tuple[ContraindicationRule, ...] = DEFAULT_CONTRAINDICATION_RULES,
) -> ScreenResult:
    """Screen yes/no answers against the contraindication rules.

    A key missing from `answers`, or answered None, is reported as unanswered and needs review:
    an unasked question is never taken for "no". A key no rule knows raises ValueError, so a
    misspelt key cannot hide a "yes". Any absolute "yes" makes the verdict contraindicated; any
    relative "yes" or unanswered question makes it needs_review. Decision support only: the
    prescriber makes the candidacy decision.
    """
    by_key = {rule.key: rule for rule in rules}
    if len(by_key) != len(rules):
        raise ValueError("rules: duplicate contraindication keys")
    unknown = sorted(set(answers) - set(by_key))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown contraindication key")
    findings: list[ContraindicationFinding] = []
    for rule in rules:
        answer = answers.get(rule.key)
        if answer is None:
            findings.append(ContraindicationFinding(rule.key, Severity.UNANSWERED, f"Not answered: {rule.question}"))
        elif not isinstance(answer, bool):
            raise ValueError(f"{rule.key}: must be true, false or null, got {answer!r}")
        elif answer:
            findings.append(ContraindicationFinding(rule.key, rule.severity, rule.reason))
    findings.sort(key=lambda finding: _SEVERITY_ORDER.index(finding.severity))
    severities = {finding.severity for finding in findings}
    if Severity.ABSOLUTE in severities:
        verdict = Verdict.CONTRAINDICATED
    elif severities:
        verdict = Verdict.NEEDS_REVIEW
    else:
        verdict = Verdict.CLEAR
    return ScreenResult(findings=tuple(findings), verdict=verdict)
