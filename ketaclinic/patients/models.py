"""Patients, their weights, portal invitations, intake, the contraindication screen's rules,
candidacy decisions, and emergency access to records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location, phone_validator
from ketaclinic.core.models import AppendOnlyError
from ketaclinic.patients.choices import (
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    Decision,
    IntakeStatus,
    Payer,
    RuleSeverity,
    SexAtBirth,
    WeightSource,
)


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
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices, blank=True)
    pronouns = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    preferred_language = models.CharField(max_length=40, default="English")
    payer = models.CharField(max_length=10, choices=Payer.choices, default=Payer.SELF_PAY)
    insurer_name = models.CharField(max_length=120, blank=True)
    insurance_member_id = models.CharField("Member ID", max_length=40, blank=True)
    insurance_group = models.CharField("Group number", max_length=40, blank=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    # The adult who takes the patient home after an infusion (no driving for the rest of the
    # day): often, but not always, the emergency contact.
    escort_name = models.CharField("Discharge escort", max_length=120, blank=True)
    escort_phone = models.CharField("Escort phone", max_length=16, blank=True, validators=[phone_validator])
    escort_relationship = models.CharField("Escort relationship", max_length=60, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    def clean(self) -> None:
        if self.payer == Payer.INSURANCE and not (self.insurer_name.strip() and self.insurance_member_id.strip()):
            raise ValidationError({"insurer_name": "An insured patient needs the insurer's name and the member ID."})

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


class AppendOnlyModel(models.Model):
    """A clinical record that is written once: corrections are new rows."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name} records are never changed after they are written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self._meta.verbose_name} records are never deleted")


class WeightMeasurement(AppendOnlyModel):
    """One weight of a patient, in kilograms, with when and how it was taken. Doses are per kg,
    so the history is kept whole: a wrong entry is corrected by a new measurement."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal(WEIGHT_KG_MIN)), MaxValueValidator(Decimal(WEIGHT_KG_MAX))],
    )
    measured_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10, choices=WeightSource.choices, default=WeightSource.MEASURED)

    class Meta:
        ordering: ClassVar[list[str]] = ["-measured_at", "-id"]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg on {self.measured_at:%Y-%m-%d}"


class PortalInvitation(models.Model):
    """An emailed link that lets a patient create their portal account. Only the SHA-256 of the
    token is stored, so a copy of the database cannot be used to accept an invitation. It
    expires after ``settings.PORTAL_INVITATION_HOURS``, works once, and a newer invitation
    revokes older unused ones."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="portal_invitations")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.patient.mrn} ({self.state})"

    @property
    def state(self) -> str:
        """ "used", "revoked", "expired" or "valid"."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "valid"


class ScreeningRule(models.Model):
    """One yes/no question of the contraindication screen. A "yes" is a finding of its severity:
    absolute means contraindicated, relative means the prescriber weighs it. Seeded from
    ``classification.DEFAULT_CONTRAINDICATION_RULES``; the medical director edits them, and every
    submitted intake keeps a copy of the rules it was screened with."""

    key = models.SlugField(max_length=60, unique=True)
    question = models.CharField(max_length=300)
    severity = models.CharField(max_length=10, choices=RuleSeverity.choices)
    reason = models.TextField()
    source = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["order", "key"]

    def __str__(self) -> str:
        return self.key


class Intake(models.Model):
    """One version of a patient's intake questionnaire. A draft is the patient's work in
    progress (saved step by step); a submitted version is frozen together with the
    classification and screen computed from it, so the prescriber reviews exactly what was
    submitted under the rules of that day. Answering a "more information needed" decision
    starts a new version copied from the last one; the current intake is the newest version."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="intakes")
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=IntakeStatus.choices, default=IntakeStatus.DRAFT)
    answers = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Frozen at submission: classification + screen + MIDAS (see candidacy.evaluate) ...
    result = models.JSONField(default=dict, blank=True)
    # ... and the version (SHA-256) of the screening rules used, which are also in ``result``.
    rules_version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-version"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["patient", "version"], name="one_intake_per_version"),
        ]

    def __str__(self) -> str:
        return f"Intake v{self.version} for {self.patient.mrn} ({self.status})"

    @property
    def is_submitted(self) -> bool:
        return self.status == IntakeStatus.SUBMITTED


class CandidacyDecision(AppendOnlyModel):
    """The prescriber's signed decision on one submitted intake: approved with a protocol,
    declined, or more information needed. Signed by re-entering the password; the SHA-256 of
    the decision's content is stored with it. Never edited: a later decision supersedes it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="candidacy_decisions")
    intake = models.ForeignKey(Intake, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    protocol = models.ForeignKey(
        "infusions.Protocol", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    note_to_patient = models.TextField(blank=True)
    override_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar[list[str]] = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} for {self.patient.mrn} on {self.decided_at:%Y-%m-%d}"
