"""Clinic sites and their infusion chairs."""

from __future__ import annotations

import zoneinfo
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

phone_validator = RegexValidator(r"^\+[1-9]\d{7,14}$", "Enter the number in international form, e.g. +15551234567.")
# DEA registration numbers: two letters then seven digits (21 CFR 1301.11 registrations).
dea_validator = RegexValidator(r"^[A-Z]{2}\d{7}$", "A DEA number is two letters and seven digits.")
npi_validator = RegexValidator(r"^\d{10}$", "An NPI is ten digits.")
tin_validator = RegexValidator(r"^\d{2}-?\d{7}$", "A TIN is nine digits, e.g. 12-3456789.")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (use a name like America/Denver).")


class Location(models.Model):
    """A clinic site. Each site keeps its own DEA registration and controlled-substance records,
    its own chairs and hours, and shows times in its own time zone."""

    name = models.CharField(max_length=120, unique=True)
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2)
    postal_code = models.CharField(max_length=10)
    phone = models.CharField(max_length=16, validators=[phone_validator])
    sms_number = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    dea_number = models.CharField("DEA registration number", max_length=9, blank=True, validators=[dea_validator])
    npi = models.CharField("NPI (organisation)", max_length=10, blank=True, validators=[npi_validator])
    tin = models.CharField("TIN", max_length=10, blank=True, validators=[tin_validator])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        parts = [self.address_line1, self.address_line2, f"{self.city}, {self.state} {self.postal_code}"]
        return ", ".join(p for p in parts if p)


class Chair(models.Model):
    """An infusion chair at a location: the unit a booking holds."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="chairs")
    name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["location", "name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["location", "name"], name="chair_name_unique_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location.name})"
