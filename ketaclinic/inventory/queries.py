"""Read helpers: balances computed from ledger entries, a session's balance, the inventory
home's warnings, and the rows of the DEA reports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.inventory.choices import (
    DISPOSAL_KINDS,
    ML_PLACES,
    DiscrepancyStatus,
    EntryKind,
    InventoryKind,
    annual_inventory_required,
    expiry_warning_days,
)
from ketaclinic.inventory.models import Container, Discrepancy, InventoryCount, LedgerEntry, Lot, Product, plain_decimal

ZERO = Decimal("0.000")
# The inventory home starts reminding this many days before the periodic inventory is due.
INVENTORY_DUE_NOTICE_DAYS = 30
_SUM = Coalesce(
    Sum("entries__container_delta_ml"), Value(ZERO), output_field=DecimalField(max_digits=12, decimal_places=3)
)


def container_balance_ml(container_id: int) -> Decimal:
    """The container's mL on hand: the sum of its entries' effects."""
    total = LedgerEntry.objects.filter(container_id=container_id).aggregate(
        total=Coalesce(
            Sum("container_delta_ml"), Value(ZERO), output_field=DecimalField(max_digits=12, decimal_places=3)
        )
    )["total"]
    return _quantized(total)


def corrected_ml(entry: LedgerEntry) -> Decimal:
    """The quantity an entry stands at now: as recorded plus every correction pointing at it."""
    total = LedgerEntry.objects.filter(corrects=entry).aggregate(
        total=Coalesce(Sum("ml"), Value(ZERO), output_field=DecimalField(max_digits=12, decimal_places=3))
    )["total"]
    return (entry.ml + _quantized(total)).quantize(ML_PLACES)


def _quantized(value: object) -> Decimal:
    # SQLite sums decimals as floating point ("1.30000000000000"): bring every sum back to the
    # ledger's precision before comparing or showing it.
    return Decimal(str(value or 0)).quantize(ML_PLACES)


def containers_with_balance(location_ids: list[int] | frozenset[int]) -> QuerySet[Container]:
    """Containers at these locations annotated with ``ml_remaining``, product and lot joined."""
    return (
        Container.objects.filter(location_id__in=location_ids)
        .select_related("lot__product", "location")
        .annotate(ml_remaining=_SUM)
        .order_by("location__name", "lot__product__name", "lot__expires_on", "label")
    )


@dataclass
class BalanceRow:
    container: Container
    ml_remaining: Decimal

    @property
    def mg_remaining(self) -> Decimal:
        return (self.ml_remaining * self.container.lot.product.strength_mg_per_ml).quantize(Decimal("0.001"))


@dataclass
class LotGroup:
    lot: Lot
    rows: list[BalanceRow] = field(default_factory=list)

    @property
    def ml(self) -> Decimal:
        return sum((r.ml_remaining for r in self.rows), ZERO)

    @property
    def mg(self) -> Decimal:
        return sum((r.mg_remaining for r in self.rows), ZERO)


@dataclass
class ProductGroup:
    product: Product
    lots: list[LotGroup] = field(default_factory=list)

    @property
    def ml(self) -> Decimal:
        return sum((g.ml for g in self.lots), ZERO)

    @property
    def mg(self) -> Decimal:
        return sum((g.mg for g in self.lots), ZERO)

    @property
    def is_low(self) -> bool:
        return self.ml < self.product.low_stock_ml


def balance_rows(location_ids: list[int] | frozenset[int], *, include_empty: bool = False) -> list[BalanceRow]:
    rows = [BalanceRow(c, _quantized(c.ml_remaining)) for c in containers_with_balance(location_ids)]  # type: ignore[attr-defined]
    return rows if include_empty else [r for r in rows if r.ml_remaining > 0]


def grouped_balances(location_id: int) -> list[ProductGroup]:
    """Balances of one location by product, then lot, then container (containers with drug only;
    every active product appears, so an empty shelf shows as zero)."""
    groups: dict[int, ProductGroup] = {
        p.pk: ProductGroup(p) for p in Product.objects.filter(location_id=location_id, is_active=True)
    }
    lots: dict[int, LotGroup] = {}
    for row in balance_rows([location_id]):
        product = row.container.lot.product
        group = groups.setdefault(product.pk, ProductGroup(product))
        lot_group = lots.get(row.container.lot_id)
        if lot_group is None:
            lot_group = lots[row.container.lot_id] = LotGroup(row.container.lot)
            group.lots.append(lot_group)
        lot_group.rows.append(row)
    return sorted(groups.values(), key=lambda g: g.product.name)


class SessionBalance(NamedTuple):
    dispensed_ml: Decimal
    administered_ml: Decimal
    wasted_ml: Decimal
    balanced: bool


def session_balance(session_ref: str) -> SessionBalance:
    """Dispensed, administered and wasted mL of one infusion session (corrections included).
    A session may be signed off only when dispensed = administered + wasted and something was
    dispensed."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in LedgerEntry.objects.filter(session_ref=session_ref).select_related("corrects"):
        kind = entry.corrects.kind if entry.kind == EntryKind.CORRECTION and entry.corrects else entry.kind
        totals[kind] += entry.ml
    dispensed, administered, wasted = totals[EntryKind.DISPENSE], totals[EntryKind.ADMINISTER], totals[EntryKind.WASTE]
    return SessionBalance(dispensed, administered, wasted, dispensed > 0 and dispensed == administered + wasted)


def session_outstanding_mg(container_id: int, session_ref: str) -> Decimal:
    """mg dispensed from this container to this session not yet administered or wasted, from the
    entries' own mg (an administration records the pump's computed mg, while its mL is rounded
    to the ledger's 0.001 mL)."""
    outstanding = ZERO
    for entry in LedgerEntry.objects.filter(container_id=container_id, session_ref=session_ref).select_related(
        "corrects"
    ):
        kind = entry.corrects.kind if entry.kind == EntryKind.CORRECTION and entry.corrects else entry.kind
        if kind == EntryKind.DISPENSE:
            outstanding += entry.mg
        elif kind in {EntryKind.ADMINISTER, EntryKind.WASTE}:
            outstanding -= entry.mg
    return outstanding


def session_outstanding_ml(container_id: int, session_ref: str) -> Decimal:
    """mL dispensed from this container to this session not yet administered or wasted."""
    outstanding = ZERO
    for entry in LedgerEntry.objects.filter(container_id=container_id, session_ref=session_ref).select_related(
        "corrects"
    ):
        kind = entry.corrects.kind if entry.kind == EntryKind.CORRECTION and entry.corrects else entry.kind
        if kind == EntryKind.DISPENSE:
            outstanding += entry.ml
        elif kind in {EntryKind.ADMINISTER, EntryKind.WASTE}:
            outstanding -= entry.ml
    return outstanding


@dataclass(frozen=True)
class Warning:
    level: str  # "warning" or "error", the alert modifier
    text: str


def inventory_due_on(location_id: int) -> date | None:
    """When the next periodic inventory is due (None when no inventory was ever taken): two
    years after the last one (21 CFR 1304.11), one year where the clinic's state asks for an
    annual inventory. Counted in the location's own calendar."""
    last = (
        InventoryCount.objects.filter(location_id=location_id).select_related("location").order_by("-taken_at").first()
    )
    if last is None:
        return None
    years = 1 if annual_inventory_required() else 2
    taken = timezone.localtime(last.taken_at, ZoneInfo(last.location.time_zone)).date()
    try:
        return taken.replace(year=taken.year + years)
    except ValueError:  # 29 February
        return taken.replace(year=taken.year + years, day=28)


def next_inventory_kind(location_id: int) -> str:
    """The kind of inventory this location takes next: the initial one, then annual or biennial."""
    if not InventoryCount.objects.filter(location_id=location_id).exists():
        return InventoryKind.INITIAL
    return InventoryKind.ANNUAL if annual_inventory_required() else InventoryKind.BIENNIAL


def warnings(location_id: int, today: date, groups: list[ProductGroup]) -> list[Warning]:
    """Expired or soon-expiring lots still in stock, products below their low-stock level, open
    discrepancies and a missing or overdue inventory."""
    found: list[Warning] = []
    horizon = today + timedelta(days=expiry_warning_days())
    for group in groups:
        for lot_group in group.lots:
            lot = lot_group.lot
            if lot.expires_on < today:
                found.append(
                    Warning(
                        "error",
                        f"{group.product.name} lot {lot.lot_number} expired on {lot.expires_on:%Y-%m-%d} and still "
                        f"holds {lot_group.ml} mL: do not dispense it; return or destroy it through a reverse distributor.",
                    )
                )
            elif lot.expires_on <= horizon:
                days = (lot.expires_on - today).days
                found.append(
                    Warning(
                        "warning",
                        f"{group.product.name} lot {lot.lot_number} expires on {lot.expires_on:%Y-%m-%d} "
                        f"(in {days} days) with {lot_group.ml} mL left: use it first.",
                    )
                )
        if group.is_low:
            found.append(
                Warning(
                    "warning",
                    f"{group.product.name}: {group.ml} mL on hand, below the low-stock level of "
                    f"{plain_decimal(group.product.low_stock_ml)} mL. Order more.",
                )
            )
    open_cases = Discrepancy.objects.filter(location_id=location_id, status=DiscrepancyStatus.OPEN).count()
    if open_cases:
        found.append(Warning("error", f"{open_cases} count discrepancy(ies) wait for the medical director."))
    due = inventory_due_on(location_id)
    if due is None:
        found.append(
            Warning("warning", "No inventory recorded yet: DEA requires an initial inventory (21 CFR 1304.11).")
        )
    elif due <= today + timedelta(days=INVENTORY_DUE_NOTICE_DAYS):
        label = InventoryKind(next_inventory_kind(location_id)).label
        level = "error" if due < today else "warning"
        found.append(Warning(level, f"The next {label.lower()} is due by {due:%Y-%m-%d} (21 CFR 1304.11)."))
    return found


# --- The 21 CFR 1304.22(c) dispensing record -----------------------------------------------------


@dataclass
class ProductRecord:
    product: Product
    opening_ml: Decimal = ZERO
    closing_ml: Decimal = ZERO
    receipts: list[LedgerEntry] = field(default_factory=list)
    dispenses: list[LedgerEntry] = field(default_factory=list)
    administrations: list[LedgerEntry] = field(default_factory=list)
    disposals: list[LedgerEntry] = field(default_factory=list)
    other: list[LedgerEntry] = field(default_factory=list)  # transfers in, adjustments, corrections


def dispensing_record(location_id: int, start: datetime, end: datetime) -> list[ProductRecord]:
    """Every entry of the period [start, end) grouped by product (substance and finished form),
    with the balance on hand before and after it."""
    records: dict[int, ProductRecord] = {
        p.pk: ProductRecord(p) for p in Product.objects.filter(location_id=location_id).order_by("name")
    }
    before = (
        LedgerEntry.objects.filter(location_id=location_id, at__lt=start)
        .values("container__lot__product_id")
        .annotate(total=Sum("container_delta_ml"))
    )
    opening = {row["container__lot__product_id"]: _quantized(row["total"]) for row in before}
    entries = (
        LedgerEntry.objects.filter(location_id=location_id, at__gte=start, at__lt=end)
        .select_related("container__lot__product", "witness", "corrects")
        .order_by("at", "id")
    )
    for record in records.values():
        record.opening_ml = record.closing_ml = opening.get(record.product.pk, ZERO)
    for entry in entries:
        record = records[entry.container.lot.product_id]
        record.closing_ml += entry.container_delta_ml
        if entry.kind == EntryKind.RECEIVE:
            record.receipts.append(entry)
        elif entry.kind == EntryKind.DISPENSE:
            record.dispenses.append(entry)
        elif entry.kind == EntryKind.ADMINISTER:
            record.administrations.append(entry)
        elif entry.kind in DISPOSAL_KINDS:
            record.disposals.append(entry)
        else:
            record.other.append(entry)
    return list(records.values())


def entries_for(container: Container) -> QuerySet[LedgerEntry]:
    return container.entries.select_related("recorded_by", "witness", "second_witness", "corrects").order_by("at", "id")


def open_discrepancies(location_ids: list[int] | frozenset[int]) -> QuerySet[Discrepancy]:
    return Discrepancy.objects.filter(location_id__in=location_ids).select_related(
        "container__lot__product", "location", "resolved_by"
    )
