"""On PostgreSQL, 100 dispense requests racing for one vial never drive it below zero, and the
final balance is the initial balance minus exactly the entries that succeeded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections

from ketaclinic.core.testing import World
from ketaclinic.inventory import actions, ledger, queries
from ketaclinic.inventory.models import Container, LedgerEntry
from ketaclinic.inventory.tests.factories import receive

pytestmark = pytest.mark.postgres

REQUESTS = 100
DRAW_ML = Decimal("0.300")  # 100 x 0.3 mL = 30 mL asked of a 10 mL vial


def test_concurrent_dispenses_never_drive_a_vial_below_zero(committed_world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency are a PostgreSQL guarantee (SQLite serialises all writes)")
    world = committed_world
    container = receive(world)[0]
    initial = queries.container_balance_ml(container.pk)

    def attempt(index: int) -> bool:
        try:
            actions.dispense(
                acting_user=world["nurse"],
                container=Container.objects.get(pk=container.pk),
                ml=DRAW_ML,
                session_ref=f"RACE-{index}",
                patient=world.patient,
            )
        except actions.InsufficientStock:
            return False
        finally:
            connections.close_all()
        return True

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(REQUESTS)))

    succeeded = LedgerEntry.objects.filter(container=container, kind="dispense")
    final = queries.container_balance_ml(container.pk)
    assert sum(results) == succeeded.count() == 33
    assert final == initial - sum(e.ml for e in succeeded) == Decimal("0.100")
    assert final >= 0
    assert ledger.verify_location(world.location.pk).ok
