"""Forms of the inventory pages. They validate input; the actions decide what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from ketaclinic.clinics.models import Location, dea_validator
from ketaclinic.inventory.choices import (
    BusinessTime,
    DiscrepancyStatus,
    InventoryKind,
    LossType,
    WasteMethod,
    low_stock_default_ml,
)
from ketaclinic.inventory.models import Product
from ketaclinic.inventory.queries import BalanceRow

DATE = forms.DateInput(attrs={"type": "date"})


class DeaNumberField(forms.CharField):
    """A DEA registration number: two letters and seven digits, upper-cased."""

    default_validators = [dea_validator]  # noqa: RUF012 - Django reads this class attribute

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 9)
        kwargs.setdefault("help_text", "Two letters, seven digits.")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).upper()


class LocationForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Location", empty_label=None)

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]


class ProductCreateForm(forms.ModelForm[Product]):
    class Meta:
        model = Product
        fields = ("name", "ndc", "strength_mg_per_ml", "container_volume_ml", "form", "low_stock_ml")
        help_texts = {  # noqa: RUF012 - Django reads this class attribute
            "ndc": "11 digits as 5-4-2, from the carton (e.g. 12345-0678-10).",
            "low_stock_ml": "The inventory home warns when all vials of this product together hold less.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial["low_stock_ml"] = low_stock_default_ml()


class LowStockForm(forms.Form):
    low_stock_ml = forms.DecimalField(
        label="Low-stock warning (mL)",
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=3,
        help_text="The inventory home warns when all vials of this product together hold less. 0 turns the warning off.",
    )


class ReceiveForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label="Product", empty_label=None)
    lot_number = forms.CharField(max_length=40, label="Lot number")
    expires_on = forms.DateField(label="Expiry date", widget=DATE)
    containers = forms.IntegerField(min_value=1, max_value=500, label="Number of vials received")
    supplier_name = forms.CharField(max_length=200, label="Supplier name")
    supplier_address = forms.CharField(max_length=300, label="Supplier address")
    supplier_dea_number = DeaNumberField(label="Supplier DEA number")
    invoice_number = forms.CharField(max_length=60, label="Invoice number")

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]

    def clean_expires_on(self) -> Any:
        value = self.cleaned_data["expires_on"]
        if value < timezone.localdate():
            raise forms.ValidationError("This lot has already expired: do not receive it into stock.")
        return value


class WitnessFields(forms.Form):
    witness_username = forms.CharField(max_length=150, label="Witness username", required=False)
    witness_password = forms.CharField(
        label="Witness password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Typed by the witness now. Or leave empty and use their authenticator code.",
    )
    witness_otp = forms.CharField(
        label="Witness authenticator code",
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class WasteForm(WitnessFields):
    ml = forms.DecimalField(label="Quantity wasted (mL)", min_value=Decimal("0.001"), max_digits=10, decimal_places=3)
    method = forms.ChoiceField(choices=WasteMethod.choices, label="Method")
    session_ref = forms.CharField(
        max_length=64,
        required=False,
        label="Infusion session (if this is a session's remainder)",
        help_text="Leave empty when the drug is wasted straight from the vial (broken or contaminated).",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Reason or description")


def _witness_fields(label: str) -> tuple[forms.CharField, forms.CharField, forms.CharField]:
    """Username, password and authenticator-code fields for one witness."""
    return (
        forms.CharField(max_length=150, label=f"{label} username", required=False),
        forms.CharField(
            label=f"{label} password",
            required=False,
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
            help_text="Typed by the witness now. Or leave empty and use their authenticator code.",
        ),
        forms.CharField(
            label=f"{label} authenticator code",
            required=False,
            max_length=6,
            widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        ),
    )


REASON = forms.Textarea(attrs={"rows": 3})


class ReturnForm(forms.Form):
    """Return of an unopened vial to the supplier: whom it goes to, and why."""

    recipient_name = forms.CharField(max_length=200, label="Returned to (supplier)")
    recipient_address = forms.CharField(max_length=300, label="Supplier address")
    recipient_dea_number = DeaNumberField(label="Supplier DEA number")
    reason = forms.CharField(widget=REASON, label="Reason for the return", help_text="At least 10 characters.")


class TransferForm(forms.Form):
    """Transfer of a vial to another location (another DEA registration) the user works at."""

    to_location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Transfer to", empty_label=None)
    reason = forms.CharField(widget=REASON, label="Reason for the transfer", help_text="At least 10 characters.")

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_location"].queryset = locations  # type: ignore[attr-defined]


class DestructionForm(forms.Form):
    """Drug handed to a reverse distributor for destruction: the DEA Form 41 facts and two
    witnesses who each re-authenticate now (21 CFR 1317.95)."""

    ml = forms.DecimalField(
        label="Quantity handed over (mL)", min_value=Decimal("0.001"), max_digits=10, decimal_places=3
    )
    reverse_distributor_name = forms.CharField(max_length=200, label="Reverse distributor")
    reverse_distributor_address = forms.CharField(max_length=300, label="Reverse distributor address")
    reverse_distributor_dea_number = DeaNumberField(label="Reverse distributor DEA number")
    method = forms.CharField(
        max_length=200,
        label="Method of destruction",
        help_text="As the reverse distributor states it, e.g. incineration.",
    )
    form_41_reference = forms.CharField(
        max_length=60, required=False, label="DEA Form 41 reference", help_text="If the form or pickup has a number."
    )
    witness_username, witness_password, witness_otp = _witness_fields("First witness")
    second_witness_username, second_witness_password, second_witness_otp = _witness_fields("Second witness")


class CorrectionForm(forms.Form):
    """The quantity an earlier entry should have had; the view records the difference."""

    corrected_ml = forms.DecimalField(label="Correct quantity (mL)", max_digits=10, decimal_places=3)
    reason = forms.CharField(
        widget=REASON,
        label="Reason for the correction",
        help_text="At least 10 characters: what was wrong and how it was found.",
    )

    def __init__(self, *args: Any, current_ml: Decimal, signed: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_ml = current_ml
        self.signed = signed
        self.fields["corrected_ml"].help_text = f"What the entry should have said. It stands at {current_ml} mL now" + (
            "; an adjustment may be negative." if signed else "."
        )

    def clean_corrected_ml(self) -> Decimal:
        value: Decimal = self.cleaned_data["corrected_ml"]
        if not self.signed and value < 0:
            raise forms.ValidationError("A quantity cannot be below 0 mL.")
        if value == self.current_ml:
            raise forms.ValidationError(f"The entry already stands at {self.current_ml} mL: nothing to correct.")
        return value

    @property
    def ml_change(self) -> Decimal:
        return Decimal(self.cleaned_data["corrected_ml"]) - self.current_ml


class AdjustForm(forms.Form):
    ml = forms.DecimalField(
        label="Adjustment (mL)",
        max_digits=10,
        decimal_places=3,
        help_text="Positive adds to the vial's balance, negative takes away.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason")


class LossForm(forms.Form):
    ml = forms.DecimalField(label="Quantity lost (mL)", min_value=Decimal("0.001"), max_digits=10, decimal_places=3)
    loss_type = forms.ChoiceField(choices=LossType.choices, label="Type of loss (DEA Form 106)")
    discovered_on = forms.DateField(label="Date discovered", widget=DATE)
    police_notified = forms.BooleanField(required=False, label="Police notified")
    police_report_number = forms.CharField(max_length=60, required=False, label="Police report number")
    circumstances = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What happened")


class CountForm(forms.Form):
    """One field per container on hand: the mL counted."""

    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Note")

    def __init__(self, *args: Any, rows: Iterable[BalanceRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = list(rows)
        for row in self.rows:
            c = row.container
            self.fields[f"ml_{c.pk}"] = forms.DecimalField(
                label=f"{c.label} counted (mL)",
                min_value=Decimal(0),
                max_digits=10,
                decimal_places=3,
                help_text=f"{c.lot.product.name}, lot {c.lot.lot_number}",
            )

    def counted(self) -> dict[int, Decimal]:
        return {row.container.pk: self.cleaned_data[f"ml_{row.container.pk}"] for row in self.rows}

    def count_fields(self) -> list[tuple[BalanceRow, forms.BoundField]]:
        return [(row, self[f"ml_{row.container.pk}"]) for row in self.rows]


class InventoryForm(CountForm):
    kind = forms.ChoiceField(choices=InventoryKind.choices, label="Kind of inventory")
    business_time = forms.ChoiceField(choices=BusinessTime.choices, label="Taken at")
    password = forms.CharField(
        label="Your password (signs the inventory)",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=[(s.value, s.label) for s in DiscrepancyStatus if s != DiscrepancyStatus.OPEN],
        widget=forms.RadioSelect,
        label="Resolution",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Explanation")


class PeriodForm(forms.Form):
    start = forms.DateField(label="From (first day)", widget=DATE)
    end = forms.DateField(label="To (last day, included)", widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The last day is before the first.")
        return data

    @staticmethod
    def default_initial() -> dict[str, Any]:
        today = timezone.localdate()
        return {"start": today - timedelta(days=30), "end": today}
