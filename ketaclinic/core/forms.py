from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError

from ketaclinic.core.models import AuditEvent


def add_action_errors(form: forms.BaseForm, exc: ValidationError, rename: Mapping[str, str] | None = None) -> None:
    """Put a refused action's messages next to the form fields they name (``rename`` maps an
    action's argument to the form's field), and the rest above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            name = (rename or {}).get(field, field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class AuditSearchForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label="Person (username)")
    patient_id = forms.IntegerField(required=False, min_value=1, label="Patient ID")
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditEvent.Action.choices])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    break_glass_only = forms.BooleanField(required=False, label="Break-glass only")
