"""Pump events, addenda and protocol versions are append-only inside the database too (see
ketaclinic/core/db_guards.py): a signed record is never edited in place."""

from django.db import migrations

from ketaclinic.core.db_guards import install_append_only, remove_append_only

TABLES = ("infusions_sessionevent", "infusions_addendum", "infusions_protocolversion")


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table in TABLES:
        install_append_only(schema_editor.connection, table)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table in TABLES:
        remove_append_only(schema_editor.connection, table)


class Migration(migrations.Migration):
    dependencies = [("infusions", "0002_chairside")]
    operations = [migrations.RunPython(forwards, backwards)]
