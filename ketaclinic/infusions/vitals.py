"""Vital signs: plausibility (what a living adult cannot show, so it must be a typing or probe
error) and alert rules (what the protocol says needs a clinician's attention).

Pure functions without Django. Plausibility bounds are not clinical limits: they only refuse
values no living patient in a chair can have. Alert thresholds come from the protocol version
(docs/clinical-reference.md §1) and are passed in as :class:`Thresholds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

# Physiological bounds (units in the labels). A value outside is refused with a message.
PLAUSIBLE: Final[dict[str, tuple[float, float, str, str]]] = {
    "systolic": (40, 300, "mmHg", "systolic blood pressure"),
    "diastolic": (20, 200, "mmHg", "diastolic blood pressure"),
    "heart_rate": (20, 250, "beats/min", "heart rate"),
    "spo2": (50, 100, "%", "SpO2"),
    "resp_rate": (0, 60, "breaths/min", "respiratory rate"),
    "etco2": (0, 150, "mmHg", "EtCO2"),
    "temperature_c": (30, 43, "°C", "temperature"),
    "pain_nrs": (0, 10, "/10", "pain NRS"),
}
SEDATION_RANGES: Final[dict[str, tuple[int, int]]] = {"rass": (-5, 4), "moaas": (0, 5)}
VITAL_FIELDS: Final = (
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "etco2",
    "temperature_c",
    "pain_nrs",
    "sedation",
    "dissociation",
)


class ImplausibleVitals(ValueError):
    """One or more values no living patient can have; ``errors`` maps field -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def check_plausible(
    values: Mapping[str, float | int | Decimal | None], *, sedation_scale: str = "rass", dissociation_max: int = 4
) -> None:
    """Raise :class:`ImplausibleVitals` naming every impossible value. Missing values are allowed
    (not every set has every value), but a set must carry at least one value."""
    errors: dict[str, str] = {}
    present = {k: v for k, v in values.items() if v is not None}
    if not present:
        raise ImplausibleVitals({"__all__": "Enter at least one value."})
    for field, (low, high, unit, label) in PLAUSIBLE.items():
        value = present.get(field)
        if value is not None and not low <= float(value) <= high:
            errors[field] = (
                f"A {label} of {value} {unit} is not possible; check the value (allowed {low:g}–{high:g} {unit})."
            )
    systolic, diastolic = present.get("systolic"), present.get("diastolic")
    both_valid = systolic is not None and diastolic is not None and not {"systolic", "diastolic"} & set(errors)
    if both_valid and float(diastolic) >= float(systolic):  # type: ignore[arg-type]
        errors["diastolic"] = f"Diastolic {diastolic} mmHg must be lower than systolic {systolic} mmHg."
    if (systolic is None) != (diastolic is None):
        errors["systolic" if systolic is None else "diastolic"] = "Enter both systolic and diastolic pressure."
    sedation = present.get("sedation")
    if sedation is not None:
        low_s, high_s = SEDATION_RANGES[sedation_scale]
        if not low_s <= int(sedation) <= high_s:
            errors["sedation"] = f"The {sedation_scale.upper()} score runs from {low_s} to {high_s}, not {sedation}."
    dissociation = present.get("dissociation")
    if dissociation is not None and not 0 <= int(dissociation) <= dissociation_max:
        errors["dissociation"] = f"The dissociation score runs from 0 to {dissociation_max}, not {dissociation}."
    if errors:
        raise ImplausibleVitals(errors)


@dataclass(frozen=True)
class Thresholds:
    """Alert limits from the protocol version (all in the units of the fields)."""

    systolic_max: int
    systolic_min: int
    diastolic_max: int
    diastolic_min: int
    heart_rate_max: int
    heart_rate_min: int
    spo2_min: int
    resp_rate_min: int
    resp_rate_max: int
    etco2_max: int | None
    systolic_rise_max: int
    diastolic_rise_max: int


@dataclass(frozen=True)
class AlertFinding:
    kind: str  # "absolute" or "change"
    parameter: str
    value: str
    message: str


def evaluate(
    values: Mapping[str, float | int | Decimal | None],
    thresholds: Thresholds,
    baseline: Mapping[str, float | int | Decimal | None] | None = None,
) -> list[AlertFinding]:
    """Every alert a vitals set raises: absolute thresholds, then change from baseline."""
    t = thresholds
    findings: list[AlertFinding] = []

    def _abs(field: str, label: str, unit: str, low: int | None, high: int | None) -> None:
        value = values.get(field)
        if value is None:
            return
        if high is not None and value > high:
            findings.append(
                AlertFinding("absolute", field, f"{value}", f"{label} {value} {unit} is above {high} {unit}.")
            )
        elif low is not None and value < low:
            findings.append(
                AlertFinding("absolute", field, f"{value}", f"{label} {value} {unit} is below {low} {unit}.")
            )

    _abs("systolic", "Systolic", "mmHg", t.systolic_min, t.systolic_max)
    _abs("diastolic", "Diastolic", "mmHg", t.diastolic_min, t.diastolic_max)
    _abs("heart_rate", "Heart rate", "beats/min", t.heart_rate_min, t.heart_rate_max)
    _abs("spo2", "SpO2", "%", t.spo2_min, None)
    _abs("resp_rate", "Respiratory rate", "breaths/min", t.resp_rate_min, t.resp_rate_max)
    _abs("etco2", "EtCO2", "mmHg", None, t.etco2_max)

    if baseline:
        for field, label, limit in (
            ("systolic", "Systolic", t.systolic_rise_max),
            ("diastolic", "Diastolic", t.diastolic_rise_max),
        ):
            now, base = values.get(field), baseline.get(field)
            if now is not None and base is not None and float(now) - float(base) >= limit:
                rise = float(now) - float(base)
                findings.append(
                    AlertFinding(
                        "change",
                        field,
                        f"{now}",
                        f"{label} rose {rise:g} mmHg from baseline {base} mmHg (alert at +{limit} mmHg).",
                    )
                )
    return findings


def baseline_blocks(values: Mapping[str, float | int | Decimal | None], systolic_max: int, diastolic_max: int) -> str:
    """Why baseline vitals block the start ('' when they do not)."""
    reasons = []
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if systolic is not None and systolic > systolic_max:
        reasons.append(f"systolic {systolic} mmHg is above {systolic_max} mmHg")
    if diastolic is not None and diastolic > diastolic_max:
        reasons.append(f"diastolic {diastolic} mmHg is above {diastolic_max} mmHg")
    if not reasons:
        return ""
    return "Baseline " + " and ".join(reasons) + ": a prescriber must override with a reason before the start."
