from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction

from ketaclinic.consents.actions import publish_document, sign_document
from ketaclinic.consents.choices import MAX_DRAWN_SIGNATURE_BYTES, DocumentKind
from ketaclinic.consents.models import ConsentDocument, ConsentSignature
from ketaclinic.consents.queries import current_documents, documents_awaiting_signature, signatures_for
from ketaclinic.consents.tests.factories import SMALL_PNG, publish, sign
from ketaclinic.core.models import AppendOnlyError, AuditEvent
from ketaclinic.core.testing import World


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def pdf_count(root: Path) -> int:
    return len(list(root.rglob("*.pdf")))


def test_signing_stores_a_pdf_copy_and_a_verifiable_hash(world: World, media_root: Path) -> None:
    document = publish(world)
    signature = sign(world, document, drawn=SMALL_PNG)
    assert signature.pdf_file.is_file()
    assert signature.pdf_file.read_bytes().startswith(b"%PDF")
    assert signature.pdf_file.is_relative_to(media_root / "consents" / str(world.patient.pk))
    assert signature.document_sha256 == document.body_sha256
    stored = ConsentSignature.objects.get(pk=signature.pk)
    assert stored.is_intact()
    assert bytes(stored.drawn_signature_png or b"") == SMALL_PNG
    event = AuditEvent.objects.filter(object_type="consents.ConsentSignature", action="create").get()
    assert event.patient_id == world.patient.pk
    assert event.changes["signature_sha256"] == [None, signature.signature_sha256]


def test_the_typed_name_matches_regardless_of_case_and_spacing(world: World) -> None:
    signature = sign_document(
        acting_user=world["patient"],
        patient=world.patient,
        document=publish(world),
        typed_name="  pat   EXAMPLE ",
        agreed=True,
    )
    assert signature.typed_name == "pat EXAMPLE"


def test_changing_any_signed_field_breaks_the_signature_hash(world: World) -> None:
    signature = sign(world, publish(world))
    signature.typed_name = "Someone Else"
    assert not signature.is_intact()


@pytest.mark.parametrize(
    "case",
    [
        ("Pat Sample", True, "typed_name", "does not match the name on the record"),
        ("", True, "typed_name", "Type your full name"),
        ("Pat Example", False, "agreed", "I have read and agree"),
    ],
)
def test_bad_signing_input_is_refused_clearly_and_writes_nothing(
    world: World, media_root: Path, case: tuple[str, bool, str, str]
) -> None:
    typed_name, agreed, field, message = case
    document = publish(world)
    events_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as info:
        sign_document(
            acting_user=world["patient"], patient=world.patient, document=document, typed_name=typed_name, agreed=agreed
        )
    assert message in " ".join(info.value.message_dict[field])
    assert ConsentSignature.objects.count() == 0
    assert AuditEvent.objects.count() == events_before
    assert pdf_count(media_root) == 0


def test_signing_a_superseded_version_is_refused(world: World, media_root: Path) -> None:
    old = publish(world, body="First wording.")
    publish(world, body="Second wording.")
    with pytest.raises(ValidationError) as info:
        sign(world, old)
    assert "A newer version" in " ".join(info.value.messages)
    assert ConsentSignature.objects.count() == 0
    assert pdf_count(media_root) == 0


@pytest.mark.parametrize(
    ("png", "message"),
    [
        (b"GIF89a" + b"\x00" * 100, "not a PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a PNG"),
        (SMALL_PNG + b"\x00" * MAX_DRAWN_SIGNATURE_BYTES, "too large"),
    ],
)
def test_a_drawn_signature_that_is_not_a_small_png_is_refused(
    world: World, media_root: Path, png: bytes, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        sign(world, publish(world), drawn=png)
    assert message in " ".join(info.value.message_dict["drawn_signature"])
    assert ConsentSignature.objects.count() == 0
    assert pdf_count(media_root) == 0


def test_a_new_version_puts_the_document_back_among_those_awaiting_signature(world: World) -> None:
    consent = publish(world, DocumentKind.INFORMED_CONSENT)
    v1 = publish(world, DocumentKind.FINANCIAL_POLICY, body="Pay on the day.")
    sign(world, consent)
    sign(world, v1)
    assert documents_awaiting_signature(world.patient) == []
    v2 = publish(world, DocumentKind.FINANCIAL_POLICY, body="Pay on the day; plans available.")
    assert v2.version == 2
    assert documents_awaiting_signature(world.patient) == [v2]
    assert current_documents() == [consent, v2]
    assert [s.document for s in signatures_for(world.patient)] == [v1, consent]


def test_a_document_that_needs_no_signature_is_never_awaiting(world: World) -> None:
    publish_document(
        acting_user=world["director"],
        kind=DocumentKind.SMS_TERMS,
        title="Text terms",
        body_markdown="Reply STOP to opt out.",
        requires_signature=False,
    )
    assert documents_awaiting_signature(world.patient) == []


@pytest.mark.parametrize("persona", ["frontdesk", "nurse", "prescriber", "billing", "admin", "patient"])
def test_only_the_medical_director_publishes(world: World, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        publish_document(acting_user=world[persona], kind=DocumentKind.SMS_TERMS, title="T", body_markdown="Text.")
    assert ConsentDocument.objects.count() == 0


def test_publishing_numbers_versions_per_kind_and_is_audited(world: World) -> None:
    first = publish(world, DocumentKind.FINANCIAL_POLICY, body="One.")
    second = publish(world, DocumentKind.FINANCIAL_POLICY, body="Two.")
    other = publish(world, DocumentKind.SMS_TERMS)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    event = AuditEvent.objects.filter(object_type="consents.ConsentDocument", object_id=str(second.pk)).get()
    assert event.actor == world["director"]
    assert event.changes["version"] == [1, 2]
    assert event.changes["body_sha256"] == [first.body_sha256, second.body_sha256]


def test_publishing_identical_text_again_is_refused(world: World) -> None:
    publish(world, body="Same.")
    with pytest.raises(ValidationError, match="identical to the current version"):
        publish(world, body="Same.")
    assert ConsentDocument.objects.count() == 1


def test_publishing_without_a_title_or_text_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        publish_document(acting_user=world["director"], kind=DocumentKind.SMS_TERMS, title=" ", body_markdown=" \n")
    assert set(info.value.message_dict) == {"title", "body_markdown"}
    assert ConsentDocument.objects.count() == 0


def test_signatures_and_documents_cannot_be_changed_or_deleted_through_the_model(world: World) -> None:
    document = publish(world)
    signature = sign(world, document)
    with pytest.raises(AppendOnlyError):
        signature.save()
    with pytest.raises(AppendOnlyError):
        signature.delete()
    with pytest.raises(AppendOnlyError):
        document.save()
    with pytest.raises(AppendOnlyError):
        document.delete()


def test_the_database_refuses_updates_and_deletes_of_signatures(world: World) -> None:
    signature = sign(world, publish(world))
    for statement in (
        "UPDATE consents_consentsignature SET typed_name = 'X'",
        "DELETE FROM consents_consentsignature",
        "UPDATE consents_consentdocument SET body_markdown = 'X'",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        ConsentSignature.objects.filter(pk=signature.pk).update(typed_name="Changed")
    assert ConsentSignature.objects.get(pk=signature.pk).typed_name == "Pat Example"
