"""Infusion protocols (and, as the chairside record grows, sessions and their events)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class Protocol(models.Model):
    """A treatment protocol the clinic offers, e.g. an induction series of six low-dose ketamine
    infusions over three weeks followed by maintenance. A prescriber approves a candidate *with* a
    protocol; the smart-pump-style limits (dose range, titration, vitals interval) are versioned
    separately so a session records the exact version it ran under."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    summary = models.TextField(blank=True, help_text="Plain-language description shown to staff.")
    induction_infusions = models.PositiveSmallIntegerField(default=6)
    induction_window_days = models.PositiveSmallIntegerField(default=21)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name
