"""Consent documents (versioned, never edited) and patients' electronic signatures of them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from ketaclinic.consents.choices import DocumentKind
from ketaclinic.core.models import AppendOnlyError
from ketaclinic.patients.models import Patient


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ConsentDocument(models.Model):
    """One published version of a document patients sign: the informed consent for ketamine
    infusion, the financial policy or the text-message terms. A version is never edited once
    published; a change is a new version, and the current version of a kind is the highest one.
    The SHA-256 of the text is kept so each signature can prove which words were agreed to."""

    kind = models.CharField(max_length=30, choices=DocumentKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body_markdown = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requires_signature = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["kind", "-version"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["kind", "version"], name="consent_document_version_unique_per_kind"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="consent_document_version_from_1"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("A published consent document is never edited: publish a new version")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Published consent documents are never deleted")

    @property
    def kind_label(self) -> str:
        return DocumentKind(self.kind).label


def signature_digest(
    *, document_sha256: str, patient_id: int, typed_name: str, signed_at: datetime, drawn_signature_png: bytes | None
) -> str:
    """SHA-256 binding the signed text to the person, the name typed, the moment and the drawing.
    Each part is length-prefixed so that no two different inputs produce the same byte stream."""
    digest = hashlib.sha256()
    for part in (
        document_sha256.encode(),
        str(patient_id).encode(),
        typed_name.encode(),
        signed_at.isoformat().encode(),
        drawn_signature_png or b"",
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class ConsentSignature(models.Model):
    """A patient's electronic signature of one consent document version: the name they typed,
    an optional drawn signature, when and from which address and browser, the document's hash at
    that moment and a hash over all of it, plus the path of the PDF copy made at signing. Signed
    consents are never changed or removed (the model refuses, and a database trigger refuses
    UPDATE and DELETE). The key is a random UUID so the PDF's file name is known before the row
    is written and cannot be guessed from another patient's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="signatures")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consent_signatures")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    typed_name = models.CharField(max_length=170)
    drawn_signature_png = models.BinaryField(null=True, blank=True)
    signed_at = models.DateTimeField(db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    document_sha256 = models.CharField(max_length=64)
    signature_sha256 = models.CharField(max_length=64, unique=True)
    # Relative to MEDIA_ROOT; the file is served only through permission-checked views.
    pdf_path = models.CharField(max_length=200)

    class Meta:
        ordering: ClassVar[list[str]] = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.document} signed by patient {self.patient_id} at {self.signed_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("A signed consent is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("A signed consent is never deleted")

    @property
    def has_drawn_signature(self) -> bool:
        return bool(self.drawn_signature_png)

    @property
    def pdf_file(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.pdf_path

    def expected_sha256(self) -> str:
        return signature_digest(
            document_sha256=self.document_sha256,
            patient_id=self.patient_id,
            typed_name=self.typed_name,
            signed_at=self.signed_at,
            drawn_signature_png=bytes(self.drawn_signature_png) if self.drawn_signature_png else None,
        )

    def is_intact(self) -> bool:
        """True when the stored hash still matches the stored content."""
        return self.expected_sha256() == self.signature_sha256
