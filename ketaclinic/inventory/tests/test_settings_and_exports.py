"""The configurable warnings of the inventory home (expiry window, low-stock level, annual or
biennial inventory), the inventory files, and the guarantee that nothing offers to change or
delete a ledger entry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.inventory import actions, queries
from ketaclinic.inventory.choices import InventoryKind
from ketaclinic.inventory.models import InventoryCount, Product
from ketaclinic.inventory.tests.factories import make_product, receive


def _home(world: World, who: str = "nurse") -> str:
    client = signed_in_client(world[who])
    return client.get(reverse("inventory:home"), {"location": world.location.pk}).content.decode()


def _take(world: World, kind: str, days_ago: int) -> InventoryCount:
    return actions.take_inventory(
        acting_user=world["director"],
        location=world.location,
        kind=kind,
        business_time="opening",
        counted={r.container.pk: r.ml_remaining for r in queries.balance_rows([world.location.pk])},
        password=PASSWORD,
        taken_at=timezone.now() - timedelta(days=days_ago),
    )


# --- Expiry and low-stock warnings ---------------------------------------------------------------


def test_the_expiry_warning_window_follows_the_clinic_setting(world: World, settings: Any) -> None:
    receive(world, lot_number="SOON-1", expires_on=timezone.localdate() + timedelta(days=20))
    assert "lot SOON-1 expires on" in _home(world)
    settings.INVENTORY_EXPIRY_WARNING_DAYS = 10
    assert "lot SOON-1 expires on" not in _home(world)


def test_a_new_product_takes_the_clinic_low_stock_default(world: World, settings: Any) -> None:
    settings.INVENTORY_LOW_STOCK_ML = 25
    product = make_product(world.location, world["director"])
    assert product.low_stock_ml == Decimal(25)
    page = signed_in_client(world["director"]).get(reverse("inventory:product_new"), {"location": world.location.pk})
    assert 'name="low_stock_ml" value="25"' in page.content.decode()


def test_the_director_changes_a_products_low_stock_level_and_the_warning_follows(world: World) -> None:
    product = make_product(world.location, world["director"], low_stock_ml=Decimal(5))
    receive(world, product=product)
    assert "below the low-stock level" not in _home(world)
    assert reverse("inventory:product_edit", args=[product.pk]) in _home(world, "director")

    response = signed_in_client(world["director"]).post(
        reverse("inventory:product_edit", args=[product.pk]), {"low_stock_ml": "20"}
    )

    assert response.status_code == 302
    assert "10.000 mL on hand, below the low-stock level of 20 mL" in _home(world)
    event = AuditEvent.objects.get(object_type="inventory.Product", action=AuditEvent.Action.UPDATE)
    assert event.changes == {"low_stock_ml": ["5.000", "20.000"]}


def test_a_negative_low_stock_level_is_refused_and_changes_nothing(world: World) -> None:
    product = make_product(world.location, world["director"], low_stock_ml=Decimal(5))
    response = signed_in_client(world["director"]).post(
        reverse("inventory:product_edit", args=[product.pk]), {"low_stock_ml": "-1"}
    )
    assert response.status_code == 422
    assert 'id="id_low_stock_ml_error"' in response.content.decode()
    assert Product.objects.get(pk=product.pk).low_stock_ml == Decimal(5)


def test_a_nurse_sees_no_link_to_change_the_low_stock_level(world: World) -> None:
    product = make_product(world.location, world["director"])
    assert reverse("inventory:product_edit", args=[product.pk]) not in _home(world)


# --- Annual or biennial inventory ----------------------------------------------------------------


def test_an_annual_inventory_is_due_a_year_after_the_last_when_the_clinic_requires_it(
    world: World, settings: Any
) -> None:
    receive(world)
    _take(world, InventoryKind.INITIAL, days_ago=350)
    assert "is due by" not in _home(world)

    settings.INVENTORY_ANNUAL_REQUIRED = True

    assert "The next annual inventory is due by" in _home(world)


def test_an_overdue_inventory_is_flagged_as_an_error(world: World) -> None:
    receive(world)
    _take(world, InventoryKind.INITIAL, days_ago=800)
    html = _home(world)
    assert 'alert alert--error" role="status"><p>The next biennial inventory is due by' in html


def test_the_inventory_page_proposes_initial_then_the_periodic_kind_the_clinic_uses(
    world: World, settings: Any
) -> None:
    client = signed_in_client(world["director"])
    url = reverse("inventory:inventory_new")

    def selected() -> str:
        html = client.get(url, {"location": world.location.pk}).content.decode()
        return next(v for v in InventoryKind.values if f'<option value="{v}" selected>' in html)

    assert selected() == InventoryKind.INITIAL
    _take(world, InventoryKind.INITIAL, days_ago=1)
    assert selected() == InventoryKind.BIENNIAL
    settings.INVENTORY_ANNUAL_REQUIRED = True
    assert selected() == InventoryKind.ANNUAL


# --- Inventory files -------------------------------------------------------------------------------


def test_the_biennial_inventory_csv_names_substance_vial_size_and_totals_and_its_download_is_audited(
    world: World,
) -> None:
    receive(world, containers=2)
    inventory = _take(world, InventoryKind.BIENNIAL, days_ago=0)
    client = signed_in_client(world["director"])

    response = client.get(reverse("inventory:inventory_csv", args=[inventory.pk]))
    text = response.content.decode()

    assert "Biennial inventory, 21 CFR 1304.11" in text
    assert "Substance,Ketamine,Schedule CIII,DEA code 7285" in text
    assert "Containers,2,Total counted (mL),20.000" in text
    header = next(line for line in text.splitlines() if line.startswith("container,"))
    assert "strength_mg_per_ml,container_volume_ml,lot" in header
    assert "biennial-inventory-" in response["Content-Disposition"]
    client.get(reverse("inventory:inventory_pdf", args=[inventory.pk]))
    exports = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_type="inventory.InventoryCount")
    assert sorted(e.changes["format"][1] for e in exports) == ["csv", "pdf"]


# --- Nothing offers to change or delete a ledger entry ----------------------------------------------
# (django.contrib.admin is not installed, so no admin can offer it either.)


def test_no_inventory_url_takes_an_entry_to_edit_or_delete() -> None:
    from ketaclinic.inventory.urls import urlpatterns  # noqa: PLC0415

    routes = {str(p.pattern) for p in urlpatterns}
    assert {r for r in routes if r.startswith("entries/")} == {"entries/<int:pk>/correct/"}
    assert not any(word in r for r in routes for word in ("edit", "delete", "update"))
