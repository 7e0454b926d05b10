"""Send the appointment reminders that are due (default 48 h and 2 h before; set per location
in SchedulingPolicy.reminder_offsets_h).

Run it every few minutes from cron or a systemd timer beside the task worker, e.g.
``*/5 * * * * cd /srv/ketaclinic && .venv/bin/python manage.py send_due_reminders``. It is
idempotent: each booking x offset is recorded once (a unique row), so overlapping or repeated
runs never send twice. A patient without care consent for texts gets an email when an address
is on file; otherwise "not sent: no consent" is recorded."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ketaclinic.scheduling.actions import send_due_reminders


class Command(BaseCommand):
    help = "Send appointment reminders that are due (idempotent; run every few minutes)."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_due_reminders()
        for reminder in sent:
            self.stdout.write(
                f"booking {reminder.booking_id}: {reminder.offset_h} h reminder, {reminder.get_outcome_display()}"
            )
        self.stdout.write(f"{len(sent)} reminder(s) handled.")
