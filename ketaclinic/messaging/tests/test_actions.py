from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World
from ketaclinic.messaging.actions import (
    ConsentRequired,
    OutgoingPhiRefused,
    deliver_message,
    handle_inbound_sms,
    has_sms_consent,
    queue_email,
    queue_sms,
    record_sms_consent,
    revoke_sms_consent,
)
from ketaclinic.messaging.choices import MessageStatus, Purpose
from ketaclinic.messaging.models import Message, SmsConsent, SmsOptOut
from ketaclinic.messaging.tests.factories import (
    PATIENT_PHONE,
    STRANGER_PHONE,
    AlwaysBusyBackend,
    BusyOnceBackend,
    consenting_patient,
    patient_with_phone,
    texts_to,
)

REMINDER = "Reminder: your appointment at Home Site is on Tuesday at 9:00. Reply STOP to opt out."


def _reminder(world: World, patient=None) -> Message:
    return queue_sms(
        acting_user=world["frontdesk"], to_number=PATIENT_PHONE, body=REMINDER, purpose=Purpose.CARE, patient=patient
    )


def _rows() -> tuple[int, int]:
    return Message.objects.count(), AuditEvent.objects.count()


def test_care_text_with_consent_is_sent_logged_and_audited(world: World) -> None:
    patient = consenting_patient(world)
    message = _reminder(world, patient)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    assert message.provider_id.startswith("locmem-")
    assert message.from_address == world.location.sms_number
    assert message.consent_basis.startswith("care")
    assert texts_to(PATIENT_PHONE) == [
        {"to": PATIENT_PHONE, "from": world.location.sms_number, "body": REMINDER, "id": message.provider_id}
    ]
    events = AuditEvent.objects.filter(object_type="messaging.Message", object_id=str(message.pk))
    assert events.filter(action=AuditEvent.Action.CREATE, patient_id=patient.pk).count() == 1
    assert events.filter(action=AuditEvent.Action.UPDATE).count() == 2  # sending, then sent


def test_care_text_without_consent_is_refused_in_plain_words_and_nothing_is_written(world: World) -> None:
    patient = patient_with_phone(world)
    before = _rows()
    with pytest.raises(ConsentRequired, match="has not agreed to care texts"):
        _reminder(world, patient)
    assert _rows() == before
    assert texts_to(PATIENT_PHONE) == []


def test_marketing_text_needs_marketing_consent_not_just_care_consent(world: World) -> None:
    patient = consenting_patient(world, Purpose.CARE)
    before = _rows()
    with pytest.raises(ConsentRequired, match="marketing"):
        queue_sms(
            acting_user=None,
            to_number=PATIENT_PHONE,
            body="Open house on Friday!",
            purpose=Purpose.MARKETING,
            patient=patient,
        )
    assert _rows() == before


def test_text_naming_the_treatment_is_refused_with_the_findings_and_nothing_is_written(world: World) -> None:
    patient = consenting_patient(world)
    before = _rows()
    with pytest.raises(OutgoingPhiRefused) as refused:
        queue_sms(
            acting_user=None,
            to_number=PATIENT_PHONE,
            body="Reminder: your ketamine infusion for migraine is tomorrow",
            purpose=Purpose.CARE,
            patient=patient,
        )
    assert {f.excerpt.lower() for f in refused.value.findings} >= {"ketamine", "migraine"}
    assert "ketamine" in str(refused.value)
    assert _rows() == before


def test_email_with_a_date_of_birth_is_refused_and_nothing_is_written(world: World) -> None:
    before = _rows()
    with pytest.raises(OutgoingPhiRefused):
        queue_email(
            acting_user=None,
            to="pat@example.org",
            subject="Your visit",
            body="DOB 05/17/1980 confirmed.",
            purpose=Purpose.CARE,
        )
    assert _rows() == before
    assert mail.outbox == []


def test_email_goes_out_through_django_mail_with_its_message_id_logged(world: World) -> None:
    message = queue_email(
        acting_user=None,
        to="pat@example.org",
        subject="Your portal invitation",
        body="Set your password here: https://clinic.example.org/portal/",
        purpose=Purpose.ACCOUNT,
        patient=world.patient,
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.org"]
    assert mail.outbox[0].extra_headers["Message-ID"] == message.provider_id


def test_an_invalid_email_address_is_refused_and_nothing_is_written(world: World) -> None:
    before = _rows()
    with pytest.raises(ValidationError, match="not an email address"):
        queue_email(acting_user=None, to="not-an-address", subject="Hi", body="Hello", purpose=Purpose.CARE)
    assert _rows() == before


def test_account_messages_are_never_texted(world: World) -> None:
    consenting_patient(world, Purpose.CARE)
    with pytest.raises(ConsentRequired, match="email only"):
        queue_sms(acting_user=None, to_number=PATIENT_PHONE, body="Your sign-in code", purpose=Purpose.ACCOUNT)


def test_stop_blocks_the_next_reminder_and_sends_exactly_one_confirmation(world: World) -> None:
    patient = consenting_patient(world, Purpose.CARE, Purpose.MARKETING)
    result = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body=" stop ", provider_id="SM1"
    )
    assert result.reply is not None
    assert SmsConsent.objects.filter(phone=PATIENT_PHONE, revoked_at__isnull=True).count() == 0
    sent = texts_to(PATIENT_PHONE)
    assert len(sent) == 1
    assert "unsubscribed" in sent[0]["body"] and "START" in sent[0]["body"]
    with pytest.raises(ConsentRequired, match="opted out"):
        _reminder(world, patient)
    assert len(texts_to(PATIENT_PHONE)) == 1


def test_a_second_stop_while_opted_out_sends_nothing(world: World) -> None:
    consenting_patient(world)
    handle_inbound_sms(from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="STOP", provider_id="SM1")
    again = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="Unsubscribe", provider_id="SM2"
    )
    assert again.reply is None
    assert len(texts_to(PATIENT_PHONE)) == 1
    assert SmsOptOut.objects.filter(phone=PATIENT_PHONE).count() == 1


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit", "revoke", "opt out", "Stop."])
def test_every_revocation_word_opts_out(world: World, word: str) -> None:
    consenting_patient(world)
    result = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body=word, provider_id="SM1"
    )
    assert result.reply is not None
    assert not has_sms_consent(PATIENT_PHONE, Purpose.CARE)


def test_start_restores_what_stop_withdrew(world: World) -> None:
    patient = consenting_patient(world, Purpose.CARE)
    handle_inbound_sms(from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="STOP", provider_id="SM1")
    result = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="Start", provider_id="SM2"
    )
    assert result.reply is not None and "subscribed to texts again" in result.reply.body
    assert has_sms_consent(PATIENT_PHONE, Purpose.CARE)
    assert not has_sms_consent(PATIENT_PHONE, Purpose.MARKETING)
    assert (
        SmsConsent.objects.get(phone=PATIENT_PHONE, revoked_at__isnull=True, purpose=Purpose.CARE).source
        == "keyword START"
    )
    _reminder(world, patient)
    assert texts_to(PATIENT_PHONE)[-1]["body"] == REMINDER


def test_help_answers_with_the_locations_name_and_phone_even_when_opted_out(world: World) -> None:
    consenting_patient(world)
    handle_inbound_sms(from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="STOP", provider_id="SM1")
    result = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="help", provider_id="SM2"
    )
    assert result.reply is not None
    body = texts_to(PATIENT_PHONE)[-1]["body"]
    assert world.location.name in body and world.location.phone in body


def test_a_stop_arriving_while_a_reminder_waits_in_the_queue_holds_it_back(world: World, settings) -> None:
    patient = consenting_patient(world)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    waiting = _reminder(world, patient)
    handle_inbound_sms(from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="STOP", provider_id="SM1")
    assert deliver_message(message_id=waiting.pk) == MessageStatus.REFUSED
    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.REFUSED
    assert "opted out" in waiting.last_error
    assert texts_to(PATIENT_PHONE) == []


def test_unknown_number_becomes_a_lead_and_a_conversation_without_copying_the_text_into_the_lead(world: World) -> None:
    body = "Hi, I have had migraines for years, do you take new patients?"
    result = handle_inbound_sms(
        from_number=STRANGER_PHONE, to_number=world.location.sms_number, body=body, provider_id="SM9"
    )
    lead = result.lead_created
    assert lead is not None
    assert lead.phone == STRANGER_PHONE and lead.source == "sms" and lead.location == world.location
    assert "migraine" not in lead.message
    assert result.conversation.lead == lead and result.conversation.patient is None
    assert result.message.body == body
    assert result.reply is None
    assert has_sms_consent(STRANGER_PHONE, Purpose.CONVERSATIONAL)


def test_inbound_text_from_a_patient_is_filed_under_the_patient(world: World) -> None:
    patient = patient_with_phone(world)
    result = handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="Running late", provider_id="SM3"
    )
    assert result.conversation.patient == patient
    assert result.lead_created is None


def test_the_same_inbound_text_delivered_twice_is_filed_once(world: World) -> None:
    handle_inbound_sms(from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="Hello", provider_id="SM5")
    before = _rows()
    again = handle_inbound_sms(
        from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="Hello", provider_id="SM5"
    )
    assert again.is_duplicate
    assert _rows() == before


def test_a_conversational_reply_needs_a_conversation_the_person_started(world: World) -> None:
    patient_with_phone(world)
    with pytest.raises(ConsentRequired, match="has not texted the clinic"):
        queue_sms(
            acting_user=world["frontdesk"], to_number=PATIENT_PHONE, body="Hello!", purpose=Purpose.CONVERSATIONAL
        )
    handle_inbound_sms(
        from_number=PATIENT_PHONE, to_number=world.location.sms_number, body="Can I move my visit?", provider_id="SM1"
    )
    reply = queue_sms(
        acting_user=world["frontdesk"], to_number=PATIENT_PHONE, body="Yes, call us.", purpose=Purpose.CONVERSATIONAL
    )
    reply.refresh_from_db()
    assert reply.status == MessageStatus.SENT


def test_a_conversational_reply_after_the_window_is_refused(world: World, settings) -> None:
    settings.SMS_CONVERSATION_WINDOW_DAYS = 30
    handle_inbound_sms(from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="Hello", provider_id="SM1")
    with time_machine.travel(timezone.now() + timedelta(days=31)), pytest.raises(ConsentRequired, match="30 days"):
        queue_sms(acting_user=None, to_number=STRANGER_PHONE, body="Still there?", purpose=Purpose.CONVERSATIONAL)


def test_texting_after_stop_does_not_reopen_the_conversation(world: World) -> None:
    handle_inbound_sms(from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="Hello", provider_id="SM1")
    handle_inbound_sms(from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="STOP", provider_id="SM2")
    handle_inbound_sms(
        from_number=STRANGER_PHONE, to_number=world.location.sms_number, body="wait, one question", provider_id="SM3"
    )
    assert not has_sms_consent(STRANGER_PHONE, Purpose.CONVERSATIONAL)


def test_a_transient_failure_is_retried_until_the_maximum_then_marked_failed(world: World, settings) -> None:
    settings.SMS_BACKEND = "ketaclinic.messaging.tests.factories.AlwaysBusyBackend"
    settings.MESSAGE_MAX_ATTEMPTS = 3
    AlwaysBusyBackend.calls = 0
    consenting_patient(world)
    message = _reminder(world)
    message.refresh_from_db()
    assert AlwaysBusyBackend.calls == 3
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 3
    assert "503" in message.last_error and "gave up after 3 attempts" in message.last_error


def test_a_transient_failure_followed_by_success_is_sent_on_the_second_attempt(world: World, settings) -> None:
    settings.SMS_BACKEND = "ketaclinic.messaging.tests.factories.BusyOnceBackend"
    BusyOnceBackend.calls = 0
    consenting_patient(world)
    message = _reminder(world)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == (MessageStatus.SENT, 2, "SMretried")
    assert "connection reset" in message.last_error


def test_record_consent_after_an_opt_out_ends_the_opt_out(world: World) -> None:
    consenting_patient(world)
    revoke_sms_consent(acting_user=world["frontdesk"], phone=PATIENT_PHONE, source="asked at the desk")
    assert not has_sms_consent(PATIENT_PHONE, Purpose.CARE)
    record_sms_consent(
        acting_user=world["frontdesk"], phone=PATIENT_PHONE, purpose=Purpose.CARE, source="front desk (verbal)"
    )
    assert has_sms_consent(PATIENT_PHONE, Purpose.CARE)
    assert SmsOptOut.objects.get(phone=PATIENT_PHONE).ended_source == "front desk (verbal)"


def test_recording_consent_needs_a_source_and_writes_nothing_without_one(world: World) -> None:
    before = SmsConsent.objects.count()
    with pytest.raises(ValidationError, match="how the person agreed"):
        record_sms_consent(acting_user=None, phone=PATIENT_PHONE, purpose=Purpose.CARE, source="  ")
    assert SmsConsent.objects.count() == before


def test_revoking_withdraws_every_purpose_and_says_how_many(world: World) -> None:
    consenting_patient(world, Purpose.CARE, Purpose.MARKETING)
    assert revoke_sms_consent(acting_user=None, phone=PATIENT_PHONE, source="phone call") == 2
    assert not has_sms_consent(PATIENT_PHONE, Purpose.CARE)
    assert not has_sms_consent(PATIENT_PHONE, Purpose.MARKETING)
