from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from ketaclinic.clinics.actions import update_location
from ketaclinic.core import audit
from ketaclinic.core.db_guards import remove_append_only
from ketaclinic.core.models import AppendOnlyError, AuditEvent
from ketaclinic.core.testing import World, signed_in_client


def test_opening_a_patient_record_writes_a_read_event(world: World) -> None:
    client = signed_in_client(world["nurse"])
    before = AuditEvent.objects.count()
    response = client.get(reverse("patients:detail", args=[world.patient.pk]), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event is not None
    assert event.action == AuditEvent.Action.READ
    assert event.actor == world["nurse"]
    assert event.actor_roles == "nurse"
    assert event.patient_id == world.patient.pk
    assert event.object_type == "patients.Patient"
    assert event.ip_address == "10.1.2.3"
    assert event.path == reverse("patients:detail", args=[world.patient.pk])


def test_a_write_records_old_and_new_values(world: World) -> None:
    update_location(acting_user=world["admin"], location=world.location, phone="+13035550111")
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None
    assert event.action == AuditEvent.Action.UPDATE
    assert event.changes == {"phone": ["+13035550199", "+13035550111"]}


def test_chain_verifies_when_untouched(world: World) -> None:
    report = audit.verify_chain()
    assert report.ok
    assert report.events == AuditEvent.objects.count() > 10


def test_a_batch_of_events_is_chained_like_single_appends(world: World) -> None:
    before = AuditEvent.objects.count()
    audit.record(actor=None, action=AuditEvent.Action.CREATE, object_type="test.Single", username="one")
    batch = audit.record_many(
        [
            {"actor": None, "action": AuditEvent.Action.CREATE, "object_type": "test.Batch", "object_id": i}
            for i in range(1, 6)
        ]
    )
    audit.record(actor=world["nurse"], action=AuditEvent.Action.READ, object_type="test.After")
    rows = list(AuditEvent.objects.order_by("id")[before:])
    assert [r.object_type for r in rows] == ["test.Single", *["test.Batch"] * 5, "test.After"]
    assert [r.object_id for r in rows[1:6]] == ["1", "2", "3", "4", "5"]
    # Each links to the one before it, across the batch's edges.
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))
    assert [e.hash for e in batch] == [r.hash for r in rows[1:6]]
    assert audit.verify_chain().ok
    assert audit.record_many([]) == []


@pytest.mark.parametrize(
    ("changes", "read_back"),
    [
        # Already what JSON gives back: stored as given (the gateway's lists of keys).
        ({"vitals": [None, [3, 4]], "ok": True, "n": 1.5, "text": "ü"}, None),
        # Tuples, dates, decimals and non-string keys are stored as JSON reads them back.
        (
            {"when": date(2026, 3, 2), "dose": Decimal("0.50"), "pair": (1, 2), "by": {7: "x"}},
            {"when": "2026-03-02", "dose": "0.50", "pair": [1, 2], "by": {"7": "x"}},
        ),
    ],
)
def test_changes_are_stored_as_json_reads_them_back_and_the_chain_verifies(
    world: World, changes: dict[str, Any], read_back: dict[str, Any] | None
) -> None:
    event = audit.record(actor=None, action=AuditEvent.Action.UPDATE, object_type="test.Json", changes=changes)
    expected = changes if read_back is None else read_back
    assert event.changes == expected
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.changes == expected
    assert audit.compute_hash(stored, stored.prev_hash) == event.hash
    assert audit.verify_chain().ok


def test_a_batch_takes_one_step_of_the_chain(world: World, django_assert_max_num_queries: Any) -> None:
    entries = [{"actor": None, "action": AuditEvent.Action.CREATE, "object_type": "test.Batch"} for _ in range(50)]
    # Last hash and one insert (and the advisory lock on PostgreSQL): no savepoint of its own.
    with django_assert_max_num_queries(3):
        audit.record_many(entries)


def _drop_append_only_guard() -> None:
    """Simulate an attacker with database rights who removes the trigger first."""
    remove_append_only(connection, "core_auditevent")


def test_chain_check_names_the_first_edited_event(world: World) -> None:
    victim = AuditEvent.objects.order_by("id")[3]
    _drop_append_only_guard()
    AuditEvent.objects.filter(pk=victim.pk).update(reason="nothing to see here")
    report = audit.verify_chain()
    assert not report.ok
    assert report.first_broken_id == victim.pk
    assert "edited" in report.problem


def test_chain_check_detects_a_removed_event(world: World) -> None:
    victim = AuditEvent.objects.order_by("id")[5]
    _drop_append_only_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [victim.pk])
    report = audit.verify_chain()
    assert not report.ok
    assert report.first_broken_id == AuditEvent.objects.filter(id__gt=victim.pk).order_by("id").first().pk  # type: ignore[union-attr]


def test_verify_audit_command_fails_loudly_on_tampering(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out
    victim = AuditEvent.objects.order_by("id")[2]
    _drop_append_only_guard()
    AuditEvent.objects.filter(pk=victim.pk).update(actor_username="someone-else")
    with pytest.raises(SystemExit):
        call_command("verify_audit")
    assert f"event {victim.pk}" in capsys.readouterr().err


def test_events_cannot_be_changed_or_deleted_through_the_orm(world: World) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    event.reason = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_database_trigger_refuses_updates_that_bypass_the_model(world: World) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().update(reason="bulk edit")
    assert not AuditEvent.objects.filter(reason="bulk edit").exists()
