"""The diary by text: the daily prompt, replies through the Twilio webhook, and the codes."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from ketaclinic.core.testing import World
from ketaclinic.messaging.phi import check_outgoing
from ketaclinic.messaging.tests.factories import consenting_patient, patient_with_phone, post_inbound, texts_to
from ketaclinic.outcomes import endpoints, sms
from ketaclinic.outcomes.actions import set_diary_prompt
from ketaclinic.outcomes.models import DiaryEntry, DiaryPrompt
from ketaclinic.patients.models import Patient

DENVER = ZoneInfo("America/Denver")
EVENING = datetime(2026, 6, 10, 20, 5, tzinfo=DENVER)


def _prompted(world: World) -> Patient:
    patient = consenting_patient(world)
    set_diary_prompt(acting_user=None, patient=patient, is_enabled=True, local_time=time(20, 0))
    with time_machine.travel(EVENING, tick=False):
        call_command("send_diary_prompts", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    return patient


def test_the_prompt_goes_once_a_day_after_the_chosen_time_and_carries_no_health_words(world: World) -> None:
    patient = consenting_patient(world)
    set_diary_prompt(acting_user=None, patient=patient, is_enabled=True, local_time=time(20, 0))
    with time_machine.travel(datetime(2026, 6, 10, 19, 55, tzinfo=DENVER), tick=False):
        assert sms.send_due_prompts() == []
    with time_machine.travel(EVENING, tick=False):
        assert len(sms.send_due_prompts()) == 1
        assert sms.send_due_prompts() == []
    sent = texts_to(patient.phone)
    assert len(sent) == 1
    assert "reply 0 if today was fine" in sent[0]["body"]
    assert check_outgoing(sent[0]["body"], allowed_names=[world.location.name]) == ()
    assert DiaryPrompt.objects.get(patient=patient).local_date == date(2026, 6, 10)


def test_no_prompt_without_care_consent(world: World) -> None:
    patient = patient_with_phone(world)
    set_diary_prompt(acting_user=None, patient=patient, is_enabled=True, local_time=time(20, 0))
    with time_machine.travel(EVENING, tick=False):
        assert sms.send_due_prompts() == []
    assert texts_to(patient.phone) == []


def test_a_whole_sms_diary_conversation_through_the_webhook(world: World) -> None:
    patient = _prompted(world)
    with time_machine.travel(datetime(2026, 6, 10, 21, 0, tzinfo=DENVER), tick=False):
        # A malformed code: a helpful answer, nothing recorded.
        assert post_inbound(world, body="5Q", sid="SM10").status_code == 200
        assert not DiaryEntry.objects.filter(patient=patient).exists()
        # Asking for the codes.
        post_inbound(world, body="codes", sid="SM11")
        # A proper code, written loosely.
        post_inbound(world, body=" 2 m t. ", sid="SM12")
    bodies = [t["body"] for t in texts_to(patient.phone)]
    assert len(bodies) == 4  # prompt, malformed answer, codes, confirmation
    assert "not understood and nothing was saved" in bodies[1] and "start with 0, 1, 2 or 3" in bodies[1]
    assert "M = typical features and you took something" in bodies[2] and "N = you took nothing" in bodies[2]
    assert "Examples: 2M, 2MT" in bodies[2]
    assert "saved for Wed 10 Jun (code 2MT)" in bodies[3] and "/portal/diary/day/2026-06-10/" in bodies[3]
    for body in bodies:
        assert check_outgoing(body, allowed_names=[world.location.name]) == (), body
    entry = DiaryEntry.objects.get(patient=patient)
    assert entry.date == date(2026, 6, 10) and entry.source == "sms"
    assert entry.peak_severity == "moderate" and entry.migraine_features is True
    assert entry.acute_medications == [{"drug_class": "triptan", "helped_within_2h": False}]
    assert DiaryPrompt.objects.get(patient=patient).answered_at is not None


def test_a_reply_after_midnight_records_the_prompted_day(world: World) -> None:
    patient = _prompted(world)
    with time_machine.travel(datetime(2026, 6, 11, 0, 40, tzinfo=DENVER), tick=False):
        post_inbound(world, body="0", sid="SM20")
    assert DiaryEntry.objects.get(patient=patient).date == date(2026, 6, 10)


def test_a_longer_text_is_left_for_staff_and_not_read_as_a_code(world: World) -> None:
    patient = _prompted(world)
    with time_machine.travel(datetime(2026, 6, 10, 21, 0, tzinfo=DENVER), tick=False):
        post_inbound(world, body="Can I move my appointment on Friday please?", sid="SM30")
    assert not DiaryEntry.objects.filter(patient=patient).exists()
    assert len(texts_to(patient.phone)) == 1  # only the prompt


def test_a_code_without_an_open_prompt_is_not_taken_as_a_diary_day(world: World) -> None:
    patient = consenting_patient(world)
    post_inbound(world, body="0", sid="SM40")
    assert not DiaryEntry.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("body", "severity", "meds", "helped", "features", "aura"),
    [
        ("0", "", (), None, None, None),
        ("none", "", (), None, None, None),
        ("1p", "mild", ("simple_analgesic",), False, None, None),
        ("3MTH", "severe", ("triptan",), True, True, None),
        ("2-a-g-o", "moderate", ("gepant_ditan", "opioid"), False, None, True),
        # The issue's example: moderate, migraine features, took medication (class not said).
        ("2M", "moderate", ("other",), False, True, None),
        ("2mh", "moderate", ("other",), True, True, None),
        ("2MN", "moderate", (), None, True, None),
        ("3n", "severe", (), None, None, None),
        ("2", "moderate", (), None, None, None),
    ],
)
def test_codes_parse(
    body: str, severity: str, meds: tuple[str, ...], helped: bool | None, features: bool | None, aura: bool | None
) -> None:
    parsed = sms.parse_reply(body)
    assert (parsed.peak_severity, parsed.medications, parsed.helped_within_2h) == (severity, meds, helped)
    assert (parsed.migraine_features, parsed.aura) == (features, aura)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("4", "start with"),
        ("2Z", "Z is not"),
        ("2MM", "twice"),
        ("2H", "needs"),
        ("2MNT", "N \\(nothing taken\\) cannot go with a letter"),
        ("2MNH", "H \\(it helped\\) cannot go with N"),
    ],
)
def test_malformed_codes_say_what_is_wrong(body: str, problem: str) -> None:
    with pytest.raises(sms.CodeError, match=problem):
        sms.parse_reply(body)


def test_only_an_m_without_a_class_letter_is_marked_as_class_not_given() -> None:
    assert sms.parse_reply("2M").medication_class_given is False
    assert sms.parse_reply("2MT").medication_class_given is True
    assert sms.parse_reply("2MN").medication_class_given is True
    entry = sms.entry_for(sms.parse_reply("2M"), "2026-06-10")
    assert entry["acute_medications"] == [{"drug_class": "other", "helped_within_2h": False, "class_not_given": True}]


def test_the_issue_example_2m_records_features_and_medication_and_asks_what_was_taken(world: World) -> None:
    patient = _prompted(world)
    with time_machine.travel(datetime(2026, 6, 10, 21, 0, tzinfo=DENVER), tick=False):
        post_inbound(world, body="2M", sid="SM50")
    entry = DiaryEntry.objects.get(patient=patient)
    assert entry.peak_severity == "moderate" and entry.migraine_features is True
    assert entry.acute_medications == [{"drug_class": "other", "helped_within_2h": False, "class_not_given": True}]
    assert entry.med_other is True and entry.med_triptan is False
    day = endpoints.classify_day(entry.to_day(), endpoints.Definitions())
    assert day.is_migraine_day and day.is_acute_medication_day
    reply = texts_to(patient.phone)[-1]["body"]
    assert "saved for Wed 10 Jun (code 2M). Say what you took" in reply
    assert check_outgoing(reply, allowed_names=[world.location.name]) == ()


def test_2mn_records_features_with_no_medication(world: World) -> None:
    patient = _prompted(world)
    with time_machine.travel(datetime(2026, 6, 10, 21, 0, tzinfo=DENVER), tick=False):
        post_inbound(world, body="2MN", sid="SM51")
    entry = DiaryEntry.objects.get(patient=patient)
    assert entry.migraine_features is True and entry.acute_medications == []
    assert "Add detail or change it" in texts_to(patient.phone)[-1]["body"]


def test_the_codes_help_text_documents_every_letter_without_health_words(world: World) -> None:
    patient = consenting_patient(world)
    body = sms.codes_text(patient)
    for letter in ["M =", "N =", "A =", "H =", "T, G, E, P, C, O or X"]:
        assert letter in body
    assert check_outgoing(body, allowed_names=[world.location.name]) == ()
