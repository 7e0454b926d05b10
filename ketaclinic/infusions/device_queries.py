"""The monitor gateway's per-batch reads, written as SQL.

Each of these runs once per gateway batch, whatever its size. Through the ORM each cost about
0.8 ms of query compilation against well under 0.1 ms in the database, which made them most of
a batch's fixed cost: measured on one-message batches (SQLite), reading and locking the sessions
fell from 2.4 to 0.4 ms and a whole batch from 3.9 to 2.0 ms. Each statement is written from the
models' own table and column names (quoted by the backend) and only its ``IN`` lists vary; every
value is a bound parameter. Rows come back through ``Manager.raw``, so the backend's converters
(SQLite's datetimes) apply as in any ORM query.

Tested against the ORM queries they replace in ``tests/test_device_queries.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache

from django.db import connection
from django.db.models import Model
from django.db.transaction import TransactionManagementError

from ketaclinic.infusions.models import InfusionSession, VitalPhase, VitalSign, VitalSource

# What charting device values reads of a session (besides its protocol version).
SESSION_COLUMNS = ("id", "status", "patient_id", "location_id", "protocol_version_id", "chair_id", "checked_in_at")


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def _columns(model: type[Model]) -> dict[str, str]:
    """Each concrete field's column, by field name and by attribute name."""
    found: dict[str, str] = {}
    for field in model._meta.concrete_fields:
        found[field.name] = found[field.attname] = field.column
    return found


@cache
def _names(vendor: str) -> dict[str, str]:
    """Quoted table and column names (from the models, never from input), per backend."""
    del vendor  # the cache key: one set of names per backend
    quote = connection.ops.quote_name
    sessions, vitals = _columns(InfusionSession), _columns(VitalSign)
    names = {
        "sessions": quote(InfusionSession._meta.db_table),
        "vitals": quote(VitalSign._meta.db_table),
        **{f"s.{c}": quote(sessions[c]) for c in SESSION_COLUMNS},
    }
    for name in ("id", "session", "phase", "taken_at", "systolic", "diastolic", "source", "device_message_id"):
        names[f"v.{name}"] = quote(vitals[name])
    return names


def lock_sessions(
    session_ids: Collection[int], open_on_chairs: Collection[int], open_statuses: Sequence[str]
) -> list[InfusionSession]:
    """The sessions named, and every session in ``open_statuses`` on the chairs, in pk order,
    locked (``FOR UPDATE`` of their rows on PostgreSQL; SQLite's IMMEDIATE transaction already
    holds the database's write lock). Only ``SESSION_COLUMNS`` are loaded."""
    if not connection.in_atomic_block:  # as the ORM's select_for_update insists
        raise TransactionManagementError("Sessions can only be locked inside a transaction.")
    n = _names(connection.vendor)
    ids, chairs = sorted(set(session_ids)), sorted(set(open_on_chairs))
    columns = ", ".join(n[f"s.{c}"] for c in SESSION_COLUMNS)
    where = []
    params: list[object] = []
    if ids:
        where.append(f"{n['s.id']} IN ({_marks(ids)})")
        params += ids
    if chairs:
        where.append(f"({n['s.chair_id']} IN ({_marks(chairs)}) AND {n['s.status']} IN ({_marks(open_statuses)}))")
        params += [*chairs, *open_statuses]
    if not where:
        return []
    lock = f" FOR UPDATE OF {n['sessions']}" if connection.features.has_select_for_update_of else ""
    sql = f"SELECT {columns} FROM {n['sessions']} WHERE {' OR '.join(where)} ORDER BY {n['s.id']}{lock}"  # noqa: S608
    return list(InfusionSession.objects.raw(sql, params))


def latest_baselines(session_ids: Sequence[int]) -> dict[int, VitalSign]:
    """Each session's current baseline set (the latest baseline-phase set by time, then by
    insertion), with only its time and blood pressure loaded."""
    if not session_ids:
        return {}
    n = _names(connection.vendor)
    latest = (
        f"SELECT (SELECT u.{n['v.id']} FROM {n['vitals']} u WHERE u.{n['v.session']} = s.{n['s.id']}"  # noqa: S608
        f" AND u.{n['v.phase']} = %s ORDER BY u.{n['v.taken_at']} DESC, u.{n['v.id']} DESC LIMIT 1)"
        f" FROM {n['sessions']} s WHERE s.{n['s.id']} IN ({_marks(session_ids)})"
    )
    columns = ", ".join(n[f"v.{c}"] for c in ("id", "session", "taken_at", "systolic", "diastolic"))
    sql = f"SELECT {columns} FROM {n['vitals']} WHERE {n['v.id']} IN ({latest})"  # noqa: S608
    rows = VitalSign.objects.raw(sql, [VitalPhase.BASELINE, *session_ids])
    return {row.session_id: row for row in rows}


def charted_device_messages(pairs: Collection[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (session, control ID) pairs are already charted from a monitor. One
    index search per pair: written as ``IN`` lists on both columns, SQLite searched every
    session with every control ID (1.7 ms a 64-message batch on a long feed, against 0.2 ms)."""
    if not pairs:
        return set()
    n = _names(connection.vendor)
    ordered = sorted(set(pairs))
    match = " OR ".join([f"({n['v.session']} = %s AND {n['v.device_message_id']} = %s)"] * len(ordered))
    sql = (
        f"SELECT {n['v.session']}, {n['v.device_message_id']} FROM {n['vitals']}"  # noqa: S608
        f" WHERE {n['v.source']} = %s AND ({match})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [VitalSource.DEVICE, *(value for pair in ordered for value in pair)])
        return {(session_id, control_id) for session_id, control_id in cursor.fetchall()}
