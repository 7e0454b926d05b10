"""Staff-written Markdown turned into HTML that is safe to show (and to print into PDFs).

Markdown passes raw HTML through, so the output is sanitised with nh3 (the Rust ammonia
sanitiser) to an allow-list chosen by the caller: no script, no event-handler attributes, no
style, and links only to the schemes given, carrying rel="noopener noreferrer"."""

from __future__ import annotations

from collections.abc import Iterable

import markdown  # type: ignore[import-untyped]  # no stubs ship with the package; one call is used
import nh3
from django.utils.safestring import SafeString, mark_safe

BASIC_TAGS = frozenset(
    {"p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "ul", "ol", "li", "a", "blockquote"}
)


def render_markdown(text: str, *, tags: Iterable[str] = BASIC_TAGS, url_schemes: Iterable[str]) -> SafeString:
    """Render ``text`` as Markdown and return HTML sanitised to ``tags`` and ``url_schemes``."""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=set(tags),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}},
        url_schemes=set(url_schemes),
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
