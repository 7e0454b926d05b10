"""Database-level guards for append-only tables (audit events, and later ledger entries and
signatures): a trigger refuses UPDATE and DELETE whatever code, or person at a SQL prompt, tries
it. Someone able to drop the trigger can still edit rows; hash chains then reveal the edit."""

from __future__ import annotations

from typing import Any

REFUSE_FUNCTION = """CREATE OR REPLACE FUNCTION ketaclinic_refuse_change() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql;"""


def _statements(vendor: str, table: str, *, install: bool) -> list[str]:
    if vendor == "postgresql":
        if install:
            return [
                REFUSE_FUNCTION,
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ketaclinic_refuse_change();",
            ]
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"]
    if vendor == "sqlite":
        if install:
            return [
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END;"
                for verb in ("UPDATE", "DELETE")
            ]
        return [f"DROP TRIGGER IF EXISTS {table}_no_{verb};" for verb in ("update", "delete")]
    return []


def install_append_only(connection: Any, table: str) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, table, install=True):
            cursor.execute(sql)


def remove_append_only(connection: Any, table: str) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, table, install=False):
            cursor.execute(sql)
