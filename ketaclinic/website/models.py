"""The clinic's public pages, its Q&A entries, and the contact form's rate-limit ledger."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketaclinic.website.choices import PageSlug


class Page(models.Model):
    """The text of one public page (home, the treatment page, the introductions of the Q&A and
    contact pages), written by staff in Markdown and published without a deploy. Every change is
    audited with the old and new text, so the trail shows who said what to the public and when."""

    slug = models.CharField(max_length=20, choices=PageSlug.choices, unique=True)
    title = models.CharField(max_length=120)
    body_markdown = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["slug"]

    def __str__(self) -> str:
        return self.title


class FaqEntry(models.Model):
    """One question and its answer on the public Q&A page, in the order staff choose. An
    unpublished entry is a draft that only staff see."""

    question = models.CharField(max_length=200)
    answer_markdown = models.TextField()
    order = models.PositiveSmallIntegerField(default=100, help_text="Lower numbers are shown first.")
    is_published = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["order", "id"]
        verbose_name = "Q&A entry"
        verbose_name_plural = "Q&A entries"

    def __str__(self) -> str:
        return self.question


class ContactRateHit(models.Model):
    """One accepted contact-form submission from one address, kept for an hour to limit how often
    an address may write. Only a keyed hash (HMAC-SHA256 with the site's secret key) of the
    address is stored, never the address itself, so this table cannot say who wrote."""

    address_hash = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.address_hash[:8]}… at {self.at:%H:%M}"
