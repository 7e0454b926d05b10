"""Writing and verifying the audit trail.

Actions call :func:`record` inside their transaction, and views that show health data call
:func:`record_read`; nothing is audited by signals, which miss writes made outside a request.
The request's address and browser come from :data:`request_context`, set by
``RequestContextMiddleware``; outside a request (commands, workers) they are blank.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from ketaclinic.core.bulk import insert_rows
from ketaclinic.core.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from ketaclinic.accounts.models import User

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number: the key of the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 7_285_164_312


@dataclass(frozen=True)
class RequestInfo:
    ip_address: str | None = None
    user_agent: str = ""
    path: str = ""


# RequestInfo is a frozen dataclass, so sharing one default instance is safe.
request_context: ContextVar[RequestInfo] = ContextVar("audit_request", default=RequestInfo())  # noqa: B039


def _is_json(value: Any) -> bool:
    """Whether ``value`` already reads back from JSON as itself: dicts with string keys, lists,
    strings, ints, finite floats, booleans and None (tuples, dates and decimals do not)."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _is_json(v) for k, v in value.items())
    if kind is list:
        return all(_is_json(v) for v in value)
    if kind is float:
        return math.isfinite(value)
    return value is None or kind in {str, int, bool}


def _normalise(value: Any) -> Any:
    """Round-trip through JSON so the stored value hashes the same when read back (skipped for a
    value that is already what JSON gives back: the monitor gateway's lists of keys)."""
    if _is_json(value):
        return value
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    payload = {name: getattr(event, name) for name in AuditEvent.HASHED_FIELDS}
    payload["at"] = event.at.isoformat()
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _last_hash() -> str:
    """The newest event's hash (the chain's head), read with the lock held. Written as SQL: it
    runs on every append, and through the ORM it cost 169 µs against 16 µs (SQLite, measured)."""
    quote = connection.ops.quote_name
    meta = AuditEvent._meta
    table, pk, hash_column = quote(meta.db_table), quote(meta.pk.column), quote(meta.get_field("hash").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {hash_column} FROM {table} ORDER BY {pk} DESC LIMIT 1")  # noqa: S608 - names from the model
        row = cursor.fetchone()
    return row[0] if row else GENESIS_HASH


def _lock_chain() -> None:
    # On SQLite the IMMEDIATE transaction already holds the database's only write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def changes_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each field whose value differs."""
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def _build(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    patient_id: int | None = None,
    location_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    is_break_glass: bool = False,
    username: str = "",
) -> AuditEvent:
    info = request_context.get()
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent(
        at=timezone.now(),
        actor=user,
        actor_username=user.username if user else username,
        actor_roles=",".join(sorted(user.role_set)) if user else "",
        action=action,
        object_type=object_type or (obj._meta.label if obj is not None else ""),
        object_id=str(object_id or (obj.pk if obj is not None else "")),
        object_repr=str(obj)[:200] if obj is not None else "",
        patient_id=patient_id,
        location_id=location_id,
        ip_address=info.ip_address,
        user_agent=info.user_agent[:300],
        path=info.path[:300],
        changes=_normalise(dict(changes or {})),
        reason=reason,
        is_break_glass=is_break_glass,
    )


def record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    patient_id: int | None = None,
    location_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    is_break_glass: bool = False,
    username: str = "",
) -> AuditEvent:
    """Append one event to the trail, chained to the previous one."""
    event = _build(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        location_id=location_id,
        changes=changes,
        reason=reason,
        is_break_glass=is_break_glass,
        username=username,
    )
    # No savepoint of its own: an append that fails must take the caller's transaction down with
    # it (nothing may be written unaudited), and on a busy path it saves two statements.
    with transaction.atomic(savepoint=False):
        _lock_chain()
        event.prev_hash = _last_hash()
        event.hash = compute_hash(event, event.prev_hash)
        event.save()
    return event


def record_many(entries: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Append several events (each given as :func:`record`'s keyword arguments) in one step of
    the chain: one lock, one read of the last hash, one insert. Each event still links to the
    one before it, in the order given, so ``verify_audit`` cannot tell them from single appends.
    For high-volume writers such as the monitor gateway."""
    events = [_build(**entry) for entry in entries]
    if not events:
        return []
    with transaction.atomic(savepoint=False):  # as in ``record``
        _lock_chain()
        prev = _last_hash()
        for event in events:
            event.prev_hash = prev
            event.hash = compute_hash(event, prev)
            prev = event.hash
        # Inserted in list order, so ids (the chain's order) follow the links.
        insert_rows(events)
    return events


def record_read(actor: User, obj: models.Model, *, patient_id: int | None, location_id: int | None) -> AuditEvent:
    """Audit that ``actor`` was shown ``obj`` (health data)."""
    return record(actor=actor, action=AuditEvent.Action.READ, obj=obj, patient_id=patient_id, location_id=location_id)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_broken_id: int | None
    problem: str = ""


def _iter_events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=2000)


def verify_chain() -> ChainReport:
    """Recompute every hash in order; report the first event whose content or link is wrong."""
    prev = GENESIS_HASH
    count = 0
    for event in _iter_events():
        count += 1
        if event.prev_hash != prev:
            return ChainReport(
                False, count, event.pk, "its link to the previous event is broken (an event was removed or inserted)"
            )
        if compute_hash(event, prev) != event.hash:
            return ChainReport(False, count, event.pk, "its content no longer matches its hash (it was edited)")
        prev = event.hash
    return ChainReport(True, count, None)
