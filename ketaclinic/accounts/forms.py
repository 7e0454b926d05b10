from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from ketaclinic.clinics.models import Location
from ketaclinic.core.roles import STAFF_ROLES, Role


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "That username and password do not match. Check both and try again; "
        "after several failed tries the account is locked for a while.",
        "inactive": "This account is switched off. Ask your clinic's administrator.",
    }


class CodeForm(forms.Form):
    code = forms.CharField(
        label="One-time code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text="The 6-digit code in your authenticator app, or one of your recovery codes.",
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code shown in your app",
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class TokenForm(forms.Form):
    name = forms.CharField(label="What is this token for?", max_length=80, help_text="e.g. reporting script")
    days = forms.IntegerField(label="Valid for (days)", min_value=1, max_value=365, initial=90)


STAFF_ROLE_CHOICES = [(r.value, r.label) for r in Role if r in STAFF_ROLES]


class StaffForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[a-z0-9_.-]{3,40}$", max_length=40, help_text="Lower-case letters, digits, dot, dash."
    )
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80)
    email = forms.EmailField()
    credentials = forms.CharField(max_length=40, required=False, help_text="e.g. RN, MD, NP")
    roles = forms.MultipleChoiceField(choices=STAFF_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)
    all_locations = forms.BooleanField(required=False, label="Works at every location")
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.filter(is_active=True), required=False, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Account active")
    password = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        help_text="Initial password, at least 12 characters. Leave blank when editing.",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["username"]
            del self.fields["password"]
        else:
            self.fields["password"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all_locations") and not data.get("locations"):
            self.add_error("locations", "Choose at least one location, or tick 'Works at every location'.")
        return data
