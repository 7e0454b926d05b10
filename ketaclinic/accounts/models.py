"""People who sign in: staff with roles and locations, patients, and their API tokens."""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location
from ketaclinic.core.roles import STAFF_ROLES, Role


class User(AbstractUser):
    """Anyone who signs in. Staff hold one or more roles and are limited to some locations (or
    all); a patient user is linked to exactly one patient record. Every account is personal:
    HIPAA 164.312(a)(2)(i) asks for unique user identification, so there are no shared logins."""

    locations = models.ManyToManyField(Location, blank=True, related_name="staff")
    all_locations = models.BooleanField(default=False, help_text="Works at every location (e.g. the medical director).")
    credentials = models.CharField(max_length=40, blank=True, help_text="e.g. RN, MD, DO, NP, CRNA")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.values_list("role", flat=True))

    @property
    def is_staff_member(self) -> bool:
        return bool(self.role_set & STAFF_ROLES)

    @property
    def is_patient_user(self) -> bool:
        return Role.PATIENT in self.role_set

    @cached_property
    def location_ids(self) -> frozenset[int]:
        if self.all_locations:
            return frozenset(Location.objects.values_list("id", flat=True))
        return frozenset(self.locations.values_list("id", flat=True))

    def works_at(self, location_id: int) -> bool:
        return self.all_locations or location_id in self.location_ids

    @cached_property
    def display_time_zone(self) -> str | None:
        loc = (Location.objects.all() if self.all_locations else self.locations.all()).order_by("id").first()
        return loc.time_zone if loc else None

    def initials(self) -> str:
        return (
            "".join(part[0] for part in (self.first_name, self.last_name) if part).upper() or self.username[:2].upper()
        )


class StaffRole(models.Model):
    """One role held by one user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "role"], name="role_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user.username}: {self.get_role_display()}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 digest is stored; the token itself is
    shown once when created. Tokens expire and can be revoked."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise the token.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired
