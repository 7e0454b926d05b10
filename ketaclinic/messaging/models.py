"""Messages in and out of the clinic, the SMS consent ledger, and text conversations."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location, phone_validator
from ketaclinic.messaging.choices import Channel, Direction, MessageStatus, Purpose


class SmsConsent(models.Model):
    """One permission to text a phone number for one purpose: who gave it, how ("website
    form", "keyword START", "front desk (verbal)") and when; and when it was withdrawn. Care and
    marketing consent are separate rows because the law treats them separately (FCC 24-24;
    CTIA). A withdrawn row is kept, so the ledger shows the whole history of the number."""

    phone = models.CharField(max_length=16, validators=[phone_validator], db_index=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    source = models.CharField(max_length=120)
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_source = models.CharField(max_length=120, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="sms_consents"
    )
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="sms_consents")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-granted_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # At most one live grant per number and purpose, so "has consent" has one answer.
            models.UniqueConstraint(
                fields=["phone", "purpose"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_sms_consent_per_purpose",
            )
        ]

    def __str__(self) -> str:
        state = f"revoked {self.revoked_at:%Y-%m-%d}" if self.revoked_at else "active"
        return f"{self.phone} {self.purpose} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SmsOptOut(models.Model):
    """A number that texted STOP (or asked staff to stop texting). While it is open nothing but
    the single confirmation goes to that number, whatever consent rows say; START closes it and
    restores the purposes it withdrew. Kept per number, not per patient, because carriers and
    the TCPA treat the number as the subscriber."""

    phone = models.CharField(max_length=16, validators=[phone_validator], db_index=True)
    opted_out_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=120)
    # The purposes that were live when the person opted out, restored by START.
    withdrawn_purposes = models.JSONField(default=list, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_source = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-opted_out_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["phone"], condition=models.Q(ended_at__isnull=True), name="one_open_sms_opt_out"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone} opted out {self.opted_out_at:%Y-%m-%d}"


class Conversation(models.Model):
    """The text thread between one location's SMS number and one phone. It belongs to a patient
    or a lead when the number is known; an unknown number that texts in becomes a lead. Staff
    read it with an audited read, because a patient may write about their health."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="conversations")
    phone = models.CharField(max_length=16, validators=[phone_validator])
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the person last wrote (not a keyword); a conversational reply must follow it closely.
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-last_message_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["location", "phone"], name="one_conversation_per_number_and_location")
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} with {self.display_name}"

    @property
    def display_name(self) -> str:
        if self.patient is not None:
            return self.patient.full_name
        if self.lead is not None and self.lead.name:
            return self.lead.name
        return self.phone


class Message(models.Model):
    """One email or text message, in or out. Outgoing messages are queued, then delivered by a
    background task that retries transient failures; the row keeps the status, the number of
    attempts, the last error and the provider's id, so the front desk can see what went out.
    ``consent_basis`` names the consent a text was sent under."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUTBOUND)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, db_index=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    to_address = models.CharField(max_length=254)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    consent_basis = models.CharField(max_length=120, blank=True)
    # An answer to STOP/START/HELP: carriers require it whatever the consent state.
    is_keyword_reply = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=120, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Inbound only: when a staff member first opened the conversation after it arrived.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_direction_display().lower()} {self.to_address} ({self.status})"

    @property
    def is_outbound(self) -> bool:
        return self.direction == Direction.OUTBOUND
