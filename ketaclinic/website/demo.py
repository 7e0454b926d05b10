"""The demo clinic's public site: every page saved through the editor (so the audit trail shows
who published what), the Q&A entries, one later edit, and two enquiries sent through the real
contact-form path. People, numbers (+1303555xxxx) and addresses (example.org) are invented."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketaclinic.leads.choices import ContactMethod
from ketaclinic.website.actions import (
    ContactSubmission,
    accept_contact_message,
    create_faq_entry,
    save_page,
    update_faq_entry,
)
from ketaclinic.website.choices import PageSlug
from ketaclinic.website.content import DEFAULT_FAQ, DEFAULT_PAGES

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext

# Documentation addresses (RFC 5737), never a real sender.
DEMO_ADDRESS = "203.0.113.24"


def seed(ctx: DemoContext) -> None:
    director = ctx.users["director"]
    desk = ctx.users["frontdesk"]
    for slug in PageSlug:
        default = DEFAULT_PAGES[slug]
        save_page(acting_user=director, slug=slug, title=default.title, body_markdown=default.body_markdown)
    entries = [
        create_faq_entry(
            acting_user=director,
            question=faq.question,
            answer_markdown=faq.answer_markdown,
            order=10 * (index + 1),
            is_published=True,
        )
        for index, faq in enumerate(DEFAULT_FAQ)
    ]
    parking = create_faq_entry(
        acting_user=desk,
        question="Where do I park?",
        answer_markdown="Visitor parking is behind the building; the front desk validates your ticket.",
        order=200,
        is_published=False,
    )
    update_faq_entry(
        acting_user=desk,
        entry=parking,
        question=parking.question,
        answer_markdown=(
            "Visitor parking is behind the building, entrance on the side street. The front desk "
            "validates your ticket. Remember that someone else must drive you home after an infusion."
        ),
        order=len(entries) * 10 + 10,
        is_published=True,
    )
    accept_contact_message(
        acting_user=None,
        location=ctx.location,
        address=DEMO_ADDRESS,
        submission=ContactSubmission(
            name="Wendell Prakash",
            email="wendell.prakash@example.org",
            phone="+13035550690",
            preferred_contact=ContactMethod.EMAIL,
            message="Hello, do you have a waiting list at the moment, and how soon could I get a consultation?",
            care_sms_consent=True,
            marketing_sms_consent=False,
        ),
    )
    accept_contact_message(
        acting_user=None,
        location=ctx.location,
        address=DEMO_ADDRESS,
        submission=ContactSubmission(
            name="Mirela Dobos",
            email="",
            phone="+13035550691",
            preferred_contact=ContactMethod.SMS,
            message="Could you text me your opening hours and address, please?",
            care_sms_consent=True,
            marketing_sms_consent=True,
        ),
    )
