"""Cross-cutting records: the audit trail."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a record that may only be appended."""


class AuditEvent(models.Model):
    """One thing a person (or the system) did or saw: every read and write of health data,
    every sign-in, every export. HIPAA 45 CFR 164.312(b) asks for audit controls that record
    and examine activity. Events are appended only; each carries the hash of the one before it
    so ``manage.py verify_audit`` can prove nothing was altered or removed afterwards."""

    class Action(models.TextChoices):
        READ = "read", "Read"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        EXPORT = "export", "Export"
        BREAK_GLASS = "break_glass", "Break-glass access"
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_OUT = "sign_out", "Signed out"
        MFA = "mfa", "Multi-factor change"
        TOKEN = "token", "API token change"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Copied, not joined: the trail must read the same after a user is renamed or deactivated.
    actor_username = models.CharField(max_length=150, blank=True)
    actor_roles = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=60, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    location_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    is_break_glass = models.BooleanField(default=False, db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    HASHED_FIELDS: ClassVar[tuple[str, ...]] = (
        "at",
        "actor_id",
        "actor_username",
        "actor_roles",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "patient_id",
        "location_id",
        "ip_address",
        "user_agent",
        "path",
        "changes",
        "reason",
        "is_break_glass",
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username or 'system'} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events are never changed after they are written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are never deleted")
