from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ketaclinic.demo import seed


class Command(BaseCommand):
    help = "Create the synthetic demo clinic (location, chairs, personas, patients)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the demo already exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        if seed.is_seeded():
            if options["if_empty"]:
                self.stdout.write("Demo clinic already present; not seeding again.")
                return
            self.stderr.write("The demo clinic already exists. Delete var/ketaclinic.sqlite3 to start over.")
            raise SystemExit(1)
        location = seed.seed()
        self.stdout.write(self.style.SUCCESS(f"Seeded the demo clinic: {location.name}."))
        self.stdout.write("Sign-ins: python manage.py demo_signins")
