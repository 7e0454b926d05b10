"""Public page text: staff Markdown, sanitised (ketaclinic/core/markup.py). Images are not allowed
(the Content-Security-Policy would block outside ones anyway); links may go to web pages, email,
telephone and SMS."""

from __future__ import annotations

from django.utils.safestring import SafeString

from ketaclinic.core import markup

ALLOWED_TAGS = markup.BASIC_TAGS | {"code", "pre"}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "sms"})


def render_markdown(text: str) -> SafeString:
    """Render ``text`` as Markdown and return sanitised HTML, ready for a template."""
    return markup.render_markdown(text, tags=ALLOWED_TAGS, url_schemes=ALLOWED_URL_SCHEMES)
