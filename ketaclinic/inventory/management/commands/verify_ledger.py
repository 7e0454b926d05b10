from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ketaclinic.clinics.models import Location
from ketaclinic.inventory.ledger import verify_location


class Command(BaseCommand):
    help = "Recompute the controlled-substance ledger's hash chain per location and name the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--location", type=int, help="Only this location's ledger (its ID).")

    def handle(self, *args: Any, **options: Any) -> None:
        locations = Location.objects.order_by("pk")
        if options["location"] is not None:
            locations = locations.filter(pk=options["location"])
            if not locations.exists():
                self.stderr.write(f"No location with ID {options['location']}.")
                raise SystemExit(2)
        broken = False
        for location in locations:
            report = verify_location(location.pk)
            if report.ok:
                self.stdout.write(
                    self.style.SUCCESS(f"{location.name} (ID {location.pk}): ledger intact, {report.entries} entries.")
                )
            else:
                broken = True
                self.stderr.write(
                    f"{location.name} (ID {location.pk}): ledger BROKEN at entry {report.first_broken_id}: {report.problem}."
                )
        if broken:
            raise SystemExit(1)
