import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketaclinic.accounts.actions import create_user
from ketaclinic.core.roles import Role


class Command(BaseCommand):
    help = (
        "Create the first administrator of a new installation (all locations). The password is read "
        "from ADMIN_PASSWORD or asked for; the administrator enrols an authenticator at first sign-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password (12+ characters): ")
        try:
            user = create_user(
                acting_user=None,
                username=options["username"],
                password=password,
                roles=[Role.ADMINISTRATOR],
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                all_locations=True,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Administrator {user.username} created. Sign in to set up two-step sign-in.")
        )
