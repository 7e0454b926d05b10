"""The Twilio webhook for inbound texts, and the health-information check."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from ketaclinic.api.permissions import require
from ketaclinic.messaging import actions
from ketaclinic.messaging.permissions import can_check_phi
from ketaclinic.messaging.queries import outgoing_phi

router = Router(tags=["messaging"])
logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _is_signed_by_twilio(request: HttpRequest) -> bool:
    """Twilio signs the public URL it was given plus the POST parameters with the account's
    auth token. The URL is rebuilt from SITE_URL rather than the Host header, which a proxy in
    front of the app may rewrite. Unsigned requests are accepted only in a DEBUG demo with no
    token configured, so the demo can be driven with curl."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return bool(settings.DEBUG)
    url = settings.SITE_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(RequestValidator(token).validate(url, request.POST.dict(), signature))


@router.post(
    "/sms/inbound",
    auth=None,
    url_name="sms_inbound",
    summary="Twilio webhook for inbound texts (form-encoded, X-Twilio-Signature checked)",
)
def sms_inbound(request: HttpRequest) -> HttpResponse:
    if not _is_signed_by_twilio(request):
        logger.warning("Refused an inbound-text webhook with a missing or wrong Twilio signature")
        return HttpResponse("Signature missing or invalid.", status=403, content_type="text/plain")
    form = request.POST
    from_number, to_number = form.get("From", ""), form.get("To", "")
    if not from_number or not to_number:
        return HttpResponse("From and To are required.", status=400, content_type="text/plain")
    actions.handle_inbound_sms(
        from_number=from_number, to_number=to_number, body=form.get("Body", ""), provider_id=form.get("MessageSid", "")
    )
    # Replies go out through queue_sms, not TwiML, so they are logged like every other text.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


class PhiCheckIn(Schema):
    text: str = Field(max_length=20_000)


class FindingOut(Schema):
    kind: str
    excerpt: str


class PhiCheckOut(Schema):
    contains_phi: bool
    findings: list[FindingOut]


@router.post("/phi-check", response=PhiCheckOut, summary="Find health information in a text before sending it")
def phi_check(request: HttpRequest, payload: PhiCheckIn) -> PhiCheckOut:
    require(request, can_check_phi)
    findings = outgoing_phi(payload.text)
    return PhiCheckOut(
        contains_phi=bool(findings), findings=[FindingOut(kind=f.kind, excerpt=f.excerpt) for f in findings]
    )
