"""Inventory test data built through the real actions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.actions import create_user
from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.inventory.actions import WitnessCredential, create_product, dispense, receive_stock
from ketaclinic.inventory.models import Container, LedgerEntry, Product

SUPPLIER = {
    "supplier_name": "Example Pharma Distribution LLC",
    "supplier_address": "400 Sample Parkway, Columbus, OH 43004",
    "supplier_dea_number": "RE1234567",
}


def make_product(location: Location, director: User, **overrides: object) -> Product:
    fields: dict[str, object] = {
        "name": "Ketamine HCl injection",
        "ndc": "99999-0101-10",
        "strength_mg_per_ml": Decimal(50),
        "container_volume_ml": Decimal(10),
    }
    fields.update(overrides)
    return create_product(acting_user=director, location=location, **fields)  # type: ignore[arg-type]


def receive(
    world: World,
    *,
    containers: int = 1,
    product: Product | None = None,
    location: Location | None = None,
    lot_number: str = "LOT-A1",
    expires_on: date | None = None,
    invoice_number: str = "INV-1001",
) -> list[Container]:
    site = location or world.location
    product = product or Product.objects.filter(location=site).first() or make_product(site, world["director"])
    entries = receive_stock(
        acting_user=world["director"],
        product=product,
        lot_number=lot_number,
        expires_on=expires_on or timezone.localdate() + timedelta(days=365),
        containers=containers,
        invoice_number=invoice_number,
        supplier_name=SUPPLIER["supplier_name"],
        supplier_address=SUPPLIER["supplier_address"],
        supplier_dea_number=SUPPLIER["supplier_dea_number"],
    )
    return [e.container for e in entries]


def dispense_to_session(world: World, container: Container, ml: str = "2.000", session_ref: str = "S-1") -> LedgerEntry:
    return dispense(
        acting_user=world["nurse"], container=container, ml=Decimal(ml), session_ref=session_ref, patient=world.patient
    )


def home_only_director(world: World) -> User:
    """A medical director who works only at the home location (the persona works at all)."""
    user = create_user(
        acting_user=None,
        username="homedirector",
        password=PASSWORD,
        roles=[Role.MEDICAL_DIRECTOR],
        first_name="Hana",
        last_name="Home",
        location_ids=[world.location.pk],
    )
    TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def witness(user: User, *, password: str = PASSWORD) -> WitnessCredential:
    return WitnessCredential(username=user.username, password=password)
