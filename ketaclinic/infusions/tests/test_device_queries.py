"""The gateway's per-batch reads written as SQL (``device_queries``) return what the ORM queries
they replace return, on SQLite and on PostgreSQL, and the lock is a real row lock there."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import OuterRef, Subquery
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from ketaclinic.core.testing import World
from ketaclinic.infusions import actions, device_queries
from ketaclinic.infusions.models import InfusionSession, VitalPhase, VitalSign, VitalSource
from ketaclinic.infusions.queries import OPEN_STATUSES
from ketaclinic.infusions.tests.factories import BASELINE, make_session


def _orm_baselines(ids: list[int]) -> dict[int, tuple[int, object, int | None, int | None]]:
    latest = (
        VitalSign.objects.filter(session=OuterRef("pk"), phase=VitalPhase.BASELINE)
        .order_by("-taken_at", "-pk")
        .values("pk")[:1]
    )
    chosen = InfusionSession.objects.filter(pk__in=ids).annotate(baseline=Subquery(latest))
    return {
        v.session_id: (v.pk, v.taken_at, v.systolic, v.diastolic)
        for v in VitalSign.objects.filter(pk__in=chosen.values("baseline"))
    }


@pytest.fixture
def sessions(world: World) -> list[InfusionSession]:
    """Sessions on three chairs: infusing, checked in (baseline sets only, two at the same time)
    and signed (no longer open)."""
    infusing = make_session(world, "infusing")
    checked_in = make_session(world, "checked_in", chair_index=1)
    at = timezone.now() - timedelta(minutes=3)
    for systolic in (131, 133):  # same time: the later insertion is the baseline
        actions.record_vitals(
            acting_user=world["nurse"], session=checked_in, values={**BASELINE, "systolic": systolic}, taken_at=at
        )
    signed = make_session(world, "signed", chair_index=2)
    return [infusing, checked_in, signed]


def test_open_sessions_on_chairs_and_named_sessions_are_read_as_the_orm_reads_them(
    sessions: list[InfusionSession],
) -> None:
    infusing, checked_in, signed = sessions
    chairs = [s.chair_id for s in sessions if s.chair_id is not None]
    with transaction.atomic():
        found = device_queries.lock_sessions([signed.pk], chairs, OPEN_STATUSES)
    expected = InfusionSession.objects.filter(pk__in=[infusing.pk, checked_in.pk, signed.pk]).order_by("pk")
    assert [s.pk for s in found] == [s.pk for s in expected]
    for ours, theirs in zip(found, expected, strict=True):
        for name in device_queries.SESSION_COLUMNS:
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours.checked_in_at.tzinfo is not None
        assert "weight_kg" in ours.get_deferred_fields()  # only what charting needs is loaded
    with transaction.atomic():
        only_open = device_queries.lock_sessions([], chairs, OPEN_STATUSES)
    assert [s.pk for s in only_open] == [infusing.pk, checked_in.pk]
    with transaction.atomic():
        assert device_queries.lock_sessions([], [], OPEN_STATUSES) == []


def test_locking_outside_a_transaction_is_refused(committed_db: None) -> None:
    with pytest.raises(TransactionManagementError):
        device_queries.lock_sessions([1], [], OPEN_STATUSES)


def test_latest_baselines_are_the_orm_subquerys(sessions: list[InfusionSession]) -> None:
    ids = [s.pk for s in sessions]
    ours = {k: (v.pk, v.taken_at, v.systolic, v.diastolic) for k, v in device_queries.latest_baselines(ids).items()}
    assert ours == _orm_baselines(ids)
    assert ours[sessions[1].pk][2] == 133  # noqa: PLR2004 - same time: the later insertion
    assert device_queries.latest_baselines([]) == {}


def test_charted_device_messages_are_the_pairs_already_stored(sessions: list[InfusionSession]) -> None:
    infusing, checked_in, _ = sessions
    now = timezone.now()
    actions.record_device_vitals(
        session=infusing, readings=[actions.DeviceReading({"heart_rate": 70}, now, "C1")], device="m"
    )
    actions.record_device_vitals(
        session=checked_in, readings=[actions.DeviceReading({"heart_rate": 71}, now, "C2")], device="m"
    )
    ids, controls = {infusing.pk, checked_in.pk}, {"C1", "C2", "C3"}
    expected = set(
        VitalSign.objects.filter(
            session_id__in=ids, source=VitalSource.DEVICE, device_message_id__in=controls
        ).values_list("session_id", "device_message_id")
    )
    asked = {(s, c) for s in ids for c in controls}
    assert (
        device_queries.charted_device_messages(asked)
        == expected
        == {
            (infusing.pk, "C1"),
            (checked_in.pk, "C2"),
        }
    )
    # A control ID charted on another session is not a repeat on this one.
    assert device_queries.charted_device_messages({(infusing.pk, "C2"), (checked_in.pk, "C3")}) == set()
    assert device_queries.charted_device_messages(set()) == set()


@pytest.mark.postgres
def test_on_postgresql_the_sessions_rows_are_locked_until_commit(committed_world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite's IMMEDIATE transaction locks the database)")
    session = make_session(committed_world, "infusing")
    assert session.chair_id is not None
    chair_id = session.chair_id
    outcome: list[str] = []

    def other_writer() -> None:
        try:
            with transaction.atomic():
                InfusionSession.objects.select_for_update(nowait=True).get(pk=session.pk)
            outcome.append("got the lock")
        except OperationalError:
            outcome.append("locked")
        finally:
            connections.close_all()

    with transaction.atomic():
        device_queries.lock_sessions([], [chair_id], OPEN_STATUSES)
        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(10)
    after = threading.Thread(target=other_writer)
    after.start()
    after.join(10)
    assert outcome == ["locked", "got the lock"]
