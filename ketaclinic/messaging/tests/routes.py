"""Who may open each messaging URL (merged into the route walk in core/tests/test_routes.py)."""

from __future__ import annotations

from typing import Any

from ketaclinic.core.testing import Route, World
from ketaclinic.messaging.actions import handle_inbound_sms

UNKNOWN_NUMBER = "+13035550777"


def _conversation(w: World) -> dict[str, Any]:
    # The same provider id each time: the walk calls this per persona and gets one conversation.
    result = handle_inbound_sms(
        from_number=UNKNOWN_NUMBER,
        to_number=w.location.sms_number,
        body="Hello, what are your hours?",
        provider_id="SMroute",
    )
    return {"pk": result.conversation.pk}


ROUTES: dict[str, Route] = {
    "messaging:conversations": Route("message_patients"),
    # Conversations belong to the location that was texted: the outsider works elsewhere.
    "messaging:conversation": Route("message_patients", kwargs=_conversation, overrides={"outsider": 403}),
    "messaging:record_consent": Route("message_patients", kwargs=_conversation, ok=405),
    "messaging:record_opt_out": Route("message_patients", kwargs=_conversation, ok=405),
    "messaging:log": Route("view_message_log"),
    # Twilio's webhook has no user: it is open to all, and an unsigned request is refused.
    "api:sms_inbound": Route("public", api=True, method="post", ok=403),
    "api:phi_check": Route("check_phi", api=True, method="post", body=lambda w: {"text": "See you Tuesday."}),
}
