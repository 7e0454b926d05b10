"""Read helpers: which document versions are current, and what a patient has signed or still
has to sign."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from ketaclinic.consents.choices import DocumentKind
from ketaclinic.consents.models import ConsentDocument, ConsentSignature
from ketaclinic.patients.models import Patient


def current_documents() -> list[ConsentDocument]:
    """The highest published version of each kind, in the order of :class:`DocumentKind`. A clinic
    has a handful of versions per kind, so reading them all is cheaper than a grouped subquery."""
    latest: dict[str, ConsentDocument] = {}
    for doc in ConsentDocument.objects.order_by("kind", "-version"):
        latest.setdefault(doc.kind, doc)
    return [latest[k] for k in DocumentKind.values if k in latest]


def current_document(kind: str) -> ConsentDocument | None:
    return ConsentDocument.objects.filter(kind=kind).order_by("-version").first()


def is_current(document: ConsentDocument) -> bool:
    return not ConsentDocument.objects.filter(kind=document.kind, version__gt=document.version).exists()


def documents_awaiting_signature(patient: Patient) -> list[ConsentDocument]:
    """Current versions the patient has not signed. Signing an earlier version does not count:
    a new version of a document needs a new signature."""
    signed_ids = set(ConsentSignature.objects.filter(patient=patient).values_list("document_id", flat=True))
    return [d for d in current_documents() if d.requires_signature and d.pk not in signed_ids]


def signatures_for(patient: Patient) -> list[ConsentSignature]:
    """Every signature of the patient, newest first, with its document."""
    return list(ConsentSignature.objects.filter(patient=patient).select_related("document").order_by("-signed_at"))


@dataclass(frozen=True)
class KindSummary:
    kind: DocumentKind
    versions: list[ConsentDocument]  # newest first, each annotated with ``signed_count``

    @property
    def current(self) -> ConsentDocument | None:
        return self.versions[0] if self.versions else None


def document_summaries() -> list[KindSummary]:
    """Each kind with all its versions and how many signatures each version has (staff list)."""
    by_kind: dict[str, list[ConsentDocument]] = {k: [] for k in DocumentKind.values}
    rows = (
        ConsentDocument.objects.select_related("published_by")
        .annotate(signed_count=Count("signatures"))
        .order_by("kind", "-version")
    )
    for doc in rows:
        by_kind[doc.kind].append(doc)
    return [KindSummary(DocumentKind(k), v) for k, v in by_kind.items()]
