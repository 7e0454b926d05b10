"""Seeded protocol-version defaults, each citing docs/clinical-reference.md (the page under
../shared/docs/). These are starting points the medical director reviews and changes in the
protocol library; no code reads them except to fill a new protocol's first version."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

D = Decimal

# field -> (value, source). "Clinic setting" marks a value with no published figure.
PROTOCOL_DEFAULTS: Final[dict[str, tuple[Any, str]]] = {
    "allowed_concentrations": ([1.0, 2.0], "§2 Ketalar label dilution: 1 mg/mL in 500 mL, 2 mg/mL in 250 mL"),
    "start_mg_per_kg_h": (D("0.300"), "Clinic setting; §1 Lauritsen 2016 starts 0.1 mg/kg/h inpatient"),
    "titration_step_mg_per_kg_h": (D("0.100"), "§1 Lauritsen 2016: +0.1 mg/kg/h steps"),
    "titration_min_interval_min": (15, "Clinic setting (outpatient sessions are 40 min to a few hours, §1)"),
    "soft_max_mg_per_kg_h": (D("1.000"), "§1 Jefferson soft upper limit 1 mg/kg/h; PA DoH 2020 low dose ≤1 mg/kg/h"),
    "hard_max_mg_per_kg_h": (D("2.000"), "§1 Cohen 2018 consensus reports 0.5–2 mg/kg/h; §2 no published hard max"),
    "max_total_mg_per_session": (D("400.0"), "Clinic setting; §2 no published maximum for headache"),
    "bolus_allowed": (False, "§1 low-dose bolus ≤0.5 mg/kg (PA DoH 2020) if the clinic allows boluses"),
    "bolus_max_mg_per_kg": (D("0.50"), "§1 PA DoH 2020 low-dose bolus bound"),
    "duration_min_minutes": (40, "§1 outpatient practice: 40 min to a few hours"),
    "duration_max_minutes": (240, "§1 outpatient practice: 40 min to a few hours"),
    "vitals_interval_min": (10, "§1 Emory practice: BP every 10 min during infusion"),
    "recovery_vitals_interval_min": (15, "§1 Emory practice: every 15 min after"),
    "systolic_max": (160, "§1 '160/100' rule, unconfirmed: configurable"),
    "systolic_min": (90, "Clinic setting"),
    "diastolic_max": (100, "§1 '160/100' rule, unconfirmed: configurable"),
    "diastolic_min": (50, "Clinic setting"),
    "heart_rate_max": (120, "Clinic setting"),
    "heart_rate_min": (50, "Clinic setting"),
    "spo2_min": (92, "§5 modified Aldrete: SpO2 >92% on room air scores 2"),
    "resp_rate_min": (10, "Clinic setting"),
    "resp_rate_max": (24, "Clinic setting"),
    "etco2_max": (50, "Clinic setting"),
    "systolic_rise_max": (40, "§1 Spravato label: rise ≥40 mmHg systolic"),
    "diastolic_rise_max": (25, "§1 Spravato label: rise ≥25 mmHg diastolic"),
    "baseline_systolic_max": (140, "§1 '>140/90 baseline' rule, unconfirmed: configurable"),
    "baseline_diastolic_max": (90, "§1 '>140/90 baseline' rule, unconfirmed: configurable"),
    "sedation_scale": ("rass", "§5 RASS (Sessler 2002)"),
    "dissociation_scale_name": (
        "Clinician dissociation rating 0–4",
        "§5 CADSS licensing unconfirmed: configurable scale",
    ),
    "dissociation_scale_max": (4, "§5 configurable scale"),
    "fasting_hours": (4, "Clinic setting; not in the reference"),
    "ask_pregnancy": (True, "§1 Cohen 2018: pregnancy a relative contraindication"),
    "checklist_items": (
        [
            "Identity confirmed with two identifiers",
            "Consent on file for today's treatment",
            "IV access patent",
            "Pulse oximetry and BP cuff attached",
            "Resuscitation equipment checked",
        ],
        "§1 ASA: same standards as other anaesthetic medicines (monitoring, rescue equipment)",
    ),
    "recovery_min_minutes": (60, "Clinic setting (scheduling default recovery 60 min); §1 Spravato observes ≥2 h"),
    "aldrete_variant": ("mmhg_20", "§5 modified Aldrete variants differ; the one used is recorded"),
    "aldrete_threshold": (9, "§5 common discharge threshold ≥9"),
    "discharge_requires_escort": (True, "§5 PADSS: discharge home with a competent adult escort"),
}


def default_values() -> dict[str, Any]:
    """The defaults as keyword arguments for a first ProtocolVersion."""
    values = {field: value for field, (value, _source) in PROTOCOL_DEFAULTS.items()}
    values["sources"] = "\n".join(f"{field}: {source}" for field, (_v, source) in PROTOCOL_DEFAULTS.items())
    return values
