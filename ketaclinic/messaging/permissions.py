"""Who may read and answer text conversations, see the message log and run the PHI check."""

from __future__ import annotations

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.core.permissions import has_grant
from ketaclinic.messaging.models import Conversation


def can_message_patients(user: AnyUser) -> bool:
    return has_grant(user, "message_patients")


def can_view_conversation(user: AnyUser, conversation: Conversation) -> bool:
    """Conversations belong to the location whose number was texted."""
    return can_message_patients(user) and isinstance(user, User) and user.works_at(conversation.location_id)


def can_reply_to_conversation(user: AnyUser, conversation: Conversation) -> bool:
    return can_view_conversation(user, conversation)


def can_view_message_log(user: AnyUser) -> bool:
    return has_grant(user, "view_message_log")


def can_check_phi(user: AnyUser) -> bool:
    return has_grant(user, "check_phi")
