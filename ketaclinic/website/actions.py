"""Every change to the public site's text, and the contact form's intake. Each writes its own
audit event (lead creation and SMS consent are audited by their own apps' actions)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.leads.actions import create_lead
from ketaclinic.leads.choices import ContactMethod, LeadSource
from ketaclinic.leads.models import Lead
from ketaclinic.messaging.actions import Purpose, queue_email, queue_sms, record_sms_consent
from ketaclinic.website.choices import PageSlug
from ketaclinic.website.models import ContactRateHit, FaqEntry, Page
from ketaclinic.website.phi_guard import GuardResult, default_guard
from ketaclinic.website.templatetags.phone_format import phone_display

RATE_WINDOW = timedelta(hours=1)
CONSENT_SOURCE = "website contact form"


# --- Page text and Q&A -----------------------------------------------------------------------


def _page_snapshot(page: Page) -> dict[str, object]:
    return {"title": page.title, "body_markdown": page.body_markdown}


@transaction.atomic
def save_page(*, acting_user: User | None, slug: PageSlug, title: str, body_markdown: str) -> Page:
    """Publish new text for one page, creating its row the first time it is saved."""
    page = Page.objects.select_for_update().filter(slug=slug).first()
    before = _page_snapshot(page) if page else {}
    if page is None:
        page = Page(slug=slug)
    page.title = title.strip()
    page.body_markdown = body_markdown.strip()
    page.updated_by = acting_user
    page.updated_at = timezone.now()
    page.full_clean()
    page.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
        obj=page,
        changes=audit.changes_between(before, _page_snapshot(page)),
    )
    return page


def _faq_snapshot(entry: FaqEntry) -> dict[str, object]:
    return {
        "question": entry.question,
        "answer_markdown": entry.answer_markdown,
        "order": entry.order,
        "is_published": entry.is_published,
    }


@transaction.atomic
def create_faq_entry(
    *, acting_user: User | None, question: str, answer_markdown: str, order: int = 100, is_published: bool = False
) -> FaqEntry:
    """Add a Q&A entry (a draft unless ``is_published``)."""
    entry = FaqEntry(
        question=question.strip(),
        answer_markdown=answer_markdown.strip(),
        order=order,
        is_published=is_published,
        updated_by=acting_user,
    )
    entry.full_clean()
    entry.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=entry,
        changes=audit.changes_between({}, _faq_snapshot(entry)),
    )
    return entry


@transaction.atomic
def update_faq_entry(
    *, acting_user: User, entry: FaqEntry, question: str, answer_markdown: str, order: int, is_published: bool
) -> FaqEntry:
    """Change a Q&A entry's text, place or visibility."""
    before = _faq_snapshot(entry)
    entry.question = question.strip()
    entry.answer_markdown = answer_markdown.strip()
    entry.order = order
    entry.is_published = is_published
    entry.updated_by = acting_user
    entry.updated_at = timezone.now()
    entry.full_clean()
    entry.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=entry,
        changes=audit.changes_between(before, _faq_snapshot(entry)),
    )
    return entry


# --- The contact form ------------------------------------------------------------------------


class HealthInformationRefused(Exception):
    """The contact form's text contains likely health information; nothing was stored."""

    def __init__(self, result: GuardResult) -> None:
        super().__init__(result.advice())
        self.result = result


class ContactRateLimited(Exception):
    """This address has sent as many messages as the hourly limit allows; nothing was stored."""


def hash_address(address: str | None) -> str:
    """A keyed hash of the sender's address: enough to count repeat senders, useless to anyone
    without the secret key, and never the address itself (the public form asks for no more
    personal data than it needs)."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, (address or "unknown").encode(), hashlib.sha256).hexdigest()


def check_contact_text(*texts: str) -> GuardResult:
    """Run the health-information guard over every free-text field of a submission at once."""
    return default_guard().check("\n".join(t for t in texts if t))


@dataclass(frozen=True)
class ContactSubmission:
    """What a person typed into the contact form, already validated by the form."""

    name: str
    email: str
    phone: str
    preferred_contact: ContactMethod
    message: str
    care_sms_consent: bool
    marketing_sms_consent: bool


@transaction.atomic
def accept_contact_message(
    *, acting_user: User | None, location: Location, address: str | None, submission: ContactSubmission
) -> Lead:
    """Turn a contact-form submission into a lead for the front desk.

    In order, each refusal before anything is written: the health-information guard
    (:class:`HealthInformationRefused`), then the per-address hourly limit
    (:class:`ContactRateLimited`, read from settings at call time). Then the lead, one SMS
    consent per ticked box (the two are independent: CTIA keeps marketing consent apart from care
    messages), and an acknowledgement that carries no health information.
    """
    result = check_contact_text(submission.name, submission.message)
    if result.contains_phi:
        raise HealthInformationRefused(result)
    if (submission.care_sms_consent or submission.marketing_sms_consent) and not submission.phone:
        raise ValidationError({"phone": "Give a mobile number to receive text messages."})

    now = timezone.now()
    address_hash = hash_address(address)
    ContactRateHit.objects.filter(at__lt=now - RATE_WINDOW).delete()
    recent = ContactRateHit.objects.filter(address_hash=address_hash, at__gte=now - RATE_WINDOW).count()
    if recent >= settings.CONTACT_RATE_LIMIT:
        raise ContactRateLimited
    ContactRateHit.objects.create(address_hash=address_hash, at=now)

    lead = create_lead(
        acting_user=acting_user,
        location=location,
        source=LeadSource.WEBSITE,
        name=submission.name,
        email=submission.email,
        phone=submission.phone,
        preferred_contact=submission.preferred_contact,
        message=submission.message,
    )
    for ticked, purpose in (
        (submission.care_sms_consent, Purpose.CARE),
        (submission.marketing_sms_consent, Purpose.MARKETING),
    ):
        if ticked:
            record_sms_consent(
                acting_user=acting_user, phone=lead.phone, purpose=purpose, source=CONSENT_SOURCE, lead=lead
            )
    _acknowledge(acting_user=acting_user, lead=lead, location=location, by_sms=submission.care_sms_consent)
    return lead


def _acknowledge(*, acting_user: User | None, lead: Lead, location: Location, by_sms: bool) -> None:
    """Tell the person their message arrived. Email goes as ACCOUNT: a transactional reply to a
    request the person just made, not care (they are not a patient) and not marketing. A person
    who left only a phone number gets a text, and only under the care consent they just gave
    (an SMS needs consent for its purpose; the ACCOUNT purpose is email only). Neither names the
    treatment or repeats the message: both travel over channels that are not secure."""
    if lead.email:
        queue_email(
            acting_user=acting_user,
            to=lead.email,
            subject=f"{location.name}: we received your message",
            body=(
                f"Hello {lead.name or 'there'},\n\n"
                f"Thank you for contacting {location.name}. A member of the front desk will reply "
                "within one business day.\n\n"
                "Please do not reply with health details: email is not a secure channel. To talk "
                f"about your health, call us on {phone_display(location.phone)}.\n\n"
                "If you did not write to us, you can ignore this email.\n\n"
                f"{location.name}\n{location.address}\n"
            ),
            purpose=Purpose.ACCOUNT,
            lead=lead,
        )
    elif lead.phone and by_sms:
        queue_sms(
            acting_user=acting_user,
            to_number=lead.phone,
            body=(
                f"{location.name}: thanks for your message, we will reply within 1 business day. "
                "Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out, HELP for help."
            ),
            purpose=Purpose.CARE,
            lead=lead,
        )
