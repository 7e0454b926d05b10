from __future__ import annotations

from django.urls import reverse

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.messaging.actions import handle_inbound_sms, queue_sms
from ketaclinic.messaging.choices import MessageStatus, Purpose
from ketaclinic.messaging.models import Message, SmsConsent
from ketaclinic.messaging.tests.factories import (
    PATIENT_PHONE,
    STRANGER_PHONE,
    consenting_patient,
    patient_with_phone,
    texts_to,
)


def _patient_conversation(world: World, body: str = "Can I bring my sister?"):
    patient = patient_with_phone(world)
    result = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body=body, provider_id="SM1"
    )
    return patient, result.conversation


def test_opening_a_patients_conversation_is_an_audited_read_that_marks_it_read(world: World) -> None:
    patient, conversation = _patient_conversation(world)
    client = signed_in_client(world["nurse"])
    response = client.get(reverse("messaging:conversation", args=[conversation.pk]))
    assert response.status_code == 200
    assert "Can I bring my sister?" in response.content.decode()
    read = AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, object_type="messaging.Conversation", object_id=str(conversation.pk)
    )
    assert read.count() == 1
    assert read.get().patient_id == patient.pk and read.get().actor == world["nurse"]
    assert not Message.objects.filter(conversation=conversation, direction="in", read_at__isnull=True).exists()


def test_the_conversation_list_shows_unread_texts_newest_first(world: World) -> None:
    _patient_conversation(world)
    handle_inbound_sms(from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="Hi", provider_id="SM2")
    handle_inbound_sms(
        from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="Hello?", provider_id="SM3"
    )
    page = signed_in_client(world["frontdesk"]).get(reverse("messaging:conversations")).content.decode()
    assert "2 unread" in page and "1 unread" in page
    assert page.index(STRANGER_PHONE) < page.index("Tess Texter")


def test_the_outsider_cannot_open_a_conversation_at_another_location(world: World) -> None:
    _, conversation = _patient_conversation(world)
    response = signed_in_client(world["outsider"]).get(reverse("messaging:conversation", args=[conversation.pk]))
    assert response.status_code == 403
    page = signed_in_client(world["outsider"]).get(reverse("messaging:conversations")).content.decode()
    assert "Tess Texter" not in page


def test_a_reply_queues_a_conversational_text(world: World) -> None:
    _, conversation = _patient_conversation(world)
    client = signed_in_client(world["frontdesk"])
    response = client.post(
        reverse("messaging:conversation", args=[conversation.pk]),
        {"body": "Yes, an escort is welcome.", "purpose": "conversational"},
    )
    assert response.status_code == 302
    reply = Message.objects.get(direction="out", conversation=conversation)
    assert reply.status == MessageStatus.SENT and reply.created_by == world["frontdesk"]
    assert texts_to(PATIENT_PHONE)[-1]["body"] == "Yes, an escort is welcome."


def test_a_care_reply_without_care_consent_is_refused_and_keeps_the_typed_text(world: World) -> None:
    _, conversation = _patient_conversation(world)
    before = Message.objects.count()
    response = signed_in_client(world["frontdesk"]).post(
        reverse("messaging:conversation", args=[conversation.pk]),
        {"body": "Your appointment moved to 10:00.", "purpose": "care"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "has not agreed to care texts" in page
    assert "Your appointment moved to 10:00.</textarea>" in page
    assert Message.objects.count() == before


def test_a_reply_with_health_information_is_refused_and_keeps_the_typed_text(world: World) -> None:
    _, conversation = _patient_conversation(world)
    before = Message.objects.count()
    response = signed_in_client(world["nurse"]).post(
        reverse("messaging:conversation", args=[conversation.pk]),
        {"body": "Bring your propranolol list to the ketamine visit", "purpose": "conversational"},
    )
    page = response.content.decode()
    assert "Not sent" in page and "propranolol" in page
    assert "Bring your propranolol list to the ketamine visit</textarea>" in page
    assert Message.objects.count() == before


def test_staff_can_record_care_consent_and_an_opt_out(world: World) -> None:
    _, conversation = _patient_conversation(world)
    client = signed_in_client(world["frontdesk"])
    url = reverse("messaging:record_consent", args=[conversation.pk])
    assert client.post(url, {"purpose": "care", "source": "front desk (verbal)"}).status_code == 302
    consent = SmsConsent.objects.get(phone=PATIENT_PHONE, purpose=Purpose.CARE)
    assert consent.recorded_by == world["frontdesk"] and consent.revoked_at is None
    url = reverse("messaging:record_opt_out", args=[conversation.pk])
    assert client.post(url, {"source": "asked by phone"}).status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_source == "staff: asked by phone"


def test_recording_consent_without_saying_how_is_refused_and_writes_nothing(world: World) -> None:
    _, conversation = _patient_conversation(world)
    before = SmsConsent.objects.count()
    response = signed_in_client(world["frontdesk"]).post(
        reverse("messaging:record_consent", args=[conversation.pk]), {"purpose": "care", "source": ""}
    )
    assert response.status_code == 400
    assert SmsConsent.objects.count() == before


def test_the_message_log_shows_status_attempts_and_errors_and_filters_by_status(world: World, settings) -> None:
    consenting_patient(world)
    queue_sms(acting_user=None, to_number=PATIENT_PHONE, body="See you Tuesday.", purpose=Purpose.CARE)
    settings.SMS_BACKEND = "ketaclinic.messaging.tests.factories.AlwaysBusyBackend"
    settings.MESSAGE_MAX_ATTEMPTS = 2
    queue_sms(acting_user=None, to_number=PATIENT_PHONE, body="See you Thursday.", purpose=Purpose.CARE)
    client = signed_in_client(world["frontdesk"])
    page = client.get(reverse("messaging:log")).content.decode()
    assert "Sent" in page and "Failed" in page and "gave up after 2 attempts" in page
    assert "See you Tuesday" not in page  # bodies stay out of the log
    failed_only = client.get(reverse("messaging:log"), {"status": "failed"}).content.decode()
    assert "gave up after 2 attempts" in failed_only and "badge--ok" not in failed_only
    assert (
        AuditEvent.objects.filter(
            object_type="messaging.Message", object_id="log", action=AuditEvent.Action.READ
        ).count()
        == 2
    )


def test_the_message_log_lists_a_page_in_a_fixed_number_of_queries(world: World, django_assert_max_num_queries) -> None:
    consenting_patient(world)
    for day in ("Monday", "Tuesday", "Wednesday"):
        queue_sms(acting_user=None, to_number=PATIENT_PHONE, body=f"See you {day}.", purpose=Purpose.CARE)
    client = signed_in_client(world["director"])
    with django_assert_max_num_queries(20):
        assert client.get(reverse("messaging:log")).status_code == 200
