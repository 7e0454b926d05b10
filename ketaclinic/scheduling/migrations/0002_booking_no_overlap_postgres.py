"""On PostgreSQL: no two live bookings may overlap on one chair, enforced by the database.

An ``ExclusionConstraint`` over ``tstzrange(start, end)`` with ``=`` on the chair needs the
btree_gist extension (for ``=`` on a bigint inside a GiST index). SQLite has neither, so both
are added only when the migration runs on PostgreSQL; on SQLite the booking action's overlap
check inside an IMMEDIATE transaction (which serialises writers) keeps the same rule. The
constraint is not part of the model state, so ``makemigrations`` stays quiet on both."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import F, Func, Q

CONSTRAINT_NAME = "booking_chair_no_overlap"
# Cancelled bookings and no-shows give the chair back (choices.RELEASED_STATUSES).
RELEASED = ("cancelled", "no_show")


class TstzRange(Func):
    function = "TSTZRANGE"


def _constraint() -> Any:
    # Imported here: django.contrib.postgres needs a PostgreSQL driver, which an SQLite-only
    # installation may not have.
    from django.contrib.postgres.constraints import ExclusionConstraint  # noqa: PLC0415
    from django.contrib.postgres.fields import RangeOperators  # noqa: PLC0415

    return ExclusionConstraint(
        name=CONSTRAINT_NAME,
        expressions=[(F("chair"), RangeOperators.EQUAL), (TstzRange("start", "end"), RangeOperators.OVERLAPS)],
        condition=Q(chair__isnull=False) & ~Q(status__in=RELEASED),
    )


def add_constraint(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.add_constraint(apps.get_model("scheduling", "Booking"), _constraint())


def remove_constraint(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_constraint(apps.get_model("scheduling", "Booking"), _constraint())


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, remove_constraint)]
