"""The controlled-substance ledger in headless Chromium (issue 6): a nurse receives a shipment
on the inventory page, prepares a bag from one of its vials in an infusion session, runs the
pump briefly, wastes the remainder with a witness who types their own password, and signs; the
medical director then sees the receipt, the administration and the waste on the 21 CFR
1304.22(c) dispensing record (page, CSV and PDF)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.inventory.choices import EntryKind
from ketaclinic.inventory.models import Container, LedgerEntry
from tests.browser import _chairside as chairside
from tests.browser.test_sign_in import sign_in

SUPPLIER = "Rocky Mountain Pharma Supply Inc"
SUPPLIER_ADDRESS = "88 Distribution Way, Aurora, CO 80011"
SUPPLIER_DEA = "RR7654321"
INVOICE = "INV-7731"
LOT = "KET-2207B"


def test_receipt_bag_and_witnessed_waste_all_appear_on_the_dispensing_record(  # noqa: PLR0915 - one long flow
    page: Page, browser: Browser, live_server: LiveServer, live_world: World
) -> None:
    base = live_server.url
    chairside.open_today(live_world)
    chairside.ketamine_product(live_world)
    today = chairside.local_today(live_world)

    # Receive a shipment of two vials through the inventory pages.
    sign_in(page, base, live_world, "nurse")
    page.goto(f"{base}/inventory/?location={live_world.location.pk}")
    page.get_by_role("link", name="Receive a shipment").first.click()
    expect(page.get_by_role("heading", name=re.compile("^Receive a shipment"))).to_be_visible()
    product = page.get_by_label("Product")
    product.select_option(value=product.locator("option", has_text="Ketamine HCl injection").get_attribute("value"))
    page.get_by_label("Lot number").fill(LOT)
    page.get_by_label("Expiry date").fill((today + timedelta(days=400)).isoformat())
    page.get_by_label("Number of vials received").fill("2")
    page.get_by_label("Supplier name").fill(SUPPLIER)
    page.get_by_label("Supplier address").fill(SUPPLIER_ADDRESS)
    page.get_by_label("Supplier DEA number").fill(SUPPLIER_DEA)
    page.get_by_label("Invoice number").fill(INVOICE)
    chairside.shot(page, "ledger-01-receive")
    page.get_by_role("button", name="Record receipt into stock").click()
    chairside.success(page, re.compile(r"Received 2 vial\(s\): .+\. Label the vials with these IDs\."))
    vials = list(Container.objects.filter(lot__lot_number=LOT).order_by("pk"))
    assert len(vials) == 2
    vial = vials[0]
    assert LedgerEntry.objects.filter(kind=EntryKind.RECEIVE, container__in=vials).count() == 2

    # An infusion session: the bag comes from one of the vials just received.
    session = chairside.check_in_from_board(page, base, live_world)
    chairside.complete_checklist(page, weight_kg="70.0")
    chairside.chart_vitals(page, "#baseline", systolic=126, diastolic=80, heart_rate=70, spo2=98, resp_rate=14, pain=6)
    chairside.success(page, "Vitals saved.")
    chairside.prepare_bag(page, vial.label, drawn_ml="5", final_ml="250")
    expect(page.locator("#pump .bag-summary")).to_contain_text(f"lot {LOT}")
    expect(page.locator("#pump .bag-summary")).to_contain_text(f"from vial {vial.label}")
    dispensed = LedgerEntry.objects.get(kind=EntryKind.DISPENSE, container=vial)
    assert dispensed.ml == 5
    assert dispensed.session_ref == session.ledger_ref

    chairside.start_infusion(page, "21.0")
    chairside.chart_vitals(page, "#vitals", systolic=128, diastolic=82, heart_rate=74, spo2=97, resp_rate=14, pain=4)
    chairside.success(page, "Vitals saved.")
    # A brief run: 21 mg/h for about ten seconds is some 0.06 mg, at least one ledger step of
    # 0.001 mL (0.05 mg) of the 50 mg/mL vial.
    page.wait_for_timeout(10_000)
    chairside.stop_infusion(page)
    chairside.chart_vitals(page, "#vitals", systolic=124, diastolic=78, heart_rate=70, spo2=98, resp_rate=14, pain=2)
    chairside.success(page, "Vitals saved.")
    chairside.score_aldrete_full_marks(page)
    chairside.discharge(page)

    # Signing is refused while the drawn drug is not accounted for.
    expect(page.locator("#signatures .blockers")).to_contain_text("Ketamine not accounted for: dispensed 5.000 mL")
    page.get_by_role("button", name="Sign the record: it becomes read-only").click()
    expect(page.locator("main > .alert--error").filter(has_text="Ketamine not accounted for")).to_be_visible()

    # A witness who is the nurse herself is refused, and nothing is written.
    drug = page.locator("#accountability")
    drug.get_by_label("Witness username").fill("nurse")
    drug.get_by_label("Witness password").fill(PASSWORD)
    drug.get_by_role("button", name="Record administration and witnessed waste").click()
    chairside.expect_not_saved(page, "The witness must be a second person, not the one recording.")
    assert not LedgerEntry.objects.filter(session_ref=session.ledger_ref, kind=EntryKind.WASTE).exists()

    chairside.account_for_drug(page, witness="prescriber")
    chairside.shot(page, "ledger-02-accounted")
    given = LedgerEntry.objects.get(kind=EntryKind.ADMINISTER, session_ref=session.ledger_ref)
    wasted = LedgerEntry.objects.get(kind=EntryKind.WASTE, session_ref=session.ledger_ref)
    assert given.mg > 0
    assert given.ml + wasted.ml == dispensed.ml
    assert wasted.witness == live_world["prescriber"]
    chairside.nurse_sign(page)

    # The medical director opens the dispensing record for today.
    director = chairside.signed_in_page(browser, base, live_world, "director")
    try:
        director.goto(f"{base}/inventory/?location={live_world.location.pk}")
        director.get_by_role("link", name="DEA reports").click()
        director.get_by_label("From (first day)").fill(today.isoformat())
        director.get_by_label("To (last day, included)").fill(today.isoformat())
        director.get_by_role("button", name="Show record").click()
        record = director.locator("section[aria-labelledby='record-title']")
        expect(
            record.get_by_role("heading", name=re.compile(r"Dispensing record \(21 CFR 1304\.22\(c\)\)"))
        ).to_contain_text(f"{today.isoformat()} to {today.isoformat()}")
        chairside.shot(director, "ledger-03-dispensing-record")

        received = _table_after(record, "Received")
        expect(received.locator("tbody tr")).to_have_count(2)
        for text in (SUPPLIER, SUPPLIER_ADDRESS, SUPPLIER_DEA, INVOICE, LOT, vial.label):
            expect(received).to_contain_text(text)

        administered = _table_after(record, "Administered").locator("tbody tr")
        expect(administered).to_have_count(1)
        for text in ("Pat Example", chairside.PATIENT_ADDRESS, f"{given.mg} mg", vial.label, session.ledger_ref):
            expect(administered).to_contain_text(text)
        expect(administered.locator("td").last).to_have_text("NT")  # Nurse Tester's initials

        disposed = _table_after(record, re.compile(r"^Disposed of")).locator("tbody tr")
        expect(disposed).to_have_count(1)
        for text in ("Wasted (witnessed)", f"{wasted.ml} mL", vial.label, "Prescriber Tester"):
            expect(disposed).to_contain_text(text)

        # The CSV carries the same three, with the date in the clinic's time zone.
        with director.expect_download() as download:
            director.get_by_role("link", name="Download CSV").click()
        rows = _csv_rows(download.value.path().read_text())
        receipts = [r for r in rows if r["section"] == "receipt"]
        assert {r["supplier_name"] for r in receipts} == {SUPPLIER}
        assert {r["supplier_dea_number"] for r in receipts} == {SUPPLIER_DEA}
        (administration,) = [r for r in rows if r["section"] == "administered"]
        assert administration["patient_name"] == "Pat Example"
        assert administration["patient_address"] == chairside.PATIENT_ADDRESS
        assert administration["initials"] == "NT"
        assert administration["date_time_local"].startswith(today.isoformat())
        (disposal,) = [r for r in rows if r["section"] == "disposal"]
        assert disposal["kind"] == "Wasted (witnessed)"
        assert disposal["witness"] == "Prescriber Tester"
        assert disposal["date_time_local"].startswith(today.isoformat())

        chairside.assert_pdf_link(director, "Download PDF")
    finally:
        director.context.close()


def _table_after(record: Locator, heading: str | re.Pattern[str]) -> Locator:
    """The table that follows an h4 heading of the record."""
    return record.get_by_role("heading", name=heading, level=4).locator("xpath=following-sibling::div[1]")


def _csv_rows(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("section,"))
    return list(csv.DictReader(io.StringIO("\n".join(lines[header:]))))
