"""Forms of the chairside session page. They check the shape of what was typed; the actions
decide what is clinically allowed and say why not, and the view puts those messages next to
the field they name. Number inputs are text inputs with ``inputmode`` so a tablet shows its
number pad without the spin buttons and scroll-to-change of ``type=number``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from ketaclinic.infusions import scores
from ketaclinic.infusions.models import (
    AldreteVariant,
    Diluent,
    PregnancyAnswer,
    ProtocolVersion,
    Route,
    SedationScale,
    Severity,
    SideEffect,
    SideEffectKind,
    SideEffectOutcome,
)
from ketaclinic.inventory.choices import WasteMethod
from ketaclinic.inventory.forms import WitnessFields
from ketaclinic.inventory.queries import BalanceRow

WHOLE = {"inputmode": "numeric", "pattern": "[0-9]*", "autocomplete": "off"}
DECIMAL = {"inputmode": "decimal", "autocomplete": "off"}
SHORT_TEXT = forms.Textarea(attrs={"rows": 2})
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ChairsideForm(forms.Form):
    """The session page shows several forms at once (rate, pause, stop, bolus all have a
    reason): each form's element ids carry its own prefix so every label points at its input."""

    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


def _whole(label: str, **kw: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, widget=forms.TextInput(attrs=WHOLE), **kw)


def _decimal(label: str, *, required: bool = True, places: int = 3, **kw: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=9,
        decimal_places=places,
        widget=forms.TextInput(attrs=DECIMAL),
        **kw,
    )


def _when(
    label: str = "Time (if not now)", help_text: str = "Leave empty for now; today, clinic time."
) -> forms.TimeField:
    return forms.TimeField(label=label, required=False, widget=TIME, help_text=help_text)


class ChecklistForm(ChairsideForm):
    """The pre-infusion checklist of the session's protocol version: one box per item, fasting
    and pregnancy only when the protocol asks, escort confirmed, today's weight."""

    id_prefix = "checklist"

    weight_kg = _decimal("Today's weight (kg)", places=1, help_text="Weighed today, in kilograms.")
    escort_name = forms.CharField(max_length=120, required=False, label="Escort's name")
    escort_phone = forms.CharField(
        max_length=32, required=False, label="Escort's phone", widget=forms.TextInput(attrs={"type": "tel"})
    )

    def __init__(self, *args: Any, version: ProtocolVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        if version.discharge_requires_escort:
            self.fields["escort_name"].required = True
            self.fields["escort_phone"].required = True
            self.fields["escort_confirmed"] = forms.BooleanField(
                label="I spoke with this escort: they will take the patient home", required=True
            )
        if version.fasting_hours:
            self.fields["fasting_confirmed"] = forms.BooleanField(
                label=f"Fasted at least {version.fasting_hours} h (nothing to eat)", required=False
            )
        if version.ask_pregnancy:
            self.fields["pregnancy"] = forms.ChoiceField(
                label="Pregnancy",
                choices=[c for c in PregnancyAnswer.choices if c[0] != PregnancyAnswer.NOT_APPLICABLE],
                widget=forms.RadioSelect,
                required=False,
            )
        for index, item in enumerate(version.checklist_items):
            self.fields[f"item_{index}"] = forms.BooleanField(label=item, required=False)

    def item_fields(self) -> list[forms.BoundField]:
        return [self[f"item_{i}"] for i in range(len(self.version.checklist_items))]

    def items(self) -> dict[str, bool]:
        return {item: bool(self.cleaned_data.get(f"item_{i}")) for i, item in enumerate(self.version.checklist_items)}


class VitalsForm(forms.Form):
    """A vitals set, every value optional: the nurse types what was measured. Order is the tab
    order: blood pressure, heart rate, SpO2, breathing, then the scores, then the extras."""

    systolic = _whole("Systolic (mmHg)")
    diastolic = _whole("Diastolic (mmHg)")
    heart_rate = _whole("Heart rate (/min)")
    spo2 = _whole("SpO₂ (%)")
    resp_rate = _whole("Resp. rate (/min)")
    pain_nrs = _whole("Pain (0–10)")
    sedation = forms.TypedChoiceField(label="Sedation", required=False, coerce=int, empty_value=None)
    dissociation = forms.TypedChoiceField(label="Dissociation", required=False, coerce=int, empty_value=None)
    etco2 = _whole("EtCO₂ (mmHg)")
    temperature_c = _decimal("Temp. (°C)", required=False, places=1)
    taken_at = _when("Time taken (if not now)", help_text="")

    def __init__(self, *args: Any, version: ProtocolVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if version.sedation_scale == SedationScale.MOAAS:
            labels = scores.MOAAS_LABELS
            self.fields["sedation"].label = "Sedation (MOAA/S)"
        else:
            labels = scores.RASS_LABELS
            self.fields["sedation"].label = "Sedation (RASS)"
        self.fields["sedation"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (value, f"{value:+d} {text}" if version.sedation_scale == SedationScale.RASS else f"{value} {text}")
            for value, text in sorted(labels.items(), reverse=True)
        ]
        top = version.dissociation_scale_max
        self.fields["dissociation"].label = f"Dissociation (0–{top})"
        self.fields["dissociation"].choices = [("", "—")] + [(i, str(i)) for i in range(top + 1)]  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "taken_at" and v is not None}


class AcknowledgeForm(forms.Form):
    action_taken = forms.CharField(
        label="Action taken",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. rate reduced, BP rechecked"}),
    )


class OverrideForm(ChairsideForm):
    id_prefix = "override"
    reason = forms.CharField(label="Clinical reason for starting despite the baseline", widget=SHORT_TEXT)


def _container_label(row: BalanceRow) -> str:
    c = row.container
    product = c.lot.product
    return (
        f"{c.label} · {product.name} {product.strength_mg_per_ml:g} mg/mL · lot {c.lot.lot_number}, "
        f"expires {c.lot.expires_on:%d %b %Y} · {row.ml_remaining:g} mL left"
    )


class BagForm(ChairsideForm):
    id_prefix = "bag"
    container = forms.TypedChoiceField(label="Vial (from this location's stock)", coerce=int)
    vial_ml_drawn = _decimal("Drawn from the vial (mL)", places=2)
    diluent = forms.ChoiceField(label="Diluent", choices=Diluent.choices, initial=Diluent.SALINE)
    final_volume_ml = _decimal("Final bag volume (mL)", places=1)

    def __init__(self, *args: Any, rows: Iterable[BalanceRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = {r.container.pk: r for r in rows}
        self.fields["container"].choices = [(pk, _container_label(r)) for pk, r in self.rows.items()]  # type: ignore[attr-defined]


def _username(label: str) -> forms.CharField:
    return forms.CharField(max_length=150, required=False, label=f"{label} username")


def _password(label: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        strip=False,
        label=f"{label} password",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Typed by that person now, on this tablet.",
    )


class DoseOverrideFields(ChairsideForm):
    """A soft-limit override: the reason, and a prescriber's own password when a nurse asks."""

    override_reason = forms.CharField(
        label="Override reason (soft limit)",
        required=False,
        widget=SHORT_TEXT,
        help_text="Why this dose is right for this patient now.",
    )
    prescriber_username = _username("Prescriber")
    prescriber_password = _password("Prescriber")


class StartForm(DoseOverrideFields):
    id_prefix = "start"
    dose_mg_per_kg_h = _decimal("Dose (mg/kg/h)")
    pump_rate_ml_per_h = _decimal(
        "I programmed the pump at (mL/h)",
        places=1,
        help_text="Type the rate shown on the pump. It must match the computed rate.",
    )
    checker_username = _username("Second nurse")
    checker_password = _password("Second nurse")


class TitrateForm(DoseOverrideFields):
    id_prefix = "titrate"
    dose_mg_per_kg_h = _decimal("New dose (mg/kg/h)")
    reason = forms.CharField(label="Reason for the change", max_length=500)
    pump_rate_ml_per_h = _decimal(
        "I programmed the pump at (mL/h)",
        required=False,
        places=1,
        help_text="Optional: type the rate on the pump; it must match the computed rate.",
    )


class PauseForm(ChairsideForm):
    id_prefix = "pause"
    reason = forms.CharField(label="Reason for pausing", max_length=500)


class ResumeForm(ChairsideForm):
    id_prefix = "resume"
    reason = forms.CharField(label="Note (optional)", max_length=500, required=False)


class StopForm(ChairsideForm):
    id_prefix = "stop"
    reason = forms.CharField(label="Reason for stopping", max_length=500, initial="Infusion complete")


class BolusForm(ChairsideForm):
    id_prefix = "bolus"
    bolus_mg = _decimal("Bolus (mg)", places=2)
    reason = forms.CharField(label="Reason for the bolus", max_length=500)


class SideEffectForm(ChairsideForm):
    id_prefix = "effect"
    kind = forms.ChoiceField(label="Side effect", choices=SideEffectKind.choices)
    other_text = forms.CharField(label="If other: what", max_length=120, required=False)
    severity = forms.ChoiceField(label="Severity", choices=Severity.choices, widget=forms.RadioSelect)
    intervention = forms.CharField(label="Intervention given", required=False, widget=SHORT_TEXT)
    outcome = forms.ChoiceField(label="Outcome", choices=SideEffectOutcome.choices)
    onset_at = _when("Onset (if not now)")


class MedicationForm(ChairsideForm):
    id_prefix = "med"
    drug = forms.CharField(label="Drug", max_length=80)
    dose = _decimal("Dose", places=2)
    dose_unit = forms.CharField(label="Unit", max_length=8, initial="mg")
    route = forms.ChoiceField(label="Route", choices=Route.choices)
    side_effect = forms.TypedChoiceField(label="Given for (optional)", required=False, coerce=int, empty_value=None)
    given_at = _when("Given at (if not now)")

    def __init__(self, *args: Any, side_effects: Iterable[SideEffect], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.side_effects = {e.pk: e for e in side_effects}
        self.fields["side_effect"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (pk, f"{e.label} ({e.get_severity_display().lower()})") for pk, e in self.side_effects.items()
        ]

    def chosen_side_effect(self) -> SideEffect | None:
        pk = self.cleaned_data.get("side_effect")
        return self.side_effects.get(pk) if pk is not None else None


# The modified Aldrete items and what earns each point (docs/clinical-reference.md §5). The
# circulation wording follows the variant the protocol version records.
ALDRETE_ITEMS: dict[str, tuple[str, dict[int, str]]] = {
    "activity": (
        "Activity",
        {2: "Moves all four limbs on command", 1: "Moves two limbs", 0: "Cannot move any limb"},
    ),
    "respiration": (
        "Respiration",
        {2: "Breathes deeply and coughs freely", 1: "Shallow or limited breathing", 0: "Apnoeic"},
    ),
    "circulation": ("Circulation", {}),
    "consciousness": (
        "Consciousness",
        {2: "Fully awake", 1: "Arousable on calling", 0: "Not responding"},
    ),
    "oxygen_saturation": (
        "Oxygen saturation",
        {2: "SpO₂ > 92% on room air", 1: "Needs oxygen to keep SpO₂ > 90%", 0: "SpO₂ < 90% even with oxygen"},
    ),
}
CIRCULATION: dict[str, dict[int, str]] = {
    AldreteVariant.MMHG: {
        2: "BP within ±20 mmHg of baseline",
        1: "BP ±20–50 mmHg of baseline",
        0: "BP more than ±50 mmHg from baseline",
    },
    AldreteVariant.PERCENT: {
        2: "BP within ±20% of baseline",
        1: "BP ±20–50% of baseline",
        0: "BP more than ±50% from baseline",
    },
}


class AldreteForm(ChairsideForm):
    id_prefix = "aldrete"

    def __init__(self, *args: Any, variant: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (label, meanings) in ALDRETE_ITEMS.items():
            points = CIRCULATION.get(variant, CIRCULATION[AldreteVariant.MMHG]) if name == "circulation" else meanings
            self.fields[name] = forms.TypedChoiceField(
                label=label,
                coerce=int,
                choices=[(p, f"{p} · {text}") for p, text in sorted(points.items(), reverse=True)],
                widget=forms.RadioSelect,
            )


class DischargeForm(ChairsideForm):
    id_prefix = "discharge"
    escort_name = forms.CharField(
        label="Escort taking the patient home", max_length=120, help_text="Type the name of the adult who is here."
    )
    note = forms.CharField(label="Discharge note (optional)", required=False, widget=SHORT_TEXT)


class AccountForm(ChairsideForm, WitnessFields):
    id_prefix = "account"
    waste_method = forms.ChoiceField(label="Waste method for the remainder", choices=WasteMethod.choices)


class AddendumForm(ChairsideForm):
    id_prefix = "addendum"
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 4}))
