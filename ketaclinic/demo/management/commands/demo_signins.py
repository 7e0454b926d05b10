from typing import Any

from django.core.management.base import BaseCommand

from ketaclinic.demo import seed


class Command(BaseCommand):
    help = "Print the demo personas' sign-ins (demo only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not seed.is_seeded():
            self.stderr.write("No demo clinic yet: run manage.py seed_demo first.")
            raise SystemExit(1)
        self.stdout.write(seed.sign_in_table())
