"""Staff-written Markdown turned into HTML that is safe to publish.

Markdown allows raw HTML, so its output is sanitised with nh3 (the Rust ammonia sanitiser) to a
small allow-list: no script, no event-handler attributes, no style, no images from elsewhere
(the Content-Security-Policy would block them anyway). Links may only point to web pages, email,
telephone and SMS, and carry rel="noopener noreferrer".
"""

from __future__ import annotations

import markdown  # type: ignore[import-untyped]  # no stubs ship with the package; one call is used
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "ul", "ol", "li", "a", "blockquote", "code", "pre"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "sms"})


def render_markdown(text: str) -> SafeString:
    """Render ``text`` as Markdown and return sanitised HTML, ready for a template."""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
