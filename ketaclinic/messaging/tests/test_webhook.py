from __future__ import annotations

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World
from ketaclinic.leads.models import Lead
from ketaclinic.messaging.models import Conversation, Message
from ketaclinic.messaging.tests.factories import STRANGER_PHONE, consenting_patient, post_inbound, texts_to


def _counts() -> tuple[int, int, int, int]:
    return Message.objects.count(), Conversation.objects.count(), Lead.objects.count(), AuditEvent.objects.count()


def test_a_signed_inbound_text_is_filed_and_answered_with_empty_twiml(world: World) -> None:
    response = post_inbound(world, body="What are your opening hours?", from_number=STRANGER_PHONE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().endswith("<Response/>")
    message = Message.objects.get(direction="in")
    assert message.body == "What are your opening hours?"
    assert message.provider_id == "SM1"
    assert Lead.objects.get(phone=STRANGER_PHONE).source == "sms"


def test_an_inbound_text_with_a_wrong_signature_is_refused_and_nothing_is_written(world: World) -> None:
    before = _counts()
    response = post_inbound(world, body="Hello", from_number=STRANGER_PHONE, sign=False)
    assert response.status_code == 403
    assert _counts() == before


def test_an_inbound_text_signed_for_other_parameters_is_refused(world: World) -> None:
    params = {"From": STRANGER_PHONE, "To": world.location.sms_number, "Body": "Hello", "MessageSid": "SM1"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.SITE_URL + "/api/v1/sms/inbound", params
    )
    before = _counts()
    response = Client().post("/api/v1/sms/inbound", data={**params, "Body": "STOP"}, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert _counts() == before


def test_stop_through_the_webhook_sends_exactly_one_confirmation(world: World) -> None:
    patient = consenting_patient(world)
    assert post_inbound(world, body="STOP", sid="SM1").status_code == 200
    assert post_inbound(world, body="STOP", sid="SM2").status_code == 200
    sent = texts_to(patient.phone)
    assert len(sent) == 1
    assert "unsubscribed" in sent[0]["body"]


def test_unsigned_texts_are_accepted_only_in_a_debug_demo_without_a_token(world: World, settings) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    settings.DEBUG = False
    assert post_inbound(world, body="Hello", from_number=STRANGER_PHONE, sign=False).status_code == 403
    settings.DEBUG = True
    assert post_inbound(world, body="Hello", from_number=STRANGER_PHONE, sign=False).status_code == 200
