"""The medical director's ledger pages: return of an unopened vial, transfer to another
location, destruction through a reverse distributor with two witnesses, and correction of an
entry. Each records one permanent entry on success and writes nothing on bad input."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse

from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.inventory import actions, queries
from ketaclinic.inventory.choices import EntryKind
from ketaclinic.inventory.models import Container, LedgerEntry
from ketaclinic.inventory.tests.factories import SUPPLIER, dispense_to_session, home_only_director, receive

DISTRIBUTOR = {
    "reverse_distributor_name": "Example Returns Inc",
    "reverse_distributor_address": "9 Sample Rd, Austin, TX 78701",
    "reverse_distributor_dea_number": "RR7654321",
    "method": "Incineration",
    "form_41_reference": "F41-2026-007",
}
RETURN = {
    "recipient_name": "Example Pharma Distribution LLC",
    "recipient_address": "400 Sample Parkway, Columbus, OH 43004",
    "recipient_dea_number": "RE1234567",
    "reason": "Ordered in error; supplier takes back sealed vials",
}


def _witnesses(first: str = "nurse", second: str = "prescriber", **overrides: str) -> dict[str, str]:
    fields = {
        "witness_username": first,
        "witness_password": PASSWORD,
        "second_witness_username": second,
        "second_witness_password": PASSWORD,
    }
    fields.update(overrides)
    return fields


def _entries() -> int:
    return LedgerEntry.objects.count()


# --- The container page and the ledger list offer the actions ----------------------------------


def test_the_container_page_offers_return_transfer_destruction_and_correction_to_the_director(world: World) -> None:
    container = receive(world)[0]
    html = signed_in_client(world["director"]).get(reverse("inventory:container", args=[container.pk])).content.decode()
    for name in ("return", "transfer", "destroy"):
        assert reverse(f"inventory:{name}", args=[container.pk]) in html
    assert reverse("inventory:correct", args=[container.entries.get().pk]) in html


def test_a_nurse_sees_none_of_the_directors_ledger_actions(world: World) -> None:
    container = receive(world)[0]
    client = signed_in_client(world["nurse"])
    html = client.get(reverse("inventory:container", args=[container.pk])).content.decode()
    assert reverse("inventory:return", args=[container.pk]) not in html
    assert "/correct/" not in html
    assert "/correct/" not in client.get(reverse("inventory:home")).content.decode()


def test_the_ledger_list_on_the_home_page_links_each_correctable_entry(world: World) -> None:
    container = receive(world)[0]
    receipt = container.entries.get()
    correction = actions.correct_entry(
        acting_user=world["director"], entry=receipt, ml_change="-0.5", reason="Vial was short-filled by 0.5 mL"
    )
    html = (
        signed_in_client(world["director"])
        .get(reverse("inventory:home"), {"location": world.location.pk})
        .content.decode()
    )
    assert reverse("inventory:correct", args=[receipt.pk]) in html
    assert reverse("inventory:correct", args=[correction.pk]) not in html
    assert f"(of #{receipt.pk})" in html


# --- Return -------------------------------------------------------------------------------------


def test_the_return_form_suggests_the_supplier_and_says_what_will_happen(world: World) -> None:
    container = receive(world)[0]
    html = signed_in_client(world["director"]).get(reverse("inventory:return", args=[container.pk])).content.decode()
    assert SUPPLIER["supplier_dea_number"] in html and SUPPLIER["supplier_address"] in html
    assert "What will happen:" in html
    assert "the whole vial, 10.000 mL, leaves the stock" in html


def test_returning_an_unopened_vial_records_the_recipient_and_empties_it(world: World) -> None:
    container = receive(world)[0]
    response = signed_in_client(world["director"]).post(reverse("inventory:return", args=[container.pk]), RETURN)
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind=EntryKind.RETURN)
    assert entry.ml == Decimal("10.000")
    assert entry.details["recipient_dea_number"] == "RE1234567"
    assert entry.details["recipient_address"] == RETURN["recipient_address"]
    assert queries.container_balance_ml(container.pk) == 0


def test_a_return_with_a_malformed_dea_number_or_short_reason_is_refused_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    client = signed_in_client(world["director"])
    url = reverse("inventory:return", args=[container.pk])

    bad_dea = client.post(url, {**RETURN, "recipient_dea_number": "12345"})
    short = client.post(url, {**RETURN, "reason": "oops"})

    assert bad_dea.status_code == 422
    assert "A DEA number is two letters and seven digits." in bad_dea.content.decode()
    assert 'id="id_recipient_dea_number_error"' in bad_dea.content.decode()
    assert short.status_code == 422
    assert "at least 10 characters" in short.content.decode()
    assert _entries() == 1


def test_an_opened_vial_is_not_offered_for_return_and_a_forced_post_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    dispense_to_session(world, container, "1.000")
    client = signed_in_client(world["director"])
    page = client.get(reverse("inventory:container", args=[container.pk])).content.decode()
    assert reverse("inventory:return", args=[container.pk]) not in page
    assert "cannot be returned" in client.get(reverse("inventory:return", args=[container.pk])).content.decode()

    response = client.post(reverse("inventory:return", args=[container.pk]), RETURN)

    assert response.status_code == 422
    assert "only unopened vials go back to the supplier" in response.content.decode()
    assert _entries() == 2


# --- Transfer -----------------------------------------------------------------------------------


def test_a_transfer_moves_the_vial_to_another_location_the_director_works_at(world: World) -> None:
    container = receive(world)[0]
    response = signed_in_client(world["director"]).post(
        reverse("inventory:transfer", args=[container.pk]),
        {"to_location": world.other_location.pk, "reason": "Away site ran out before its delivery"},
    )
    arrived = Container.objects.get(location=world.other_location)
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:container", args=[arrived.pk])
    assert queries.container_balance_ml(container.pk) == 0
    assert queries.container_balance_ml(arrived.pk) == Decimal("10.000")


def test_a_transfer_is_offered_only_to_locations_where_the_user_also_works(world: World) -> None:
    container = receive(world)[0]
    client = signed_in_client(home_only_director(world))
    assert "/transfer/" not in client.get(reverse("inventory:container", args=[container.pk])).content.decode()
    assert "No other location" in client.get(reverse("inventory:transfer", args=[container.pk])).content.decode()

    response = client.post(
        reverse("inventory:transfer", args=[container.pk]),
        {"to_location": world.other_location.pk, "reason": "Trying a site I do not work at"},
    )

    assert response.status_code == 422
    assert _entries() == 1
    assert not Container.objects.filter(location=world.other_location).exists()


# --- Destruction --------------------------------------------------------------------------------


def test_destruction_with_two_witnesses_who_reauthenticate_records_the_form_41_facts(world: World) -> None:
    container = receive(world)[0]
    response = signed_in_client(world["director"]).post(
        reverse("inventory:destroy", args=[container.pk]), {"ml": "10", **DISTRIBUTOR, **_witnesses()}
    )
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind=EntryKind.DESTRUCTION)
    assert (entry.witness, entry.second_witness) == (world["nurse"], world["prescriber"])
    assert entry.details["form_41_reference"] == "F41-2026-007"
    assert entry.details["reverse_distributor_address"] == DISTRIBUTOR["reverse_distributor_address"]
    assert queries.container_balance_ml(container.pk) == 0


def _destroy(world: World, **overrides: Any) -> Any:
    container = Container.objects.first() or receive(world)[0]
    body = {"ml": "10", **DISTRIBUTOR, **_witnesses()}
    body.update(overrides)
    return signed_in_client(world["director"]).post(reverse("inventory:destroy", args=[container.pk]), body)


def test_a_wrong_password_of_the_second_witness_is_shown_at_that_witness_and_writes_nothing(world: World) -> None:
    receive(world)
    response = _destroy(world, second_witness_password="not-their-password")
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_second_witness_password_error"' in html
    assert "did not match" in html
    assert 'id="id_witness_password_error"' not in html
    assert _entries() == 1


def test_destruction_with_the_same_witness_twice_or_only_one_witness_is_refused(world: World) -> None:
    receive(world)
    same = _destroy(world, second_witness_username="nurse")
    one = _destroy(world, second_witness_username="", second_witness_password="")
    assert same.status_code == 422 and "two different witnesses" in same.content.decode()
    assert one.status_code == 422 and 'id="id_second_witness_username_error"' in one.content.decode()
    assert _entries() == 1


def test_the_recorder_cannot_be_a_witness_of_their_own_destruction(world: World) -> None:
    receive(world)
    response = _destroy(world, witness_username="director")
    assert response.status_code == 422
    assert "second person, not the one recording" in response.content.decode()
    assert _entries() == 1


def test_destruction_without_the_form_41_facts_or_beyond_the_balance_writes_nothing(world: World) -> None:
    receive(world)
    missing = _destroy(world, reverse_distributor_address="", reverse_distributor_dea_number="XX")
    too_much = _destroy(world, ml="12")
    assert missing.status_code == 422
    assert 'id="id_reverse_distributor_address_error"' in missing.content.decode()
    assert "A DEA number is two letters and seven digits." in missing.content.decode()
    assert too_much.status_code == 409
    assert "below 0 mL" in too_much.content.decode()
    assert _entries() == 1


# --- Correction ---------------------------------------------------------------------------------


def test_a_correction_records_the_difference_and_points_at_the_entry(world: World) -> None:
    container = receive(world)[0]
    receipt = container.entries.get()
    client = signed_in_client(world["director"])
    page = client.get(reverse("inventory:correct", args=[receipt.pk])).content.decode()
    assert "stays exactly as written" in page and "Stands at" in page

    response = client.post(
        reverse("inventory:correct", args=[receipt.pk]),
        {"corrected_ml": "9.5", "reason": "Vial was short-filled: 9.5 mL by the manufacturer's label"},
    )

    assert response.status_code == 302
    correction = LedgerEntry.objects.get(kind=EntryKind.CORRECTION)
    assert correction.corrects == receipt
    assert correction.ml == Decimal("-0.500")
    assert queries.container_balance_ml(container.pk) == Decimal("9.500")
    receipt.refresh_from_db()
    assert receipt.ml == Decimal("10.000")


def test_a_second_correction_is_measured_from_what_the_entry_stands_at(world: World) -> None:
    container = receive(world)[0]
    receipt = container.entries.get()
    actions.correct_entry(
        acting_user=world["director"], entry=receipt, ml_change="-0.5", reason="First recount found 9.5 mL"
    )
    signed_in_client(world["director"]).post(
        reverse("inventory:correct", args=[receipt.pk]),
        {"corrected_ml": "9.8", "reason": "Second recount with a witness found 9.8 mL"},
    )
    assert list(LedgerEntry.objects.filter(corrects=receipt).values_list("ml", flat=True).order_by("id")) == [
        Decimal("-0.500"),
        Decimal("0.300"),
    ]
    assert queries.container_balance_ml(container.pk) == Decimal("9.800")


def test_a_correction_without_a_reason_or_without_a_change_writes_nothing(world: World) -> None:
    receipt = receive(world)[0].entries.get()
    client = signed_in_client(world["director"])
    url = reverse("inventory:correct", args=[receipt.pk])
    no_reason = client.post(url, {"corrected_ml": "9.5", "reason": ""})
    same = client.post(url, {"corrected_ml": "10", "reason": "Nothing actually changed here"})
    negative = client.post(url, {"corrected_ml": "-1", "reason": "A quantity below zero mL"})
    assert [r.status_code for r in (no_reason, same, negative)] == [422, 422, 422]
    assert 'id="id_reason_error"' in no_reason.content.decode()
    assert "nothing to correct" in same.content.decode()
    assert "cannot be below 0 mL" in negative.content.decode()
    assert _entries() == 1


def test_a_correction_that_would_drive_the_vial_below_zero_is_409_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    receipt = container.entries.get()
    dispense_to_session(world, container, "8.000")
    response = signed_in_client(world["director"]).post(
        reverse("inventory:correct", args=[receipt.pk]),
        {"corrected_ml": "5", "reason": "Receipt was keyed as 10 mL, the vial held 5 mL"},
    )
    assert response.status_code == 409
    assert "below 0 mL" in response.content.decode()
    assert _entries() == 2


def test_a_correction_or_a_transfer_cannot_be_corrected_and_a_forced_post_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    receipt = container.entries.get()
    correction = actions.correct_entry(
        acting_user=world["director"], entry=receipt, ml_change="-0.5", reason="Vial was short-filled by 0.5 mL"
    )
    arrived = actions.transfer_container(
        acting_user=world["director"], container=container, to_location=world.other_location, reason="Site ran out"
    )
    client = signed_in_client(world["director"])
    page = client.get(reverse("inventory:correct", args=[correction.pk])).content.decode()
    assert "itself a correction" in page and reverse("inventory:correct", args=[receipt.pk]) in page
    assert 'name="corrected_ml"' not in page
    count = _entries()

    forced = client.post(
        reverse("inventory:correct", args=[correction.pk]), {"corrected_ml": "1", "reason": "Forcing it anyway"}
    )
    transfer = client.post(
        reverse("inventory:correct", args=[arrived.pk]), {"corrected_ml": "1", "reason": "Forcing it anyway"}
    )

    assert forced.status_code == 422 and transfer.status_code == 422
    assert "transfer the vial back" in transfer.content.decode()
    assert _entries() == count


def test_a_director_cannot_correct_an_entry_at_a_location_they_do_not_work_at(world: World) -> None:
    entry = receive(world, location=world.other_location)[0].entries.get()
    response = signed_in_client(home_only_director(world)).get(reverse("inventory:correct", args=[entry.pk]))
    assert response.status_code == 403
