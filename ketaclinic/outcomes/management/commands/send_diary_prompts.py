"""Send the daily diary text to every patient whose chosen time has passed today."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ketaclinic.outcomes.sms import send_due_prompts


class Command(BaseCommand):
    help = (
        "Text today's diary prompt to patients whose chosen local time has passed and who agreed to care texts. "
        "At most one per patient per local day, so it is safe to run every few minutes (e.g. from cron)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_due_prompts()
        self.stdout.write(f"Diary prompts sent: {len(sent)}")
