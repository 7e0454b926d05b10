"""Signed consents and published document versions are append-only inside the database too
(see ketaclinic/core/db_guards.py), as the audit trail is."""

from django.db import migrations

from ketaclinic.core.db_guards import install_append_only, remove_append_only

TABLES = ("consents_consentsignature", "consents_consentdocument")


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table in TABLES:
        install_append_only(schema_editor.connection, table)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table in TABLES:
        remove_append_only(schema_editor.connection, table)


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_initial"), ("core", "0002_audit_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
