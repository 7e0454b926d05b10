"""``core.bulk.insert_rows`` stores exactly what ``bulk_create`` stores, in list order, and gives
each row its key: dates with time zones, foreign keys, big integers, IP addresses, JSON,
booleans, decimals and empty values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ketaclinic.core.bulk import insert_rows
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World
from ketaclinic.infusions.models import VitalPhase, VitalSign, VitalSource
from ketaclinic.infusions.tests.factories import make_session

T0 = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)


def events(world: World, tag: str) -> list[AuditEvent]:
    return [
        AuditEvent(
            at=T0 + timedelta(seconds=i),
            actor=world["nurse"] if i % 2 else None,
            actor_username="nurse" if i % 2 else "",
            action=AuditEvent.Action.CREATE,
            object_type="infusions.VitalSign",
            object_id=str(i),
            patient_id=10_000_000_000 + i,
            location_id=None,
            ip_address="2001:db8::1" if i % 3 else None,
            changes={"systolic": [None, 120 + i], "note": "ü “quoted”", "nested": {"n": i}},
            is_break_glass=i == 2,  # noqa: PLR2004
            prev_hash=f"{tag}-prev-{i}",
            hash=f"{tag}-hash-{i}",
        )
        for i in range(5)
    ]


def stored(rows: list[Any], model: type[Any], *ignore: str) -> list[dict[str, Any]]:
    found = {r["id"]: r for r in model.objects.filter(pk__in=[r.pk for r in rows]).values()}
    return [{k: v for k, v in found[r.pk].items() if k not in {"id", *ignore}} for r in rows]


def test_audit_events_read_back_as_bulk_create_writes_them(world: World) -> None:
    ours, theirs = events(world, "ours"), events(world, "theirs")
    insert_rows(ours)
    AuditEvent.objects.bulk_create(theirs)
    assert all(e.pk is not None and not e._state.adding for e in ours)
    assert [e.pk for e in ours] == sorted(e.pk for e in ours)  # list order is id order
    assert stored(ours, AuditEvent, "hash", "prev_hash") == stored(theirs, AuditEvent, "hash", "prev_hash")
    assert AuditEvent.objects.get(pk=ours[2].pk).changes["note"] == "ü “quoted”"


def test_vitals_with_decimals_and_empty_values_read_back_the_same(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)

    def rows() -> list[VitalSign]:
        return [
            VitalSign(
                session=session,
                taken_at=T0 + timedelta(minutes=i),
                phase=VitalPhase.INFUSION,
                source=VitalSource.DEVICE,
                systolic=120 + i,
                diastolic=None if i == 1 else 80,
                temperature_c=Decimal("36.7") if i else None,
                sedation=-1,
                device_message_id=f"MSG{i}",
                recorded_at=T0,
            )
            for i in range(3)
        ]

    ours, theirs = rows(), rows()
    insert_rows(ours)
    VitalSign.objects.bulk_create(theirs)
    assert stored(ours, VitalSign) == stored(theirs, VitalSign)
    assert VitalSign.objects.get(pk=ours[2].pk).temperature_c == Decimal("36.7")
