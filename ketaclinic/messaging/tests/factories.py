"""Small builders for messaging tests, all through the real actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from ketaclinic.core.testing import World
from ketaclinic.messaging.actions import record_sms_consent
from ketaclinic.messaging.backends import LocmemSmsBackend, TransientSendError
from ketaclinic.messaging.choices import Purpose
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient

PATIENT_PHONE = "+13035550123"
STRANGER_PHONE = "+13035550999"
WEBHOOK_PATH = "/api/v1/sms/inbound"


def patient_with_phone(world: World, phone: str = PATIENT_PHONE) -> Patient:
    return register_patient(
        acting_user=None,
        location=world.location,
        first_name="Tess",
        last_name="Texter",
        date_of_birth=date(1985, 4, 2),
        phone=phone,
    )


def consenting_patient(world: World, *purposes: Purpose) -> Patient:
    patient = patient_with_phone(world)
    for purpose in purposes or (Purpose.CARE,):
        record_sms_consent(
            acting_user=None, phone=patient.phone, purpose=purpose, source="signed intake form", patient=patient
        )
    return patient


def texts_to(phone: str) -> list[dict[str, str]]:
    return [t for t in LocmemSmsBackend.outbox if t["to"] == phone]


def post_inbound(
    world: World, *, body: str, from_number: str = PATIENT_PHONE, sid: str = "SM1", sign: bool = True
) -> Any:
    params = {"From": from_number, "To": world.location.sms_number, "Body": body, "MessageSid": sid}
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    signature = validator.compute_signature(settings.SITE_URL + WEBHOOK_PATH, params) if sign else "bogus"
    return Client().post(WEBHOOK_PATH, data=params, HTTP_X_TWILIO_SIGNATURE=signature)


class AlwaysBusyBackend:
    """A provider that is down for every attempt."""

    calls = 0

    def send(self, to: str, from_: str, body: str) -> str:
        type(self).calls += 1
        raise TransientSendError("Twilio 503: Service Unavailable")


class BusyOnceBackend:
    """A provider that fails the first attempt and then works."""

    calls = 0

    def send(self, to: str, from_: str, body: str) -> str:
        type(self).calls += 1
        if type(self).calls == 1:
            raise TransientSendError("Could not reach Twilio: connection reset")
        return "SMretried"
