"""Read helpers for the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from ketaclinic.core.models import AuditEvent


def search_audit(filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.get("username"):
        events = events.filter(actor_username__iexact=filters["username"])
    if filters.get("patient_id"):
        events = events.filter(patient_id=filters["patient_id"])
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    zone = timezone.get_current_timezone()
    if filters.get("date_from"):
        events = events.filter(at__gte=dt.datetime.combine(filters["date_from"], dt.time.min, tzinfo=zone))
    if filters.get("date_to"):
        events = events.filter(
            at__lt=dt.datetime.combine(filters["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        )
    if filters.get("break_glass_only"):
        events = events.filter(is_break_glass=True)
    return events.order_by("-id")
