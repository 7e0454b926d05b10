"""Patients and emergency access to their records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location, phone_validator


class Patient(models.Model):
    """A person the clinic treats (or is assessing). The record belongs to a home location,
    whose staff may open it; anyone else needs break-glass access. A patient may have a portal
    account (``user``)."""

    mrn = models.CharField("MRN", max_length=12, unique=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_record",
    )
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - int(before_birthday)


BREAK_GLASS_MINUTES = 60


class BreakGlassGrant(models.Model):
    """Emergency access (HIPAA 164.312(a)(2)(ii)): a staff member opened a record outside their
    locations and said why. It lasts a short while and is flagged in the audit trail for the
    medical director to review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glass_grants")
    reason = models.TextField()
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-granted_at"]

    def __str__(self) -> str:
        return f"{self.user} → {self.patient.mrn} until {self.expires_at:%H:%M}"

    @staticmethod
    def default_expiry() -> timedelta:
        return timedelta(minutes=BREAK_GLASS_MINUTES)
