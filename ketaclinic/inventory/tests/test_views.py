"""The inventory pages: home with balances and warnings, receiving, witnessed waste, counts and
discrepancies, and the 1304.22(c) dispensing record as CSV and PDF."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.inventory import actions
from ketaclinic.inventory.choices import DiscrepancyStatus, EntryKind, WasteMethod
from ketaclinic.inventory.models import Container, Discrepancy, LedgerEntry
from ketaclinic.inventory.tests.factories import SUPPLIER, dispense_to_session, make_product, receive, witness
from ketaclinic.inventory.tests.pdf_text import pdf_text
from ketaclinic.patients.actions import update_demographics


def test_home_shows_balances_with_units_and_the_expiry_and_low_stock_warnings(
    world: World, django_assert_max_num_queries
) -> None:
    product = make_product(world.location, world["director"], low_stock_ml=Decimal(100))
    receive(
        world, product=product, containers=2, lot_number="SOON-1", expires_on=timezone.localdate() + timedelta(days=20)
    )
    receive(world, product=product, containers=3, lot_number="LATER-2")
    client = signed_in_client(world["nurse"])

    with django_assert_max_num_queries(30):
        response = client.get(reverse("inventory:home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "50.000 mL" in html and "2500.000 mg" in html
    assert "lot SOON-1 expires on" in html
    assert "below the low-stock level of 100 mL" in html
    assert "No inventory recorded yet" in html


def test_receiving_through_the_form_creates_labelled_vials(world: World) -> None:
    product = make_product(world.location, world["director"])
    response = signed_in_client(world["nurse"]).post(
        reverse("inventory:receive"),
        {
            "location": world.location.pk,
            "product": product.pk,
            "lot_number": "F-1",
            "expires_on": (timezone.localdate() + timedelta(days=200)).isoformat(),
            "containers": 2,
            "invoice_number": "INV-9",
            **SUPPLIER,
        },
    )
    assert response.status_code == 302
    assert list(Container.objects.values_list("label", flat=True)) == ["V-0001", "V-0002"]


def test_the_waste_form_refuses_the_recorder_as_their_own_witness_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    response = signed_in_client(world["nurse"]).post(
        reverse("inventory:waste", kwargs={"pk": container.pk}),
        {"ml": "0.5", "method": "denaturing", "witness_username": "nurse", "witness_password": PASSWORD},
    )
    assert response.status_code == 422
    assert "second person" in response.content.decode()
    assert LedgerEntry.objects.count() == 1


def test_the_waste_form_records_waste_witnessed_by_a_colleague(world: World) -> None:
    container = receive(world)[0]
    response = signed_in_client(world["nurse"]).post(
        reverse("inventory:waste", kwargs={"pk": container.pk}),
        {"ml": "0.5", "method": "denaturing", "witness_username": "prescriber", "witness_password": PASSWORD},
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind=EntryKind.WASTE).witness == world["prescriber"]


def test_a_count_that_differs_opens_a_case_the_director_resolves_with_an_adjustment(world: World) -> None:
    container = receive(world)[0]
    response = signed_in_client(world["nurse"]).post(
        reverse("inventory:count"), {"location": world.location.pk, f"ml_{container.pk}": "9.800"}
    )
    assert response.status_code == 302
    case = Discrepancy.objects.get()
    director = signed_in_client(world["director"])
    assert "-0.200 mL" in director.get(reverse("inventory:discrepancies")).content.decode()

    response = director.post(
        reverse("inventory:discrepancy_resolve", kwargs={"pk": case.pk}),
        {"resolution": "adjusted", "note": "Dead-space loss confirmed at recount"},
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == DiscrepancyStatus.ADJUSTED
    assert LedgerEntry.objects.get(kind=EntryKind.ADJUSTMENT).ml == Decimal("-0.200")


def _session_history(world: World) -> None:
    update_demographics(
        acting_user=world["director"],
        patient=world.patient,
        address_line1="12 Sample Street",
        city="Denver",
        state="CO",
        postal_code="80205",
    )
    container = receive(world, invoice_number="INVREPORT1")[0]
    dispense_to_session(world, container, "2.000", session_ref="S-REPORT")
    actions.administer(acting_user=world["nurse"], container=container, session_ref="S-REPORT", mg="90")
    actions.waste(
        acting_user=world["nurse"],
        container=container,
        ml="0.200",
        method=WasteMethod.DENATURING_CONTAINER,
        witness=witness(world["prescriber"]),
        session_ref="S-REPORT",
    )


def test_the_dispensing_record_csv_lists_the_receipt_the_administration_and_the_waste(world: World) -> None:
    _session_history(world)
    response = signed_in_client(world["director"]).get(
        reverse("inventory:dispensing_record_csv"), {"location": world.location.pk}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "receipt" in text and "INVREPORT1" in text and SUPPLIER["supplier_dea_number"] in text
    administration = next(line for line in text.splitlines() if line.startswith("administered,"))
    assert "Pat Example" in administration
    assert "12 Sample Street, Denver, CO 80205" in administration
    assert ",NT," in administration  # the initials of who administered
    waste_line = next(line for line in text.splitlines() if line.startswith("disposal,"))
    assert "Wasted (witnessed)" in waste_line and "0.200" in waste_line and "Prescriber Tester" in waste_line


def test_the_dispensing_record_pdf_lists_the_receipt_the_administration_and_the_waste(world: World) -> None:
    _session_history(world)
    response = signed_in_client(world["director"]).get(
        reverse("inventory:dispensing_record_pdf"), {"location": world.location.pk}
    )
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "INVREPORT1" in text and SUPPLIER["supplier_name"] in text
    assert "Pat Example" in text and "12 Sample Street" in text
    assert "90.000 mg" in text and "NT" in text
    assert "Wasted (witnessed)" in text and "0.200 mL" in text


def test_an_inventory_downloads_as_csv_and_pdf(world: World) -> None:
    container = receive(world)[0]
    inventory = actions.take_inventory(
        acting_user=world["director"],
        location=world.location,
        kind="initial",
        business_time="opening",
        counted={container.pk: "10"},
        password=PASSWORD,
    )
    client = signed_in_client(world["director"])
    csv_text = client.get(reverse("inventory:inventory_csv", kwargs={"pk": inventory.pk})).content.decode()
    assert "V-0001" in csv_text and "Opening of business" in csv_text
    pdf = client.get(reverse("inventory:inventory_pdf", kwargs={"pk": inventory.pk})).content
    assert "Signed by Director Tester" in pdf_text(pdf)
