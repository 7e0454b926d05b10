"""The audit chain stays linear when many requests append at once (PostgreSQL only: SQLite
serialises all writers anyway)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent

pytestmark = pytest.mark.postgres

WRITERS = 12
EVENTS_EACH = 15


@pytest.fixture
def pg_only(committed_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantee is tested on PostgreSQL (make test-postgres)")


def test_concurrent_appends_keep_one_unbroken_chain(pg_only: None) -> None:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                audit.record(actor=None, action=AuditEvent.Action.READ, object_type="test", object_id=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert AuditEvent.objects.filter(object_type="test").count() == WRITERS * EVENTS_EACH
    report = audit.verify_chain()
    assert report.ok, report
    # Linear: no two events claim the same predecessor.
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == len(set(prev_hashes))
