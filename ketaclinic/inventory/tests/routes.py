"""Who may open the inventory pages and API (merged into the route walk). The outsider is a
nurse at another location: refused wherever the object belongs to the home location."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ketaclinic.core.testing import PASSWORD, Route, World
from ketaclinic.inventory.actions import record_count, take_inventory
from ketaclinic.inventory.queries import balance_rows
from ketaclinic.inventory.tests.factories import receive

OUTSIDER_REFUSED = {"outsider": 403}


def _container(w: World) -> dict[str, Any]:
    return {"pk": receive(w)[0].pk}


def _entry(w: World) -> dict[str, Any]:
    container = receive(w)[0]
    return {"pk": container.entries.get().pk}


def _inventory(w: World) -> dict[str, Any]:
    receive(w)
    counted = {r.container.pk: r.ml_remaining for r in balance_rows([w.location.pk])}
    inventory = take_inventory(
        acting_user=w["director"],
        location=w.location,
        kind="initial",
        business_time="opening",
        counted=counted,
        password=PASSWORD,
    )
    return {"pk": inventory.pk}


def _discrepancy(w: World) -> dict[str, Any]:
    container = receive(w)[0]
    counted = {r.container.pk: r.ml_remaining for r in balance_rows([w.location.pk])}
    counted[container.pk] -= Decimal("0.5")
    sheet = record_count(acting_user=w["nurse"], location=w.location, counted=counted)
    return {"pk": sheet.lines.get(container=container).discrepancy.pk}


def _dispense_body(w: World) -> dict[str, Any]:
    container = receive(w)[0]
    return {
        "kind": "dispense",
        "container_id": container.pk,
        "ml": "1.5",
        "session_ref": "RW-1",
        "patient_id": w.patient.pk,
    }


ROUTES: dict[str, Route] = {
    "inventory:home": Route("view_inventory"),
    "inventory:product_new": Route("manage_ledger"),
    "inventory:product_edit": Route("manage_ledger", kwargs=lambda w: {"pk": receive(w)[0].lot.product_id}),
    "inventory:receive": Route("receive_stock"),
    "inventory:container": Route("view_inventory", kwargs=_container, overrides=OUTSIDER_REFUSED),
    "inventory:waste": Route("waste_stock", kwargs=_container, overrides=OUTSIDER_REFUSED),
    "inventory:adjust": Route("manage_ledger", kwargs=_container),
    "inventory:loss": Route("manage_ledger", kwargs=_container),
    "inventory:return": Route("manage_ledger", kwargs=_container),
    "inventory:transfer": Route("manage_ledger", kwargs=_container),
    "inventory:destroy": Route("manage_ledger", kwargs=_container),
    "inventory:correct": Route("manage_ledger", kwargs=_entry),
    "inventory:count": Route("count_stock"),
    "inventory:discrepancies": Route("manage_ledger"),
    "inventory:discrepancy_resolve": Route("manage_ledger", kwargs=_discrepancy),
    "inventory:reports": Route("view_dea_reports"),
    "inventory:dispensing_record_csv": Route("view_dea_reports"),
    "inventory:dispensing_record_pdf": Route("view_dea_reports"),
    "inventory:inventory_new": Route("manage_ledger"),
    "inventory:inventory_detail": Route("view_dea_reports", kwargs=_inventory),
    "inventory:inventory_csv": Route("view_dea_reports", kwargs=_inventory),
    "inventory:inventory_pdf": Route("view_dea_reports", kwargs=_inventory),
    "api:inventory_balances": Route("view_inventory", api=True),
    "api:inventory_verify": Route("view_dea_reports", api=True),
    "api:inventory_session_balance": Route("view_inventory", api=True, kwargs=lambda w: {"session_ref": "RW-none"}),
    "api:create_inventory_entry": Route(
        "dispense_stock", api=True, method="post", ok=201, body=_dispense_body, overrides=OUTSIDER_REFUSED
    ),
}
