"""A whole infusion in headless Chromium (issue 5): the nurse checks the booking in from the
day board, works through the chairside page from checklist to signature, a prescriber
co-signs on a second screen, and the locked record comes out as a PDF."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.infusions.models import EventKind, InfusionSession, SessionStatus
from ketaclinic.inventory.tests.factories import receive
from tests.browser import _chairside as chairside
from tests.browser.test_sign_in import sign_in


def test_nurse_runs_a_whole_infusion_from_check_in_to_a_co_signed_pdf(  # noqa: PLR0915 - one long flow
    page: Page, browser: Browser, live_server: LiveServer, live_world: World
) -> None:
    base = live_server.url
    chairside.open_today(live_world)
    vial = receive(live_world)[0]  # 50 mg/mL, 10 mL vial received into stock

    # Check in from the day board: the chairside record opens.
    sign_in(page, base, live_world, "nurse")
    session = chairside.check_in_from_board(page, base, live_world)
    chairside.shot(page, "infusion-01-checked-in")

    chairside.complete_checklist(page, weight_kg="70.0")
    expect(page.locator(".chairside-facts")).to_contain_text("70.0 kg")
    expect(page.locator(".chairside-facts")).to_contain_text(chairside.ESCORT)

    chairside.chart_vitals(page, "#baseline", systolic=136, diastolic=82, heart_rate=72, spo2=98, resp_rate=14, pain=7)
    chairside.success(page, "Vitals saved.")
    expect(page.locator("#baseline")).to_contain_text("136/82 mmHg")

    # The bag: 5 mL of 50 mg/mL in 250 mL = 1 mg/mL; the pump rate is shown large, with units.
    chairside.prepare_bag(page, vial.label, drawn_ml="5", final_ml="250")
    pump = page.locator("#pump")
    expect(pump.locator(".bag-summary")).to_contain_text("= 1 mg/mL")
    expect(pump.locator(".pump-rate__value")).to_have_text("21.0")
    expect(pump.locator(".pump-rate__unit")).to_have_text("mL/h")
    expect(pump).to_contain_text("for the start dose of 0.3 mg/kg/h × 70.0 kg ÷ 1 mg/mL")
    chairside.shot(page, "infusion-02-pump-rate")

    chairside.start_infusion(page, "21.0")
    expect(page.locator("#region-status .pump-rate__value")).to_have_text("21.0")

    chairside.chart_vitals(page, "#vitals", systolic=134, diastolic=84, heart_rate=78, spo2=97, resp_rate=14, pain=5)
    chairside.success(page, "Vitals saved.")
    flowsheet = page.locator("#region-flowsheet table.flowsheet")
    expect(flowsheet.locator("tbody tr")).to_have_count(2)
    expect(flowsheet.locator("tbody tr").first).to_contain_text("134/84")

    # Systolic 172 crosses the protocol's 160 mmHg alert line: an alert to acknowledge.
    chairside.chart_vitals(page, "#vitals", systolic=172, diastolic=90, heart_rate=84, spo2=97, resp_rate=15, pain=4)
    chairside.success(page, "Vitals saved. 1 alert(s) raised: acknowledge each with the action taken.")
    alert = page.locator("#region-alerts .alert-item")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Systolic 172 mmHg is above 160 mmHg")
    expect(page.locator("#region-alerts h2")).to_have_text("1 alert to acknowledge")
    expect(flowsheet.locator("tbody tr").first).to_have_class(re.compile("flowsheet__row--flagged"))
    chairside.shot(page, "infusion-03-alert")
    alert.get_by_label("Action taken").fill("Rate held, patient reassured, BP rechecked in 5 min")
    alert.get_by_role("button", name="Acknowledge").click()
    chairside.success(page, "Alert acknowledged: Systolic 172 mmHg is above 160 mmHg")
    expect(page.locator("#region-alerts .alert-item")).to_have_count(0)

    # Above the soft limit: refused without an override, given with the prescriber's credentials.
    pump.get_by_label("New dose (mg/kg/h)", exact=True).fill("1.1")
    pump.get_by_label("Reason for the change").fill("Pain 4/10, tolerating well, no dissociation")
    pump.get_by_role("button", name="Change the rate").click()
    chairside.expect_not_saved(page, "1.1 mg/kg/h is above the soft limit of 1 mg/kg/h")
    soft = pump.get_by_role("group", name="Soft limit: a prescriber's acknowledgement")
    expect(soft).to_be_visible()
    expect(pump.get_by_label("New dose (mg/kg/h)", exact=True)).to_have_value("1.1")
    assert _rate_changes(session) == 0
    chairside.shot(page, "infusion-04-soft-limit-refused")
    soft.get_by_label("Override reason (soft limit)").fill("Refractory pain; prescriber reviewed at the chair")
    soft.get_by_label("Prescriber username").fill("prescriber")
    soft.get_by_label("Prescriber password").fill(PASSWORD)
    pump.get_by_role("button", name="Change the rate").click()
    chairside.success(
        page,
        re.compile(
            r"Rate changed to 1\.1(00)? mg/kg/h: programme the pump to 77\.0 mL/h\. "
            r"Soft-limit override by Prescriber Tester\."
        ),
    )
    expect(page.locator("#region-status .pump-rate__value")).to_have_text("77.0")
    timeline = page.locator("#region-timeline")
    expect(timeline.locator(".timeline__item")).to_have_count(2)
    expect(timeline.locator(".timeline__item").last).to_contain_text("soft-limit override")
    expect(timeline.locator(".timeline__item").last).to_contain_text("(Prescriber Tester)")

    # Above the hard limit: refused with the message, and nothing is written.
    pump.get_by_label("New dose (mg/kg/h)", exact=True).fill("2.5")
    pump.get_by_label("Reason for the change").fill("Pain not controlled")
    pump.get_by_role("button", name="Change the rate").click()
    chairside.expect_not_saved(page, "2.5 mg/kg/h is above the hard limit of 2 mg/kg/h")
    expect(pump.get_by_text("Refused: above the hard limit.")).to_be_visible()
    expect(page.locator("#region-timeline .timeline__item")).to_have_count(2)
    assert _rate_changes(session) == 1
    chairside.shot(page, "infusion-05-hard-limit-refused")

    chairside.stop_infusion(page)
    expect(page.locator("#region-timeline .timeline__item")).to_have_count(3)
    expect(page.locator("#region-status .totals")).to_contain_text("mg")

    # Recovery: vitals, the modified Aldrete score, then discharge to the named escort.
    chairside.chart_vitals(page, "#vitals", systolic=128, diastolic=80, heart_rate=74, spo2=98, resp_rate=14, pain=2)
    chairside.success(page, "Vitals saved.")
    expect(page.locator("#recovery .blockers")).to_contain_text("Score recovery (modified Aldrete) before discharge.")
    chairside.score_aldrete_full_marks(page)
    chairside.shot(page, "infusion-06-recovery")
    chairside.discharge(page)

    chairside.account_for_drug(page, witness="prescriber")
    chairside.nurse_sign(page)
    chairside.shot(page, "infusion-07-nurse-signed")

    # The prescriber co-signs on their own screen; the record locks.
    prescriber = chairside.signed_in_page(browser, base, live_world, "prescriber")
    try:
        chairside.cosign(prescriber, base, session)
        chairside.shot(prescriber, "infusion-08-locked")
        done = InfusionSession.objects.get(pk=session.pk)
        assert done.status == SessionStatus.LOCKED
        assert done.nurse_signed_by == live_world["nurse"]
        assert done.cosigned_by == live_world["prescriber"]

        prescriber.get_by_role("link", name="Printable record and PDF").click()
        expect(prescriber.get_by_role("link", name="Download PDF")).to_be_visible()
        chairside.assert_pdf_link(prescriber, "Download PDF")
    finally:
        prescriber.context.close()


def _rate_changes(session: InfusionSession) -> int:
    return session.events.filter(kind=EventKind.TITRATE).count()
