"""Tests for the health-information guard on the contact form and outgoing messages.

The guard is pure Python, so these are plain functions with no database. The last test is a
quality gate over the labelled contact-form messages in bench/data/phi_labelled.jsonl.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ketaclinic.website.phi_guard import DATA_DIR, Finding, GuardResult, PhiGuard, default_guard

LABELLED_PATH = Path(__file__).resolve().parents[3] / "bench" / "data" / "phi_labelled.jsonl"
MIN_RECALL = 0.95
MIN_PRECISION = 0.85
# Fewer positives than this means lines were lost, and the gate would measure little.
MIN_POSITIVES = 100


def kinds_in(text: str) -> set[str]:
    return {finding.kind for finding in default_guard().check(text).findings}


def test_date_of_birth_and_diagnosis_are_refused_with_both_findings() -> None:
    result = default_guard().check("Hi, DOB 04/17/1986. I have chronic migraine with aura.")

    assert result.contains_phi
    by_kind = {finding.kind: finding for finding in result.findings}
    assert by_kind["date_of_birth"].excerpt == "DOB 04/17/1986"
    assert by_kind["diagnosis"].excerpt == "chronic migraine"


def test_findings_point_at_the_matched_text() -> None:
    text = "My wife was diagnosed with NDPH in 2021."
    (finding,) = default_guard().check(text).findings

    assert finding == Finding("diagnosis", "NDPH", text.index("NDPH"), text.index("NDPH") + 4)


@pytest.mark.parametrize("text", ["My SSN is 123-45-6789.", "social security number 987 65 4321", "ssn: 321549876"])
def test_social_security_number_is_always_refused(text: str) -> None:
    assert kinds_in(text) == {"ssn"}


@pytest.mark.parametrize(
    "text",
    [
        "My Aetna member ID is W123456789.",
        "Policy ID: HMN44720183, Humana.",
        "My insurance member number is 4471-220-183.",
    ],
)
def test_insurance_member_id_is_refused(text: str) -> None:
    assert kinds_in(text) == {"insurance_id"}


def test_medical_record_number_is_refused() -> None:
    assert kinds_in("My MRN at your clinic is 00482913, when is my next visit?") == {"mrn"}


@pytest.mark.parametrize(
    "text",
    [
        "I take sumatriptan most days.",
        "i'm on topamax and it makes me foggy",
        "She's been on Aimovig since spring.",
        "Been on propranolol 80mg twice daily.",
    ],
)
def test_medicine_tied_to_a_person_is_refused(text: str) -> None:
    assert "medication" in kinds_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Do you offer ketamine infusions? What does it cost?",
        "Do you treat migraine?",
        "I was wondering whether you treat migraine in older adults.",
        "Does ketamine interact with other migraine medicines like topiramate?",
        "Is Botox something you offer, or only ketamine?",
        "Do I need a referral from my doctor?",
        "I'm on a tight budget; is there any financial assistance?",
        "Please call me back at 555-867-1200 about pricing.",
    ],
)
def test_generic_question_about_the_service_passes(text: str) -> None:
    result = default_guard().check(text)

    assert not result.contains_phi, result.findings


@pytest.mark.parametrize(
    "text",
    ["Can I come on 12/03?", "Is it possible to book for 04/22/2025 in the morning?"],
)
def test_scheduling_date_passes(text: str) -> None:
    assert not default_guard().check(text).contains_phi


@pytest.mark.parametrize(
    "text",
    ["My birthday is 11/02/1990.", "I was born on June 3rd, 1985.", "dob 3-22-1969"],
)
def test_date_beside_a_birth_word_is_a_date_of_birth(text: str) -> None:
    assert kinds_in(text) == {"date_of_birth"}


def test_phone_number_counts_only_beside_health_details() -> None:
    assert kinds_in("Text me at (555) 410-2299 about my topiramate dose.") == {
        "phone_with_health",
        "medication",
    }
    assert not default_guard().check("Text me at (555) 410-2299 about parking.").contains_phi


def test_plural_and_case_variants_are_matched() -> None:
    assert "symptom" in kinds_in("i get AURAS before my headaches")
    assert "diagnosis" in kinds_in("My mother has Parkinson's.")


def test_advice_names_what_to_remove_and_offers_a_call() -> None:
    advice = default_guard().check("DOB 1/2/1980. I take Topamax.").advice()

    assert "a date of birth" in advice
    assert "a medicine name" in advice
    assert "call the clinic" in advice


def test_advice_is_empty_when_nothing_was_found() -> None:
    result = GuardResult(findings=())

    assert not result.contains_phi
    assert result.advice() == ""


def test_word_lists_in_the_data_dir_drive_the_matching(tmp_path: Path) -> None:
    data_dir = tmp_path / "phi_data"
    shutil.copytree(DATA_DIR, data_dir)
    text = "I have zorblax syndrome."
    assert not PhiGuard(data_dir).check(text).contains_phi

    with (data_dir / "diagnoses.txt").open("a", encoding="utf-8") as handle:
        handle.write("zorblax syndrome\n")

    (finding,) = PhiGuard(data_dir).check(text).findings
    assert (finding.kind, finding.excerpt) == ("diagnosis", "zorblax syndrome")


def test_allowlist_in_the_data_dir_drives_the_matching(tmp_path: Path) -> None:
    data_dir = tmp_path / "phi_data"
    shutil.copytree(DATA_DIR, data_dir)
    text = "I'd like to book a ketamine infusion."
    assert not PhiGuard(data_dir).check(text).contains_phi

    (data_dir / "allowlist.txt").write_text("", encoding="utf-8")

    assert PhiGuard(data_dir).check(text).contains_phi


def test_default_guard_is_built_once() -> None:
    assert default_guard() is default_guard()


def test_labelled_messages_meet_the_recall_and_precision_gate() -> None:
    guard = default_guard()
    true_positives = false_positives = false_negatives = 0
    for line in LABELLED_PATH.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        predicted = guard.check(row["text"]).contains_phi
        true_positives += predicted and row["contains_phi"]
        false_positives += predicted and not row["contains_phi"]
        false_negatives += row["contains_phi"] and not predicted

    assert true_positives + false_negatives >= MIN_POSITIVES, "the labelled set has lost its positives"
    recall = true_positives / (true_positives + false_negatives)
    precision = true_positives / (true_positives + false_positives)
    assert recall >= MIN_RECALL, f"recall {recall:.3f}"
    assert precision >= MIN_PRECISION, f"precision {precision:.3f}"
