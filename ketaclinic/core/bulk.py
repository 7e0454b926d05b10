"""Insert many rows of one model in as few statements as the backend allows, with their keys.

``insert_rows`` is what ``bulk_create`` does for plain rows (no signals, no auto_now fields),
without its per-value query compiler, which was most of the database time of high-volume
writers: the monitor gateway's vitals sets, alerts and message log, and the audit trail's batch
append (``core.audit.record_many``). Values go through each field's own ``get_db_prep_save``
unless they are plain ints, strings or booleans; on PostgreSQL one array per column goes through
``UNNEST``, as Django 5.2's ``bulk_create`` does there. Tested against ``bulk_create``'s result
in ``core/tests/test_bulk.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

# Field types whose Python value is already what the database driver takes (the ints, strings
# and booleans the gateway builds); every other field goes through ``get_db_prep_save``.
_PLAIN_FIELDS = (models.IntegerField, models.CharField, models.TextField, models.BooleanField)


def _insert_plan(
    model: type[Model], connection: BaseDatabaseWrapper
) -> tuple[str, list[Field[Any, Any]], list[tuple[str, Field[Any, Any] | None]]]:
    """How ``insert_rows`` writes rows of ``model``: the statement (its values still to be filled in
    for ``VALUES``; PostgreSQL takes one array per column through ``UNNEST``, as ``bulk_create``
    does there) and, for each column, the attribute read and the field that converts it
    (``None``: passed as is)."""
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    if any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in fields):
        raise TypeError(f"{model.__name__} has auto_now fields; use bulk_create")  # pragma: no cover
    pk = model._meta.pk
    if pk is None:  # pragma: no cover - every concrete model has one
        raise TypeError(f"{model.__name__} has no primary key")
    quote = connection.ops.quote_name
    # Table and column names come from the model, never from input; values are bound parameters.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"  # noqa: S608
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"(%s)::{(f.db_type(connection) or '').split('(')[0]}[]" for f in fields)
        head += f" SELECT * FROM UNNEST({arrays})"  # noqa: S608 - column types from the model
    columns: list[tuple[str, Field[Any, Any] | None]] = []
    for f in fields:
        target = f.target_field if isinstance(f, models.ForeignKey) else f
        plain = isinstance(target, _PLAIN_FIELDS) and not isinstance(target, models.JSONField)
        columns.append((f.attname, None if plain else f))
    return f"{head} RETURNING {quote(pk.column)}", fields, columns


def _prepared(field: Field[Any, Any], column: list[Any], connection: BaseDatabaseWrapper) -> list[Any]:
    """A column's values as the database takes them. ``None`` is NULL for every field
    ``get_db_prep_save`` knows (for a JSONField too: JSON null would be ``Value(None)``), so
    empty values skip the conversion; at the gateway's volume they are a third of them."""
    return [None if value is None else field.get_db_prep_save(value, connection) for value in column]


def insert_rows(rows: Sequence[Model]) -> None:
    """Insert model instances and set their keys: what ``bulk_create`` does for these rows
    (no signals, no auto_now fields), without its per-value query compiler, which was most of
    the gateway's database time. Values go through the fields' own ``get_db_prep_save`` unless
    they are plain ints, strings or booleans; statements are sized by the backend's
    ``bulk_batch_size`` as ``bulk_create`` sizes them."""
    model = type(rows[0])
    # The connection itself, not the ``django.db.connection`` proxy, which looks the thread's
    # connection up on every attribute read (a third of the conversions' time).
    connection = connections[DEFAULT_DB_ALIAS]
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover
        model._default_manager.bulk_create(rows)  # every supported backend returns the new keys
        return
    statement, fields, columns = _insert_plan(model, connection)
    per_statement = max(1, connection.ops.bulk_batch_size(fields, rows))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        by_column = [[getattr(row, attname) for row in chunk] for attname, _ in columns]
        values = [
            column if field is None else _prepared(field, column, connection)
            for (_, field), column in zip(columns, by_column, strict=True)
        ]
        if connection.vendor == "postgresql":
            sql, params = statement, values  # one array per column
        else:
            row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
            sql = statement.replace(" RETURNING", " VALUES " + ", ".join([row_sql] * len(chunk)) + " RETURNING", 1)
            params = [value for row in zip(*values, strict=True) for value in row]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            keys = cursor.fetchall()
        for row, (key,) in zip(chunk, keys, strict=True):
            row.pk = key
            row._state.adding = False
            row._state.db = connection.alias
