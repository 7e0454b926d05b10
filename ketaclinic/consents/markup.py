"""Consent text as HTML: Markdown written by the medical director, sanitised with nh3.

Markdown passes raw HTML through, so the output is reduced to a small allow-list: no script, no
style, no images (nothing the PDF renderer could fetch), links only to web pages, email and
telephone. The same HTML is shown on the signing page and printed into the PDF, so what the
patient read is what the PDF shows.
"""

from __future__ import annotations

import markdown  # type: ignore[import-untyped]
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "ul", "ol", "li", "a", "blockquote"}
)
ALLOWED_URL_SCHEMES = frozenset({"https", "mailto", "tel"})


def render_consent_markdown(text: str) -> SafeString:
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
