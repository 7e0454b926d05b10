"""Forms for answering a conversation, recording consent and filtering the message log."""

from __future__ import annotations

from typing import Any

from django import forms

from ketaclinic.messaging.choices import Channel, MessageStatus, Purpose

# One SMS segment is 160 GSM characters; ten segments is far beyond any sensible clinic text.
MAX_SMS_CHARS = 1600


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your text",
        max_length=MAX_SMS_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="No health details: texts are not private. Say “your appointment”, never the treatment.",
    )
    purpose = forms.ChoiceField(
        label="Sent as",
        choices=[
            (Purpose.CONVERSATIONAL, "A reply in this conversation (they texted us)"),
            (Purpose.CARE, "A care message (needs their care consent)"),
        ],
        initial=Purpose.CONVERSATIONAL,
        widget=forms.RadioSelect,
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(
        label="They agreed to",
        choices=[(Purpose.CARE, "Care texts (reminders, instructions)"), (Purpose.MARKETING, "Marketing texts")],
        widget=forms.RadioSelect,
    )
    source = forms.CharField(
        label="How they agreed",
        max_length=120,
        initial="front desk (verbal)",
        help_text="e.g. front desk (verbal), signed intake form, phone call",
    )


class OptOutForm(forms.Form):
    source = forms.CharField(
        label="How they asked to stop",
        max_length=120,
        initial="asked the front desk to stop texting",
    )


class MessageLogFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *MessageStatus.choices])
    channel = forms.ChoiceField(label="Channel", required=False, choices=[("", "Email and text"), *Channel.choices])
    purpose = forms.ChoiceField(label="Purpose", required=False, choices=[("", "Any purpose"), *Purpose.choices])
    to = forms.CharField(label="Recipient contains", required=False, max_length=254)
    since = forms.DateField(label="Queued on or after", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v} if self.is_valid() else {}
