from pathlib import Path

from django.conf import settings

from ketaclinic.core.management.commands.permissions_table import render_table


def test_docs_permission_table_matches_the_code() -> None:
    doc = Path(settings.BASE_DIR, "docs", "permissions.md").read_text()
    assert doc == render_table(), "Run: python manage.py permissions_table > docs/permissions.md"
