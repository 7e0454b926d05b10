from typing import Any

from django.core.management.base import BaseCommand

from ketaclinic.core.permissions import GRANTS
from ketaclinic.core.roles import Role


def render_table() -> str:
    roles = list(Role)
    lines = [
        "# Who may do what",
        "",
        "Generated from `ketaclinic/core/permissions.py` by `python manage.py permissions_table`;",
        "a test fails when this page and the code disagree. Role grants say whether a kind of person may",
        "ever do a thing; each app's `permissions.py` adds the object rules (own locations, own record,",
        "break-glass with a stated reason).",
        "",
        "| grant | meaning | " + " | ".join(r.label for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for name, (holders, meaning) in GRANTS.items():
        cells = " | ".join("yes" if r in holders else "" for r in roles)
        lines.append(f"| `{name}` | {meaning} | {cells} |")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the permission table as Markdown (docs/permissions.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(render_table(), ending="")
