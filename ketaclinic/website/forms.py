from __future__ import annotations

import re
import time
from typing import Any

from django import forms
from django.core import signing
from django.db.models import QuerySet

from ketaclinic.clinics.models import Location, phone_validator
from ketaclinic.leads.choices import ContactMethod
from ketaclinic.website.models import FaqEntry, Page

STARTED_SALT = "ketaclinic.website.contact.started"
# A form left open longer than this is sent back for one more click, rather than trusted.
STARTED_MAX_AGE_SECONDS = 24 * 60 * 60
NANP_DIGITS = 10


def sign_started_at(now: float | None = None) -> str:
    """A tamper-proof note of when the form was shown, carried in a hidden field (not a cookie,
    so the form works with cookies off and the check needs no server-side state)."""
    return signing.dumps(now if now is not None else time.time(), salt=STARTED_SALT)


def normalise_phone(raw: str) -> str:
    """Turn what people type ("(303) 555-0123", "303.555.0123", "+1 303 555 0123") into the
    international form the clinic stores. Ten digits are read as a US/Canada number."""
    raw = raw.strip()
    if not raw:
        return ""
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        return f"+{digits}"
    if len(digits) == NANP_DIGITS:
        return f"+1{digits}"
    if len(digits) == NANP_DIGITS + 1 and digits.startswith("1"):
        return f"+{digits}"
    return raw


class ContactForm(forms.Form):
    """The public contact form. Two separate, unticked consent boxes (CTIA: express consent for
    informational texts, express written consent for promotional ones, kept apart; see
    ../shared/docs/clinical-reference.md §6), a honeypot and a signed start time."""

    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), label="Which clinic?", empty_label=None, required=True
    )
    name = forms.CharField(max_length=120, label="Your name")
    email = forms.EmailField(required=False, label="Email address")
    phone = forms.CharField(
        max_length=25,
        required=False,
        label="Phone number",
        help_text="Give an email address, a phone number, or both.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    preferred_contact = forms.ChoiceField(
        choices=ContactMethod.choices,
        widget=forms.RadioSelect,
        initial=ContactMethod.EMAIL,
        label="How should we reply?",
    )
    message = forms.CharField(
        max_length=2000,
        label="Your message",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Questions about the treatment, the process or costs. Please no health details.",
    )
    care_sms_consent = forms.BooleanField(required=False)
    marketing_sms_consent = forms.BooleanField(required=False)
    # The honeypot: hidden from people by CSS and from screen readers, left empty by them;
    # form-filling bots tend to fill every field.
    website = forms.CharField(
        required=False,
        label="Leave this field unchanged",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    started = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, locations: QuerySet[Location], clinic_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - narrows the type for mypy
        field.queryset = locations
        if len(locations) == 1:
            field.widget = forms.HiddenInput()
            field.initial = locations[0].pk
        if not self.is_bound:
            self.initial["started"] = sign_started_at()
        self.fields["care_sms_consent"].label = (
            f"Yes, {clinic_name} may text me about my enquiry, appointments and care at the number above. "
            "Message frequency varies. Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of treatment."
        )
        self.fields["marketing_sms_consent"].label = (
            f"Yes, {clinic_name} may text me news and offers at the number above. "
            "Up to 4 messages a month. Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of purchase or treatment."
        )

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.data.get("website"))

    def started_at(self) -> float | None:
        """When the form was shown, or None when the hidden value is missing or forged."""
        try:
            value = signing.loads(str(self.data.get("started", "")), salt=STARTED_SALT)
        except signing.BadSignature:
            return None
        return float(value) if isinstance(value, int | float) else None

    def clean_phone(self) -> str:
        phone = normalise_phone(self.cleaned_data.get("phone", ""))
        if phone:
            try:
                phone_validator(phone)
            except forms.ValidationError as exc:
                raise forms.ValidationError(
                    "Enter a phone number we can call, e.g. (303) 555-0123 or +1 303 555 0123."
                ) from exc
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        email, phone = data.get("email"), data.get("phone")
        if "email" in data and "phone" in data and not email and not phone:
            raise forms.ValidationError("Give an email address or a phone number so we can reply.")
        method = data.get("preferred_contact")
        if method == ContactMethod.EMAIL and not email and "email" in data:
            self.add_error("email", "You asked for a reply by email: give an email address.")
        if method in {ContactMethod.PHONE, ContactMethod.SMS} and not phone and "phone" in data:
            self.add_error("phone", "You asked for a call or a text: give a phone number.")
        if method == ContactMethod.SMS and not data.get("care_sms_consent"):
            self.add_error("care_sms_consent", "To get a reply by text, tick this box, or choose another way.")
        if (data.get("care_sms_consent") or data.get("marketing_sms_consent")) and not phone and "phone" in data:
            self.add_error("phone", "Give a mobile number to receive text messages.")
        return data


class PageForm(forms.ModelForm[Page]):
    class Meta:
        model = Page
        fields = ("title", "body_markdown")
        labels = {"body_markdown": "Text (Markdown)"}
        help_texts = {
            "body_markdown": "Use ## for headings, - for lists, **bold**, [link text](https://…). "
            "HTML is removed when the page is shown.",
        }
        widgets = {"body_markdown": forms.Textarea(attrs={"rows": 24})}


class FaqEntryForm(forms.ModelForm[FaqEntry]):
    class Meta:
        model = FaqEntry
        fields = ("question", "answer_markdown", "order", "is_published")
        labels = {"answer_markdown": "Answer (Markdown)", "is_published": "Published on the website"}
        widgets = {"answer_markdown": forms.Textarea(attrs={"rows": 8})}
