"""Demo messaging history: text consent for most demo patients, a few past conversations (one
from an unknown number that became a lead, one patient who texted STOP), and a message log with
sent and failed rows. All numbers are synthetic (+1303555xxxx, the range reserved for fiction).

Past messages are delivered here with stand-in providers so the history reads as it happened;
one reminder is left queued so the worker started by ``make demo`` visibly sends it to the file
backend (var/outbox/sms/)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ketaclinic.messaging.actions import deliver_message, handle_inbound_sms, queue_email, queue_sms, record_sms_consent
from ketaclinic.messaging.backends import PermanentSendError
from ketaclinic.messaging.choices import Purpose

if TYPE_CHECKING:
    from datetime import datetime

    from ketaclinic.demo.seed import DemoContext
    from ketaclinic.messaging.models import Message

UNKNOWN_NUMBER = "+13035550340"


class _DeliveredBackend:
    """Stands in for the provider for history: every text was accepted."""

    count = 0

    def send(self, to: str, from_: str, body: str) -> str:
        type(self).count += 1
        return f"SMdemo{type(self).count:06d}"


class _UnreachableBackend:
    """Stands in for the provider refusing a landline (Twilio error 30006)."""

    def send(self, to: str, from_: str, body: str) -> str:
        raise PermanentSendError("Twilio 30006: Landline or unreachable carrier")


def _deliver(message: Message | None, at: datetime, *, reachable: bool = True) -> None:
    if message is not None:
        backend = _DeliveredBackend() if reachable else _UnreachableBackend()
        deliver_message(message_id=message.pk, sms_backend=backend, at=at + timedelta(seconds=4))


def seed(ctx: DemoContext) -> None:
    now, location, patients = ctx.now, ctx.location, ctx.patients
    frontdesk = ctx.users["frontdesk"]
    sources = ["signed intake form", "patient portal", "front desk (verbal)"]
    for index, patient in enumerate(patients[:9]):
        record_sms_consent(
            acting_user=frontdesk,
            phone=patient.phone,
            purpose=Purpose.CARE,
            source=sources[index % len(sources)],
            patient=patient,
            at=now - timedelta(days=40 - index),
        )
        if index in {0, 2, 5}:
            record_sms_consent(
                acting_user=None,
                phone=patient.phone,
                purpose=Purpose.MARKETING,
                source="website form",
                patient=patient,
                at=now - timedelta(days=39 - index),
            )

    # Reminders that went out last week, and one to a number that turned out to be a landline.
    for days_ago, patient in ((6, patients[0]), (6, patients[1]), (5, patients[2]), (5, patients[5])):
        at = now - timedelta(days=days_ago, hours=3)
        reminder = queue_sms(
            acting_user=None,
            to_number=patient.phone,
            body=f"Reminder: your appointment at {location.name} is tomorrow at 9:00. Reply STOP to opt out.",
            purpose=Purpose.CARE,
            patient=patient,
            at=at,
        )
        _deliver(reminder, at, reachable=patient is not patients[5])

    at = now - timedelta(days=8)
    invitation = queue_email(
        acting_user=frontdesk,
        to=patients[0].email,
        subject=f"Your {location.name} patient portal",
        body="Hello Jordan,\n\nSet a password for your patient portal here: https://clinic.example.org/portal/\n",
        purpose=Purpose.ACCOUNT,
        patient=patients[0],
        at=at,
    )
    _deliver(invitation, at)

    # An unknown number asks about hours; it becomes a lead and the front desk answers.
    at = now - timedelta(days=3, hours=2)
    handle_inbound_sms(
        from_number=UNKNOWN_NUMBER,
        to_number=location.sms_number,
        body="Hi, do you have evening appointments? My neurologist gave me your number.",
        provider_id="SMdemo-in-1",
        at=at,
    )
    reply = queue_sms(
        acting_user=frontdesk,
        to_number=UNKNOWN_NUMBER,
        body=f"Hi, this is Dana at {location.name}. We are open until 7 pm on Tuesdays and Thursdays. "
        f"Call {location.phone} and we can talk through next steps.",
        purpose=Purpose.CONVERSATIONAL,
        location=location,
        at=at + timedelta(minutes=14),
    )
    _deliver(reply, at + timedelta(minutes=14))

    # A patient texts STOP: every consent is withdrawn and exactly one confirmation goes out.
    at = now - timedelta(days=4, hours=5)
    stop = handle_inbound_sms(
        from_number=patients[4].phone, to_number=location.sms_number, body="STOP", provider_id="SMdemo-in-2", at=at
    )
    _deliver(stop.reply, at)

    # A patient asks to move a visit; the reply is sent; a new text waits unread this morning.
    at = now - timedelta(days=2, hours=1)
    handle_inbound_sms(
        from_number=patients[3].phone,
        to_number=location.sms_number,
        body="Can I move Thursday's visit to Friday morning?",
        provider_id="SMdemo-in-3",
        at=at,
    )
    reply = queue_sms(
        acting_user=frontdesk,
        to_number=patients[3].phone,
        body="Yes, Friday at 9:00 is free. You are booked; see you then.",
        purpose=Purpose.CONVERSATIONAL,
        patient=patients[3],
        at=at + timedelta(minutes=20),
    )
    _deliver(reply, at + timedelta(minutes=20))
    handle_inbound_sms(
        from_number=patients[1].phone,
        to_number=location.sms_number,
        body="Running about 10 minutes late, sorry!",
        provider_id="SMdemo-in-4",
        at=now - timedelta(hours=1),
    )

    # Left queued: the demo worker sends it to var/outbox/sms/ when `make demo` starts.
    queue_sms(
        acting_user=None,
        to_number=patients[6].phone,
        body=f"Reminder: your appointment at {location.name} is tomorrow at 10:30. Reply STOP to opt out.",
        purpose=Purpose.CARE,
        patient=patients[6],
    )
