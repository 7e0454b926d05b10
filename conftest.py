from collections.abc import Iterator

import pytest
from django.db import connection
from hypothesis import settings

from ketaclinic.core.db_guards import install_append_only, remove_append_only
from ketaclinic.core.testing import World, make_world

# Property tests check correctness, not speed: a shared CI machine under load must not turn a
# slow example into a failure (speed targets live in bench/).
settings.register_profile("ketaclinic", deadline=None)
settings.load_profile("ketaclinic")

# Tables whose rows the database refuses to update or delete (see core/db_guards.py).
APPEND_ONLY_TABLES = [
    "core_auditevent",
    "consents_consentsignature",
    "consents_consentdocument",
    "inventory_ledgerentry",
    "infusions_sessionevent",
    "infusions_addendum",
    "infusions_protocolversion",
]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache: rolled-back tests reuse primary keys, so an entry
    keyed on one test's rows could otherwise answer for another test's."""
    from django.core.cache import cache  # noqa: PLC0415 - settings are configured by then

    cache.clear()
    yield


@pytest.fixture
def world(db: None) -> World:
    return make_world()


@pytest.fixture
def committed_db(transactional_db: None) -> Iterator[None]:
    """A database whose writes are committed (visible to other threads, processes, pg_dump).

    Between such tests the test runner empties every table; on SQLite that is a DELETE, which the
    append-only triggers refuse, so they are lifted for the flush and restored for the next test."""
    for table in APPEND_ONLY_TABLES:
        install_append_only(connection, table)
    yield
    for table in APPEND_ONLY_TABLES:
        remove_append_only(connection, table)


@pytest.fixture
def committed_world(committed_db: None) -> World:
    return make_world()
