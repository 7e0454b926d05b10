from typing import Any

from django.core.management.base import BaseCommand

from ketaclinic.core.audit import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and name the first altered or missing event."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {report.events} events verified."))
            return
        self.stderr.write(f"Audit trail BROKEN at event {report.first_broken_id}: {report.problem}.")
        raise SystemExit(1)
