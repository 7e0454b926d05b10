"""Where outgoing texts go. A backend has one method, ``send(to, from_, body) -> provider_id``;
``settings.SMS_BACKEND`` names one ("file", "locmem", "twilio") or gives a dotted path.

Errors are sorted in two: a :class:`TransientSendError` (network, provider overloaded) is retried
with backoff, a :class:`PermanentSendError` (invalid number, landline, carrier block) is not.
"""

from __future__ import annotations

import itertools
import json
import smtplib
import uuid
from email.utils import make_msgid
from pathlib import Path
from typing import ClassVar, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]


class SendError(Exception):
    """Delivery failed; the message says why in the provider's words."""


class TransientSendError(SendError):
    """Worth trying again later."""


class PermanentSendError(SendError):
    """Trying again would fail the same way."""


class SmsBackend(Protocol):
    def send(self, to: str, from_: str, body: str) -> str: ...


class FileSmsBackend:
    """Writes each text as one JSON file under ``settings.SMS_FILE_PATH`` (development and the
    demo: a worker "sends" them and you can read them there)."""

    def send(self, to: str, from_: str, body: str) -> str:
        directory = Path(settings.SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        provider_id = f"file-{uuid.uuid4().hex}"
        now = timezone.now()
        path = directory / f"{now:%Y%m%d-%H%M%S}-{provider_id}.json"
        path.write_text(json.dumps({"to": to, "from": from_, "body": body, "at": now.isoformat()}, indent=2))
        return provider_id


class LocmemSmsBackend:
    """Keeps texts in memory, like Django's locmem email backend; tests read ``outbox``."""

    outbox: ClassVar[list[dict[str, str]]] = []
    _ids: ClassVar[itertools.count[int]] = itertools.count(1)

    def send(self, to: str, from_: str, body: str) -> str:
        provider_id = f"locmem-{next(self._ids)}"
        self.outbox.append({"to": to, "from": from_, "body": body, "id": provider_id})
        return provider_id


# Twilio answers these HTTP statuses when trying again later can succeed: too many requests,
# and its own server errors.
_TRANSIENT_HTTP = frozenset({429, 500, 502, 503, 504})


class TwilioSmsBackend:
    """Sends through Twilio's REST API with the official client."""

    def send(self, to: str, from_: str, body: str) -> str:
        if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
            raise PermanentSendError("Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        try:
            sent = client.messages.create(to=to, from_=from_, body=body)
        except TwilioRestException as exc:
            text = f"Twilio {exc.code or exc.status}: {exc.msg}"
            if exc.status in _TRANSIENT_HTTP:
                raise TransientSendError(text) from exc
            raise PermanentSendError(text) from exc
        except (TwilioException, OSError) as exc:
            raise TransientSendError(f"Could not reach Twilio: {exc}") from exc
        return str(sent.sid)


BACKENDS: dict[str, str] = {
    "file": "ketaclinic.messaging.backends.FileSmsBackend",
    "locmem": "ketaclinic.messaging.backends.LocmemSmsBackend",
    "twilio": "ketaclinic.messaging.backends.TwilioSmsBackend",
}


def get_sms_backend() -> SmsBackend:
    name = settings.SMS_BACKEND
    backend_class = import_string(BACKENDS.get(name, name))
    backend: SmsBackend = backend_class()
    return backend


def send_email(to: str, from_: str, subject: str, body: str) -> str:
    """Send one email through Django's ``EMAIL_BACKEND``; returns its Message-ID."""
    message_id = make_msgid(domain="ketaclinic.invalid")
    email = EmailMessage(subject=subject, body=body, from_email=from_, to=[to], headers={"Message-ID": message_id})
    try:
        email.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise PermanentSendError(f"The mail server refused the address: {exc}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"Could not hand the email to the mail server: {exc}") from exc
    return message_id
