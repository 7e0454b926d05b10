"""Publishing consent document versions and signing them. Each writes its own audit event."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.consents.choices import MAX_DRAWN_SIGNATURE_BYTES, PNG_MAGIC, DocumentKind
from ketaclinic.consents.models import ConsentDocument, ConsentSignature, sha256_hex, signature_digest
from ketaclinic.consents.pdf import render_signature_pdf
from ketaclinic.consents.permissions import can_manage_consent_documents
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.patients.models import Patient


@transaction.atomic
def publish_document(
    *,
    acting_user: User,
    kind: DocumentKind | str,
    title: str,
    body_markdown: str,
    requires_signature: bool = True,
) -> ConsentDocument:
    """Publish the next version of a document kind. Versions are never edited: a change to the
    wording is a new version, and every patient is then asked to sign it again."""
    if not can_manage_consent_documents(acting_user):
        raise PermissionDenied("Only the medical director publishes consent documents.")
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": "Choose one of the document kinds."})
    title = " ".join(title.split())
    body = body_markdown.replace("\r\n", "\n").strip() + "\n"
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Give the document a title patients will recognise."
    if not body.strip():
        errors["body_markdown"] = "The document has no text."
    if errors:
        raise ValidationError(errors)
    # Lock the kind's rows so two publishers cannot both take the same next number; the unique
    # constraint is the backstop on databases without row locks.
    previous = ConsentDocument.objects.select_for_update().filter(kind=kind).order_by("-version").first()
    body_sha256 = sha256_hex(body.encode())
    if (
        previous is not None
        and previous.body_sha256 == body_sha256
        and previous.title == title
        and previous.requires_signature == requires_signature
    ):
        raise ValidationError(
            "This is identical to the current version. Publishing it would ask every patient to sign again "
            "for no change."
        )
    next_version = (ConsentDocument.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0) + 1
    document = ConsentDocument(
        kind=kind,
        version=next_version,
        title=title,
        body_markdown=body,
        body_sha256=body_sha256,
        published_at=timezone.now(),
        published_by=acting_user,
        requires_signature=requires_signature,
    )
    document.full_clean()
    document.save()

    def snapshot(doc: ConsentDocument | None) -> dict[str, object]:
        if doc is None:
            return {}
        return {
            "kind": doc.kind,
            "version": doc.version,
            "title": doc.title,
            "body_sha256": doc.body_sha256,
            "requires_signature": doc.requires_signature,
        }

    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=document,
        changes=audit.changes_between(snapshot(previous), snapshot(document)),
        reason=f"published version {document.version}",
    )
    return document


def normalise_name(name: str) -> str:
    """Compare names ignoring case and runs of spaces: "  pat   EXAMPLE" matches "Pat Example"."""
    return " ".join(name.split()).casefold()


def validate_drawn_signature(png: bytes) -> None:
    """A drawn signature must be a PNG (magic bytes, then the IHDR header chunk) and small."""
    if len(png) > MAX_DRAWN_SIGNATURE_BYTES:
        raise ValidationError(
            f"The drawn signature is too large ({len(png) // 1024} KB; the limit is "
            f"{MAX_DRAWN_SIGNATURE_BYTES // 1024} KB). Clear it and draw it again."
        )
    if not png.startswith(PNG_MAGIC) or png[12:16] != b"IHDR":
        raise ValidationError("The drawn signature is not a PNG image. Clear it and draw it again, or leave it empty.")


@transaction.atomic
def sign_document(
    *,
    acting_user: User | None,
    patient: Patient,
    document: ConsentDocument,
    typed_name: str,
    drawn_signature_png: bytes | None = None,
    agreed: bool,
) -> ConsentSignature:
    """Record the patient's electronic signature of ``document`` and store its PDF copy.

    The typed name must be the patient's full name on record, the agreement box must be ticked,
    and only the current version may be signed. The address and browser come from the request
    (:data:`ketaclinic.core.audit.request_context`)."""
    typed = " ".join(typed_name.split())
    errors: dict[str, list[str]] = {}
    if not typed:
        errors["typed_name"] = ["Type your full name to sign."]
    elif normalise_name(typed) != normalise_name(patient.full_name):
        errors["typed_name"] = [
            f"The name typed, “{typed}”, does not match the name on the record, “{patient.full_name}”. "
            "Type the first and last name exactly as on the record (capital letters do not matter). "
            "If the record is wrong, call the clinic before signing."
        ]
    if not agreed:
        errors["agreed"] = ["Tick “I have read and agree” to sign. If you do not agree, do not sign: call the clinic."]
    if drawn_signature_png:
        try:
            validate_drawn_signature(drawn_signature_png)
        except ValidationError as exc:
            errors["drawn_signature"] = exc.messages
    if ConsentDocument.objects.filter(kind=document.kind, version__gt=document.version).exists():
        errors["__all__"] = [
            f"A newer version of “{document.title}” exists (you opened version {document.version}). "
            "Open the current version and read it before signing."
        ]
    if errors:
        raise ValidationError(errors)

    info = audit.request_context.get()
    signed_at = timezone.now()
    drawn = drawn_signature_png or None
    signature_sha256 = signature_digest(
        document_sha256=document.body_sha256,
        patient_id=patient.pk,
        typed_name=typed,
        signed_at=signed_at,
        drawn_signature_png=drawn,
    )
    signature = ConsentSignature(
        document=document,
        patient=patient,
        signed_by=acting_user,
        typed_name=typed,
        drawn_signature_png=drawn,
        signed_at=signed_at,
        ip_address=info.ip_address,
        user_agent=info.user_agent[:300],
        document_sha256=document.body_sha256,
        signature_sha256=signature_sha256,
    )
    signature.pdf_path = f"consents/{patient.pk}/{signature.pk}.pdf"
    pdf = render_signature_pdf(
        document=document,
        patient=patient,
        typed_name=typed,
        drawn_signature_png=drawn,
        signed_at=signed_at,
        ip_address=info.ip_address,
        document_sha256=document.body_sha256,
        signature_sha256=signature_sha256,
    )
    signature.full_clean()
    signature.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=signature,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes=audit.changes_between(
            {},
            {
                "document": f"{document.kind} v{document.version}",
                "typed_name": typed,
                "has_drawn_signature": drawn is not None,
                "document_sha256": document.body_sha256,
                "signature_sha256": signature_sha256,
                "pdf_path": signature.pdf_path,
            },
        ),
    )
    # The file is written last, inside the transaction: if writing fails, the signature row is
    # rolled back with it, so no signature exists without its PDF copy.
    _write_private_file(Path(settings.MEDIA_ROOT) / signature.pdf_path, pdf)
    return signature


def _write_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` readable by the application's user only; never overwrite a file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
