from collections.abc import Iterator

import pytest

from ketaclinic.messaging.backends import LocmemSmsBackend


@pytest.fixture(autouse=True)
def empty_sms_outbox() -> Iterator[None]:
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()
