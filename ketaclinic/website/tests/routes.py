"""Who may open the public website's pages and the staff editor (merged into the route walk)."""

from __future__ import annotations

from ketaclinic.core.testing import Route, World
from ketaclinic.website.actions import create_faq_entry


def _faq(w: World) -> dict[str, int]:
    entry = create_faq_entry(acting_user=None, question="Route walk?", answer_markdown="Yes.", is_published=True)
    return {"pk": entry.pk}


ROUTES: dict[str, Route] = {
    "website:treatment": Route("public"),
    "website:questions": Route("public"),
    "website:contact": Route("public"),
    "website:contact_thanks": Route("public"),
    "website:editor": Route("edit_website"),
    "website:page_edit": Route("edit_website", kwargs=lambda w: {"slug": "treatment"}),
    "website:faq_new": Route("edit_website"),
    "website:faq_edit": Route("edit_website", kwargs=_faq),
}
