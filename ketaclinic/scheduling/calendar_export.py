"""iCalendar (RFC 5545) for a patient's appointments. The summary and description name the
clinic and its address only: a calendar entry is visible on a lock screen and to anyone the
calendar is shared with, so it carries no health information (HIPAA minimum necessary)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from ketaclinic.scheduling.models import Booking


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


MAX_LINE_OCTETS = 75


def _fold(line: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets continue on the next line after a space."""
    out = []
    while len(line.encode()) > MAX_LINE_OCTETS:
        cut = MAX_LINE_OCTETS
        while len(line[:cut].encode()) > MAX_LINE_OCTETS:
            cut -= 1
        out.append(line[:cut])
        line = " " + line[cut:]
    out.append(line)
    return out


def bookings_to_ics(bookings: Iterable[Booking]) -> str:
    now = _stamp(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{settings.CLINIC_NAME}//Appointments//EN",
        "CALSCALE:GREGORIAN",
    ]
    for booking in bookings:
        location = booking.location
        lines += [
            "BEGIN:VEVENT",
            f"UID:booking-{booking.pk}@ketaclinic",
            f"DTSTAMP:{now}",
            f"DTSTART:{_stamp(booking.start)}",
            f"DTEND:{_stamp(booking.end)}",
            f"SUMMARY:{_escape(f'Appointment at {location.name}')}",
            f"LOCATION:{_escape(location.address)}",
            f"DESCRIPTION:{_escape(f'To change it call {location.phone}.')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n"
