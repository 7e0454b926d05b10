"""The ledger's actions: receipts, the session seam, witnessed waste, the MD's entries, counts,
discrepancies and inventories, each built through the real actions."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ketaclinic.core.models import AppendOnlyError, AuditEvent
from ketaclinic.core.testing import PASSWORD, World, current_code
from ketaclinic.inventory import actions, queries
from ketaclinic.inventory.actions import DestructionFacts, InsufficientStock, LossFacts, WitnessCredential, WitnessError
from ketaclinic.inventory.choices import DiscrepancyStatus, EntryKind, LossType, WasteMethod
from ketaclinic.inventory.models import Container, Discrepancy, LedgerEntry
from ketaclinic.inventory.tests.factories import SUPPLIER, dispense_to_session, make_product, receive, witness

D = Decimal


def _waste(
    world: World, container: Container, *, cred: WitnessCredential | None, ml: str = "0.5", session_ref: str = ""
):
    return actions.waste(
        acting_user=world["nurse"],
        container=container,
        ml=ml,
        method=WasteMethod.DENATURING_CONTAINER,
        witness=cred,
        session_ref=session_ref,
    )


def test_receiving_a_shipment_creates_one_full_vial_per_container_with_the_supplier_facts(world: World) -> None:
    containers = receive(world, containers=3, invoice_number="INV-77")

    assert [queries.container_balance_ml(c.pk) for c in containers] == [D("10.000")] * 3
    entry = LedgerEntry.objects.filter(kind=EntryKind.RECEIVE).first()
    assert entry is not None
    assert entry.details["supplier_dea_number"] == SUPPLIER["supplier_dea_number"]
    assert entry.details["invoice_number"] == "INV-77"
    assert entry.mg == D("500.000")
    assert AuditEvent.objects.filter(object_type="inventory.LedgerEntry", action=AuditEvent.Action.CREATE).count() == 3


def test_receipt_without_supplier_dea_number_is_refused_and_writes_nothing(world: World) -> None:
    product = make_product(world.location, world["director"])
    with pytest.raises(ValidationError) as exc:
        actions.receive_stock(
            acting_user=world["nurse"],
            product=product,
            lot_number="L1",
            expires_on=timezone.localdate() + timedelta(days=90),
            containers=2,
            supplier_name="X",
            supplier_address="Y",
            supplier_dea_number="nope",
            invoice_number="1",
        )
    assert "supplier_dea_number" in exc.value.message_dict
    assert Container.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_dispensing_more_than_the_vial_holds_is_refused_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    dispense_to_session(world, container, "9.000")
    before = LedgerEntry.objects.count()

    with pytest.raises(InsufficientStock):
        dispense_to_session(world, container, "1.500", session_ref="S-2")

    assert LedgerEntry.objects.count() == before
    assert queries.container_balance_ml(container.pk) == D("1.000")


def test_a_session_balances_only_when_dispensed_equals_administered_plus_wasted(world: World) -> None:
    container = receive(world)[0]
    dispense_to_session(world, container, "3.000")
    actions.administer(acting_user=world["nurse"], container=container, session_ref="S-1", mg="120")

    assert queries.session_balance("S-1") == (D("3.000"), D("2.400"), D("0"), False)

    _waste(world, container, cred=witness(world["prescriber"]), ml="0.6", session_ref="S-1")

    dispensed, administered, wasted, balanced = queries.session_balance("S-1")
    assert (dispensed, administered, wasted, balanced) == (D("3.000"), D("2.400"), D("0.600"), True)
    # The session's remainder was wasted from the syringe: the vial's balance is unchanged by it.
    assert queries.container_balance_ml(container.pk) == D("7.000")
    administration = LedgerEntry.objects.get(kind=EntryKind.ADMINISTER)
    assert administration.patient_name == "Pat Example"
    assert administration.recorded_by_initials == "NT"


def test_wasting_the_remainder_keeps_the_sessions_mg_whole_despite_ml_rounding(world: World) -> None:
    # 0.06 mg of a 50 mg/mL vial is 0.0012 mL, recorded as 0.001 mL (0.05 mg by volume): the
    # remainder's mg is what is left of the mg dispensed, not 4.999 mL x 50 mg/mL.
    container = receive(world)[0]
    dispense_to_session(world, container, "5.000")
    actions.administer(acting_user=world["nurse"], container=container, session_ref="S-1", mg="0.06")
    _waste(world, container, cred=witness(world["prescriber"]), ml="4.999", session_ref="S-1")
    entries = {e.kind: e for e in LedgerEntry.objects.filter(session_ref="S-1")}
    assert entries[EntryKind.ADMINISTER].mg == D("0.060")
    assert entries[EntryKind.WASTE].ml == D("4.999")
    assert entries[EntryKind.WASTE].mg == D("249.940")
    assert entries[EntryKind.ADMINISTER].mg + entries[EntryKind.WASTE].mg == entries[EntryKind.DISPENSE].mg
    assert queries.session_balance("S-1").balanced


def test_administering_more_than_was_dispensed_to_the_session_is_refused(world: World) -> None:
    container = receive(world)[0]
    dispense_to_session(world, container, "1.000")
    with pytest.raises(InsufficientStock):
        actions.administer(acting_user=world["nurse"], container=container, session_ref="S-1", mg="60")
    assert not LedgerEntry.objects.filter(kind=EntryKind.ADMINISTER).exists()


def test_waste_without_a_witness_is_refused_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    before = LedgerEntry.objects.count()
    with pytest.raises(WitnessError) as exc:
        _waste(world, container, cred=None)
    assert "witness_username" in exc.value.message_dict
    assert LedgerEntry.objects.count() == before


def test_waste_witnessed_by_the_same_person_is_refused_and_writes_nothing(world: World) -> None:
    container = receive(world)[0]
    before = LedgerEntry.objects.count()
    with pytest.raises(WitnessError, match="second person"):
        _waste(world, container, cred=witness(world["nurse"]))
    assert LedgerEntry.objects.count() == before


def test_waste_with_a_wrong_witness_password_is_refused_writes_nothing_and_is_audited(world: World) -> None:
    container = receive(world)[0]
    before = LedgerEntry.objects.count()
    with pytest.raises(WitnessError, match="did not match"):
        _waste(world, container, cred=witness(world["prescriber"], password="wrong-password-1"))
    assert LedgerEntry.objects.count() == before
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SIGN_IN_FAILED, actor_username="prescriber", reason=actions.WITNESS_FAILURE_REASON
    ).exists()


def test_repeated_wrong_witness_passwords_lock_the_witness_out_for_a_while(world: World) -> None:
    container = receive(world)[0]
    for _ in range(actions.WITNESS_FAILURE_LIMIT):
        with pytest.raises(WitnessError):
            _waste(world, container, cred=witness(world["prescriber"], password="wrong-password-1"))
    with pytest.raises(WitnessError, match="Too many"):
        _waste(world, container, cred=witness(world["prescriber"]))
    assert not LedgerEntry.objects.filter(kind=EntryKind.WASTE).exists()


def test_a_witness_may_confirm_with_their_current_authenticator_code(world: World) -> None:
    container = receive(world)[0]
    entry = _waste(world, container, cred=WitnessCredential("director", otp=current_code(world["director"])))
    assert entry.witness == world["director"]
    assert entry.witness_method == "otp"
    assert queries.container_balance_ml(container.pk) == D("9.500")


@pytest.mark.parametrize("name", ["frontdesk", "billing", "outsider"])
def test_someone_without_the_witness_grant_at_this_location_cannot_witness(world: World, name: str) -> None:
    container = receive(world)[0]
    with pytest.raises(WitnessError, match="may witness here"):
        _waste(world, container, cred=witness(world[name]))
    assert not LedgerEntry.objects.filter(kind=EntryKind.WASTE).exists()


def test_entries_refuse_to_be_changed_or_deleted_by_the_model_and_by_the_database(world: World) -> None:
    entry = LedgerEntry.objects.get(pk=receive(world)[0].entries.get().pk)
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_ledgerentry SET ml = 99 WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM inventory_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).ml == D("10.000")


@pytest.mark.parametrize("name", ["nurse", "prescriber"])
def test_only_the_medical_director_adjusts_a_balance(world: World, name: str) -> None:
    container = receive(world)[0]
    with pytest.raises(PermissionDenied):
        actions.adjust_balance(acting_user=world[name], container=container, ml="-1", reason="Spilled on the floor")
    entry = actions.adjust_balance(
        acting_user=world["director"], container=container, ml="-1", reason="Spilled during transport"
    )
    assert entry.container_delta_ml == D("-1.000")
    assert queries.container_balance_ml(container.pk) == D("9.000")


def test_an_adjustment_needs_a_reason(world: World) -> None:
    container = receive(world)[0]
    with pytest.raises(ValidationError, match="reason"):
        actions.adjust_balance(acting_user=world["director"], container=container, ml="1", reason="oops")
    assert LedgerEntry.objects.count() == 1


def test_a_correction_points_at_what_it_corrects_and_fixes_balance_and_session(world: World) -> None:
    container = receive(world)[0]
    wrong = dispense_to_session(world, container, "3.000")
    correction = actions.correct_entry(
        acting_user=world["director"], entry=wrong, ml_change="-1.000", reason="Drew 2 mL, typed 3 mL by mistake"
    )
    assert correction.corrects == wrong
    assert correction.session_ref == "S-1"
    assert queries.container_balance_ml(container.pk) == D("8.000")
    assert queries.session_balance("S-1").dispensed_ml == D("2.000")


def test_an_expired_lot_cannot_be_dispensed(world: World) -> None:
    # "Expired" is judged on the location's calendar, which can differ from the server's.
    site_today = timezone.localdate(timezone=zoneinfo.ZoneInfo(world.location.time_zone))
    container = receive(world, expires_on=site_today - timedelta(days=1))[0]
    with pytest.raises(ValidationError, match="expired"):
        dispense_to_session(world, container)
    assert LedgerEntry.objects.count() == 1


def test_a_shortfall_at_a_count_opens_a_discrepancy_and_reporting_it_as_loss_writes_a_loss(world: World) -> None:
    container = receive(world)[0]
    sheet = actions.record_count(acting_user=world["nurse"], location=world.location, counted={container.pk: "9.25"})
    case = Discrepancy.objects.get(count_line__sheet=sheet)
    assert (case.expected_ml, case.counted_ml, case.is_open) == (D("10.000"), D("9.250"), True)
    with pytest.raises(PermissionDenied):
        actions.resolve_discrepancy(
            acting_user=world["nurse"], discrepancy=case, resolution="explained", note="Miscounted earlier"
        )

    actions.resolve_discrepancy(
        acting_user=world["director"],
        discrepancy=case,
        resolution=DiscrepancyStatus.REPORTED_LOSS,
        note="Vial found cracked at the neck, contents leaked",
    )

    case.refresh_from_db()
    assert case.status == DiscrepancyStatus.REPORTED_LOSS
    assert case.entry is not None and case.entry.kind == EntryKind.LOSS
    assert case.entry.ml == D("0.750")
    assert queries.container_balance_ml(container.pk) == D("9.250")


def test_a_count_must_cover_every_vial_on_hand(world: World) -> None:
    first, _second = receive(world, containers=2)
    with pytest.raises(ValidationError, match="V-0002"):
        actions.record_count(acting_user=world["nurse"], location=world.location, counted={first.pk: "10"})


def test_loss_records_the_form_106_facts(world: World) -> None:
    container = receive(world)[0]
    facts = LossFacts(
        loss_type=LossType.NIGHT_BREAK_IN,
        discovered_on=timezone.localdate(),
        circumstances="Cabinet forced overnight; vial missing",
        police_notified=True,
        police_report_number="DPD-2026-114",
    )
    entry = actions.record_loss(acting_user=world["director"], container=container, ml="10", facts=facts)
    assert entry.details["police_report_number"] == "DPD-2026-114"
    assert "Night break-in" in entry.facts
    assert queries.container_balance_ml(container.pk) == 0


def test_destruction_needs_two_different_witnesses_who_reauthenticate(world: World) -> None:
    container = receive(world)[0]
    facts = DestructionFacts("Example Returns Inc", "9 Sample Rd, Austin, TX 78701", "RR7654321", "Incineration")
    with pytest.raises(WitnessError):
        actions.record_destruction(
            acting_user=world["director"],
            container=container,
            ml="10",
            facts=facts,
            witnesses=(witness(world["nurse"]), witness(world["nurse"])),
        )
    with pytest.raises(WitnessError):
        actions.record_destruction(
            acting_user=world["director"],
            container=container,
            ml="10",
            facts=facts,
            witnesses=(witness(world["nurse"]), None),
        )
    assert LedgerEntry.objects.count() == 1
    entry = actions.record_destruction(
        acting_user=world["director"],
        container=container,
        ml="10",
        facts=facts,
        witnesses=(witness(world["nurse"]), witness(world["prescriber"])),
    )
    assert (entry.witness, entry.second_witness) == (world["nurse"], world["prescriber"])
    assert queries.container_balance_ml(container.pk) == 0


def test_a_transfer_empties_the_vial_here_and_fills_a_new_one_there(world: World) -> None:
    container = receive(world)[0]
    arrived = actions.transfer_container(
        acting_user=world["director"], container=container, to_location=world.other_location, reason="Away site ran out"
    )
    assert arrived.kind == EntryKind.TRANSFER_IN
    assert arrived.container.location == world.other_location
    assert queries.container_balance_ml(container.pk) == 0
    assert queries.container_balance_ml(arrived.container_id) == D("10.000")


def test_only_unopened_vials_are_returned(world: World) -> None:
    opened, sealed = receive(world, containers=2)
    dispense_to_session(world, opened, "1")
    with pytest.raises(ValidationError, match="opened"):
        _return(world, opened)
    entry = _return(world, sealed)
    assert entry.ml == D("10.000") and queries.container_balance_ml(sealed.pk) == 0


def _return(world: World, container: Container, **overrides: str) -> LedgerEntry:
    fields = {"recipient_name": "Example Pharma", "recipient_address": "1 Road", "recipient_dea_number": "re1234567"}
    fields.update(overrides)
    return actions.return_container(
        acting_user=world["director"],
        container=container,
        reason="Recalled by maker",
        recipient_name=fields["recipient_name"],
        recipient_address=fields["recipient_address"],
        recipient_dea_number=fields["recipient_dea_number"],
    )


def test_a_return_needs_the_recipients_address_and_a_well_formed_dea_number(world: World) -> None:
    container = receive(world)[0]
    with pytest.raises(ValidationError) as refused:
        _return(world, container, recipient_address=" ", recipient_dea_number="R1234567")
    assert set(refused.value.message_dict) == {"recipient_address", "recipient_dea_number"}
    assert LedgerEntry.objects.count() == 1
    assert _return(world, container).details["recipient_dea_number"] == "RE1234567"


def test_a_nurse_cannot_return_transfer_destroy_or_correct(world: World) -> None:
    container = receive(world)[0]
    nurse = world["nurse"]
    facts = DestructionFacts("Example Returns Inc", "9 Sample Rd, Austin, TX 78701", "RR7654321", "Incineration")
    with pytest.raises(PermissionDenied):
        actions.return_container(
            acting_user=nurse,
            container=container,
            recipient_name="Example Pharma",
            recipient_address="1 Road",
            recipient_dea_number="RE1234567",
            reason="Recalled by maker",
        )
    with pytest.raises(PermissionDenied):
        actions.transfer_container(
            acting_user=nurse, container=container, to_location=world.other_location, reason="Away site ran out"
        )
    with pytest.raises(PermissionDenied):
        actions.record_destruction(
            acting_user=nurse,
            container=container,
            ml="1",
            facts=facts,
            witnesses=(witness(world["prescriber"]), witness(world["director"])),
        )
    with pytest.raises(PermissionDenied):
        actions.correct_entry(
            acting_user=nurse, entry=container.entries.get(), ml_change="-1", reason="Wrong quantity keyed"
        )
    assert LedgerEntry.objects.count() == 1


def test_destruction_needs_the_distributors_address_and_names_the_second_witness_field(world: World) -> None:
    container = receive(world)[0]
    with pytest.raises(ValidationError) as missing:
        actions.record_destruction(
            acting_user=world["director"],
            container=container,
            ml="10",
            facts=DestructionFacts("Example Returns Inc", "", "RR7654321", "Incineration"),
            witnesses=(witness(world["nurse"]), witness(world["prescriber"])),
        )
    assert set(missing.value.message_dict) == {"reverse_distributor_address"}
    facts = DestructionFacts("Example Returns Inc", "9 Sample Rd, Austin, TX 78701", "RR7654321", "Incineration")
    with pytest.raises(WitnessError) as wrong:
        actions.record_destruction(
            acting_user=world["director"],
            container=container,
            ml="10",
            facts=facts,
            witnesses=(witness(world["nurse"]), witness(world["prescriber"], password="wrong-password-123")),
        )
    assert set(wrong.value.message_dict) == {"second_witness_password"}
    assert LedgerEntry.objects.count() == 1


def test_an_entry_cannot_be_corrected_below_zero_and_a_transfer_not_at_all(world: World) -> None:
    container = receive(world, containers=2)[0]
    dispensed = dispense_to_session(world, container, "2.000")
    with pytest.raises(ValidationError, match="cannot be corrected below 0 mL"):
        actions.correct_entry(
            acting_user=world["director"], entry=dispensed, ml_change="-2.5", reason="Keyed 2 mL, drew none"
        )
    arrived = actions.transfer_container(
        acting_user=world["director"], container=container, to_location=world.other_location, reason="Site ran out"
    )
    with pytest.raises(ValidationError, match="transfer the vial back"):
        actions.correct_entry(acting_user=world["director"], entry=arrived, ml_change="-1", reason="Fewer arrived")
    assert queries.corrected_ml(dispensed) == D("2.000")


def test_an_inventory_is_signed_with_the_password_and_flags_differences(world: World) -> None:
    container = receive(world)[0]
    with pytest.raises(ValidationError, match="password"):
        actions.take_inventory(
            acting_user=world["director"],
            location=world.location,
            kind="biennial",
            business_time="close",
            counted={container.pk: "10"},
            password="not-my-password",
        )
    inventory = actions.take_inventory(
        acting_user=world["director"],
        location=world.location,
        kind="biennial",
        business_time="close",
        counted={container.pk: "9.9"},
        password=PASSWORD,
    )
    line = inventory.lines.get()
    assert (line.expected_ml, line.counted_ml, line.is_opened) == (D("10.000"), D("9.900"), False)
    assert Discrepancy.objects.filter(inventory_line=line, status=DiscrepancyStatus.OPEN).exists()
