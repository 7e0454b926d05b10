"""The inventory API contract: balances, entries (201/409/403/422), session balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from ketaclinic.core.testing import PASSWORD, World, api_client
from ketaclinic.inventory.choices import EntryKind
from ketaclinic.inventory.models import LedgerEntry
from ketaclinic.inventory.tests.factories import dispense_to_session, home_only_director, receive

ENTRIES = reverse("api:create_inventory_entry")


def _post(world: World, who: str, body: dict[str, Any]) -> Any:
    return api_client(world[who]).post(ENTRIES, body, content_type="application/json")


def test_balances_list_each_container_with_ml_and_mg(world: World) -> None:
    container = receive(world, containers=2, lot_number="L-77")[0]
    dispense_to_session(world, container, "2.500")

    response = api_client(world["nurse"]).get(reverse("api:inventory_balances"), {"location": world.location.pk})

    assert response.status_code == 200
    first = response.json()[0]
    assert {k: first[k] for k in ("container_id", "lot", "ml_remaining", "mg_remaining")} == {
        "container_id": container.pk,
        "lot": "L-77",
        "ml_remaining": 7.5,
        "mg_remaining": 375.0,
    }
    assert "Ketamine" in first["product"]
    assert len(response.json()) == 2


def test_balances_of_a_location_one_does_not_work_at_are_refused(world: World) -> None:
    response = api_client(world["outsider"]).get(reverse("api:inventory_balances"), {"location": world.location.pk})
    assert response.status_code == 403


def test_a_nurse_dispenses_to_a_session(world: World) -> None:
    container = receive(world)[0]
    body = {
        "kind": "dispense",
        "container_id": container.pk,
        "ml": 2,
        "session_ref": "S-9",
        "patient_id": world.patient.pk,
    }
    response = _post(world, "nurse", body)
    assert response.status_code == 201
    assert response.json()["container_ml_remaining"] == 8.0
    assert LedgerEntry.objects.filter(kind=EntryKind.DISPENSE, session_ref="S-9").count() == 1


def test_an_entry_that_would_make_the_balance_negative_is_409_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    before = LedgerEntry.objects.count()
    body = {
        "kind": "dispense",
        "container_id": container.pk,
        "ml": "10.5",
        "session_ref": "S",
        "patient_id": world.patient.pk,
    }
    response = _post(world, "nurse", body)
    assert response.status_code == 409
    assert "below 0 mL" in response.json()["detail"]
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize(
    ("who", "kind"),
    [
        ("frontdesk", "dispense"),
        ("billing", "waste"),
        ("nurse", "adjustment"),
        ("prescriber", "loss"),
        ("outsider", "dispense"),
    ],
)
def test_a_role_that_may_not_record_the_kind_is_403(world: World, who: str, kind: str) -> None:
    container = receive(world)[0]
    body = {
        "kind": kind,
        "container_id": container.pk,
        "ml": "-1",
        "reason": "Counting error found",
        "session_ref": "S",
    }
    response = _post(world, who, body)
    assert response.status_code == 403
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    "witness",
    [
        {},
        {"witness_username": "nurse", "witness_password": PASSWORD},
        {"witness_username": "prescriber", "witness_password": "not-the-password"},
        {"witness_username": "prescriber"},
    ],
    ids=["missing", "same person", "wrong password", "no password or code"],
)
def test_waste_without_a_proper_witness_is_422_and_writes_nothing(world: World, witness: dict[str, str]) -> None:
    container = receive(world)[0]
    before = LedgerEntry.objects.count()
    response = _post(
        world, "nurse", {"kind": "waste", "container_id": container.pk, "ml": 1, "method": "denaturing", **witness}
    )
    assert response.status_code == 422
    assert LedgerEntry.objects.count() == before


def test_waste_with_a_witness_who_reenters_their_password_is_201(world: World) -> None:
    container = receive(world)[0]
    body = {
        "kind": "waste",
        "container_id": container.pk,
        "ml": "0.4",
        "method": "denaturing",
        "witness_username": "prescriber",
        "witness_password": PASSWORD,
    }
    response = _post(world, "nurse", body)
    assert response.status_code == 201
    assert LedgerEntry.objects.get(pk=response.json()["id"]).witness == world["prescriber"]


def test_the_session_balance_endpoint_tells_the_chairside_whether_to_allow_sign_off(world: World) -> None:
    container = receive(world)[0]
    dispense_to_session(world, container, "2")
    client = api_client(world["nurse"])
    _post(world, "nurse", {"kind": "administer", "container_id": container.pk, "session_ref": "S-1", "mg": 100})
    assert client.get(reverse("api:inventory_session_balance", kwargs={"session_ref": "S-1"})).json() == {
        "session_ref": "S-1",
        "dispensed_ml": 2.0,
        "administered_ml": 2.0,
        "wasted_ml": 0.0,
        "balanced": True,
    }
    assert LedgerEntry.objects.get(kind=EntryKind.ADMINISTER).mg == Decimal(100)


def test_unknown_kinds_are_422(world: World) -> None:
    container = receive(world)[0]
    assert _post(world, "director", {"kind": "receive", "container_id": container.pk, "ml": 1}).status_code == 422


DESTRUCTION = {
    "kind": "destruction",
    "ml": "10",
    "method": "Incineration",
    "counterparty_name": "Example Returns Inc",
    "counterparty_address": "9 Sample Rd, Austin, TX 78701",
    "counterparty_dea_number": "RR7654321",
    "form_41_reference": "F41-1",
    "witness_username": "nurse",
    "witness_password": PASSWORD,
}


def test_destruction_without_a_second_witness_is_422_and_with_two_is_201(world: World) -> None:
    container = receive(world)[0]
    body = {**DESTRUCTION, "container_id": container.pk}
    one = _post(world, "director", body)
    assert one.status_code == 422 and "second_witness_username" in one.json()["detail"]
    assert LedgerEntry.objects.count() == 1

    two = _post(
        world, "director", {**body, "second_witness_username": "prescriber", "second_witness_password": PASSWORD}
    )

    assert two.status_code == 201
    entry = LedgerEntry.objects.get(pk=two.json()["id"])
    assert (entry.witness, entry.second_witness) == (world["nurse"], world["prescriber"])
    assert two.json()["container_ml_remaining"] == 0.0


def test_a_return_with_a_malformed_dea_number_is_422_and_a_proper_one_is_201(world: World) -> None:
    container = receive(world)[0]
    body = {
        "kind": "return",
        "container_id": container.pk,
        "counterparty_name": "Example Pharma",
        "counterparty_address": "400 Sample Parkway, Columbus, OH 43004",
        "counterparty_dea_number": "R-123",
        "reason": "Shipped one vial too many",
    }
    assert _post(world, "director", body).status_code == 422
    assert LedgerEntry.objects.count() == 1
    response = _post(world, "director", {**body, "counterparty_dea_number": "RE1234567"})
    assert response.status_code == 201
    assert response.json()["kind"] == "return" and response.json()["ml"] == 10.0


def test_verification_of_a_location_one_does_not_work_at_is_refused(world: World) -> None:
    client = api_client(home_only_director(world))
    assert client.get(reverse("api:inventory_verify"), {"location": world.other_location.pk}).status_code == 403
    assert client.get(reverse("api:inventory_verify"), {"location": world.location.pk}).json()["ok"] is True
