"""Read helpers: consent state of a number, and the lists staff see."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location, phone_validator
from ketaclinic.messaging.choices import Direction, Purpose
from ketaclinic.messaging.models import Conversation, Message, SmsConsent, SmsOptOut
from ketaclinic.messaging.phi import OutgoingFinding, check_outgoing

_NANP_DIGITS = 10


def normalise_phone(raw: str) -> str:
    """The number in E.164 form (+15551234567). A ten-digit number is taken as North American,
    which is what Twilio sends for US numbers without the +1 in some webhooks."""
    digits = re.sub(r"[^\d+]", "", raw.strip())
    if not digits.startswith("+"):
        digits = f"+1{digits}" if len(digits) == _NANP_DIGITS else f"+{digits}"
    phone_validator(digits)
    return digits


def is_opted_out(phone: str) -> bool:
    """Whether the number has texted STOP (or asked staff to stop) and not START since."""
    return SmsOptOut.objects.filter(phone=phone, ended_at__isnull=True).exists()


def active_consent(phone: str, purpose: Purpose) -> SmsConsent | None:
    return SmsConsent.objects.filter(phone=phone, purpose=purpose, revoked_at__isnull=True).first()


def conversation_window() -> timedelta:
    return timedelta(days=settings.SMS_CONVERSATION_WINDOW_DAYS)


def has_sms_consent(phone: str, purpose: Purpose) -> bool:
    """Whether a text for ``purpose`` may go to ``phone`` now.

    Care and marketing need a live grant for that purpose. A conversational reply needs the
    person to have started a conversation (their first text is recorded as implied consent,
    CTIA) and to have written within ``SMS_CONVERSATION_WINDOW_DAYS``. Nothing is allowed while
    the number is opted out.
    """
    if purpose == Purpose.ACCOUNT or is_opted_out(phone):
        return False
    if active_consent(phone, purpose) is None:
        return False
    if purpose == Purpose.CONVERSATIONAL:
        since = timezone.now() - conversation_window()
        return Conversation.objects.filter(phone=phone, last_inbound_at__gte=since).exists()
    return True


def consent_refusal(phone: str, purpose: Purpose) -> str:
    """Say in plain words why a text may not go to ``phone`` (empty when it may)."""
    if purpose == Purpose.ACCOUNT:
        return "Account messages (invitations, passwords, sign-in) are sent by email only, never by text."
    opt_out = SmsOptOut.objects.filter(phone=phone, ended_at__isnull=True).first()
    if opt_out is not None:
        return (
            f"{phone} opted out of all texts on {timezone.localtime(opt_out.opted_out_at):%Y-%m-%d %H:%M} "
            f"({opt_out.source}). Nothing can be texted until they text START; call them instead."
        )
    if has_sms_consent(phone, purpose):
        return ""
    if purpose == Purpose.CONVERSATIONAL:
        days = settings.SMS_CONVERSATION_WINDOW_DAYS
        return (
            f"{phone} has not texted the clinic in the last {days} days, so there is no conversation to reply in. "
            "Send a care message if they agreed to care texts, or call them."
        )
    label = "care" if purpose == Purpose.CARE else "marketing"
    return f"{phone} has not agreed to {label} texts. Record their consent first, or call them."


def location_by_sms_number(number: str) -> Location | None:
    return Location.objects.filter(sms_number=number).order_by("id").first()


def conversations_for(user: User) -> QuerySet[Conversation]:
    """Conversations at the user's locations, newest first, each with its unread count."""
    queryset = Conversation.objects.select_related("location", "patient", "lead").annotate(
        unread=Count("messages", filter=Q(messages__direction=Direction.INBOUND, messages__read_at__isnull=True))
    )
    if not user.all_locations:
        queryset = queryset.filter(location_id__in=user.location_ids)
    return queryset.order_by("-last_message_at", "-id")


def opted_out_numbers(phones: list[str]) -> set[str]:
    return set(SmsOptOut.objects.filter(phone__in=phones, ended_at__isnull=True).values_list("phone", flat=True))


def messages_visible_to(user: User) -> QuerySet[Message]:
    """Messages at the user's locations; account emails with no location only for people who
    work at every location (the administrator, the medical director)."""
    queryset = Message.objects.select_related("location")
    if user.all_locations:
        return queryset
    return queryset.filter(location_id__in=user.location_ids)


def validate_phone(raw: str) -> str:
    """:func:`normalise_phone`, with a message a person can act on."""
    try:
        return normalise_phone(raw)
    except ValidationError as exc:
        raise ValidationError(f"{raw!r} is not a phone number in international form, e.g. +15551234567.") from exc


def outgoing_phi(text: str) -> tuple[OutgoingFinding, ...]:
    """Health information in an outgoing body; the clinic's and locations' names are allowed."""
    names = [settings.CLINIC_NAME, *Location.objects.values_list("name", flat=True)]
    return check_outgoing(text, allowed_names=names)
