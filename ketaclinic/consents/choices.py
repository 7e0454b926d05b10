"""The kinds of document a patient signs, and limits on what a signature may carry."""

from __future__ import annotations

from django.db import models


class DocumentKind(models.TextChoices):
    INFORMED_CONSENT = "informed_consent", "Informed consent for ketamine infusion"
    FINANCIAL_POLICY = "financial_policy", "Financial policy"
    SMS_TERMS = "sms_terms", "Text message (SMS) terms"


# A hand-drawn signature on a phone canvas is a few kilobytes as PNG; anything near this size
# is not a signature, and every byte is copied into the PDF and the hash.
MAX_DRAWN_SIGNATURE_BYTES = 200 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
