"""The controlled-substance ledger: products, lots and containers of ketamine at each DEA
registered location, the append-only ledger of every movement, shift counts and their
discrepancies, and the periodic inventories DEA requires."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location
from ketaclinic.core.models import AppendOnlyError
from ketaclinic.inventory.choices import (
    CONTAINER_SIGN,
    KETAMINE_DEA_CODE,
    KETAMINE_SCHEDULE,
    BusinessTime,
    DiscrepancyStatus,
    EntryKind,
    InventoryKind,
    ProductForm,
    WitnessMethod,
)

# The 11-digit NDC in its 5-4-2 billing form (the form J3490 claims need, clinical-reference §6).
ndc_validator = RegexValidator(r"^\d{5}-\d{4}-\d{2}$", "Enter the 11-digit NDC as 5-4-2 digits, e.g. 12345-0678-10.")


def plain_decimal(value: Decimal) -> str:
    """``50.000`` as ``50`` and ``2.500`` as ``2.5``, never in exponent form."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Product(models.Model):
    """One finished form of ketamine as the clinic buys it at one location: its name, NDC,
    strength and vial size. DEA records are kept per substance and finished form
    (21 CFR 1304.22), so every ledger entry belongs to one product through its container."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=120)
    ndc = models.CharField("NDC", max_length=13, validators=[ndc_validator])
    strength_mg_per_ml = models.DecimalField(
        "Strength (mg/mL)", max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    container_volume_ml = models.DecimalField(
        "Vial volume (mL)", max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    form = models.CharField(max_length=30, choices=ProductForm.choices, default=ProductForm.VIAL)
    schedule = models.CharField(max_length=4, default=KETAMINE_SCHEDULE, editable=False)
    dea_code = models.CharField("DEA code", max_length=4, default=KETAMINE_DEA_CODE, editable=False)
    # Below this many mL on hand (all containers of the product) the inventory home warns.
    low_stock_ml = models.DecimalField("Low-stock warning (mL)", max_digits=10, decimal_places=3, default=Decimal(50))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["location", "name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["location", "ndc"], name="inventory_product_ndc_once_per_location")
        ]

    def __str__(self) -> str:
        return (
            f"{self.name} {plain_decimal(self.strength_mg_per_ml)} mg/mL, {plain_decimal(self.container_volume_ml)} mL"
        )


class Lot(models.Model):
    """A manufacturer's lot of one product, with its expiry date."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()

    class Meta:
        ordering: ClassVar[list[str]] = ["expires_on", "lot_number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="inventory_lot_once_per_product")
        ]

    def __str__(self) -> str:
        return f"Lot {self.lot_number} (expires {self.expires_on:%Y-%m-%d})"

    def is_expired_on(self, day: date) -> bool:
        return self.expires_on < day


class Container(models.Model):
    """One vial on the shelf or in use, labelled by the clinic. Its balance in mL is always the
    sum of its ledger entries (see ``queries.container_balance_ml``), never a stored number."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="containers")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="containers")
    label = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["location", "label"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["location", "label"], name="inventory_container_label_once_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.lot.product.name}, lot {self.lot.lot_number})"

    @property
    def product(self) -> Product:
        return self.lot.product


class LedgerEntry(models.Model):
    """One movement of ketamine at one location: received, dispensed to an infusion session,
    administered, wasted, returned, transferred, lost, destroyed, adjusted or corrected. Written
    once and never changed (the model refuses, and a database trigger refuses too); a mistake is
    fixed by a correction entry that points at it. Each entry stores the SHA-256 of its content
    and the hash of the location's previous entry, so ``manage.py verify_ledger`` detects an edit
    made behind the application's back."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices, db_index=True)
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="entries")
    # The quantity as recorded (signed only for adjustments and corrections) ...
    ml = models.DecimalField(max_digits=10, decimal_places=3)
    mg = models.DecimalField(max_digits=12, decimal_places=3)
    # ... and how it moved the container's balance (see choices.CONTAINER_SIGN).
    container_delta_ml = models.DecimalField(max_digits=10, decimal_places=3)
    at = models.DateTimeField(db_index=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Copied, not joined: the DEA record must read the same after a person is renamed.
    recorded_by_name = models.CharField(max_length=150)
    recorded_by_initials = models.CharField(max_length=8)
    reason = models.TextField(blank=True)
    # The infusion session this drug went to (an ID until the chairside module links sessions).
    session_ref = models.CharField(max_length=64, blank=True, db_index=True)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    # 21 CFR 1304.22(c) asks for the patient's name and address on each administration: copied
    # at the time, as the record of that day.
    patient_name = models.CharField(max_length=170, blank=True)
    patient_address = models.CharField(max_length=500, blank=True)
    # Facts each kind needs: supplier and invoice (receive), method (waste), DEA Form 106 facts
    # (loss), reverse distributor and Form 41 facts (destruction), the other site (transfer).
    details = models.JSONField(default=dict, blank=True)
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    witness_name = models.CharField(max_length=150, blank=True)
    witness_method = models.CharField(max_length=10, choices=WitnessMethod.choices, blank=True)
    second_witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_witness_name = models.CharField(max_length=150, blank=True)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    HASHED_FIELDS: ClassVar[tuple[str, ...]] = (
        "location_id",
        "kind",
        "container_id",
        "ml",
        "mg",
        "container_delta_ml",
        "at",
        "recorded_by_id",
        "recorded_by_name",
        "recorded_by_initials",
        "reason",
        "session_ref",
        "patient_id",
        "patient_name",
        "patient_address",
        "details",
        "witness_id",
        "witness_name",
        "witness_method",
        "second_witness_id",
        "second_witness_name",
        "corrects_id",
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["location", "id"], name="inventory_ledger_chain")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.ml} mL ({self.container.label})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Ledger entries are never changed after they are written; record a correction")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Ledger entries are never deleted; record a correction")

    @property
    def facts(self) -> str:
        """The kind-specific facts in one line, for the ledger page and the DEA reports."""
        d = self.details
        if self.kind == EntryKind.RECEIVE:
            return (
                f"from {d.get('supplier_name', '')}, {d.get('supplier_address', '')} "
                f"(DEA {d.get('supplier_dea_number', '')}), invoice {d.get('invoice_number', '')}"
            )
        if self.kind == EntryKind.WASTE:
            return f"method: {d.get('method_label', d.get('method', ''))}"
        if self.kind == EntryKind.LOSS:
            police = (
                f"police report {d.get('police_report_number')}" if d.get("police_notified") else "police not notified"
            )
            return f"{d.get('loss_type_label', '')}; discovered {d.get('discovered_on', '')}; {police}"
        if self.kind == EntryKind.DESTRUCTION:
            return (
                f"reverse distributor {d.get('reverse_distributor_name', '')} "
                f"(DEA {d.get('reverse_distributor_dea_number', '')}); method: {d.get('method', '')}; "
                f"Form 41 {d.get('form_41_reference', '') or 'reference not given'}"
            )
        if self.kind == EntryKind.RETURN:
            return f"returned to {d.get('recipient_name', '')} (DEA {d.get('recipient_dea_number', '')})"
        if self.kind == EntryKind.TRANSFER_OUT:
            return f"to {d.get('to_location', '')} (DEA {d.get('to_dea_number', '') or 'not on file'})"
        if self.kind == EntryKind.TRANSFER_IN:
            return f"from {d.get('from_location', '')} (DEA {d.get('from_dea_number', '') or 'not on file'})"
        if self.kind == EntryKind.CORRECTION and self.corrects_id:
            return f"corrects entry {self.corrects_id}"
        return ""

    @property
    def correction_refusal(self) -> str:
        """Why this entry cannot be corrected, or "" when it can. A correction fixes the
        quantity of an original entry; a transfer is two entries at two registrations, so it is
        undone by transferring the vial back, never by correcting one side."""
        if self.kind == EntryKind.CORRECTION:
            return f"Entry #{self.pk} is itself a correction: correct the original entry #{self.corrects_id} instead."
        if self.kind in {EntryKind.TRANSFER_OUT, EntryKind.TRANSFER_IN}:
            return "A transfer moves a whole vial between two registrations: transfer the vial back instead."
        return ""

    @property
    def is_correctable(self) -> bool:
        return not self.correction_refusal

    @staticmethod
    def container_effect(kind: str, ml: Decimal, *, session_ref: str) -> Decimal:
        """How recording ``ml`` of ``kind`` moves the container's balance."""
        if kind == EntryKind.WASTE and session_ref:
            return Decimal(0)
        return ml * CONTAINER_SIGN[kind]


class CountSheet(models.Model):
    """A shift count of the open (and sealed) containers at a location: for each, the mL the
    ledger expects and the mL counted. A difference opens a discrepancy for the medical
    director."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="count_sheets")
    counted_at = models.DateTimeField(default=timezone.now)
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-counted_at", "-id"]

    def __str__(self) -> str:
        return f"Count at {self.location.name} on {self.counted_at:%Y-%m-%d %H:%M}"


class CountLine(models.Model):
    """One container on a count sheet."""

    sheet = models.ForeignKey(CountSheet, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="count_lines")
    expected_ml = models.DecimalField(max_digits=10, decimal_places=3)
    counted_ml = models.DecimalField(max_digits=10, decimal_places=3)

    class Meta:
        ordering: ClassVar[list[str]] = ["container__label"]

    def __str__(self) -> str:
        return f"{self.container.label}: expected {self.expected_ml} mL, counted {self.counted_ml} mL"

    @property
    def difference_ml(self) -> Decimal:
        return self.counted_ml - self.expected_ml


class Discrepancy(models.Model):
    """A container whose count did not match the ledger. Stays open until the medical director
    resolves it: explained (no stock change), adjusted (an adjustment entry), or reported as a
    loss (a loss entry with the DEA Form 106 facts)."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="discrepancies")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="discrepancies")
    count_line = models.OneToOneField(
        CountLine, null=True, blank=True, on_delete=models.PROTECT, related_name="discrepancy"
    )
    inventory_line = models.OneToOneField(
        "InventoryLine", null=True, blank=True, on_delete=models.PROTECT, related_name="discrepancy"
    )
    expected_ml = models.DecimalField(max_digits=10, decimal_places=3)
    counted_ml = models.DecimalField(max_digits=10, decimal_places=3)
    opened_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=15, choices=DiscrepancyStatus.choices, default=DiscrepancyStatus.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    entry = models.ForeignKey(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["-opened_at", "-id"]
        verbose_name_plural = "discrepancies"

    def __str__(self) -> str:
        return f"{self.container.label}: {self.difference_ml} mL ({self.get_status_display()})"

    @property
    def difference_ml(self) -> Decimal:
        return self.counted_ml - self.expected_ml

    @property
    def is_open(self) -> bool:
        return self.status == DiscrepancyStatus.OPEN


class InventoryCount(models.Model):
    """The inventory DEA requires on the first day and at least every two years
    (21 CFR 1304.11), or every year where the clinic's state asks: taken at opening or close of
    business, the exact mL in every container, signed by the person who took it (password
    re-entered)."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="inventories")
    kind = models.CharField(max_length=10, choices=InventoryKind.choices)
    business_time = models.CharField(max_length=10, choices=BusinessTime.choices)
    taken_at = models.DateTimeField(default=timezone.now)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    taken_by_name = models.CharField(max_length=150)
    signed_at = models.DateTimeField()
    note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.location.name}, {self.taken_at:%Y-%m-%d}"


class InventoryLine(models.Model):
    """One container on an inventory, with the mL counted."""

    inventory = models.ForeignKey(InventoryCount, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="inventory_lines")
    is_opened = models.BooleanField()
    expected_ml = models.DecimalField(max_digits=10, decimal_places=3)
    counted_ml = models.DecimalField(max_digits=10, decimal_places=3)

    class Meta:
        ordering: ClassVar[list[str]] = ["container__label"]

    def __str__(self) -> str:
        return f"{self.container.label}: {self.counted_ml} mL"
