"""Public pages, Markdown sanitising, and the staff editor."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.website.actions import create_faq_entry, save_page
from ketaclinic.website.choices import PageSlug
from ketaclinic.website.markup import render_markdown
from ketaclinic.website.models import FaqEntry, Page


def test_markdown_sanitising_strips_script_and_event_handlers() -> None:
    html = render_markdown(
        "Hello <script>alert('x')</script> **world**\n\n<img src=x onerror=alert(1)>"
        '\n\n<a href="javascript:alert(1)" onclick="steal()">click</a>'
    )

    assert "<script" not in html and "alert('x')" not in html
    assert "onerror" not in html and "onclick" not in html
    assert "<img" not in html
    assert "javascript:" not in html
    assert "<strong>world</strong>" in html


def test_markdown_links_get_noopener_and_keep_phone_links() -> None:
    html = render_markdown("[Call](tel:+13035550100) or [read](https://example.org/paper)")

    assert 'href="tel:+13035550100"' in html
    assert 'href="https://example.org/paper"' in html
    assert html.count('rel="noopener noreferrer"') == 2


@pytest.mark.parametrize("name", ["website:home", "website:treatment", "website:questions", "website:contact"])
def test_public_pages_have_call_and_text_links_from_the_location(world: World, name: str) -> None:
    html = Client().get(reverse(name)).content.decode()

    assert f'href="tel:{world.location.phone}"' in html
    if name != "website:contact":
        assert f'href="sms:{world.location.sms_number}"' in html


def test_public_text_says_off_label_and_limited_evidence_without_saving_pages(world: World) -> None:
    home = Client().get(reverse("website:home")).content.decode()
    treatment = Client().get(reverse("website:treatment")).content.decode()

    assert "off-label" in home and "cannot promise results" in home
    assert "6 infusions over about 3 weeks" in treatment
    assert "adult escort" in treatment and "must not drive" in treatment
    assert "Schwenk" in treatment and "Pomeroy" in treatment
    assert Page.objects.count() == 0


def test_saved_page_text_replaces_the_starting_text_and_is_sanitised(world: World) -> None:
    save_page(
        acting_user=world["director"],
        slug=PageSlug.HOME,
        title="Welcome",
        body_markdown="New <script>x()</script> text",
    )

    html = Client().get(reverse("website:home")).content.decode()

    assert "<h1>Welcome</h1>" in html
    assert "New" in html and "x()" not in html


def test_questions_page_lists_only_published_entries_in_order(world: World) -> None:
    create_faq_entry(acting_user=None, question="Second?", answer_markdown="B", order=20, is_published=True)
    create_faq_entry(acting_user=None, question="First?", answer_markdown="A", order=10, is_published=True)
    create_faq_entry(acting_user=None, question="Draft?", answer_markdown="C", order=5, is_published=False)

    html = Client().get(reverse("website:questions")).content.decode()

    assert html.index("First?") < html.index("Second?")
    assert "Draft?" not in html


def test_questions_page_without_entries_says_what_to_do(world: World) -> None:
    html = Client().get(reverse("website:questions")).content.decode()

    assert "No questions published yet" in html
    assert reverse("website:contact") in html


def test_staff_page_edit_is_audited_with_old_and_new_text(world: World) -> None:
    director = world["director"]
    save_page(acting_user=director, slug=PageSlug.TREATMENT, title="Treatment", body_markdown="Old text")
    client = signed_in_client(world["frontdesk"])

    response = client.post(
        reverse("website:page_edit", kwargs={"slug": "treatment"}),
        {"title": "Treatment", "body_markdown": "New text"},
    )

    assert response.status_code == 302
    page = Page.objects.get(slug=PageSlug.TREATMENT)
    assert page.body_markdown == "New text"
    assert page.updated_by == world["frontdesk"]
    event = AuditEvent.objects.filter(object_type="website.Page", action=AuditEvent.Action.UPDATE).get()
    assert event.actor == world["frontdesk"]
    assert event.changes == {"body_markdown": ["Old text", "New text"]}


def test_first_save_of_a_page_is_audited_as_a_creation(world: World) -> None:
    page = save_page(acting_user=world["director"], slug=PageSlug.CONTACT, title="Contact", body_markdown="Hi")

    event = AuditEvent.objects.get(object_type="website.Page", object_id=str(page.pk))
    assert event.action == AuditEvent.Action.CREATE
    assert event.changes == {"body_markdown": [None, "Hi"], "title": [None, "Contact"]}


def test_faq_edit_is_audited_and_publishes_the_entry(world: World) -> None:
    entry = create_faq_entry(acting_user=None, question="Parking?", answer_markdown="Behind.", order=10)
    client = signed_in_client(world["admin"])

    client.post(
        reverse("website:faq_edit", kwargs={"pk": entry.pk}),
        {"question": "Parking?", "answer_markdown": "Behind the building.", "order": 10, "is_published": "on"},
    )

    entry.refresh_from_db()
    assert entry.is_published
    event = AuditEvent.objects.filter(object_type="website.FaqEntry", action=AuditEvent.Action.UPDATE).get()
    assert event.changes == {
        "answer_markdown": ["Behind.", "Behind the building."],
        "is_published": [False, True],
    }


def test_new_faq_entry_from_the_editor(world: World) -> None:
    client = signed_in_client(world["frontdesk"])

    response = client.post(
        reverse("website:faq_new"), {"question": "Open late?", "answer_markdown": "Thursdays.", "order": 5}
    )

    assert response.status_code == 302
    assert FaqEntry.objects.get().question == "Open late?"


def test_invalid_faq_entry_is_refused_and_stores_nothing(world: World) -> None:
    client = signed_in_client(world["frontdesk"])

    response = client.post(reverse("website:faq_new"), {"question": "", "answer_markdown": "", "order": 5})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert FaqEntry.objects.count() == 0


def test_nurse_cannot_edit_the_website(world: World) -> None:
    response = signed_in_client(world["nurse"]).post(
        reverse("website:page_edit", kwargs={"slug": "home"}), {"title": "Hacked", "body_markdown": "x"}
    )

    assert response.status_code == 403
    assert Page.objects.count() == 0


def test_unknown_page_slug_is_not_found(world: World) -> None:
    response = signed_in_client(world["director"]).get(reverse("website:page_edit", kwargs={"slug": "nope"}))

    assert response.status_code == 404
