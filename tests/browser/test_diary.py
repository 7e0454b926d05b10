"""A patient fills in today's diary in the portal; the clinician's calendar shows it."""

from __future__ import annotations

import re

from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from ketaclinic.core.testing import PASSWORD, World
from ketaclinic.outcomes.models import DiaryEntry
from ketaclinic.outcomes.queries import local_today
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_sign_in import sign_in


def test_patient_enters_a_headache_day_and_the_clinicians_chart_shows_it(
    page: Page, live_server: LiveServer, live_world: World
) -> None:
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("patient")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{base}/portal/diary/")
    expect(page.get_by_role("heading", name="My headache diary")).to_be_visible()
    page.get_by_role("link", name="Yes, I had a headache").click()
    # The day page: the headache fields sit behind "Yes", a <details> that works without script.
    page.locator("summary", has_text="Yes, I had a headache").click()
    page.get_by_label("Severe").check()
    page.get_by_label("How long did it last?").select_option("240")
    page.get_by_label("On one side of the head").check()
    page.get_by_label("Throbbing or pulsing").check()
    page.get_by_label("Nausea").check()
    page.get_by_label("Triptan").check()
    page.get_by_role("button", name="Save headache day").click()
    expect(page.get_by_text(re.compile("Saved: headache day"))).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "portal-diary.png"), full_page=True)

    today = local_today(live_world.patient, timezone.now())
    assert DiaryEntry.objects.get(patient=live_world.patient, date=today).med_triptan

    page.context.clear_cookies()
    sign_in(page, base, live_world, "nurse")
    page.goto(f"{base}/outcomes/patients/{live_world.patient.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Outcomes: Pat Example"))).to_be_visible()
    cell = page.locator("rect.hm--migraine title", has_text=f"{today:%a %d %b %Y}: migraine day")
    expect(cell).to_have_count(1)
    expect(page.get_by_text("Migraine day (1)")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "clinician-outcomes.png"), full_page=True)
