"""The printable infusion record and its PDF: every part of the session, audited when read."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import InfusionSession
from ketaclinic.infusions.tests.factories import make_session
from ketaclinic.inventory.tests.pdf_text import pdf_text


def _locked_with_addendum(world: World) -> InfusionSession:
    session = make_session(world, "locked")
    actions.add_addendum(acting_user=world["nurse"], session=session, text="Late entry: patient tolerated well.")
    return session


def test_the_print_view_shows_the_whole_record_and_the_read_is_audited(
    world: World, django_assert_max_num_queries: Any
) -> None:
    session = _locked_with_addendum(world)
    bag = session.bags.get()
    client = signed_in_client(world["nurse"])
    with django_assert_max_num_queries(40):
        response = client.get(reverse("infusions:record", args=[session.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Infusion record: Pat Example",
        f"MRN {world.patient.mrn}",
        str(session.protocol_version),
        "Identity confirmed with two identifiers",
        bag.lot_number,
        "1 mg/mL",
        "Start 0.3 mg/kg/h (21.0 mL/h)",
        "mg</strong> given",
        "Model estimate, not a measurement",
        "Modified Aldrete",
        "10/10",
        "Discharged",
        "Sam Escort",
        "co-signed",
        "Late entry: patient tolerated well.",
        "Wasted",
    ):
        assert text in page, text
    assert '<svg class="fs-svg"' in page
    read = AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, object_type="infusions.InfusionSession", object_id=str(session.pk)
    )
    assert read.get().actor == world["nurse"]


def test_the_pdf_renders_the_record_and_its_download_is_audited_as_an_export(world: World) -> None:
    session = _locked_with_addendum(world)
    response = signed_in_client(world["prescriber"]).get(reverse("infusions:record_pdf", args=[session.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"infusion-record-{session.pk}.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for words in (
        "Infusion record: Pat Example",
        session.bags.get().lot_number,
        "Pump timeline",
        "Model estimate, not a measurement",
        "Dissociation band",
        "Sam Escort",
        "Late entry: patient tolerated well.",
    ):
        assert words in text, words
    export = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, object_id=str(session.pk))
    assert export.actor == world["prescriber"] and export.patient_id == world.patient.pk


def test_an_unfinished_record_says_what_is_missing(world: World) -> None:
    session = make_session(world, "ready")
    page = signed_in_client(world["nurse"]).get(reverse("infusions:record", args=[session.pk])).content.decode()
    assert "The pump was not started." in page
    assert "not signed" in page and "not co-signed" in page
    assert "Model estimate" not in page  # no curve before the start


def test_the_outsider_cannot_read_or_download_the_record(world: World) -> None:
    session = make_session(world, "infusing")
    client = signed_in_client(world["outsider"])
    assert client.get(reverse("infusions:record", args=[session.pk])).status_code == 403
    assert client.get(reverse("infusions:record_pdf", args=[session.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
