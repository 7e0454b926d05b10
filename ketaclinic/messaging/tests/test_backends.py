from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from twilio.base.exceptions import TwilioRestException  # type: ignore[import-untyped]

from ketaclinic.messaging import backends
from ketaclinic.messaging.backends import (
    FileSmsBackend,
    LocmemSmsBackend,
    PermanentSendError,
    TransientSendError,
    TwilioSmsBackend,
    get_sms_backend,
)


def test_the_file_backend_writes_one_file_per_text(settings, tmp_path) -> None:
    settings.SMS_FILE_PATH = tmp_path
    first = FileSmsBackend().send("+13035550123", "+13035550198", "See you Tuesday.")
    FileSmsBackend().send("+13035550124", "+13035550198", "See you Wednesday.")
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    written = [json.loads(f.read_text()) for f in files]
    assert {"to": "+13035550123", "from": "+13035550198", "body": "See you Tuesday."}.items() <= next(
        w for w in written if w["to"] == "+13035550123"
    ).items()
    assert any(first in f.name for f in files)


def test_the_locmem_backend_keeps_texts_in_memory_with_distinct_ids() -> None:
    a = LocmemSmsBackend().send("+13035550123", "+13035550198", "one")
    b = LocmemSmsBackend().send("+13035550123", "+13035550198", "two")
    assert a != b
    assert [t["body"] for t in LocmemSmsBackend.outbox] == ["one", "two"]


def test_the_backend_is_chosen_by_name_or_dotted_path(settings) -> None:
    settings.SMS_BACKEND = "file"
    assert isinstance(get_sms_backend(), FileSmsBackend)
    settings.SMS_BACKEND = "ketaclinic.messaging.backends.LocmemSmsBackend"
    assert isinstance(get_sms_backend(), LocmemSmsBackend)


class _FakeClient:
    error: Exception | None = None
    sent: list[dict[str, str]] = []  # noqa: RUF012

    def __init__(self, sid: str, token: str) -> None:
        self.messages = self

    def create(self, **kwargs: str) -> SimpleNamespace:
        if self.error is not None:
            raise self.error
        self.sent.append(kwargs)
        return SimpleNamespace(sid="SM123")


@pytest.fixture
def fake_twilio(monkeypatch, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC123", "token"
    _FakeClient.error, _FakeClient.sent = None, []
    monkeypatch.setattr(backends, "Client", _FakeClient)
    return _FakeClient


def test_the_twilio_backend_sends_through_the_client_and_returns_the_sid(fake_twilio) -> None:
    assert TwilioSmsBackend().send("+13035550123", "+13035550198", "Hello") == "SM123"
    assert fake_twilio.sent == [{"to": "+13035550123", "from_": "+13035550198", "body": "Hello"}]


def test_twilio_overload_is_transient_and_a_bad_number_is_permanent(fake_twilio) -> None:
    fake_twilio.error = TwilioRestException(503, "https://api.twilio.com", msg="Service Unavailable")
    with pytest.raises(TransientSendError, match="503"):
        TwilioSmsBackend().send("+13035550123", "+13035550198", "Hello")
    fake_twilio.error = TwilioRestException(400, "https://api.twilio.com", msg="Invalid 'To' number", code=21211)
    with pytest.raises(PermanentSendError, match="21211"):
        TwilioSmsBackend().send("+13035550123", "+13035550198", "Hello")


def test_twilio_without_credentials_fails_permanently_with_a_clear_message(settings) -> None:
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(PermanentSendError, match="TWILIO_ACCOUNT_SID"):
        TwilioSmsBackend().send("+13035550123", "+13035550198", "Hello")
