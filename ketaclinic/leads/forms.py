from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from ketaclinic.accounts.models import User
from ketaclinic.leads.choices import LeadStatus
from ketaclinic.leads.models import Lead
from ketaclinic.leads.queries import OPEN_STATUSES


class LeadFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Open (new, contacted, consultation booked)"), *LeadStatus.choices],
        label="Status",
    )
    mine = forms.BooleanField(required=False, label="Assigned to me")


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in (*OPEN_STATUSES, LeadStatus.CLOSED)], label="New status"
    )


class StaffChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class LeadAssignForm(forms.Form):
    assignee = StaffChoiceField(queryset=User.objects.none(), required=False, empty_label="Nobody", label="Assign to")

    def __init__(self, *args: Any, staff: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, StaffChoiceField)  # noqa: S101 - narrows the type for mypy
        field.queryset = staff


class LeadNoteForm(forms.Form):
    body = forms.CharField(
        label="Add a note",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was said or sent, and what happens next. No health details: those go in the patient record.",
    )


class LeadConvertForm(forms.Form):
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80)
    date_of_birth = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Ask the person; the contact form does not collect it.",
    )
    email = forms.EmailField(
        required=False, help_text="A portal invitation (a link valid for a limited time, usable once) goes here."
    )
    phone = forms.CharField(max_length=16, required=False, help_text="International form, e.g. +13035550123.")

    @classmethod
    def for_lead(cls, lead: Lead, data: Any = None) -> LeadConvertForm:
        first, _, last = lead.name.strip().partition(" ")
        return cls(
            data,
            initial={"first_name": first, "last_name": last.strip(), "email": lead.email, "phone": lead.phone},
        )
