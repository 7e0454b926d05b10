"""Consent text as HTML: Markdown written by the medical director, sanitised
(ketaclinic/core/markup.py). No images (nothing the PDF renderer could fetch), links only to web
pages, email and telephone. The same HTML is shown on the signing page and printed into the PDF,
so what the patient read is what the PDF shows."""

from __future__ import annotations

from django.utils.safestring import SafeString

from ketaclinic.core import markup

ALLOWED_URL_SCHEMES = frozenset({"https", "mailto", "tel"})


def render_consent_markdown(text: str) -> SafeString:
    return markup.render_markdown(text, url_schemes=ALLOWED_URL_SCHEMES)
