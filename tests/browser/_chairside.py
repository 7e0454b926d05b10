"""Shared steps of the chairside browser tests: the setup the issues do not ask to be clicked
(opening hours and shifts for today, the protocol, the order, today's booking, a product), and
the clicks and typing a nurse does on the day board and the session page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from django.forms.models import model_to_dict
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from ketaclinic.clinics.models import Chair
from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.infusions import actions as infusions
from ketaclinic.infusions.models import InfusionSession, ProtocolVersion
from ketaclinic.inventory.models import Product
from ketaclinic.inventory.tests.factories import make_product
from ketaclinic.patients.actions import update_demographics
from ketaclinic.scheduling import actions as scheduling
from ketaclinic.scheduling.choices import ShiftPresence, ShiftRole
from ketaclinic.scheduling.models import Booking, StaffShift
from ketaclinic.scheduling.tests.factories import protocol
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_sign_in import sign_in

ESCORT = "Sam Escort"
ESCORT_PHONE = "+13035550142"
ADDRESS = {"address_line1": "12 Aspen Lane", "city": "Denver", "state": "CO", "postal_code": "80203"}
PATIENT_ADDRESS = "12 Aspen Lane, Denver, CO 80203"


@dataclass
class Clinic:
    """What the setup made: today's infusion booking and the order it runs under."""

    today: date
    booking: Booking
    version: ProtocolVersion


def local_today(world: World) -> date:
    return timezone.localtime(timezone.now(), ZoneInfo(world.location.time_zone)).date()


def open_today(world: World) -> Clinic:
    """Opening hours every weekday (so the test runs on any day), today's nurse and prescriber
    shifts, a protocol version with no minimum recovery time (published before the order, so
    discharge can follow the stop at once without moving the clock), the prescriber's order,
    the patient's address and escort, and an induction booking today at 08:00 on Chair 1."""
    location = world.location
    zone = ZoneInfo(location.time_zone)
    for weekday in range(7):
        scheduling.set_opening_hours(
            acting_user=None, location=location, weekday=weekday, opens=time(8), closes=time(17)
        )
    today = local_today(world)
    for user, role in ((world["nurse"], ShiftRole.NURSE), (world["prescriber"], ShiftRole.PRESCRIBER)):
        StaffShift.objects.create(
            user=user,
            location=location,
            start=datetime.combine(today, time(8), tzinfo=zone),
            end=datetime.combine(today, time(17), tzinfo=zone),
            role=role,
            presence=ShiftPresence.ON_SITE,
        )
    made = protocol()
    first = made.current_version
    assert first is not None
    fields = [f for f in infusions.VERSION_FIELDS if f != "change_note"]
    version = infusions.publish_protocol_version(
        acting_user=world["director"],
        protocol=made,
        values={**model_to_dict(first, fields=fields), "recovery_min_minutes": 0},
        change_note="Browser test: no minimum recovery time, so discharge can follow the stop at once.",
    )
    infusions.write_order(acting_user=world["prescriber"], patient=world.patient, protocol_version=version)
    update_demographics(acting_user=world["frontdesk"], patient=world.patient, **ADDRESS)
    chair = Chair.objects.filter(location=location).order_by("name").first()
    start = datetime.combine(today, time(8), tzinfo=zone)
    booking = scheduling.book_appointment(
        acting_user=world["frontdesk"],
        patient=world.patient,
        kind="induction",
        start=start,
        end=start + timedelta(minutes=190),
        chair=chair,
    )
    return Clinic(today, booking, version)


def ketamine_product(world: World) -> Product:
    """The 50 mg/mL, 10 mL vial the location buys (the medical director's setup)."""
    return make_product(world.location, world["director"])


def signed_in_page(browser: Browser, base: str, world: World, username: str) -> Page:
    """A second person on a second screen: a fresh browser context, signed in with a code."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, world, username)
    expect(page).to_have_url(re.compile(r"/staff/$"))
    return page


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def success(page: Page, text: str | re.Pattern[str]) -> None:
    """The confirmation the page shows after a saved step."""
    expect(page.locator("main > .alert--success").filter(has_text=text)).to_be_visible()


def check_in_from_board(page: Page, base: str, world: World) -> InfusionSession:
    page.goto(f"{base}/schedule/?location={world.location.pk}")
    page.get_by_role("button", name=re.compile(r"^PE 08:00: check in and open the chairside record$")).click()
    expect(page.get_by_role("heading", name="Pre-infusion checklist")).to_be_visible()
    success(page, "checked in: complete the pre-infusion checklist")
    session = InfusionSession.objects.get(booking__patient=world.patient)
    expect(page).to_have_url(re.compile(rf"/infusions/sessions/{session.pk}/$"))
    return session


def complete_checklist(page: Page, weight_kg: str = "70.0") -> None:
    checklist = page.locator("#checklist")
    for box in checklist.get_by_role("group", name=re.compile("Protocol checklist")).get_by_role("checkbox").all():
        box.check()
    checklist.get_by_label("Today's weight (kg)").fill(weight_kg)
    checklist.get_by_label(re.compile(r"^Fasted at least")).check()
    checklist.get_by_label("Not pregnant").check()
    checklist.get_by_label("Escort's name").fill(ESCORT)
    checklist.get_by_label("Escort's phone").fill(ESCORT_PHONE)
    checklist.get_by_label(re.compile("I spoke with this escort")).check()
    checklist.get_by_role("button", name="Complete checklist").click()
    success(page, f"Checklist complete. Weight {weight_kg} kg recorded.")


def chart_vitals(  # noqa: PLR0913 - one field per vital sign typed
    page: Page,
    section: str,
    *,
    systolic: int,
    diastolic: int,
    heart_rate: int,
    spo2: int,
    resp_rate: int,
    pain: int | None = None,
) -> None:
    """Type a vitals set into the form of ``section`` (#baseline before the start, #vitals after)."""
    form = page.locator(f"{section} form.vitals-form")
    form.get_by_label("Systolic (mmHg)").fill(str(systolic))
    form.get_by_label("Diastolic (mmHg)").fill(str(diastolic))
    form.get_by_label("Heart rate (/min)").fill(str(heart_rate))
    form.get_by_label("SpO₂ (%)").fill(str(spo2))
    form.get_by_label("Resp. rate (/min)").fill(str(resp_rate))
    if pain is not None:
        form.get_by_label("Pain (0–10)").fill(str(pain))
    form.get_by_role("button", name="Save vitals").click()


def prepare_bag(page: Page, vial_label: str, *, drawn_ml: str, final_ml: str) -> None:
    pump = page.locator("#pump")
    vial = pump.get_by_label("Vial (from this location's stock)")
    option = vial.locator("option", has_text=vial_label)
    vial.select_option(value=option.get_attribute("value"))
    pump.get_by_label("Drawn from the vial (mL)").fill(drawn_ml)
    pump.get_by_label("Final bag volume (mL)").fill(final_ml)
    pump.get_by_role("button", name=re.compile("^Prepare bag")).click()
    success(page, re.compile(rf"Bag prepared: .* dispensed from {re.escape(vial_label)} on the ledger"))


def start_infusion(page: Page, programmed_ml_per_h: str) -> None:
    pump = page.locator("#pump")
    pump.get_by_label("I programmed the pump at (mL/h)").fill(programmed_ml_per_h)
    pump.get_by_role("button", name=re.compile("^Start the infusion now")).click()
    success(page, re.compile(rf"Infusion started at .* mg/kg/h = {re.escape(programmed_ml_per_h)} mL/h\."))
    expect(page.locator("[data-status-label]")).to_have_text("Infusing")


def stop_infusion(page: Page) -> None:
    pump = page.locator("#pump")
    expect(pump.get_by_label("Reason for stopping")).to_have_value("Infusion complete")
    pump.get_by_role("button", name=re.compile("^Stop the infusion")).click()
    success(page, "Infusion stopped. Recovery has started")
    expect(page.get_by_role("heading", name="Recovery and discharge")).to_be_visible()


def score_aldrete_full_marks(page: Page) -> None:
    recovery = page.locator("#recovery")
    for label in (
        "2 · Moves all four limbs on command",
        "2 · Breathes deeply and coughs freely",
        "2 · BP within ±20 mmHg of baseline",
        "2 · Fully awake",
        "2 · SpO₂ > 92% on room air",
    ):
        recovery.get_by_label(label).check()
    recovery.get_by_role("button", name="Save Aldrete score").click()
    success(page, "Aldrete 10/10 recorded; it meets the discharge threshold of 9.")


def discharge(page: Page) -> None:
    recovery = page.locator("#recovery")
    expect(recovery.get_by_text("The protocol's discharge rule holds.")).to_be_visible()
    recovery.get_by_label("Escort taking the patient home").fill(ESCORT)
    recovery.get_by_role("button", name="Discharge home with this escort").click()
    success(page, f"Discharged home with {ESCORT}.")


def account_for_drug(page: Page, witness: str) -> None:
    """Record the computed total as administered and waste the rest, the witness typing their
    own password on this screen."""
    drug = page.locator("#accountability")
    drug.get_by_label("Waste method for the remainder").select_option(label="Into a drug-denaturing waste container")
    drug.get_by_label("Witness username").fill(witness)
    drug.get_by_label("Witness password").fill(PASSWORD)
    drug.get_by_role("button", name="Record administration and witnessed waste").click()
    success(page, re.compile(r"Ketamine accounted for: .* mL administered, .* mL wasted with a witness\."))
    expect(drug.get_by_text("Balanced on the ledger")).to_be_visible()


def nurse_sign(page: Page) -> None:
    page.get_by_role("button", name="Sign the record: it becomes read-only").click()
    success(page, "Signed. A prescriber co-signs next")
    expect(page.locator("[data-status-label]")).to_have_text("Signed by nurse")


def cosign(page: Page, base: str, session: InfusionSession) -> None:
    page.goto(f"{base}/infusions/sessions/{session.pk}/")
    page.get_by_role("button", name="Co-sign and lock the record").click()
    success(page, "Co-signed. The record is locked")
    expect(page.locator("[data-status-label]")).to_have_text("Co-signed and locked")


def expect_not_saved(page: Page, message: str) -> None:
    """A refused step: the summary at the top and the message beside the field it names."""
    expect(page.locator("main > .alert--error").filter(has_text=f"Not saved: {message}")).to_be_visible()
    expect(page.locator(".field--invalid").filter(has_text=message)).to_be_visible()


def assert_pdf_link(page: Page, name: str) -> bytes:
    """Follow a PDF link as the browser does (a download) and check what the server answers."""
    link = page.get_by_role("link", name=name)
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    body = path.read_bytes()
    assert body.startswith(b"%PDF"), body[:20]
    href = link.get_attribute("href")
    assert href is not None
    response = page.context.request.get(urljoin(page.url, href))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    return body
