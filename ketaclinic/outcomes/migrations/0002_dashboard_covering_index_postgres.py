"""The dashboard's covering index exists on PostgreSQL only: SQLite has no INCLUDE columns, and
there it would only repeat the (patient, date) unique index."""

from typing import Any

from django.db import migrations

COVERED = (
    "headache, duration_min, peak_severity, pain_nrs, unilateral, pulsating, aggravated_by_activity, nausea, "
    "vomiting, photophobia, phonophobia, aura, migraine_features, med_triptan, med_ergot, med_gepant_ditan, "
    "specific_med_helped_2h"
)


def create_covering_index(apps: Any, schema_editor: Any) -> None:
    # The dashboard joins each patient's date range; with these columns in the index PostgreSQL
    # answers from the index alone (no heap visits): bench/outcomes.py.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS diary_dashboard_covering "
            f"ON outcomes_diaryentry (patient_id, date) INCLUDE ({COVERED})"
        )


def drop_covering_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS diary_dashboard_covering")


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="diaryentry", name="diary_dashboard_covering"),
        migrations.RunPython(create_covering_index, drop_covering_index),
    ]
