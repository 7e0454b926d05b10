"""Choices for messages, consent and conversations."""

from django.db import models


class Purpose(models.TextChoices):
    """Why a message is sent; each purpose needs its own consent (CTIA messaging principles,
    TCPA as read by FCC 24-24: care messages need express consent, marketing express written
    consent kept apart from care consent)."""

    CARE = "care", "Care (reminders, instructions)"
    MARKETING = "marketing", "Marketing"
    # A reply in a thread the person started: CTIA treats it as implied consent.
    CONVERSATIONAL = "conversational", "Reply in a conversation"
    # Transactional: invitations, password, sign-in. Email only.
    ACCOUNT = "account", "Account (email only)"


SMS_CONSENT_PURPOSES = (Purpose.CARE, Purpose.MARKETING, Purpose.CONVERSATIONAL)


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class Direction(models.TextChoices):
    OUTBOUND = "out", "Sent by the clinic"
    INBOUND = "in", "Received"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Held back at delivery time: consent was withdrawn after the message was queued.
    REFUSED = "refused", "Refused"
    RECEIVED = "received", "Received"


class Keyword(models.TextChoices):
    """Inbound keywords the carrier rules require an answer to (CTIA; FCC 24-24 lists the
    revocation words)."""

    STOP = "stop", "Opt-out"
    START = "start", "Opt back in"
    HELP = "help", "Help"


# Compared after upper-casing and dropping everything but letters, so "Stop.", "opt out" and
# "STOP ALL" all match.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
