from __future__ import annotations

import base64
import binascii

from django import forms

from ketaclinic.consents.choices import MAX_DRAWN_SIGNATURE_BYTES, DocumentKind

DATA_URL_PREFIX = "data:image/png;base64,"
# Base64 grows data by a third; anything longer than this cannot decode to an allowed size.
MAX_DATA_URL_CHARS = len(DATA_URL_PREFIX) + (MAX_DRAWN_SIGNATURE_BYTES * 4 // 3) + 4


class SignForm(forms.Form):
    """The patient's signature. ``agreed`` is checked by the action so that its message is the same
    whichever way the signature arrives; the drawn signature is optional and needs JavaScript."""

    typed_name = forms.CharField(
        label="Type your full name",
        max_length=170,
        required=False,
        help_text="First and last name, as on your record. Typing your name here is your signature.",
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
    )
    agreed = forms.BooleanField(label="I have read and agree to this document", required=False)
    drawn_signature = forms.CharField(
        required=False,
        widget=forms.HiddenInput,
        max_length=MAX_DATA_URL_CHARS,
        strip=True,
        error_messages={
            "max_length": "The drawn signature is too large. Clear it and draw it again, or leave it empty."
        },
    )

    def clean_drawn_signature(self) -> bytes | None:
        value: str = self.cleaned_data.get("drawn_signature", "")
        if not value:
            return None
        if not value.startswith(DATA_URL_PREFIX):
            raise forms.ValidationError("The drawn signature is not a PNG image. Clear it and draw it again.")
        try:
            return base64.b64decode(value[len(DATA_URL_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise forms.ValidationError("The drawn signature could not be read. Clear it and draw it again.") from exc


class PublishForm(forms.Form):
    kind = forms.ChoiceField(label="Document", choices=DocumentKind.choices)
    title = forms.CharField(label="Title", max_length=200)
    body_markdown = forms.CharField(
        label="Text (Markdown)",
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text="Plain language. ## for headings, - for lists, **bold** for emphasis. "
        "Publishing asks every patient to sign this version.",
    )
    requires_signature = forms.BooleanField(label="Patients must sign this document", required=False, initial=True)
    # The SHA-256 of the text last previewed: publishing is refused if the text changed after it.
    previewed_sha256 = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
