"""Every change in messaging: queueing and delivering email and texts, the SMS consent ledger,
and inbound texts. Each writes its own audit event.

Nothing leaves the building except through :func:`queue_email` and :func:`queue_sms`: both run
the outgoing health-information check and write nothing when it finds something, and a text
also needs the consent its purpose requires. Delivery happens later in a task
(:mod:`ketaclinic.messaging.tasks`), which checks consent again (a STOP may arrive while a
reminder waits in the queue) and retries transient failures with backoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.leads.actions import create_lead
from ketaclinic.leads.choices import ContactMethod, LeadSource
from ketaclinic.leads.models import Lead
from ketaclinic.messaging.backends import (
    PermanentSendError,
    SmsBackend,
    TransientSendError,
    get_sms_backend,
    send_email,
)
from ketaclinic.messaging.choices import (
    HELP_WORDS,
    SMS_CONSENT_PURPOSES,
    START_WORDS,
    STOP_WORDS,
    Channel,
    Direction,
    Keyword,
    MessageStatus,
    Purpose,
)
from ketaclinic.messaging.models import Conversation, Message, SmsConsent, SmsOptOut
from ketaclinic.messaging.phi import OutgoingFinding
from ketaclinic.messaging.queries import (
    active_consent,
    consent_refusal,
    has_sms_consent,
    is_opted_out,
    location_by_sms_number,
    outgoing_phi,
    validate_phone,
)
from ketaclinic.patients.models import Patient

__all__ = [
    "ConsentRequired",
    "InboundResult",
    "OutgoingPhiRefused",
    "Purpose",
    "deliver_message",
    "handle_inbound_sms",
    "has_sms_consent",
    "mark_conversation_read",
    "queue_email",
    "queue_sms",
    "record_sms_consent",
    "revoke_sms_consent",
]

# Backoff between delivery attempts doubles from this base and never exceeds an hour, so a
# provider outage is ridden out without hammering it.
MAX_RETRY_DELAY_SECONDS = 3600


class ConsentRequired(Exception):  # noqa: N818 - the name other apps code against
    """No consent for that number and purpose; the message says so in plain words."""


class OutgoingPhiRefused(Exception):  # noqa: N818 - the name other apps code against
    """The outgoing body carries health information; ``findings`` says what and where."""

    def __init__(self, findings: Sequence[OutgoingFinding]) -> None:
        self.findings = tuple(findings)
        words = ", ".join(f"“{f.excerpt}” ({f.kind.replace('_', ' ')})" for f in self.findings)
        super().__init__(
            "Not sent: texts and emails are not a private channel, so they may not carry health "
            f"information. Take out {words} and send it again, or call the person instead."
        )


@dataclass(frozen=True)
class InboundResult:
    """What became of one inbound text: where it was filed and what, if anything, was
    answered automatically."""

    message: Message
    conversation: Conversation
    keyword: Keyword | None = None
    reply: Message | None = None
    lead_created: Lead | None = None
    is_duplicate: bool = False


def _refuse_phi(*texts: str) -> None:
    findings = outgoing_phi("\n".join(texts))
    if findings:
        raise OutgoingPhiRefused(findings)


def _audit_message(
    actor: User | None, message: Message, changes: dict[str, list[object]], *, is_new: bool = False
) -> None:
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE if is_new else AuditEvent.Action.UPDATE,
        obj=message,
        patient_id=message.patient_id,
        location_id=message.location_id,
        changes=changes,
    )


def _enqueue(message: Message, *, run_after: datetime | None = None) -> None:
    # Imported here: the task module imports this one to call deliver_message.
    from ketaclinic.messaging.tasks import deliver_message_task  # noqa: PLC0415

    task = deliver_message_task
    if run_after is not None and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    task.enqueue(message.pk)


def _created_changes(message: Message) -> dict[str, list[object]]:
    # The body is kept on the message row only; the trail names what was sent where.
    return audit.changes_between(
        {},
        {
            "status": message.status,
            "channel": message.channel,
            "direction": message.direction,
            "purpose": message.purpose,
            "to": message.to_address,
            "consent_basis": message.consent_basis,
        },
    )


@transaction.atomic
def queue_email(
    *,
    acting_user: User | None,
    to: str,
    subject: str,
    body: str,
    purpose: Purpose,
    patient: Patient | None = None,
    lead: Lead | None = None,
    at: datetime | None = None,
) -> Message:
    """Check and queue one email. ``at`` back-dates the record (the demo's history only)."""
    to = to.strip()
    try:
        validate_email(to)
    except ValidationError as exc:
        raise ValidationError(f"{to!r} is not an email address.") from exc
    _refuse_phi(subject, body)
    location_id = patient.location_id if patient else lead.location_id if lead else None
    message = Message.objects.create(
        channel=Channel.EMAIL,
        purpose=purpose,
        status=MessageStatus.QUEUED,
        location_id=location_id,
        patient=patient,
        lead=lead,
        to_address=to,
        from_address=settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        body=body,
        consent_basis=f"email, {Purpose(purpose).label.lower()}",
        created_by=acting_user,
        created_at=at or timezone.now(),
    )
    _audit_message(acting_user, message, _created_changes(message), is_new=True)
    _enqueue(message)
    return message


def _sms_location(phone: str, patient: Patient | None, lead: Lead | None) -> Location:
    """The location whose number a text goes from: the conversation already running with this
    number, else the patient's or lead's location, else the only texting location."""
    conversation = Conversation.objects.filter(phone=phone).select_related("location").order_by("-last_message_at")
    owner_location_id = patient.location_id if patient else lead.location_id if lead else None
    if owner_location_id is not None:
        conversation = conversation.filter(location_id=owner_location_id)
    found = conversation.first()
    if found is not None:
        return found.location
    if owner_location_id is not None:
        return Location.objects.get(pk=owner_location_id)
    texting = list(Location.objects.filter(is_active=True).exclude(sms_number="")[:2])
    if len(texting) == 1:
        return texting[0]
    raise ValidationError("Say which patient or lead this text is for, so it goes from their location's number.")


def _conversation(
    location: Location, phone: str, patient: Patient | None, lead: Lead | None, at: datetime
) -> Conversation:
    conversation, created = Conversation.objects.get_or_create(
        location=location,
        phone=phone,
        defaults={"patient": patient, "lead": lead, "started_at": at, "last_message_at": at},
    )
    changed = False
    if not created and patient is not None and conversation.patient_id is None:
        conversation.patient, changed = patient, True
    if not created and lead is not None and conversation.lead_id is None:
        conversation.lead, changed = lead, True
    if changed:
        conversation.save(update_fields=["patient", "lead"])
    return conversation


def _create_sms(
    *,
    acting_user: User | None,
    phone: str,
    body: str,
    purpose: Purpose,
    consent_basis: str,
    location: Location,
    patient: Patient | None,
    lead: Lead | None,
    at: datetime,
    is_keyword_reply: bool = False,
) -> Message:
    if not location.sms_number:
        raise ValidationError(f"{location.name} has no texting number; add one on the location's page.")
    conversation = _conversation(location, phone, patient, lead, at)
    message = Message.objects.create(
        channel=Channel.SMS,
        purpose=purpose,
        status=MessageStatus.QUEUED,
        location=location,
        conversation=conversation,
        patient=patient or conversation.patient,
        lead=lead or conversation.lead,
        to_address=phone,
        from_address=location.sms_number,
        body=body,
        consent_basis=consent_basis,
        is_keyword_reply=is_keyword_reply,
        created_by=acting_user,
        created_at=at,
    )
    Conversation.objects.filter(pk=conversation.pk, last_message_at__lt=at).update(last_message_at=at)
    _audit_message(acting_user, message, _created_changes(message), is_new=True)
    _enqueue(message)
    return message


@transaction.atomic
def queue_sms(
    *,
    acting_user: User | None,
    to_number: str,
    body: str,
    purpose: Purpose,
    patient: Patient | None = None,
    lead: Lead | None = None,
    location: Location | None = None,
    at: datetime | None = None,
) -> Message:
    """Check and queue one text. Raises :class:`ConsentRequired` when the number has not
    agreed to texts for ``purpose`` and :class:`OutgoingPhiRefused` when the body carries
    health information; either way nothing is written. ``location`` picks the sending number
    when it is not the patient's or lead's location; ``at`` back-dates the demo's history."""
    phone = validate_phone(to_number)
    if not body.strip():
        raise ValidationError("Write the text to send.")
    if purpose == Purpose.ACCOUNT or not has_sms_consent(phone, purpose):
        raise ConsentRequired(consent_refusal(phone, purpose))
    _refuse_phi(body)
    if patient is None and lead is None:
        # A text to a patient's number is about that patient, whoever queued it: file it so.
        matches = list(Patient.objects.filter(phone=phone)[:2])
        patient = matches[0] if len(matches) == 1 else None
    consent = active_consent(phone, purpose)
    basis = f"{Purpose(purpose).label.lower()} consent #{consent.pk} ({consent.source})" if consent else ""
    return _create_sms(
        acting_user=acting_user,
        phone=phone,
        body=body.strip(),
        purpose=purpose,
        consent_basis=basis,
        location=location or _sms_location(phone, patient, lead),
        patient=patient,
        lead=lead,
        at=at or timezone.now(),
    )


def _consent_snapshot(consent: SmsConsent) -> dict[str, object]:
    return {
        "phone": consent.phone,
        "purpose": consent.purpose,
        "source": consent.source,
        "granted_at": consent.granted_at,
        "revoked_at": consent.revoked_at,
        "revoked_source": consent.revoked_source,
    }


def _grant(
    *,
    acting_user: User | None,
    phone: str,
    purpose: Purpose,
    source: str,
    patient: Patient | None,
    lead: Lead | None,
    at: datetime,
) -> SmsConsent:
    existing = active_consent(phone, purpose)
    if existing is not None:
        return existing
    consent = SmsConsent.objects.create(
        phone=phone,
        purpose=purpose,
        source=source,
        granted_at=at,
        patient=patient,
        lead=lead,
        recorded_by=acting_user,
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=consent,
        patient_id=patient.pk if patient else None,
        location_id=patient.location_id if patient else lead.location_id if lead else None,
        changes=audit.changes_between({}, _consent_snapshot(consent)),
    )
    return consent


def _end_opt_out(*, acting_user: User | None, phone: str, source: str, at: datetime) -> SmsOptOut | None:
    opt_out = SmsOptOut.objects.filter(phone=phone, ended_at__isnull=True).first()
    if opt_out is None:
        return None
    opt_out.ended_at, opt_out.ended_source = at, source
    opt_out.save(update_fields=["ended_at", "ended_source"])
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=opt_out,
        changes={"ended_at": [None, at], "ended_source": ["", source]},
    )
    return opt_out


@transaction.atomic
def record_sms_consent(
    *,
    acting_user: User | None,
    phone: str,
    purpose: Purpose,
    source: str,
    patient: Patient | None = None,
    lead: Lead | None = None,
    at: datetime | None = None,
) -> SmsConsent:
    """Record that ``phone`` agreed to texts for ``purpose`` (e.g. source "website form",
    "portal", "front desk (verbal)"). Agreeing again after an opt-out ends the opt-out: the
    person has asked, by another reasonable means, to hear from the clinic again. Recording a
    consent that is already live returns it unchanged."""
    number = validate_phone(phone)
    if purpose not in SMS_CONSENT_PURPOSES:
        raise ValidationError(
            "Texts can be agreed to for care, marketing or conversation; account messages go by email."
        )
    source = source.strip()
    if not source:
        raise ValidationError("Say how the person agreed (e.g. “front desk (verbal)”, “website form”).")
    when = at or timezone.now()
    _end_opt_out(acting_user=acting_user, phone=number, source=source, at=when)
    return _grant(
        acting_user=acting_user, phone=number, purpose=purpose, source=source, patient=patient, lead=lead, at=when
    )


@transaction.atomic
def revoke_sms_consent(*, acting_user: User | None, phone: str, source: str, at: datetime | None = None) -> int:
    """Withdraw every purpose at once for ``phone`` (TCPA as read by FCC 24-24: consent may be
    revoked by any reasonable means, and a revocation covers all texts) and open an opt-out
    that holds until the person opts back in. Returns how many consents were withdrawn."""
    number = validate_phone(phone)
    when = at or timezone.now()
    live = list(SmsConsent.objects.filter(phone=number, revoked_at__isnull=True).order_by("id"))
    for consent in live:
        before = _consent_snapshot(consent)
        consent.revoked_at, consent.revoked_source = when, source
        consent.save(update_fields=["revoked_at", "revoked_source"])
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.UPDATE,
            obj=consent,
            patient_id=consent.patient_id,
            changes=audit.changes_between(before, _consent_snapshot(consent)),
            reason=source,
        )
    if not is_opted_out(number):
        opt_out = SmsOptOut.objects.create(
            phone=number, opted_out_at=when, source=source, withdrawn_purposes=[c.purpose for c in live]
        )
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.CREATE,
            obj=opt_out,
            changes={"phone": [None, number], "withdrawn_purposes": [None, opt_out.withdrawn_purposes]},
            reason=source,
        )
    return len(live)


def _keyword(body: str) -> Keyword | None:
    letters = "".join(ch for ch in body.upper() if "A" <= ch <= "Z")
    if letters in STOP_WORDS:
        return Keyword.STOP
    if letters in START_WORDS:
        return Keyword.START
    if letters in HELP_WORDS:
        return Keyword.HELP
    return None


def keyword_reply_text(keyword: Keyword, location: Location) -> str:
    """The fixed answers to STOP, START and HELP, as CTIA's handbook describes them: who is
    writing, what happened, and how to get help or stop."""
    if keyword == Keyword.STOP:
        return (
            f"{location.name}: You are unsubscribed and will get no more texts from this number. "
            f"Reply START to resubscribe. Questions? Call {location.phone}."
        )
    if keyword == Keyword.START:
        return (
            f"{location.name}: You are subscribed to texts again. Msg & data rates may apply. "
            "Reply HELP for help, STOP to opt out."
        )
    return (
        f"{location.name}: For help call {location.phone}. Msg & data rates may apply. Reply STOP to opt out of texts."
    )


def _find_owner(phone: str, location: Location) -> tuple[Patient | None, Lead | None]:
    patients = Patient.objects.filter(phone=phone).order_by("id")
    patient = patients.filter(location=location).first() or patients.first()
    if patient is not None:
        return patient, None
    return None, Lead.objects.filter(phone=phone, location=location).order_by("-created_at").first()


@transaction.atomic
def handle_inbound_sms(
    *, from_number: str, to_number: str, body: str, provider_id: str, at: datetime | None = None
) -> InboundResult:
    """File one inbound text and answer a keyword.

    The text is stored in the conversation, which staff open with an audited read: a patient
    may write about their health, and it is theirs to send. It is *not* copied into a new
    lead's message, because a lead is not a medical record (the website form keeps health
    details out of it); the lead says where to read the text instead.

    STOP (and the other revocation words) withdraws every purpose and is confirmed once; a
    second STOP while already opted out gets no answer. START opts back in to what STOP
    withdrew; HELP answers with the location's name and phone. A provider retry of the same
    message (same ``provider_id``) is recognised and changes nothing.
    """
    sender = validate_phone(from_number)
    receiver = validate_phone(to_number)
    when = at or timezone.now()
    if provider_id:
        seen = Message.objects.filter(direction=Direction.INBOUND, provider_id=provider_id).first()
        if seen is not None and seen.conversation is not None:
            return InboundResult(message=seen, conversation=seen.conversation, is_duplicate=True)
    location = location_by_sms_number(receiver)
    if location is None:
        raise ValidationError(f"No location texts from {receiver}; check the location's texting number.")
    keyword = _keyword(body)
    patient, lead = _find_owner(sender, location)
    existing = Conversation.objects.filter(location=location, phone=sender).select_related("lead").first()
    if lead is None and existing is not None:
        lead = existing.lead
    lead_created = None
    if patient is None and lead is None and keyword is None:
        lead = lead_created = create_lead(
            acting_user=None,
            location=location,
            source=LeadSource.SMS,
            phone=sender,
            preferred_contact=ContactMethod.SMS,
            message="Texted the clinic. Read the conversation in Messages.",
        )
    conversation = _conversation(location, sender, patient, lead, when)
    message = Message.objects.create(
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        purpose=Purpose.CONVERSATIONAL,
        status=MessageStatus.RECEIVED,
        location=location,
        conversation=conversation,
        patient=patient,
        lead=lead,
        to_address=receiver,
        from_address=sender,
        body=body,
        provider_id=provider_id,
        created_at=when,
        finished_at=when,
    )
    conversation.last_message_at = max(conversation.last_message_at, when)
    if keyword is None:
        conversation.last_inbound_at = when
    conversation.save(update_fields=["last_message_at", "last_inbound_at"])
    _audit_message(None, message, _created_changes(message), is_new=True)

    reply = None
    if keyword is None:
        if not is_opted_out(sender):
            _grant(
                acting_user=None,
                phone=sender,
                purpose=Purpose.CONVERSATIONAL,
                source="texted the clinic first",
                patient=patient,
                lead=lead,
                at=when,
            )
        if patient is not None:
            # A code answering the daily diary text is recorded and confirmed by outcomes.
            # Imported here: outcomes.sms imports this module to queue its answers.
            from ketaclinic.outcomes.sms import handle_diary_reply  # noqa: PLC0415

            reply = handle_diary_reply(patient=patient, message=message, at=when).reply
    else:
        reply = _answer_keyword(keyword, word=body.strip().upper()[:20], conversation=conversation, at=when)
    return InboundResult(
        message=message, conversation=conversation, keyword=keyword, reply=reply, lead_created=lead_created
    )


def _answer_keyword(keyword: Keyword, *, word: str, conversation: Conversation, at: datetime) -> Message | None:
    """Act on STOP, START or HELP and queue the answer carriers require. The answer goes out
    whatever the consent state, since the person has just asked for it; FCC 24-24 allows one
    opt-out confirmation, so a STOP from a number already opted out gets none."""
    phone = conversation.phone
    if keyword == Keyword.STOP:
        was_opted_out = is_opted_out(phone)
        revoke_sms_consent(acting_user=None, phone=phone, source=f"keyword {word}", at=at)
        if was_opted_out:
            return None
    elif keyword == Keyword.START:
        ended = _end_opt_out(acting_user=None, phone=phone, source="keyword START", at=at)
        for purpose in ended.withdrawn_purposes if ended else []:
            _grant(
                acting_user=None,
                phone=phone,
                purpose=Purpose(purpose),
                source="keyword START",
                patient=conversation.patient,
                lead=conversation.lead,
                at=at,
            )
    body = keyword_reply_text(keyword, conversation.location)
    _refuse_phi(body)
    return _create_sms(
        acting_user=None,
        phone=phone,
        body=body,
        purpose=Purpose.CONVERSATIONAL,
        consent_basis=f"answer to keyword {keyword.value.upper()}",
        location=conversation.location,
        patient=conversation.patient,
        lead=conversation.lead,
        at=at,
        is_keyword_reply=True,
    )


@transaction.atomic
def mark_conversation_read(*, acting_user: User, conversation: Conversation) -> int:
    """Record that ``acting_user`` opened the conversation: an audited read (a patient may have
    written about their health), and its unread texts marked read. Returns how many were new."""
    now = timezone.now()
    unread = conversation.messages.filter(direction=Direction.INBOUND, read_at__isnull=True).update(read_at=now)
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.READ,
        obj=conversation,
        patient_id=conversation.patient_id,
        location_id=conversation.location_id,
        changes={"marked_read": unread} if unread else {},
    )
    return unread


# --- Delivery ------------------------------------------------------------------------------------


def _delivery_refusal(message: Message) -> str:
    if message.channel != Channel.SMS or message.is_keyword_reply:
        return ""
    if has_sms_consent(message.to_address, Purpose(message.purpose)):
        return ""
    return "Held back: " + consent_refusal(message.to_address, Purpose(message.purpose))


@transaction.atomic
def _claim(message_id: int) -> tuple[Message | None, str]:
    message = Message.objects.select_for_update().filter(pk=message_id, status=MessageStatus.QUEUED).first()
    if message is None:
        return None, ""
    refusal = _delivery_refusal(message)
    status = MessageStatus.REFUSED if refusal else MessageStatus.SENDING
    _set_status(message, status, error=refusal)
    return message, refusal


def _set_status(
    message: Message, status: MessageStatus, *, error: str = "", provider_id: str = "", at: datetime | None = None
) -> None:
    before = {"status": message.status, "attempts": message.attempts, "last_error": message.last_error}
    now = at or timezone.now()
    message.status = status
    if status == MessageStatus.SENDING:
        message.attempts += 1
        message.next_attempt_at = None
    if error:
        message.last_error = error
    if provider_id:
        message.provider_id = provider_id
    if status == MessageStatus.SENT:
        message.sent_at = now
    if status in {MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.REFUSED}:
        message.finished_at = now
    message.save()
    after = {"status": message.status, "attempts": message.attempts, "last_error": message.last_error}
    _audit_message(None, message, audit.changes_between(before, after))


@transaction.atomic
def _record_outcome(
    message: Message, *, provider_id: str = "", error: str = "", is_transient: bool = False, at: datetime | None = None
) -> MessageStatus:
    now = at or timezone.now()
    if not error:
        _set_status(message, MessageStatus.SENT, provider_id=provider_id, at=now)
        return MessageStatus.SENT
    if is_transient and message.attempts < settings.MESSAGE_MAX_ATTEMPTS:
        delay = min(settings.MESSAGE_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1), MAX_RETRY_DELAY_SECONDS)
        message.next_attempt_at = now + timedelta(seconds=delay)
        _set_status(message, MessageStatus.QUEUED, error=error, at=now)
        _enqueue(message, run_after=message.next_attempt_at)
        return MessageStatus.QUEUED
    if is_transient:
        error = f"{error} (gave up after {message.attempts} attempts)"
    _set_status(message, MessageStatus.FAILED, error=error, at=now)
    return MessageStatus.FAILED


def deliver_message(*, message_id: int, sms_backend: SmsBackend | None = None, at: datetime | None = None) -> str:
    """Send one queued message and record the outcome; called by the delivery task.

    Not one transaction: the message is claimed (status "sending", one more attempt) and
    committed before the provider is called, and the outcome is written after, so a slow
    provider never holds the database's write lock and a crash mid-send leaves the row visibly
    "sending" rather than silently queued again. A message that is no longer queued (already
    sent by an earlier run of the same task) is left alone. ``sms_backend`` replaces the
    configured one (the demo uses it to show failures); ``at`` back-dates the demo's history.
    """
    message, refusal = _claim(message_id)
    if message is None:
        return str(Message.objects.filter(pk=message_id).values_list("status", flat=True).first() or "")
    if refusal:
        return MessageStatus.REFUSED
    try:
        if message.channel == Channel.SMS:
            provider_id = (sms_backend or get_sms_backend()).send(
                message.to_address, message.from_address, message.body
            )
        else:
            provider_id = send_email(message.to_address, message.from_address, message.subject, message.body)
    except TransientSendError as exc:
        return _record_outcome(message, error=str(exc), is_transient=True, at=at)
    except PermanentSendError as exc:
        return _record_outcome(message, error=str(exc), at=at)
    return _record_outcome(message, provider_id=provider_id, at=at)
