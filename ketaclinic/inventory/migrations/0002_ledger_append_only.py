"""Make ledger entries append-only inside the database too (see ketaclinic/core/db_guards.py)."""

from django.db import migrations

from ketaclinic.core.db_guards import install_append_only, remove_append_only


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_append_only(schema_editor.connection, "inventory_ledgerentry")


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    remove_append_only(schema_editor.connection, "inventory_ledgerentry")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
