"""Kinds of ledger entry, product forms, waste methods and the clinic-configurable defaults of
the controlled-substance ledger (sources: ../shared/docs/clinical-reference.md §6)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

# Ketamine is Schedule III, 21 CFR 1308.13(c)(7), DEA controlled-substance code 7285.
KETAMINE_SCHEDULE = "CIII"
KETAMINE_DEA_CODE = "7285"

# Quantities are kept to the thousandth of a millilitre (the smallest syringe graduation used
# chairside is 0.01 mL; one more place keeps mg -> mL conversions exact enough to balance).
ML_PLACES = Decimal("0.001")
MG_PLACES = Decimal("0.001")

# A reason short enough to be "x" tells an inspector nothing.
MIN_REASON_CHARS = 10


def expiry_warning_days() -> int:
    """Lots expiring within this many days are flagged on the inventory home (clinic setting
    ``INVENTORY_EXPIRY_WARNING_DAYS``, default 60)."""
    return int(getattr(settings, "INVENTORY_EXPIRY_WARNING_DAYS", 60))


def low_stock_default_ml() -> Decimal:
    """The low-stock level a new product starts with, in mL on hand across all its vials (clinic
    setting ``INVENTORY_LOW_STOCK_ML``, default 50 mL). An ordering threshold, not a clinical
    number: the medical director sets it per product, and so per location, on the product page."""
    return Decimal(str(getattr(settings, "INVENTORY_LOW_STOCK_ML", 50)))


def annual_inventory_required() -> bool:
    """DEA asks for an inventory at least every two years (21 CFR 1304.11); some states ask every
    year. Clinic setting ``INVENTORY_ANNUAL_REQUIRED`` (default False, i.e. biennial)."""
    return bool(getattr(settings, "INVENTORY_ANNUAL_REQUIRED", False))


class EntryKind(models.TextChoices):
    RECEIVE = "receive", "Received"
    DISPENSE = "dispense", "Dispensed to a session"
    ADMINISTER = "administer", "Administered"
    WASTE = "waste", "Wasted (witnessed)"
    RETURN = "return", "Returned unopened"
    TRANSFER_OUT = "transfer_out", "Transferred out"
    TRANSFER_IN = "transfer_in", "Transferred in"
    LOSS = "loss", "Loss or theft (DEA Form 106)"
    DESTRUCTION = "destruction", "Destroyed via reverse distributor (DEA Form 41)"
    ADJUSTMENT = "adjustment", "Adjustment"
    CORRECTION = "correction", "Correction"


# How one mL recorded on an entry moves its container's balance. Administration and the waste
# of a session's remainder move nothing in the vial: the drug already left it when dispensed.
CONTAINER_SIGN: dict[str, int] = {
    EntryKind.RECEIVE: 1,
    EntryKind.DISPENSE: -1,
    EntryKind.ADMINISTER: 0,
    EntryKind.WASTE: -1,  # 0 when the waste is a session's remainder (see LedgerEntry.container_effect)
    EntryKind.RETURN: -1,
    EntryKind.TRANSFER_OUT: -1,
    EntryKind.TRANSFER_IN: 1,
    EntryKind.LOSS: -1,
    EntryKind.DESTRUCTION: -1,
    EntryKind.ADJUSTMENT: 1,  # signed: the adjustment's own sign says which way
}

# Kinds that take drug out of the clinic's possession for good: the "disposals" of 1304.22(c).
DISPOSAL_KINDS = (EntryKind.WASTE, EntryKind.RETURN, EntryKind.TRANSFER_OUT, EntryKind.LOSS, EntryKind.DESTRUCTION)


class ProductForm(models.TextChoices):
    VIAL = "injection_vial", "Injection, solution, multiple-dose vial"
    SINGLE_VIAL = "injection_single_vial", "Injection, solution, single-dose vial"


class WasteMethod(models.TextChoices):
    # Waste need not go on DEA Form 41 (DEA letter citing 79 FR 53521) but must be recorded and
    # rendered non-retrievable; these are the methods clinics commonly use.
    DENATURING_CONTAINER = "denaturing", "Into a drug-denaturing waste container"
    SHARPS_SOLIDIFIER = "solidifier", "Into a sharps container with solidifier"
    OTHER = "other", "Other (describe in the reason)"


class WitnessMethod(models.TextChoices):
    PASSWORD = "password", "Re-entered password"
    OTP = "otp", "Authenticator code"


class LossType(models.TextChoices):
    # The categories DEA Form 106 asks for.
    NIGHT_BREAK_IN = "night_break_in", "Night break-in"
    ARMED_ROBBERY = "armed_robbery", "Armed robbery"
    EMPLOYEE_PILFERAGE = "employee_pilferage", "Employee pilferage"
    CUSTOMER_THEFT = "customer_theft", "Customer theft"
    LOST_IN_TRANSIT = "lost_in_transit", "Lost in transit"
    UNEXPLAINED_LOSS = "unexplained", "Unexplained loss (found at a count)"
    OTHER = "other", "Other (describe)"


class DiscrepancyStatus(models.TextChoices):
    OPEN = "open", "Open"
    EXPLAINED = "explained", "Explained"
    ADJUSTED = "adjusted", "Adjusted"
    REPORTED_LOSS = "reported_loss", "Reported as loss"


class InventoryKind(models.TextChoices):
    INITIAL = "initial", "Initial inventory"
    BIENNIAL = "biennial", "Biennial inventory"
    ANNUAL = "annual", "Annual inventory"


class BusinessTime(models.TextChoices):
    # 21 CFR 1304.11(a): the inventory states whether it was taken at opening or close of business.
    OPENING = "opening", "Opening of business"
    CLOSE = "close", "Close of business"
