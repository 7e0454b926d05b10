"""Consent test data, made through the real actions."""

from __future__ import annotations

from ketaclinic.consents.actions import publish_document, sign_document
from ketaclinic.consents.choices import DocumentKind
from ketaclinic.consents.demo import encode_grayscale_png
from ketaclinic.consents.models import ConsentDocument, ConsentSignature
from ketaclinic.consents.queries import current_document
from ketaclinic.core.testing import World
from ketaclinic.patients.models import Patient

SMALL_PNG = encode_grayscale_png([[255, 0, 255], [0, 255, 0]])


def publish(
    world: World, kind: DocumentKind = DocumentKind.INFORMED_CONSENT, body: str = "You may stop at any time."
) -> ConsentDocument:
    return publish_document(
        acting_user=world["director"], kind=kind, title=f"{kind.label} (test)", body_markdown=f"## Summary\n\n{body}"
    )


def current_or_publish(world: World, kind: DocumentKind = DocumentKind.INFORMED_CONSENT) -> ConsentDocument:
    return current_document(kind) or publish(world, kind)


def sign(
    world: World, document: ConsentDocument, patient: Patient | None = None, drawn: bytes | None = None
) -> ConsentSignature:
    patient = patient or world.patient
    return sign_document(
        acting_user=patient.user,
        patient=patient,
        document=document,
        typed_name=patient.full_name,
        drawn_signature_png=drawn,
        agreed=True,
    )


def signature_of(world: World) -> ConsentSignature:
    """The world patient's signature of the informed consent, made once per world."""
    document = current_or_publish(world)
    existing = ConsentSignature.objects.filter(patient=world.patient, document=document).first()
    return existing or sign(world, document)
