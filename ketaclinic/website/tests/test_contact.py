"""The public contact form: the health-information guard, bot traps, the rate limit, and what
an accepted message becomes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from ketaclinic.core.testing import World
from ketaclinic.leads.choices import LeadSource, LeadStatus
from ketaclinic.leads.models import Lead
from ketaclinic.messaging.choices import Channel, Purpose
from ketaclinic.messaging.models import Message, SmsConsent
from ketaclinic.website.actions import hash_address
from ketaclinic.website.forms import normalise_phone, sign_started_at
from ketaclinic.website.models import ContactRateHit
from ketaclinic.website.templatetags.phone_format import phone_display

URL = reverse("website:contact")


def form_data(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "location": world.location.pk,
        "name": "Wren Calloway",
        "email": "wren.calloway@example.org",
        "phone": "(303) 555-0142",
        "preferred_contact": "email",
        "message": "Hello, what does a first consultation cost, and do you have evening appointments?",
        "website": "",
        "started": sign_started_at(time.time() - 60),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def row_counts() -> tuple[int, int, int, int]:
    return Lead.objects.count(), SmsConsent.objects.count(), Message.objects.count(), ContactRateHit.objects.count()


def test_contact_page_shows_the_form_the_warning_and_unticked_consent_boxes(world: World) -> None:
    response = Client().get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Please do not send health information through this form" in html
    assert 'name="care_sms_consent"' in html and 'name="marketing_sms_consent"' in html
    assert "checked" not in html.split('name="care_sms_consent"')[1].split(">")[0]
    assert "Msg &amp; data rates may apply" in html
    assert "Reply STOP to opt out, HELP for help" in html
    assert f'href="tel:{world.location.phone}"' in html


def test_submission_with_date_of_birth_and_diagnosis_is_refused_and_stores_nothing(world: World) -> None:
    before = row_counts()

    response = Client().post(
        URL, form_data(world, message="DOB 04/17/1986. I have chronic migraine with aura, can you help?")
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert row_counts() == before
    assert "a date of birth" in html and "a diagnosis or symptom" in html
    assert "“DOB 04/17/1986”" in html and "“chronic migraine”" in html
    refusal = html.split('id="refusal"')[1].split("</div>")[0]
    assert "Nothing was sent" in refusal
    assert phone_display(world.location.phone) in refusal


def test_refused_message_keeps_what_the_person_typed(world: World) -> None:
    response = Client().post(URL, form_data(world, message="I take sumatriptan most days, is that a problem?"))

    assert "I take sumatriptan most days" in response.content.decode()


@pytest.mark.parametrize(
    "overrides",
    [
        {"website": "https://spam.example.com"},
        {"started": "just now"},
        {"started": "forged-value"},
        {"started": None},
    ],
    ids=["honeypot filled", "too fast", "forged start time", "no start time"],
)
def test_bot_submission_looks_accepted_and_is_discarded(world: World, overrides: dict[str, Any]) -> None:
    if overrides.get("started") == "just now":
        overrides = {"started": sign_started_at(time.time())}
    before = row_counts()

    response = Client().post(URL, form_data(world, **overrides))

    assert response.status_code == 302
    assert response["Location"] == reverse("website:contact_thanks")
    assert row_counts() == before


def test_minimum_fill_time_is_read_from_settings_at_request_time(world: World, settings: SettingsWrapper) -> None:
    settings.CONTACT_MIN_FILL_SECONDS = 120

    Client().post(URL, form_data(world))

    assert Lead.objects.count() == 0


def test_accepted_message_becomes_a_lead_with_an_emailed_acknowledgement(world: World) -> None:
    response = Client().post(URL, form_data(world))

    assert response.status_code == 302
    assert response["Location"] == reverse("website:contact_thanks")
    lead = Lead.objects.get()
    assert (lead.source, lead.status, lead.location) == (LeadSource.WEBSITE, LeadStatus.NEW, world.location)
    assert lead.phone == "+13035550142"
    assert lead.email == "wren.calloway@example.org"
    ack = Message.objects.get(lead=lead)
    assert (ack.channel, ack.purpose, ack.to_address) == (Channel.EMAIL, Purpose.ACCOUNT, lead.email)
    assert "migraine" not in ack.body.lower() and "ketamine" not in ack.body.lower()
    assert lead.message not in ack.body
    assert SmsConsent.objects.count() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["wren.calloway@example.org"]


@pytest.mark.parametrize(
    ("care", "marketing", "expected"),
    [
        (True, False, {Purpose.CARE}),
        (False, True, {Purpose.MARKETING}),
        (True, True, {Purpose.CARE, Purpose.MARKETING}),
    ],
)
def test_consent_is_recorded_only_for_the_boxes_ticked(
    world: World, care: bool, marketing: bool, expected: set[Purpose]
) -> None:
    data = form_data(world, care_sms_consent="on" if care else None, marketing_sms_consent="on" if marketing else None)

    Client().post(URL, data)

    lead = Lead.objects.get()
    consents = SmsConsent.objects.filter(lead=lead)
    assert {c.purpose for c in consents} == expected
    assert {c.phone for c in consents} == {"+13035550142"}
    assert {c.source for c in consents} == {"website contact form"}


def test_phone_only_person_with_care_consent_gets_a_text_acknowledgement(world: World) -> None:
    data = form_data(world, email="", preferred_contact="sms", care_sms_consent="on")

    Client().post(URL, data)

    ack = Message.objects.get(lead=Lead.objects.get())
    assert (ack.channel, ack.purpose, ack.to_address) == (Channel.SMS, Purpose.CARE, "+13035550142")
    assert "Reply STOP to opt out" in ack.body


def test_phone_only_person_without_text_consent_gets_no_text(world: World) -> None:
    Client().post(URL, form_data(world, email="", preferred_contact="phone"))

    assert Lead.objects.count() == 1
    assert Message.objects.count() == 0


def test_rate_limit_refuses_with_a_clear_message_and_stores_nothing(world: World, settings: SettingsWrapper) -> None:
    settings.CONTACT_RATE_LIMIT = 2
    client = Client()
    for _ in range(2):
        assert client.post(URL, form_data(world)).status_code == 302
    before = row_counts()

    response = client.post(URL, form_data(world))

    assert response.status_code == 429
    assert "Too many messages" in response.content.decode()
    assert phone_display(world.location.phone) in response.content.decode()
    assert row_counts() == before


def test_rate_limit_stores_a_keyed_hash_never_the_address(world: World) -> None:
    Client(REMOTE_ADDR="198.51.100.7").post(URL, form_data(world))

    hit = ContactRateHit.objects.get()
    assert hit.address_hash == hash_address("198.51.100.7")
    assert "198.51.100.7" not in hit.address_hash
    assert len(hit.address_hash) == 64


def test_rate_limit_prunes_rows_older_than_an_hour(world: World) -> None:
    old = ContactRateHit.objects.create(address_hash="0" * 64)
    ContactRateHit.objects.filter(pk=old.pk).update(at=old.at.replace(year=old.at.year - 1))

    Client().post(URL, form_data(world))

    assert not ContactRateHit.objects.filter(pk=old.pk).exists()
    assert ContactRateHit.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "", "phone": ""}, "Give an email address or a phone number"),
        ({"email": "", "preferred_contact": "email"}, "give an email address"),
        ({"preferred_contact": "sms"}, "To get a reply by text, tick this box"),
        ({"phone": "", "marketing_sms_consent": "on"}, "Give a mobile number to receive text messages"),
        ({"phone": "12"}, "Enter a phone number we can call"),
    ],
)
def test_incomplete_form_says_what_is_missing_and_stores_nothing(
    world: World, overrides: dict[str, Any], message: str
) -> None:
    before = row_counts()

    response = Client().post(URL, form_data(world, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert row_counts() == before


def test_form_is_a_plain_html_form_that_needs_no_script(world: World) -> None:
    client = Client()
    page = client.get(URL).content.decode()
    assert '<form method="post" action="/contact/"' in page
    assert "<script>" not in page and "onsubmit" not in page

    response = client.post(URL, form_data(world))

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(303) 555-0142", "+13035550142"),
        ("303.555.0142", "+13035550142"),
        ("+1 303 555 0142", "+13035550142"),
        ("1-303-555-0142", "+13035550142"),
        ("", ""),
    ],
)
def test_phone_numbers_are_stored_in_international_form(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


def test_thanks_page_offers_the_phone_number(world: World) -> None:
    response = Client().get(reverse("website:contact_thanks"))

    assert response.status_code == 200
    assert phone_display(world.location.phone) in response.content.decode()


def test_acknowledgement_email_gives_the_phone_number_and_no_health_words(world: World) -> None:
    Client().post(URL, form_data(world))

    body = mail.outbox[0].body
    assert "(303) 555-0199" in body
    assert "health details" in body
