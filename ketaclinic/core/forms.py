from django import forms

from ketaclinic.core.models import AuditEvent


class AuditSearchForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label="Person (username)")
    patient_id = forms.IntegerField(required=False, min_value=1, label="Patient ID")
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditEvent.Action.choices])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    break_glass_only = forms.BooleanField(required=False, label="Break-glass only")
