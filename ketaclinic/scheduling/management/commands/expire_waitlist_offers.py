"""Expire waitlist offers whose hold has run out and pass each freed slot to the next
eligible patient on the waitlist (hold time per location: SchedulingPolicy.offer_hold_min).

Run it from the same cron entry or systemd timer as the reminders, every few minutes, e.g.
``*/5 * * * * cd /srv/ketaclinic && .venv/bin/python manage.py send_due_reminders &&
.venv/bin/python manage.py expire_waitlist_offers``. It is idempotent: each offer is locked
and changed only while it is still held and due, so repeated or overlapping runs expire it
once and pass the slot on once. A slot already in the past, or booked by hand meanwhile, is
not passed on."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ketaclinic.scheduling.actions import expire_waitlist_offers


class Command(BaseCommand):
    help = "Expire held waitlist offers that ran out and offer the slot to the next patient (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        handled = expire_waitlist_offers()
        for expired, passed_to in handled:
            onward = f"offered on as offer {passed_to.pk}" if passed_to else "no one else eligible"
            self.stdout.write(f"offer {expired.pk} expired; {onward}")
        self.stdout.write(f"{len(handled)} offer(s) expired.")
