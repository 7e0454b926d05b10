"""Demo ledger: four months of controlled-substance history at the demo location, made through
the real actions in time order. Two ketamine products with synthetic NDCs (labeler code 99999
is not assigned to any real firm), receipts from an invented distributor, an initial inventory,
every infusion of the demo's bookings (dispensed at bag preparation, the computed total
administered, the remainder wasted with a witness: ketaclinic/infusions/demo.py),
a count at the close of every day, one resolved discrepancy, one lot expiring soon, a sealed
vial returned to the supplier, a vial handed to a reverse distributor for destruction (two
witnesses), and, when the demo has a second location, a vial transferred there."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ketaclinic.clinics.models import Location
from ketaclinic.demo.seed import demo_password
from ketaclinic.infusions import demo as infusions_demo
from ketaclinic.inventory.actions import (
    DestructionFacts,
    WitnessCredential,
    create_product,
    receive_stock,
    record_count,
    record_destruction,
    resolve_discrepancy,
    return_container,
    take_inventory,
    transfer_container,
)
from ketaclinic.inventory.choices import BusinessTime, DiscrepancyStatus, InventoryKind
from ketaclinic.inventory.models import Container, Discrepancy, Product
from ketaclinic.inventory.queries import balance_rows, container_balance_ml

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext

HISTORY_DAYS = 120
DISCREPANCY_DAY = 75
RETURN_DAY = 62
DESTRUCTION_DAY = 90
TRANSFER_DAY = 100
REVERSE_DISTRIBUTOR = {
    "reverse_distributor_name": "Harbor Example Returns Co.",
    "reverse_distributor_address": "77 Demo Industrial Way, Memphis, TN 38118",
    "reverse_distributor_dea_number": "RH7654321",
}
SUPPLIER = {
    "supplier_name": "Meridian Example Pharma Distribution LLC",
    "supplier_address": "400 Sample Parkway, Columbus, OH 43004",
    "supplier_dea_number": "RM1234563",
}


def _at(ctx: DemoContext, day: int, hour: int, minute: int = 0) -> datetime:
    zone = ZoneInfo(ctx.location.time_zone)
    local_day = (ctx.now.astimezone(zone) - timedelta(days=HISTORY_DAYS - day)).date()
    return datetime.combine(local_day, time(hour, minute), tzinfo=zone)


def _receive(
    ctx: DemoContext, product: Product, *, lot: str, expires_in_days: int, vials: int, invoice: str, day: int
) -> None:
    receive_stock(
        acting_user=ctx.users["nurse"],
        product=product,
        lot_number=lot,
        expires_on=ctx.now.date() + timedelta(days=expires_in_days),
        containers=vials,
        invoice_number=invoice,
        received_at=_at(ctx, day, 8, 30),
        **SUPPLIER,
    )


def _sealed_vial(ctx: DemoContext, product: Product, lot_number: str = "") -> Container | None:
    """The last-received sealed vial of the product (of one lot, if named) that still holds drug."""
    sealed = Container.objects.filter(location=ctx.location, lot__product=product, opened_at__isnull=True)
    if lot_number:
        sealed = sealed.filter(lot__lot_number=lot_number)
    for container in sealed.order_by("-label"):
        if container_balance_ml(container.pk) > 0:
            return container
    return None


def _return(ctx: DemoContext, product: Product) -> None:
    vial = _sealed_vial(ctx, product, "KD25C204")
    if vial is None:
        return
    return_container(
        acting_user=ctx.users["director"],
        container=vial,
        recipient_name=SUPPLIER["supplier_name"],
        recipient_address=SUPPLIER["supplier_address"],
        recipient_dea_number=SUPPLIER["supplier_dea_number"],
        reason="Invoice MEP-21877 was for five vials and six arrived; the extra sealed vial goes back.",
        at=_at(ctx, RETURN_DAY, 10),
    )


def _destruction(ctx: DemoContext, product: Product) -> None:
    vial = _sealed_vial(ctx, product)
    if vial is None:
        return
    record_destruction(
        acting_user=ctx.users["director"],
        container=vial,
        ml=container_balance_ml(vial.pk),
        facts=DestructionFacts(
            **REVERSE_DISTRIBUTOR,
            method="Incineration by the reverse distributor (vial with visible particles, quarantined)",
            form_41_reference="DEMO-F41-0001",
        ),
        witnesses=(
            WitnessCredential(ctx.users["nurse"].username, password=demo_password()),
            WitnessCredential(ctx.users["nurse2"].username, password=demo_password()),
        ),
        at=_at(ctx, DESTRUCTION_DAY, 16),
    )


def _transfer(ctx: DemoContext, product: Product) -> None:
    other = Location.objects.filter(is_active=True).exclude(pk=ctx.location.pk).order_by("name").first()
    vial = _sealed_vial(ctx, product)
    if other is None or vial is None:
        return  # The demo clinic has one location: nothing to transfer to.
    transfer_container(
        acting_user=ctx.users["director"],
        container=vial,
        to_location=other,
        reason="The other site ran short before its own delivery.",
        at=_at(ctx, TRANSFER_DAY, 9),
    )


def _count(ctx: DemoContext, day: int) -> None:
    rows = balance_rows([ctx.location.pk])
    if not rows:
        return
    counted = {r.container.pk: r.ml_remaining for r in rows}
    if day == DISCREPANCY_DAY:
        opened = next((r for r in rows if r.container.opened_at is not None), rows[0])
        counted[opened.container.pk] = opened.ml_remaining - Decimal("0.200")
    record_count(
        acting_user=ctx.users["nurse2"],
        location=ctx.location,
        counted=counted,
        note="Close-of-day count",
        counted_at=_at(ctx, day, 18),
    )


def seed(ctx: DemoContext) -> None:
    director = ctx.users["director"]
    ketamine_50 = create_product(
        acting_user=director,
        location=ctx.location,
        name="Ketamine HCl injection (demo)",
        ndc="99999-0501-10",
        strength_mg_per_ml=Decimal(50),
        container_volume_ml=Decimal(10),
        low_stock_ml=Decimal(40),
    )
    ketamine_100 = create_product(
        acting_user=director,
        location=ctx.location,
        name="Ketamine HCl injection, concentrated (demo)",
        ndc="99999-1005-05",
        strength_mg_per_ml=Decimal(100),
        container_volume_ml=Decimal(5),
        low_stock_ml=Decimal(10),
    )
    take_inventory(
        acting_user=director,
        location=ctx.location,
        kind=InventoryKind.INITIAL,
        business_time=BusinessTime.OPENING,
        counted={},
        password=demo_password(),
        note="Initial inventory on opening the registration: no stock on hand.",
        taken_at=_at(ctx, 0, 8),
    )
    for day in range(1, HISTORY_DAYS):
        if day == 1:
            _receive(ctx, ketamine_50, lot="KD24A117", expires_in_days=400, vials=6, invoice="MEP-20411", day=day)
            # This lot expires within the warning window: the home page flags it.
            _receive(ctx, ketamine_100, lot="KC24B032", expires_in_days=40, vials=3, invoice="MEP-20412", day=day)
        if day == 60:  # noqa: PLR2004 - the day of the second shipment
            _receive(ctx, ketamine_50, lot="KD25C204", expires_in_days=520, vials=6, invoice="MEP-21877", day=day)
        if day == RETURN_DAY:
            _return(ctx, ketamine_50)
        if day == DESTRUCTION_DAY:
            _destruction(ctx, ketamine_50)
        if day == TRANSFER_DAY:
            _transfer(ctx, ketamine_50)
        # The day's infusions (charted through the chairside record, which dispenses, administers
        # and wastes on this ledger) come before the close-of-day count that must see them.
        infusions_demo.chart_through(ctx, _at(ctx, day, 17, 59))
        _count(ctx, day)
        case = Discrepancy.objects.filter(location=ctx.location, status=DiscrepancyStatus.OPEN).first()
        if case is not None:
            resolve_discrepancy(
                acting_user=director,
                discrepancy=case,
                resolution=DiscrepancyStatus.ADJUSTED,
                note="Recount with a second nurse confirmed 0.2 mL held up in the vial's dead space; ledger adjusted.",
                resolved_at=_at(ctx, day, 18, 30),
            )
