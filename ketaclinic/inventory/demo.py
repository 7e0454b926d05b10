"""Demo ledger: four months of controlled-substance history at the demo location, made through
the real actions in time order. Two ketamine products with synthetic NDCs (labeler code 99999
is not assigned to any real firm), receipts from an invented distributor, an initial inventory,
an infusion session every few days (dispensed, administered, remainder wasted with a witness),
a count at the close of every day, one resolved discrepancy, and one lot expiring soon."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ketaclinic.demo.seed import demo_password
from ketaclinic.inventory.actions import (
    WitnessCredential,
    administer,
    create_product,
    dispense,
    receive_stock,
    record_count,
    resolve_discrepancy,
    take_inventory,
    waste,
)
from ketaclinic.inventory.choices import BusinessTime, DiscrepancyStatus, InventoryKind, WasteMethod
from ketaclinic.inventory.models import Container, Discrepancy, Product
from ketaclinic.inventory.queries import balance_rows, container_balance_ml

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext

HISTORY_DAYS = 120
SESSION_EVERY_DAYS = 3
DISCREPANCY_DAY = 75
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


def _vial_for(ctx: DemoContext, product: Product, ml: Decimal) -> Container | None:
    # Use an opened vial first, then the lot that expires first (first-expiring, first-out).
    candidates = Container.objects.filter(location=ctx.location, lot__product=product).order_by(
        "opened_at", "lot__expires_on", "label"
    )
    opened = [c for c in candidates if c.opened_at is not None]
    for container in [*opened, *[c for c in candidates if c.opened_at is None]]:
        if container_balance_ml(container.pk) >= ml:
            return container
    return None


def _session(ctx: DemoContext, product: Product, number: int, day: int) -> None:
    nurse = ctx.users["nurse"]
    patient = ctx.patients[number % len(ctx.patients)]
    drawn_ml = Decimal(ctx.rng.choice(["1.500", "2.000", "2.500", "3.000"]))
    vial = _vial_for(ctx, product, drawn_ml)
    if vial is None:
        return
    session_ref = f"DEMO-{_at(ctx, day, 0):%Y%m%d}-{number:03d}"
    dispense(
        acting_user=nurse,
        container=vial,
        ml=drawn_ml,
        session_ref=session_ref,
        patient=patient,
        at=_at(ctx, day, 9, 15),
    )
    # The pump delivers most of the bag; what is left is wasted with a witness.
    given_mg = (
        drawn_ml * product.strength_mg_per_ml * Decimal(ctx.rng.choice(["0.80", "0.85", "0.90", "1.00"]))
    ).quantize(Decimal("0.001"))
    administer(acting_user=nurse, container=vial, session_ref=session_ref, mg=given_mg, at=_at(ctx, day, 11, 40))
    left_ml = drawn_ml - (given_mg / product.strength_mg_per_ml).quantize(Decimal("0.001"))
    if left_ml > 0:
        waste(
            acting_user=nurse,
            container=vial,
            ml=left_ml,
            method=WasteMethod.DENATURING_CONTAINER,
            witness=WitnessCredential(ctx.users["nurse2"].username, password=demo_password()),
            session_ref=session_ref,
            at=_at(ctx, day, 11, 50),
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
    session = 0
    for day in range(1, HISTORY_DAYS):
        if day == 1:
            _receive(ctx, ketamine_50, lot="KD24A117", expires_in_days=400, vials=6, invoice="MEP-20411", day=day)
            # This lot expires within the warning window: the home page flags it.
            _receive(ctx, ketamine_100, lot="KC24B032", expires_in_days=40, vials=3, invoice="MEP-20412", day=day)
        if day == 60:  # noqa: PLR2004 - the day of the second shipment
            _receive(ctx, ketamine_50, lot="KD25C204", expires_in_days=520, vials=6, invoice="MEP-21877", day=day)
        if day % SESSION_EVERY_DAYS == 0:
            session += 1
            product = ketamine_100 if session % 7 == 0 else ketamine_50
            _session(ctx, product, session, day)
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
