"""Forms of the protocol library and of infusion orders, and the words and units every protocol
setting is shown with (the protocol page, the publish form and the diff between versions use the
same table, so a setting cannot be shown on one and forgotten on another)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, cast

from django import forms
from django.db.models import QuerySet

from ketaclinic.infusions.actions import VERSION_FIELDS
from ketaclinic.infusions.models import AldreteVariant, ProtocolVersion, SedationScale

# Settings the publish form does not edit: the fixed dose unit, the note (its own field) and the
# sources text (carried forward, with changed settings marked as the clinic's own).
NOT_EDITED: Final = frozenset({"dose_unit", "change_note", "sources"})


@dataclass(frozen=True)
class Setting:
    label: str
    unit: str = ""
    help: str = ""


# field -> how it reads. Units follow the field names (house style: a wrong unit is the classic
# infusion error).
SETTINGS: Final[dict[str, Setting]] = {
    "drug_name": Setting("Drug"),
    "allowed_concentrations": Setting(
        "Allowed bag concentrations", "mg/mL", "Numbers separated by commas, e.g. 1, 2 (the Ketalar label dilutions)."
    ),
    "dose_unit": Setting("Dose unit"),
    "start_mg_per_kg_h": Setting("Start dose", "mg/kg/h"),
    "soft_max_mg_per_kg_h": Setting(
        "Soft maximum", "mg/kg/h", "Above it only with a reason and a prescriber's override."
    ),
    "hard_max_mg_per_kg_h": Setting("Hard maximum", "mg/kg/h", "Never given above this; the nurse reprogrammes."),
    "max_total_mg_per_session": Setting("Maximum total per session", "mg"),
    "bolus_allowed": Setting("Boluses allowed"),
    "bolus_max_mg_per_kg": Setting("Largest bolus", "mg/kg"),
    "titration_step_mg_per_kg_h": Setting("Titration step", "mg/kg/h"),
    "titration_min_interval_min": Setting("Minimum time between steps", "min"),
    "duration_min_minutes": Setting("Shortest infusion", "min"),
    "duration_max_minutes": Setting("Longest infusion", "min"),
    "vitals_interval_min": Setting("Vitals every (infusing)", "min"),
    "recovery_vitals_interval_min": Setting("Vitals every (recovery)", "min"),
    "systolic_max": Setting("Systolic alert above", "mmHg"),
    "systolic_min": Setting("Systolic alert below", "mmHg"),
    "diastolic_max": Setting("Diastolic alert above", "mmHg"),
    "diastolic_min": Setting("Diastolic alert below", "mmHg"),
    "heart_rate_max": Setting("Heart rate alert above", "beats/min"),
    "heart_rate_min": Setting("Heart rate alert below", "beats/min"),
    "spo2_min": Setting("SpO2 alert below", "%"),
    "resp_rate_min": Setting("Respiratory rate alert below", "breaths/min"),
    "resp_rate_max": Setting("Respiratory rate alert above", "breaths/min"),
    "etco2_max": Setting("EtCO2 alert above", "mmHg", "Leave blank when EtCO2 is not monitored."),
    "systolic_rise_max": Setting("Systolic rise from baseline, alert at", "mmHg"),
    "diastolic_rise_max": Setting("Diastolic rise from baseline, alert at", "mmHg"),
    "baseline_systolic_max": Setting("Baseline systolic above this blocks the start", "mmHg"),
    "baseline_diastolic_max": Setting("Baseline diastolic above this blocks the start", "mmHg"),
    "sedation_scale": Setting("Sedation scale"),
    "dissociation_scale_name": Setting("Dissociation scale"),
    "dissociation_scale_max": Setting("Dissociation scale maximum", "points"),
    "fasting_hours": Setting("Fasting before the infusion", "h", "0 when no fasting is asked."),
    "ask_pregnancy": Setting("Ask the pregnancy question"),
    "checklist_items": Setting(
        "Pre-infusion checklist", "", "One item per line; the nurse ticks each before the start."
    ),
    "recovery_min_minutes": Setting("Minimum recovery", "min"),
    "aldrete_variant": Setting("Modified Aldrete variant"),
    "aldrete_threshold": Setting("Aldrete score for discharge, at least", "of 10"),
    "discharge_requires_escort": Setting("Discharge only to a named adult escort"),
}

GROUPS: Final[list[tuple[str, list[str]]]] = [
    ("Drug and concentrations", ["drug_name", "dose_unit", "allowed_concentrations"]),
    (
        "Dose limits",
        [
            "start_mg_per_kg_h",
            "soft_max_mg_per_kg_h",
            "hard_max_mg_per_kg_h",
            "max_total_mg_per_session",
            "bolus_allowed",
            "bolus_max_mg_per_kg",
        ],
    ),
    ("Titration", ["titration_step_mg_per_kg_h", "titration_min_interval_min"]),
    ("Infusion duration", ["duration_min_minutes", "duration_max_minutes"]),
    (
        "Vitals interval and alert thresholds",
        [
            "vitals_interval_min",
            "recovery_vitals_interval_min",
            "systolic_max",
            "systolic_min",
            "diastolic_max",
            "diastolic_min",
            "heart_rate_max",
            "heart_rate_min",
            "spo2_min",
            "resp_rate_min",
            "resp_rate_max",
            "etco2_max",
        ],
    ),
    ("Change-from-baseline alerts", ["systolic_rise_max", "diastolic_rise_max"]),
    ("Baseline block", ["baseline_systolic_max", "baseline_diastolic_max"]),
    ("Sedation and dissociation", ["sedation_scale", "dissociation_scale_name", "dissociation_scale_max"]),
    ("Fasting, pregnancy and checklist", ["fasting_hours", "ask_pregnancy", "checklist_items"]),
    (
        "Recovery and discharge",
        ["recovery_min_minutes", "aldrete_variant", "aldrete_threshold", "discharge_requires_escort"],
    ),
]

EDITED_FIELDS: Final = [f for f in VERSION_FIELDS if f not in NOT_EDITED]


def display_value(field: str, value: Any) -> str:
    """A setting's value in words with its unit, e.g. "1 mg/kg/h", "Yes", "RASS (…)"."""
    unit = SETTINGS[field].unit
    if value is None or value == "":
        return "not set"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field == "sedation_scale":
        return str(SedationScale(value).label)
    if field == "aldrete_variant":
        return str(AldreteVariant(value).label)
    if field == "allowed_concentrations":
        return ", ".join(f"{Decimal(str(c)).normalize():f}" for c in value) + f" {unit}"
    if field == "checklist_items":
        return "; ".join(value) if value else "no items"
    if isinstance(value, Decimal):
        value = f"{value.normalize():f}"
    if unit == "%":
        return f"{value}%"
    return f"{value} {unit}".strip()


def parse_sources(text: str) -> dict[str, str]:
    """``ProtocolVersion.sources`` is one "field: source" line per setting."""
    found = {}
    for line in text.splitlines():
        field, sep, source = line.partition(":")
        if sep and field.strip() in SETTINGS:
            found[field.strip()] = source.strip()
    return found


@dataclass(frozen=True)
class SettingRow:
    field: str
    label: str
    value: str
    source: str


def grouped_settings(version: ProtocolVersion) -> list[tuple[str, list[SettingRow]]]:
    sources = parse_sources(version.sources)
    return [
        (
            title,
            [
                SettingRow(f, SETTINGS[f].label, display_value(f, getattr(version, f)), sources.get(f, ""))
                for f in fields
            ],
        )
        for title, fields in GROUPS
    ]


@dataclass(frozen=True)
class Change:
    group: str
    label: str
    old: str
    new: str


def version_changes(old: ProtocolVersion, new: ProtocolVersion) -> list[Change]:
    """Every setting whose value differs between two versions, in the order of the groups."""
    return [
        Change(title, SETTINGS[f].label, display_value(f, getattr(old, f)), display_value(f, getattr(new, f)))
        for title, fields in GROUPS
        for f in fields
        if getattr(old, f) != getattr(new, f)
    ]


def carried_sources(previous: ProtocolVersion, values: Mapping[str, Any], number: int) -> str:
    """The sources text of the next version: unchanged settings keep their citation, changed ones
    say that they are the clinic's own choice from that version on."""
    sources = parse_sources(previous.sources)
    lines = []
    for field in SETTINGS:
        if field in values and values[field] != getattr(previous, field):
            lines.append(f"{field}: Clinic setting, changed in version {number}")
        elif field in sources:
            lines.append(f"{field}: {sources[field]}")
    return "\n".join(lines)


class ConcentrationsField(forms.CharField):
    def to_python(self, value: Any) -> list[float]:  # type: ignore[override]
        text = super().to_python(value) or ""
        numbers = []
        for part in text.replace(";", ",").split(","):
            if not part.strip():
                continue
            try:
                number = float(Decimal(part.strip()))
            except ArithmeticError as exc:
                raise forms.ValidationError(f"“{part.strip()}” is not a number of mg/mL.") from exc
            numbers.append(number)
        if not numbers:
            raise forms.ValidationError("List at least one allowed bag concentration in mg/mL.")
        return numbers


class LinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 6})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


def _label(field: str) -> str:
    s = SETTINGS[field]
    return f"{s.label} ({s.unit})" if s.unit else s.label


class VersionForm(forms.Form):
    """Every setting of a protocol version, pre-filled from the current one, plus the change note."""

    change_note = forms.CharField(
        label="What changed and why",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. Stays with the version and in the audit trail.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in EDITED_FIELDS:
            field: forms.Field
            if name == "allowed_concentrations":
                field = ConcentrationsField()
            elif name == "checklist_items":
                field = LinesField(required=False)
            else:
                made = ProtocolVersion._meta.get_field(name).formfield()  # type: ignore[union-attr]
                if made is None:  # pragma: no cover - every edited field is editable
                    raise AssertionError(name)
                field = made
            field.label = _label(name)
            field.help_text = SETTINGS[name].help
            self.fields[name] = field
        # The change note comes last, under the settings it explains.
        self.fields["change_note"] = self.fields.pop("change_note")

    @classmethod
    def initial_from(cls, version: ProtocolVersion) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(version, name) for name in EDITED_FIELDS}
        initial["allowed_concentrations"] = ", ".join(
            f"{Decimal(str(c)).normalize():f}" for c in version.allowed_concentrations
        )
        initial["checklist_items"] = "\n".join(version.checklist_items)
        return initial

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[f] for f in fields if f in self.fields]) for title, fields in GROUPS]

    def clean(self) -> dict[str, Any]:
        """The dose ordering the database insists on, said next to the field in words."""
        data = super().clean() or {}
        start, soft, hard = (data.get(f) for f in ("start_mg_per_kg_h", "soft_max_mg_per_kg_h", "hard_max_mg_per_kg_h"))
        if soft is not None and hard is not None and soft > hard:
            self.add_error(
                "soft_max_mg_per_kg_h",
                f"The soft maximum ({soft.normalize():f} mg/kg/h) must not exceed the hard maximum "
                f"({hard.normalize():f} mg/kg/h).",
            )
        if start is not None and soft is not None and start > soft:
            self.add_error(
                "start_mg_per_kg_h",
                f"The start dose ({start.normalize():f} mg/kg/h) must not exceed the soft maximum "
                f"({soft.normalize():f} mg/kg/h).",
            )
        return data

    def values(self) -> dict[str, Any]:
        """The settings as the model stores them (decimals at the model's places, so the audit
        trail compares 1.000 with 0.800, not with 0.8)."""
        values = {}
        for name in EDITED_FIELDS:
            value = self.cleaned_data[name]
            places = getattr(ProtocolVersion._meta.get_field(name), "decimal_places", None)
            if isinstance(value, Decimal) and places is not None:
                value = value.quantize(Decimal(1).scaleb(-places))
            values[name] = value
        return values


class ProtocolForm(forms.Form):
    code = forms.SlugField(max_length=40, label="Short code", help_text="Letters, digits and dashes, e.g. induction-6")
    name = forms.CharField(max_length=120, label="Name")
    summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Plain-language description for staff"
    )
    induction_infusions = forms.IntegerField(min_value=1, max_value=30, initial=6, label="Infusions in the induction")
    induction_window_days = forms.IntegerField(min_value=1, max_value=120, initial=21, label="Induction window (days)")


ORDER_LIMITS: Final = (
    ("start_mg_per_kg_h", "Start dose", "mg/kg/h"),
    ("soft_max_mg_per_kg_h", "Soft maximum", "mg/kg/h"),
    ("hard_max_mg_per_kg_h", "Hard maximum", "mg/kg/h"),
    ("max_total_mg_per_session", "Maximum total per session", "mg"),
)


class OrderForm(forms.Form):
    """A protocol version and, optionally, narrower limits (blank inherits the protocol's)."""

    protocol_version = forms.ModelChoiceField(
        queryset=ProtocolVersion.objects.none(), label="Protocol", empty_label=None
    )
    start_mg_per_kg_h = forms.DecimalField(
        required=False, max_digits=5, decimal_places=3, min_value=Decimal("0.001"), label="Start dose (mg/kg/h)"
    )
    soft_max_mg_per_kg_h = forms.DecimalField(
        required=False, max_digits=5, decimal_places=3, min_value=Decimal("0.001"), label="Soft maximum (mg/kg/h)"
    )
    hard_max_mg_per_kg_h = forms.DecimalField(
        required=False, max_digits=5, decimal_places=3, min_value=Decimal("0.001"), label="Hard maximum (mg/kg/h)"
    )
    max_total_mg_per_session = forms.DecimalField(
        required=False,
        max_digits=7,
        decimal_places=1,
        min_value=Decimal("0.1"),
        label="Maximum total per session (mg)",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Note for the nurses")

    def __init__(self, *args: Any, versions: QuerySet[ProtocolVersion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["protocol_version"])  # type: ignore[type-arg]
        field.queryset = versions
        field.label_from_instance = lambda v: (  # type: ignore[method-assign,assignment]
            f"{v.protocol.name}, version {v.number} (start {display_value('start_mg_per_kg_h', v.start_mg_per_kg_h)}, "
            f"soft {display_value('soft_max_mg_per_kg_h', v.soft_max_mg_per_kg_h)}, "
            f"hard {display_value('hard_max_mg_per_kg_h', v.hard_max_mg_per_kg_h)})"
        )
        for name, _label_text, _unit in ORDER_LIMITS:
            self.fields[name].help_text = "Blank: the protocol's value."

    def clean(self) -> dict[str, Any]:
        """Refuse a widened limit next to its field, in words, before the action sees it."""
        data = super().clean() or {}
        version = data.get("protocol_version")
        if not isinstance(version, ProtocolVersion):
            return data
        for name, label, unit in ORDER_LIMITS[1:]:
            own = data.get(name)
            base = getattr(version, name)
            if own is not None and own > base:
                self.add_error(
                    name,
                    f"{label} {own.normalize():f} {unit} is above the protocol's {base.normalize():f} {unit}: "
                    "an order may only narrow a limit. Ask the medical director to change the protocol.",
                )
        soft = data.get("soft_max_mg_per_kg_h") or version.soft_max_mg_per_kg_h
        hard = data.get("hard_max_mg_per_kg_h") or version.hard_max_mg_per_kg_h
        if "hard_max_mg_per_kg_h" not in self.errors and soft > hard:
            self.add_error(
                "hard_max_mg_per_kg_h",
                f"The hard maximum ({hard.normalize():f} mg/kg/h) must not be below the soft maximum "
                f"({soft.normalize():f} mg/kg/h); narrow the soft maximum too.",
            )
        start = data.get("start_mg_per_kg_h")
        if start is not None and "start_mg_per_kg_h" not in self.errors and start > soft:
            self.add_error(
                "start_mg_per_kg_h",
                f"The start dose {start.normalize():f} mg/kg/h is above the soft maximum {soft.normalize():f} mg/kg/h.",
            )
        return data
