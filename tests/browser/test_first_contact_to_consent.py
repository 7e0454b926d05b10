"""Issue 3's whole path, as people do it in a browser: a visitor writes through the contact form,
the front desk converts the lead into a patient who gets a portal invitation, the patient
answers the intake, the prescriber approves with a protocol, and the patient signs the informed
consent and downloads its PDF."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import LazySettings
from django.core import mail
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from ketaclinic.consents.actions import publish_document
from ketaclinic.consents.models import ConsentSignature
from ketaclinic.core.testing import PASSWORD, World, current_code
from ketaclinic.infusions.actions import create_protocol
from ketaclinic.leads.models import Lead
from ketaclinic.patients.actions import seed_screening_rules
from ketaclinic.patients.models import CandidacyDecision, Patient
from tests.browser.conftest import SCREENSHOTS

PATIENT_PASSWORD = "a-patient-passphrase-2026"


def staff_sign_in(page: Page, base: str, world: World, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("One-time code").fill(current_code(world[username]))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))


def choose(page: Page, name: str, value: str) -> None:
    """Pick an answer whether the question is a set of radio buttons or a drop-down."""
    radio = page.locator(f"input[type=radio][name='{name}'][value='{value}']")
    if radio.count():
        radio.check()
    else:
        page.locator(f"select[name='{name}']").select_option(value)


def save_and_continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue", exact=True).click()


def test_contact_to_signed_consent(
    browser: Browser, page: Page, live_server: LiveServer, live_world: World, settings: LazySettings, tmp_path: Path
) -> None:
    settings.CONTACT_MIN_FILL_SECONDS = 0
    base = live_server.url
    # Tests that commit data empty every table afterwards, including the rules the data migration
    # installed; put the clinic's default screening questions back.
    seed_screening_rules(acting_user=None)
    create_protocol(acting_user=live_world["director"], code="induction", name="Migraine induction, 6 in 3 weeks")
    publish_document(
        acting_user=live_world["director"],
        kind="informed_consent",
        title="Informed consent for ketamine infusion",
        body_markdown="Ketamine for migraine is **off-label**; the evidence is limited. You may stop at any time.",
    )

    # 1. A visitor writes. Health details would be refused; this message has none.
    page.goto(f"{base}/contact/")
    page.get_by_label("Your name").fill("Robin Testwell")
    page.get_by_label("Email address").fill("robin.testwell@example.org")
    page.get_by_label("Your message").fill(
        "Hello, could someone call me about how the consultation works and what it costs?"
    )
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", name=re.compile("Thank", re.I))).to_be_visible()
    lead = Lead.objects.get(email="robin.testwell@example.org")

    # 2. The front desk converts the lead; the patient is invited to the portal by email.
    desk = browser.new_context().new_page()
    staff_sign_in(desk, base, live_world, "frontdesk")
    desk.goto(f"{base}/leads/")
    desk.get_by_role("link", name=re.compile("Robin Testwell")).first.click()
    desk.get_by_role("link", name=re.compile("Convert", re.I)).click()
    desk.get_by_label(re.compile("Date of birth", re.I)).fill("1984-06-15")
    desk.get_by_role("button", name="Create patient record").click()
    patient = Patient.objects.get(from_lead=lead)
    invitation = next(
        m for m in mail.outbox if "robin.testwell@example.org" in m.to and "/portal/invitation/" in m.body
    )
    link = re.search(r"https?://\S+/portal/invitation/\S+/", str(invitation.body))
    assert link, invitation.body
    path = link.group(0).split("/portal/", 1)[1]

    # 3. The patient accepts the invitation and answers the intake.
    page.goto(f"{base}/portal/{path}")
    page.get_by_label("Username").fill("robin")
    page.get_by_label("Password", exact=True).fill(PATIENT_PASSWORD)
    page.get_by_label("Password again").fill(PATIENT_PASSWORD)
    page.get_by_role("button", name="Create my account and sign in").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.get_by_role("link", name="Start the questionnaire").click()

    page.get_by_label("Age when your migraines started (years)").fill("16")
    page.get_by_label("Headache days per month", exact=True).fill("22")
    page.get_by_label("Migraine days per month", exact=True).fill("12")
    page.get_by_label("Disabling headache days per month").fill("10")
    page.get_by_label("For how many months have your headaches been this frequent?").fill("14")
    page.get_by_label("For how many months in a row have you had that many disabling days?").fill("12")
    page.get_by_label("About how many migraine attacks have you had in your life?").fill("100")
    save_and_continue(page)

    page.get_by_label("Shortest untreated attack (hours)").fill("6")
    page.get_by_label("Longest untreated attack (hours)").fill("48")
    choose(page, "attack_location", "one_side")
    choose(page, "attack_quality", "throbbing")
    choose(page, "attack_severity", "severe")
    for feature in ("aggravated_by_activity", "nausea_or_vomiting", "photophobia", "phonophobia"):
        page.locator(f"input[name=features][value={feature}]").check()
    choose(page, "aura", "no")
    save_and_continue(page)

    for name, days in {"acute_triptan": "8", "acute_simple_analgesic": "6"}.items():
        page.locator(f"input[name={name}]").fill(days)
    for name in ("acute_ergot", "acute_opioid", "acute_combination_analgesic", "acute_gepant_ditan", "acute_other"):
        page.locator(f"input[name={name}]").fill("0")
    page.locator("input[name=triptans_failed]").fill("2")
    save_and_continue(page)

    for row, (drug_class, name) in enumerate(
        [("antiepileptic", "topiramate"), ("beta_blocker", "propranolol"), ("antidepressant", "amitriptyline")]
    ):
        page.locator(f"select[name=trial-{row}-drug_class]").select_option(drug_class)
        page.locator(f"input[name=trial-{row}-drug_name]").fill(name)
        page.locator(f"select[name=trial-{row}-outcome]").select_option("ineffective")
    save_and_continue(page)

    page.get_by_label("Other diagnoses").fill("None")
    page.get_by_label("Medicines you take now (name, dose, how often)").fill("None")
    page.get_by_label("Allergies (what, and what happened)").fill("None known")
    save_and_continue(page)

    questions = page.locator("main form input[type=radio], main form select").evaluate_all(
        "els => els.map(e => e.name)"
    )
    assert questions, "the safety step shows its yes/no questions"
    for name in sorted(set(questions)):
        choose(page, name, "no")
    save_and_continue(page)

    for name, value in {"q1": "4", "q2": "6", "q3": "5", "q4": "3", "q5": "4", "a": "60", "b": "7"}.items():
        page.locator(f"input[name={name}]").fill(value)
    save_and_continue(page)
    page.get_by_role("button", name="Send my answers to my prescriber").click()
    page.screenshot(path=str(SCREENSHOTS / "portal-after-intake.png"), full_page=True)

    # 4. The prescriber reviews the criteria and approves with a protocol, signing with a password.
    rx = browser.new_context().new_page()
    staff_sign_in(rx, base, live_world, "prescriber")
    rx.goto(f"{base}/patients/{patient.pk}/review/")
    expect(rx.get_by_text("1.3.A").first).to_be_visible()
    rx.screenshot(path=str(SCREENSHOTS / "candidacy-review.png"), full_page=True)
    rx.locator("input[name=decision][value=approved]").check()
    rx.locator("select[name=protocol]").select_option(label="Migraine induction, 6 in 3 weeks")
    rx.get_by_label("Clinical note").fill("Chronic migraine, three preventive classes failed; screen clear.")
    rx.get_by_label("Your password (signs the decision)").fill(PASSWORD)
    rx.get_by_role("button", name="Sign and record this decision").click()
    decision = CandidacyDecision.objects.get(patient=patient)
    assert decision.decision == "approved"

    # 5. The patient sees the outcome, signs the consent and downloads the PDF.
    page.goto(f"{base}/portal/")
    expect(page.get_by_text(re.compile("approved", re.I)).first).to_be_visible()
    page.get_by_role("link", name="Read and sign").click()
    page.get_by_role("link", name=re.compile("Read and sign: Informed consent")).click()
    page.get_by_label(re.compile("name", re.I)).first.fill(patient.full_name)
    page.get_by_label(re.compile("I have read", re.I)).check()
    page.get_by_role("button", name=re.compile("Sign Informed consent")).click()
    assert ConsentSignature.objects.filter(patient=patient).count() == 1
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download PDF")).first.click()
    saved = tmp_path / "consent.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    page.screenshot(path=str(SCREENSHOTS / "portal-consents.png"), full_page=True)
