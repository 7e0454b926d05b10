"""The clinic's public pages (no sign-in), the contact form, and the staff editor for page text
and Q&A entries."""

from __future__ import annotations

import time
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core.access import public, signed_in
from ketaclinic.core.middleware import client_ip
from ketaclinic.leads.choices import ContactMethod
from ketaclinic.website import actions
from ketaclinic.website.choices import PageSlug
from ketaclinic.website.content import DEFAULT_PAGES
from ketaclinic.website.forms import STARTED_MAX_AGE_SECONDS, ContactForm, FaqEntryForm, PageForm, sign_started_at
from ketaclinic.website.markup import render_markdown
from ketaclinic.website.models import FaqEntry, Page
from ketaclinic.website.permissions import can_edit_website
from ketaclinic.website.templatetags.phone_format import phone_display


def _locations() -> QuerySet[Location]:
    return Location.objects.filter(is_active=True).order_by("id")


def _page(slug: PageSlug) -> Page:
    """The saved page, or the starting text when staff have not saved it yet (not stored)."""
    page = Page.objects.filter(slug=slug).first()
    if page is None:
        default = DEFAULT_PAGES[slug]
        page = Page(slug=slug, title=default.title, body_markdown=default.body_markdown)
    return page


def _public(
    request: HttpRequest, template: str, slug: PageSlug, *, status: int = 200, **context: object
) -> HttpResponse:
    page = _page(slug)
    locations = list(_locations())
    return render(
        request,
        template,
        {
            "page": page,
            "body": render_markdown(page.body_markdown),
            "locations": locations,
            "location": locations[0] if locations else None,
            **context,
        },
        status=status,
    )


@public
def home(request: HttpRequest) -> HttpResponse:
    return _public(request, "website/home.html", PageSlug.HOME)


@public
def treatment(request: HttpRequest) -> HttpResponse:
    return _public(request, "website/treatment.html", PageSlug.TREATMENT)


@public
def questions(request: HttpRequest) -> HttpResponse:
    entries = [(e, render_markdown(e.answer_markdown)) for e in FaqEntry.objects.filter(is_published=True)]
    return _public(request, "website/questions.html", PageSlug.QUESTIONS, entries=entries)


def _contact_page(request: HttpRequest, form: ContactForm, *, refusal: str = "", status: int = 200) -> HttpResponse:
    return _public(request, "website/contact.html", PageSlug.CONTACT, form=form, refusal=refusal, status=status)


@public
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    locations = _locations()
    if request.method != "POST":
        return _contact_page(request, ContactForm(locations=locations, clinic_name=settings.CLINIC_NAME))
    form = ContactForm(request.POST, locations=locations, clinic_name=settings.CLINIC_NAME)
    started = form.started_at()
    # A bot is answered exactly as a person would be, so it learns nothing; nothing is kept.
    if form.honeypot_filled or started is None or time.time() - started < settings.CONTACT_MIN_FILL_SECONDS:
        return redirect("website:contact_thanks")
    if time.time() - started > STARTED_MAX_AGE_SECONDS:
        renewed = request.POST.copy()
        renewed["started"] = sign_started_at()
        form = ContactForm(renewed, locations=locations, clinic_name=settings.CLINIC_NAME)
        form.is_valid()
        form.add_error(None, "This page was open for more than a day. Check your message and send it again.")
        return _contact_page(request, form, status=400)
    if not form.is_valid():
        return _contact_page(request, form, status=400)
    data = form.cleaned_data
    location: Location = data["location"]
    submission = actions.ContactSubmission(
        name=data["name"],
        email=data["email"],
        phone=data["phone"],
        preferred_contact=ContactMethod(data["preferred_contact"]),
        message=data["message"],
        care_sms_consent=data["care_sms_consent"],
        marketing_sms_consent=data["marketing_sms_consent"],
    )
    try:
        actions.accept_contact_message(
            acting_user=None, location=location, address=client_ip(request), submission=submission
        )
    except actions.HealthInformationRefused as exc:
        found = ", ".join(f"“{f.excerpt}”" for f in exc.result.findings)
        refusal = (
            f"Nothing was sent. {exc.result.advice()} What to take out: {found}. "
            f"You can call {location.name} on {phone_display(location.phone)} instead."
        )
        form.add_error("message", "Please remove the health details listed above.")
        return _contact_page(request, form, refusal=refusal, status=400)
    except actions.ContactRateLimited:
        form.add_error(
            None,
            "Too many messages have been sent from your connection in the last hour, so this one was not sent. "
            f"Please try again later, or call {location.name} on {phone_display(location.phone)}.",
        )
        return _contact_page(request, form, status=429)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _contact_page(request, form, status=400)
    return redirect("website:contact_thanks")


@public
def contact_thanks(request: HttpRequest) -> HttpResponse:
    locations = list(_locations())
    return render(
        request,
        "website/contact_thanks.html",
        {"locations": locations, "location": locations[0] if locations else None},
    )


# --- Staff editor ----------------------------------------------------------------------------


@signed_in(can_edit_website)
def editor(request: HttpRequest) -> HttpResponse:
    saved = {page.slug: page for page in Page.objects.select_related("updated_by")}
    pages = [(slug, saved.get(slug)) for slug in PageSlug]
    return render(
        request,
        "website/editor.html",
        {"pages": pages, "entries": FaqEntry.objects.select_related("updated_by")},
    )


@signed_in(can_edit_website)
@require_http_methods(["GET", "POST"])
def page_edit(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in PageSlug.values:
        raise Http404("No such page")
    page_slug = PageSlug(slug)
    current = _page(page_slug)
    form = PageForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_page(
                acting_user=cast(User, request.user),
                slug=page_slug,
                title=form.cleaned_data["title"],
                body_markdown=form.cleaned_data["body_markdown"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Published “{page_slug.label}”.")
            return redirect("website:editor")
    return render(
        request,
        "website/page_edit.html",
        {"form": form, "slug": page_slug, "page": current, "preview": render_markdown(current.body_markdown)},
    )


@signed_in(can_edit_website)
@require_http_methods(["GET", "POST"])
def faq_new(request: HttpRequest) -> HttpResponse:
    form = FaqEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.create_faq_entry(
                acting_user=cast(User, request.user),
                question=data["question"],
                answer_markdown=data["answer_markdown"],
                order=data["order"],
                is_published=data["is_published"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Q&A entry added.")
            return redirect("website:editor")
    return render(request, "website/faq_edit.html", {"form": form, "entry": None})


@signed_in(can_edit_website)
@require_http_methods(["GET", "POST"])
def faq_edit(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(FaqEntry, pk=pk)
    form = FaqEntryForm(request.POST or None, instance=FaqEntry.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_faq_entry(
                acting_user=cast(User, request.user),
                entry=entry,
                question=data["question"],
                answer_markdown=data["answer_markdown"],
                order=data["order"],
                is_published=data["is_published"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Q&A entry saved.")
            return redirect("website:editor")
    return render(
        request,
        "website/faq_edit.html",
        {"form": form, "entry": entry, "preview": render_markdown(entry.answer_markdown)},
    )
