"""A person signing in, in headless Chromium: password, then the one-time code."""

from __future__ import annotations

import re

from django.conf import LazySettings
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from ketaclinic.core.testing import PASSWORD, World, current_code
from tests.browser.conftest import SCREENSHOTS


def sign_in(page: Page, base: str, world: World, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Enter your one-time code")).to_be_visible()
    page.get_by_label("One-time code").fill(current_code(world[username]))
    page.get_by_role("button", name="Verify").click()


def test_nurse_signs_in_with_password_and_code_and_reaches_staff_home(
    page: Page, live_server: LiveServer, live_world: World
) -> None:
    sign_in(page, live_server.url, live_world, "nurse")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", name=re.compile("Good to see you"))).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "staff-home.png"), full_page=True)


def test_a_wrong_code_is_refused_in_plain_words(page: Page, live_server: LiveServer, live_world: World) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("One-time code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code did not match")).to_be_visible()
    page.goto(f"{live_server.url}/staff/")
    expect(page).to_have_url(re.compile(r"/accounts/verify/"))


def test_inactivity_signs_the_nurse_out_without_a_click(
    page: Page, live_server: LiveServer, live_world: World, settings: LazySettings
) -> None:
    settings.IDLE_TIMEOUT_SECONDS = 3
    sign_in(page, live_server.url, live_world, "nurse")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    # The page counts down itself and reloads; the server then signs the session out.
    expect(page).to_have_url(re.compile(r"/accounts/login/"), timeout=15_000)
    expect(page.get_by_text("signed out after a period of inactivity")).to_be_visible()
    page.goto(f"{live_server.url}/patients/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
