"""The PDF copy of a signed consent, rendered with WeasyPrint from an HTML template.

The renderer may fetch only ``data:`` URLs (the embedded drawn signature): the document text is
staff-written, and a PDF renderer that follows links to other hosts or local files is a classic
server-side request forgery and file-disclosure hole."""

from __future__ import annotations

import base64
import logging
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string

from ketaclinic.consents.markup import render_consent_markdown
from ketaclinic.consents.models import ConsentDocument
from ketaclinic.patients.models import Patient

# WeasyPrint reports each rendering step at INFO; one line per step per signature is noise.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def render_signature_pdf(
    *,
    document: ConsentDocument,
    patient: Patient,
    typed_name: str,
    drawn_signature_png: bytes | None,
    signed_at: datetime,
    ip_address: str | None,
    document_sha256: str,
    signature_sha256: str,
) -> bytes:
    location = patient.location
    local_signed_at = signed_at.astimezone(zoneinfo.ZoneInfo(location.time_zone))
    drawn_uri = "data:image/png;base64," + base64.b64encode(drawn_signature_png).decode() if drawn_signature_png else ""
    html = render_to_string(
        "consents/signature_pdf.html",
        {
            "clinic_name": settings.CLINIC_NAME,
            "location": location,
            "document": document,
            "body_html": render_consent_markdown(document.body_markdown),
            "patient": patient,
            "typed_name": typed_name,
            "drawn_uri": drawn_uri,
            "signed_at_local": local_signed_at,
            "time_zone": location.time_zone,
            "ip_address": ip_address or "not recorded",
            "document_sha256": document_sha256,
            "signature_sha256": signature_sha256,
        },
    )
    # Imported here: loading WeasyPrint parses its default stylesheets (about half a second), which
    # every web and worker process would otherwise pay at start-up although only signing needs it.
    from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]  # noqa: PLC0415

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    pdf: bytes = HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
    return pdf
