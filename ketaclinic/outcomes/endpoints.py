"""Headache-diary endpoints: day classification, 28-day windows, change from baseline,
responders, medication overuse, session pain response and relapse.

Pure functions with no Django in them, so the arithmetic can be tested exhaustively by hand.
Every number is computed under a :class:`Definitions` value and the definitions are printed
beside it (``Definitions.describe()``), because the trial guidelines leave several choices open
(../shared/docs/clinical-reference.md §4):

- Migraine day (van der Arend, Terwindt et al., Cephalalgia; ICHD-3 1.1 and 1.5): a headache of
  at least ``migraine_min_duration_min`` with at least 2 of unilateral / pulsating /
  moderate-severe / aggravated by activity, and nausea-vomiting or photophobia with phonophobia;
  or the same with one criterion missing (probable migraine, ICHD-3 1.5, counted when
  ``count_probable_migraine``); or aura; or acute migraine-specific medication (triptan, ergot,
  gepant/ditan) on the day — any use, or only when it helped within 2 h, per ``triptan_rule``.
- Headache day: a headache of at least ``headache_min_duration_min`` (van der Arend: 60 min), a
  headache whose length was not given, any day acute medication was taken, or a migraine day.
- Missing days are never assumed headache-free: counts are normalised to 28 days over the days
  actually recorded (``count × 28 ÷ days recorded``), and a window with fewer recorded days than
  ``min_recorded_share`` of its length is flagged insufficient. Its numbers are still shown with
  the flag; responder status is only claimed when both windows are sufficient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Final, Literal

Severity = Literal["none", "mild", "moderate", "severe"]
DrugClass = Literal["triptan", "gepant_ditan", "ergot", "simple_analgesic", "combination_analgesic", "opioid", "other"]
TriptanRule = Literal["any_use", "effective_2h"]
MigraineReason = Literal["ichd_features", "probable", "aura", "specific_medication", ""]

DRUG_CLASSES: Final[tuple[DrugClass, ...]] = (
    "triptan",
    "gepant_ditan",
    "ergot",
    "simple_analgesic",
    "combination_analgesic",
    "opioid",
    "other",
)
DRUG_CLASS_LABELS: Final[Mapping[str, str]] = {
    "triptan": "Triptan",
    "gepant_ditan": "Gepant or ditan",
    "ergot": "Ergot",
    "simple_analgesic": "NSAID or simple analgesic",
    "combination_analgesic": "Combination analgesic",
    "opioid": "Opioid",
    "other": "Other",
}
# Acute migraine-specific medication (van der Arend criterion 3; ICHD-3 1.3 names triptans and
# ergots; gepants and ditans are migraine-specific by mechanism).
MIGRAINE_SPECIFIC_CLASSES: Final = frozenset({"triptan", "ergot", "gepant_ditan"})
# ICHD-3 8.2: ≥10 days/month for ergotamine, triptans, opioids, combination analgesics or
# several classes together; ≥15 days/month for one non-opioid simple analgesic. Gepants are not
# named in ICHD-3 8.2; they are counted with the ≥10-day group, the cautious reading.
OVERUSE_TEN_DAY_CLASSES: Final = frozenset({"triptan", "ergot", "opioid", "combination_analgesic", "gepant_ditan"})

DAYS_PER_MONTH: Final = 28


@dataclass(frozen=True)
class Definitions:
    """Every configurable choice behind an outcome number, with clinic-wide defaults from
    ../shared/docs/clinical-reference.md §4. The ``OutcomeDefinition`` settings row supplies the
    values; this pure copy is what the arithmetic uses."""

    # A 28-day "month" and a 28-day baseline before the first induction infusion (IHS guidelines,
    # Tassorelli 2018, commonly 28 days).
    window_days: int = DAYS_PER_MONTH
    baseline_days: int = DAYS_PER_MONTH
    # A window needs this share of its days recorded to count (common e-diary practice: 80%).
    min_recorded_share: float = 0.8
    # van der Arend et al.: migraine headache ≥30 min; headache day ≥1 h.
    migraine_min_duration_min: int = 30
    headache_min_duration_min: int = 60
    # ICHD-3 1.5: when counting outcome days in a patient with migraine, probable migraine counts.
    count_probable_migraine: bool = True
    # van der Arend: any use of migraine-specific medication; trial guidelines: effective within 2 h.
    triptan_rule: TriptanRule = "any_use"
    # Responder thresholds in percent reduction of monthly migraine days (≥50% common; ≥30% also
    # reported for chronic migraine; ≥75% a stricter level).
    responder_thresholds_pct: tuple[int, ...] = (30, 50, 75)
    # ICHD-3 8.2 medication-overuse headache thresholds, days per month.
    overuse_headache_days: int = 15
    overuse_specific_days: int = 10
    overuse_simple_days: int = 15
    # A ≥2-point drop on the 0–10 pain NRS (Schwenk 2018, Pomeroy 2017).
    pain_responder_min_drop: int = 2
    # Relapse: after a ≥50% response, the rolling 28-day MMD rises above this share of baseline
    # MMD (i.e. the response is lost). A clinic choice, not a published definition.
    relapse_share_of_baseline: float = 0.5
    relapse_response_pct: int = 50

    def describe(self) -> dict[str, str]:
        """The definitions in words, for printing beside numbers and in the API."""
        share = round(self.min_recorded_share * 100)
        rule = (
            "any day it was taken"
            if self.triptan_rule == "any_use"
            else "only when it helped within 2 h (moderate/severe to mild or none)"
        )
        probable = "counted" if self.count_probable_migraine else "not counted"
        return {
            "month": f"{self.window_days} days",
            "baseline": f"the {self.baseline_days} days before the first induction infusion",
            "follow_up_windows": f"consecutive {self.window_days}-day windows from the day after the last induction infusion",
            "comparison_window": "the first follow-up window (unless a window is given)",
            "normalisation": f"count × {DAYS_PER_MONTH} ÷ days recorded; missing days are not assumed headache-free",
            "sufficient": f"at least {share}% of the window's days recorded",
            "migraine_day": (
                f"headache ≥{self.migraine_min_duration_min} min with ≥2 of unilateral, pulsating, moderate/severe, "
                "aggravated by activity, and nausea/vomiting or photophobia with phonophobia (ICHD-3 1.1); "
                f"probable migraine (one criterion missing, ICHD-3 1.5) {probable}; or aura; or migraine-specific "
                f"medication (triptan, ergot, gepant/ditan) {rule}"
            ),
            "headache_day": (
                f"headache ≥{self.headache_min_duration_min} min or of unrecorded length, or any acute medication "
                "taken, or a migraine day"
            ),
            "moderate_severe_day": "peak severity moderate or severe (pain NRS ≥4 when severity was not given)",
            "acute_medication_day": "a day any acute medication was taken, counted per class",
            "change": "follow-up minus baseline, per 28 days (fewer days is negative)",
            "percent_change": "change ÷ baseline × 100",
            "responder": "reduction in monthly migraine days of at least "
            + ", ".join(f"{t}%" for t in self.responder_thresholds_pct)
            + ", both windows sufficient",
            "medication_overuse": (
                f"ICHD-3 8.2 (one window only; the diagnosis needs >3 months): ≥{self.overuse_headache_days} "
                f"headache days and ≥{self.overuse_specific_days} days of triptan, ergot, gepant, opioid, combination "
                f"or several classes, or ≥{self.overuse_simple_days} days of simple analgesics"
            ),
            "session_pain_responder": f"pain NRS drop of ≥{self.pain_responder_min_drop} points after the infusion",
            "relapse": (
                f"after a ≥{self.relapse_response_pct}% response, the rolling {self.window_days}-day migraine days rise "
                f"above {round(self.relapse_share_of_baseline * 100)}% of baseline (sufficient windows only)"
            ),
        }


@dataclass(frozen=True)
class Medication:
    drug_class: DrugClass
    helped_within_2h: bool | None = None


@dataclass(frozen=True)
class DiaryDay:
    """One recorded diary day. Feature fields are ``None`` when not answered (counted as not
    present). ``migraine_features`` is the SMS shorthand "M": the patient said the attack had
    the typical features without itemising them."""

    day: date
    headache: bool
    duration_min: int | None = None
    peak_severity: Severity | None = None
    pain_nrs: int | None = None
    unilateral: bool | None = None
    pulsating: bool | None = None
    aggravated_by_activity: bool | None = None
    nausea: bool | None = None
    vomiting: bool | None = None
    photophobia: bool | None = None
    phonophobia: bool | None = None
    aura: bool | None = None
    migraine_features: bool | None = None
    medications: tuple[Medication, ...] = ()


@dataclass(frozen=True)
class DayClass:
    day: date
    is_headache_day: bool
    is_migraine_day: bool
    migraine_reason: MigraineReason
    is_moderate_severe: bool
    medication_classes: frozenset[str]

    @property
    def is_acute_medication_day(self) -> bool:
        return bool(self.medication_classes)


# NRS 4–6 is moderate and 7–10 severe in the usual banding of the 0–10 scale.
_NRS_MODERATE_MIN: Final = 4
_FEATURES_NEEDED: Final = 2


def _is_moderate_severe(d: DiaryDay) -> bool:
    if d.peak_severity is not None:
        return d.peak_severity in {"moderate", "severe"}
    return d.pain_nrs is not None and d.pain_nrs >= _NRS_MODERATE_MIN


def _specific_medication_counts(d: DiaryDay, defs: Definitions) -> bool:
    specific = [m for m in d.medications if m.drug_class in MIGRAINE_SPECIFIC_CLASSES]
    if defs.triptan_rule == "any_use":
        return bool(specific)
    return any(m.helped_within_2h for m in specific)


def classify_day(d: DiaryDay, defs: Definitions) -> DayClass:
    """Classify one diary day under ``defs`` (see the module docstring for the rules)."""
    meds = frozenset(m.drug_class for m in d.medications)
    reason: MigraineReason = ""
    if d.headache:
        if d.migraine_features:
            features_c, features_d = True, True
        else:
            count_c = sum(
                bool(x) for x in (d.unilateral, d.pulsating, _is_moderate_severe(d), d.aggravated_by_activity)
            )
            features_c = count_c >= _FEATURES_NEEDED
            features_d = bool(d.nausea or d.vomiting or (d.photophobia and d.phonophobia))
        # A length not given is not held against the day: the criterion is treated as unknown.
        long_enough = d.duration_min is None or d.duration_min >= defs.migraine_min_duration_min
        met = sum((features_c, features_d, long_enough))
        if met == 3:  # noqa: PLR2004 - all three ICHD-3 criteria B, C, D
            reason = "ichd_features"
        elif met == 2 and defs.count_probable_migraine:  # noqa: PLR2004 - all but one (ICHD-3 1.5)
            reason = "probable"
        elif d.aura:
            reason = "aura"
    elif d.aura:
        reason = "aura"
    if not reason and _specific_medication_counts(d, defs):
        reason = "specific_medication"
    is_migraine = bool(reason)
    long_headache = d.headache and (d.duration_min is None or d.duration_min >= defs.headache_min_duration_min)
    is_headache = bool(long_headache or meds or is_migraine)
    return DayClass(
        day=d.day,
        is_headache_day=is_headache,
        is_migraine_day=is_migraine,
        migraine_reason=reason,
        is_moderate_severe=d.headache and _is_moderate_severe(d),
        medication_classes=meds,
    )


@dataclass(frozen=True)
class Window:
    """Counts over one window of calendar days (inclusive), normalised to 28 days over the
    recorded days. ``None`` per-28 values mean nothing was recorded."""

    start: date
    end: date
    length_days: int
    days_recorded: int
    headache_days: int
    migraine_days: int
    moderate_severe_days: int
    acute_med_days: int
    med_days_by_class: Mapping[str, int]
    sufficient: bool
    is_complete: bool
    medication_overuse: bool
    per_28: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def migraine_days_per_28(self) -> float | None:
        return self.per_28.get("migraine_days")

    @property
    def headache_days_per_28(self) -> float | None:
        return self.per_28.get("headache_days")

    @property
    def acute_med_days_per_28(self) -> float | None:
        return self.per_28.get("acute_med_days")

    @property
    def recorded_share(self) -> float:
        return self.days_recorded / self.length_days if self.length_days else 0.0


def normalise(count: int, days_recorded: int) -> float | None:
    """``count`` per 28 days over the recorded days; ``None`` when nothing was recorded."""
    if days_recorded <= 0:
        return None
    return round(count * DAYS_PER_MONTH / days_recorded, 2)


def is_sufficient(days_recorded: int, length_days: int, defs: Definitions) -> bool:
    # A small tolerance keeps 22.4 of 28 from failing on floating-point rounding.
    return length_days > 0 and days_recorded + 1e-9 >= defs.min_recorded_share * length_days


def medication_overuse(
    headache_per_28: float | None, med_per_28: Mapping[str, float | None], defs: Definitions
) -> bool:
    """ICHD-3 8.2 thresholds applied to one window's per-28-day counts."""
    if headache_per_28 is None or headache_per_28 < defs.overuse_headache_days:
        return False
    values = {k: v or 0.0 for k, v in med_per_28.items()}
    if any(values.get(c, 0.0) >= defs.overuse_specific_days for c in OVERUSE_TEN_DAY_CLASSES):
        return True
    if values.get("simple_analgesic", 0.0) >= defs.overuse_simple_days:
        return True
    used = [c for c, v in values.items() if c != "any" and v > 0]
    return len(used) > 1 and values.get("any", 0.0) >= defs.overuse_specific_days


def summarise_window(
    classified: Iterable[DayClass], start: date, end: date, defs: Definitions, *, as_of: date | None = None
) -> Window:
    """Count the classified days falling in ``start``..``end`` (inclusive)."""
    inside = [c for c in classified if start <= c.day <= end]
    length = (end - start).days + 1
    recorded = len({c.day for c in inside})
    by_class: dict[str, int] = {cls: sum(1 for c in inside if cls in c.medication_classes) for cls in DRUG_CLASSES}
    counts = {
        "headache_days": sum(c.is_headache_day for c in inside),
        "migraine_days": sum(c.is_migraine_day for c in inside),
        "moderate_severe_days": sum(c.is_moderate_severe for c in inside),
        "acute_med_days": sum(c.is_acute_medication_day for c in inside),
    }
    per_28: dict[str, float | None] = {k: normalise(v, recorded) for k, v in counts.items()}
    med_per_28: dict[str, float | None] = {cls: normalise(n, recorded) for cls, n in by_class.items()}
    med_per_28["any"] = per_28["acute_med_days"]
    return Window(
        start=start,
        end=end,
        length_days=length,
        days_recorded=recorded,
        headache_days=counts["headache_days"],
        migraine_days=counts["migraine_days"],
        moderate_severe_days=counts["moderate_severe_days"],
        acute_med_days=counts["acute_med_days"],
        med_days_by_class=by_class,
        sufficient=is_sufficient(recorded, length, defs),
        is_complete=as_of is None or end <= as_of,
        medication_overuse=medication_overuse(per_28["headache_days"], med_per_28, defs),
        per_28=per_28,
    )


def baseline_bounds(first_induction: date, defs: Definitions) -> tuple[date, date]:
    """The ``baseline_days`` days before the first induction infusion, inclusive."""
    return first_induction - timedelta(days=defs.baseline_days), first_induction - timedelta(days=1)


def follow_up_bounds(last_induction: date, as_of: date, defs: Definitions) -> list[tuple[date, date]]:
    """Consecutive windows from the day after the last induction infusion, up to the window
    holding ``as_of`` (the last may still be running: it is marked incomplete)."""
    bounds = []
    start = last_induction + timedelta(days=1)
    while start <= as_of:
        bounds.append((start, start + timedelta(days=defs.window_days - 1)))
        start += timedelta(days=defs.window_days)
    return bounds


@dataclass(frozen=True)
class Change:
    """Follow-up minus baseline, per 28 days, and the responder levels reached."""

    change_migraine_days: float | None
    percent_change: float | None
    evaluable: bool
    responders: Mapping[int, bool]


def change_from_baseline(baseline: Window, follow_up: Window, defs: Definitions) -> Change:
    """Change in monthly migraine days; responder only when both windows are sufficient and
    the baseline had migraine days to reduce."""
    b, f = baseline.migraine_days_per_28, follow_up.migraine_days_per_28
    if b is None or f is None:
        return Change(None, None, False, {t: False for t in defs.responder_thresholds_pct})
    change = round(f - b, 2)
    percent = round(change / b * 100, 1) if b > 0 else None
    evaluable = baseline.sufficient and follow_up.sufficient and percent is not None
    responders = {t: bool(evaluable and percent is not None and percent <= -t) for t in defs.responder_thresholds_pct}
    return Change(change, percent, evaluable, responders)


@dataclass(frozen=True)
class SessionPain:
    """Pain before and after one infusion and whether it dropped enough."""

    session_date: date
    before: int
    after: int
    drop: int
    responder: bool


def session_pain(rows: Sequence[tuple[date, int, int]], defs: Definitions) -> list[SessionPain]:
    """Each session's pain NRS before and after, and responder at ``pain_responder_min_drop``."""
    out = []
    for day, before, after in rows:
        drop = before - after
        out.append(SessionPain(day, before, after, drop, drop >= defs.pain_responder_min_drop))
    return out


@dataclass(frozen=True)
class RelapseCheck:
    """The rolling window looked at, and whether it shows relapse against the baseline."""

    rolling: Window
    baseline_per_28: float
    threshold_per_28: float
    had_response: bool
    is_relapse: bool


def check_relapse(
    classified: Sequence[DayClass],
    baseline: Window,
    follow_ups: Sequence[Window],
    as_of: date,
    defs: Definitions,
) -> RelapseCheck | None:
    """Relapse: the patient once reached a ``relapse_response_pct`` response in a sufficient
    follow-up window, and the rolling window ending ``as_of`` (sufficient) is above
    ``relapse_share_of_baseline`` × baseline. ``None`` when there is no usable baseline."""
    if not baseline.sufficient or not baseline.migraine_days_per_28:
        return None
    responder_defs = replace(defs, responder_thresholds_pct=(defs.relapse_response_pct,))
    had_response = any(
        change_from_baseline(baseline, w, responder_defs).responders[defs.relapse_response_pct] for w in follow_ups
    )
    start = as_of - timedelta(days=defs.window_days - 1)
    rolling = summarise_window(classified, start, as_of, defs)
    threshold = round(baseline.migraine_days_per_28 * defs.relapse_share_of_baseline, 2)
    mmd = rolling.migraine_days_per_28
    is_relapse = bool(had_response and rolling.sufficient and mmd is not None and mmd > threshold)
    return RelapseCheck(rolling, baseline.migraine_days_per_28, threshold, had_response, is_relapse)


def ci_from_sums(n: int, total: float, total_sq: float, t_quantile: float | None) -> tuple[float | None, ...]:
    """Mean and CI from n, Σx and Σx² (what a database aggregate returns)."""
    if n == 0:
        return None, None, None
    mean = total / n
    if n < 2 or t_quantile is None:  # noqa: PLR2004 - a spread needs two values
        return round(mean, 2), None, None
    variance = max((total_sq - n * mean * mean) / (n - 1), 0.0)
    half = t_quantile * math.sqrt(variance) / math.sqrt(n)
    return round(mean, 2), round(mean - half, 2), round(mean + half, 2)
