"""Booking an induction series in headless Chromium: the front desk opens the patient's
appointments page, asks for a series, moves one proposed session, and confirms all six."""

from __future__ import annotations

import re
from datetime import time, timedelta

from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from ketaclinic.core.testing import World
from ketaclinic.scheduling.models import Booking
from ketaclinic.scheduling.tests.factories import chairs, local, next_monday, open_clinic, protocol
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_sign_in import sign_in


def test_books_a_series_from_the_patient_page_moves_one_session_and_confirms(
    page: Page, live_server: LiveServer, live_world: World
) -> None:
    monday = next_monday()
    open_clinic(live_world, monday)
    protocol()
    sign_in(page, live_server.url, live_world, "frontdesk")
    page.goto(f"{live_server.url}/schedule/patients/{live_world.patient.pk}/")
    expect(page.get_by_role("heading", name="Book induction series")).to_be_visible()
    page.get_by_label("Earliest first infusion").fill(monday.isoformat())
    page.get_by_role("button", name="Propose a series").click()
    expect(page.get_by_role("heading", name="Proposed series")).to_be_visible()
    expect(page.get_by_role("cell", name="1 of 6")).to_be_visible()

    moved_day = monday + timedelta(days=3)
    chair = chairs(live_world)[3]
    page.get_by_label("New day").fill(moved_day.isoformat())
    page.get_by_label("New start time").fill("13:00")
    page.get_by_label("Chair").select_option(str(chair.pk))
    page.get_by_role("button", name="Move and re-solve").click()
    expect(page.get_by_role("heading", name=re.compile("re-solved around your move"))).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "series-proposal.png"), full_page=True)

    page.get_by_role("button", name="Confirm and book 6 sessions").click()
    expect(page.get_by_text("Series booked: 6 appointments.")).to_be_visible()
    expect(page.get_by_role("heading", name="Booked sessions")).to_be_visible()
    bookings = list(Booking.objects.filter(patient=live_world.patient).order_by("start"))
    assert len(bookings) == 6
    assert any(b.chair_id == chair.pk and b.start == local(live_world.location, moved_day, time(13)) for b in bookings)
