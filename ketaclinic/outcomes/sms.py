"""The diary by text message: the daily prompt, the reply codes and their answers.

A text is not a private channel (a lock screen shows it), so nothing sent here names a
symptom, a drug or the treatment: the messaging health-information check
(:mod:`ketaclinic.messaging.phi`) refuses such words and every text below passes it. The codes
are explained in words on the portal's codes page; the text help lists them neutrally.

Reply grammar (case, spaces and punctuation are ignored, so "2 m t." reads as ``2MT``):

- ``0`` (or ``NONE``): no headache today.
- ``1``, ``2`` or ``3``: a headache, peak mild, moderate or severe; then any of these letters,
  once each, in any order:

  - ``M`` typical migraine features (one-sided or throbbing, with sickness or light and noise
    sensitivity) and medicine taken for it, as the issue's example defines ``2M`` ("moderate,
    migraine features, took medication") — recorded as ``migraine_features`` plus the classes
    named by the letters below, or, when no class letter is given, one medicine of class
    ``other`` marked ``class_not_given`` (the confirmation asks for the detail);
  - ``N`` nothing was taken (so ``2MN`` is migraine features without medicine);
  - ``A`` aura (warning signs before the attack);
  - medicine taken, by class: ``T`` triptan, ``G`` gepant or ditan, ``E`` ergot, ``P`` NSAID or
    simple pain reliever, ``C`` combination pain reliever, ``O`` opioid, ``X`` other;
  - ``H`` the medicine helped within 2 hours.

- ``CODES``: the list of codes, by text.

Examples: ``2M`` moderate, migraine features, took medicine (type not given); ``2MT``
moderate, features, took a triptan; ``3MTH`` severe, features, a triptan that helped within
2 h; ``2MN`` moderate, features, nothing taken; ``1P`` mild, a simple pain reliever; ``2``
moderate, nothing said about medicine (recorded as none taken, as before).

A reply counts for the day of the most recent prompt sent within ``PROMPT_OPEN_HOURS``. A text
that does not read as a code but is short or starts with a digit gets a helpful answer and
records nothing; a longer text (a question for the clinic) is left in the conversation for staff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.messaging.actions import ConsentRequired, queue_sms
from ketaclinic.messaging.choices import Purpose
from ketaclinic.messaging.models import Message
from ketaclinic.messaging.queries import has_sms_consent
from ketaclinic.outcomes import actions, queries
from ketaclinic.outcomes.choices import PROMPT_OPEN_HOURS, DiarySource
from ketaclinic.outcomes.models import DiaryPrompt, DiaryPromptPreference
from ketaclinic.patients.models import Patient

SEVERITY_CODES = {"1": "mild", "2": "moderate", "3": "severe"}
MEDICATION_CODES = {
    "T": "triptan",
    "G": "gepant_ditan",
    "E": "ergot",
    "P": "simple_analgesic",
    "C": "combination_analgesic",
    "O": "opioid",
    "X": "other",
}
FLAG_CODES = {"M", "N", "A", "H"}
# "M" with no class letter: medicine was taken but the text did not say which.
UNNAMED_MEDICATION_CLASS = "other"
NO_HEADACHE_WORDS = {"0", "NONE"}
CODES_WORD = "CODES"
# A text this short (after dropping spaces and punctuation), or one starting with a digit, is
# taken as an attempt at a code; anything longer is a message for the clinic.
CODE_ATTEMPT_MAX_CHARS = 8
_CODE = re.compile(r"^([123])([A-Z]*)$")


class CodeError(ValueError):
    """A reply that does not read as a diary code; the message says what was wrong."""


@dataclass(frozen=True)
class ParsedReply:
    code: str
    headache: bool
    peak_severity: str = ""
    migraine_features: bool | None = None
    aura: bool | None = None
    medications: tuple[str, ...] = ()
    helped_within_2h: bool | None = None
    # False when "M" said medicine was taken without a letter for which.
    medication_class_given: bool = True
    wants_codes: bool = False
    entry: dict[str, Any] = field(default_factory=dict)


def compact(body: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", body.upper())


def looks_like_code(body: str) -> bool:
    text = compact(body)
    return bool(text) and (len(text) <= CODE_ATTEMPT_MAX_CHARS or text[0].isdigit())


def parse_reply(body: str) -> ParsedReply:
    """Read a diary code (grammar in the module docstring) or raise :class:`CodeError`."""
    text = compact(body)
    if text == CODES_WORD:
        return ParsedReply(code=text, headache=False, wants_codes=True)
    if text in NO_HEADACHE_WORDS:
        return ParsedReply(code="0", headache=False)
    match = _CODE.match(text)
    if match is None:
        raise CodeError("It should start with 0, 1, 2 or 3.")
    digit, letters = match.groups()
    unknown = sorted({ch for ch in letters if ch not in MEDICATION_CODES and ch not in FLAG_CODES})
    if unknown:
        raise CodeError(f"The letter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} is not a code.")
    repeated = sorted({ch for ch in letters if letters.count(ch) > 1})
    if repeated:
        raise CodeError(f"{', '.join(repeated)} appears twice.")
    named = tuple(MEDICATION_CODES[ch] for ch in letters if ch in MEDICATION_CODES)
    if "N" in letters and named:
        raise CodeError("N (nothing taken) cannot go with a letter for what was taken.")
    if "N" in letters and "H" in letters:
        raise CodeError("H (it helped) cannot go with N (nothing taken).")
    features = "M" in letters
    class_given = bool(named)
    meds = named or ((UNNAMED_MEDICATION_CLASS,) if features and "N" not in letters else ())
    if "H" in letters and not meds:
        raise CodeError("H (it helped) needs a letter for what was taken.")
    helped = ("H" in letters) if meds else None
    return ParsedReply(
        code=text,
        headache=True,
        peak_severity=SEVERITY_CODES[digit],
        migraine_features=True if features else None,
        aura=True if "A" in letters else None,
        medications=meds,
        helped_within_2h=helped,
        medication_class_given=class_given or not meds,
    )


def entry_for(reply: ParsedReply, day: str) -> dict[str, Any]:
    """The diary day a parsed code records (fields not in the code are left unanswered)."""
    entry: dict[str, Any] = {"date": day, "headache": reply.headache}
    if reply.headache:
        entry.update(
            peak_severity=reply.peak_severity,
            migraine_features=reply.migraine_features,
            aura=reply.aura,
            acute_medications=[
                {"drug_class": m, "helped_within_2h": reply.helped_within_2h}
                | ({} if reply.medication_class_given else {"class_not_given": True})
                for m in reply.medications
            ],
        )
    return entry


def prompt_text(patient: Patient) -> str:
    return (
        f"Daily check-in from {patient.location.name}: reply 0 if today was fine, or a code like 2MT. "
        "Reply CODES for the list."
    )


def codes_text(patient: Patient) -> str:
    return (
        f"{patient.location.name} codes: 0 = a good day. Otherwise 1 mild, 2 moderate, 3 severe, then letters: "
        "M = typical features and you took something, N = you took nothing, A = warning signs first, "
        "what you took: T, G, E, P, C, O or X (see the list in your portal), H = it worked within 2 hours. "
        "Examples: 2M, 2MT, 3MTH, 2MN. "
        f"{settings.SITE_URL}{reverse('outcomes_portal:codes')}"
    )


def confirmation_text(patient: Patient, day: datetime | Any, code: str, *, ask_what_was_taken: bool = False) -> str:
    link = settings.SITE_URL + reverse("outcomes_portal:day", kwargs={"day": day.isoformat()})
    ask = "Say what you took, add detail or change it" if ask_what_was_taken else "Add detail or change it"
    return f"{patient.location.name}: saved for {day:%a %d %b} (code {code}). {ask}: {link}"


def malformed_text(patient: Patient, problem: str) -> str:
    return (
        f"{patient.location.name}: sorry, that reply was not understood and nothing was saved. {problem} "
        "Reply 0 if today was fine, or a code like 2MT. Reply CODES for the list."
    )


def _reply(patient: Patient, message: Message, body: str, at: datetime) -> Message | None:
    try:
        return queue_sms(
            acting_user=None,
            to_number=message.from_address,
            body=body,
            purpose=Purpose.CARE,
            patient=patient,
            location=message.location,
            at=at,
        )
    except ConsentRequired:
        # Care texts were withdrawn after the prompt went out: record, but do not answer.
        return None


def open_prompt(patient: Patient, at: datetime) -> DiaryPrompt | None:
    since = at - timedelta(hours=PROMPT_OPEN_HOURS)
    return DiaryPrompt.objects.filter(patient=patient, sent_at__gte=since, sent_at__lte=at).order_by("-sent_at").first()


@dataclass(frozen=True)
class DiaryReplyResult:
    handled: bool
    reply: Message | None = None
    saved: bool = False


@transaction.atomic
def handle_diary_reply(*, patient: Patient, message: Message, at: datetime) -> DiaryReplyResult:
    """Record a texted diary code for the open prompt's day and confirm it, or answer a
    malformed code helpfully and record nothing. Not handled (``handled=False``) when there is
    no open prompt or the text is a message for the clinic rather than a code."""
    prompt = open_prompt(patient, at)
    if prompt is None or not looks_like_code(message.body):
        return DiaryReplyResult(handled=False)
    try:
        parsed = parse_reply(message.body)
    except CodeError as exc:
        return DiaryReplyResult(handled=True, reply=_reply(patient, message, malformed_text(patient, str(exc)), at))
    if parsed.wants_codes:
        return DiaryReplyResult(handled=True, reply=_reply(patient, message, codes_text(patient), at))
    actions.save_diary_entries(
        acting_user=patient.user if patient.user_id else None,
        patient=patient,
        entries=[entry_for(parsed, prompt.local_date.isoformat())],
        source=DiarySource.SMS,
        now=at,
    )
    DiaryPrompt.objects.filter(pk=prompt.pk).update(answered_at=at)
    body = confirmation_text(
        patient, prompt.local_date, parsed.code, ask_what_was_taken=not parsed.medication_class_given
    )
    return DiaryReplyResult(handled=True, reply=_reply(patient, message, body, at), saved=True)


@transaction.atomic
def send_prompt(*, patient: Patient, at: datetime) -> DiaryPrompt | None:
    """Send today's prompt to one patient unless it went already (one per local day)."""
    local_date = queries.local_today(patient, at)
    if DiaryPrompt.objects.filter(patient=patient, local_date=local_date).exists():
        return None
    try:
        with transaction.atomic():
            prompt = DiaryPrompt.objects.create(patient=patient, local_date=local_date, sent_at=at)
    except IntegrityError:
        return None  # another run sent it a moment ago
    message = queue_sms(
        acting_user=None,
        to_number=patient.phone,
        body=prompt_text(patient),
        purpose=Purpose.CARE,
        patient=patient,
        at=at,
    )
    prompt.message_id = message.pk
    prompt.save(update_fields=["message_id"])
    audit.record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=prompt,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={"local_date": [None, local_date], "message": [None, message.pk]},
        username="send_diary_prompts",
    )
    return prompt


def send_due_prompts(*, now: datetime | None = None) -> list[DiaryPrompt]:
    """Prompt every patient whose chosen local time has passed today, who has a phone and
    care-message consent, and who has not been prompted today. Safe to run every few minutes."""
    at = now or timezone.now()
    sent = []
    prefs = DiaryPromptPreference.objects.filter(is_enabled=True).exclude(patient__phone="")
    for pref in prefs.select_related("patient__location"):
        patient = pref.patient
        local_now = at.astimezone(queries.zone_of(patient))
        if local_now.time() < pref.local_time or not has_sms_consent(patient.phone, Purpose.CARE):
            continue
        prompt = send_prompt(patient=patient, at=at)
        if prompt is not None:
            sent.append(prompt)
    return sent
