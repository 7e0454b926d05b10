"""The hash chain: an entry edited in the database behind the application's back (after the
attacker drops the trigger) is named by ``verify_ledger`` and by the API."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from ketaclinic.core.db_guards import install_append_only, remove_append_only
from ketaclinic.core.testing import World, api_client
from ketaclinic.inventory.tests.factories import dispense_to_session, receive

TABLE = "inventory_ledgerentry"


def _tamper(entry_id: int, sql: str) -> None:
    remove_append_only(connection, TABLE)
    with connection.cursor() as cursor:
        cursor.execute(sql, [entry_id])
    install_append_only(connection, TABLE)


def test_an_intact_ledger_verifies(world: World) -> None:
    container = receive(world, containers=2)[0]
    dispense_to_session(world, container)
    out = StringIO()
    call_command("verify_ledger", "--location", str(world.location.pk), stdout=out)
    assert "ledger intact, 3 entries" in out.getvalue()


def test_editing_an_entry_directly_in_the_database_is_detected_and_named(world: World) -> None:
    container = receive(world, containers=2)[0]
    edited = dispense_to_session(world, container, "2.000")
    dispense_to_session(world, container, "1.000", session_ref="S-2")
    _tamper(edited.pk, "UPDATE inventory_ledgerentry SET ml = 0.5, mg = 25 WHERE id = %s")

    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", stdout=StringIO(), stderr=err)

    assert exit_info.value.code == 1
    assert f"BROKEN at entry {edited.pk}" in err.getvalue()
    response = api_client(world["director"]).get(reverse("api:inventory_verify"), {"location": world.location.pk})
    assert response.json() == {
        "ok": False,
        "entries": 3,
        "first_broken": edited.pk,
        "problem": "its content no longer matches its hash (it was edited)",
    }


def test_removing_an_entry_breaks_the_link_of_the_next_one(world: World) -> None:
    container = receive(world)[0]
    removed = dispense_to_session(world, container, "2.000")
    following = dispense_to_session(world, container, "1.000", session_ref="S-2")
    _tamper(removed.pk, "DELETE FROM inventory_ledgerentry WHERE id = %s")

    response = api_client(world["director"]).get(reverse("api:inventory_verify"))

    assert response.json()["first_broken"] == following.pk
    assert "removed or inserted" in response.json()["problem"]


def test_each_location_keeps_its_own_chain(world: World) -> None:
    receive(world)
    receive(world, location=world.other_location)
    home = api_client(world["director"]).get(reverse("api:inventory_verify"), {"location": world.location.pk}).json()
    assert home == {"ok": True, "entries": 1, "first_broken": None, "problem": ""}
