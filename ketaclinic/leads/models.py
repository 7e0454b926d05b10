"""People who have contacted the clinic but are not (yet) patients."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location, phone_validator
from ketaclinic.leads.choices import ContactMethod, LeadSource, LeadStatus


class Lead(models.Model):
    """Someone who wrote, texted or called and may become a patient. A lead holds contact
    details and a short message only: the contact form refuses health information, so a lead is
    not a medical record. The front desk works leads through their statuses and converts one to a
    patient record, which then takes over."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="leads")
    name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    preferred_contact = models.CharField(max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL)
    message = models.TextField(blank=True)
    source = models.CharField(max_length=12, choices=LeadSource.choices)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW, db_index=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_leads"
    )
    patient = models.OneToOneField(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="from_lead"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return self.name or self.phone or self.email or f"Lead {self.pk}"


class LeadNote(models.Model):
    """A front-desk note on a lead: what was said on a call, what was sent, what comes next.
    Notes are appended, never edited, so the history of a lead reads in order."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on {self.lead} by {self.author} at {self.created_at:%Y-%m-%d %H:%M}"
