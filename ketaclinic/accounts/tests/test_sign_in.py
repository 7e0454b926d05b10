from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts import actions
from ketaclinic.core.middleware import LAST_SEEN_KEY, LAST_SEEN_RESOLUTION_SECONDS
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import PASSWORD, World, current_code, signed_in_client


def _password_step(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR="10.0.0.7")


def test_nurse_signs_in_with_password_then_code_and_reaches_staff_home(world: World) -> None:
    client = Client()
    response = _password_step(client, "nurse")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))
    # Before the code, staff pages send the nurse back to the code step.
    assert client.get(reverse("core:home"))["Location"].startswith(reverse("accounts:verify"))
    response = client.post(reverse("accounts:verify"), {"code": current_code(world["nurse"])})
    assert response.status_code == 302
    home = client.get(reverse("core:home"))
    assert home.status_code == 200
    assert "Good to see you" in home.content.decode()
    assert AuditEvent.objects.filter(actor=world["nurse"], action=AuditEvent.Action.SIGN_IN).count() == 2


def test_wrong_code_is_refused_with_a_clear_message_and_leaves_the_user_unverified(world: World) -> None:
    client = Client()
    _password_step(client, "nurse")
    good = current_code(world["nurse"])
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:verify"), {"code": wrong})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert client.get(reverse("patients:list"))["Location"].startswith(reverse("accounts:verify"))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED, reason="wrong one-time code").count() == 1


def test_repeated_wrong_codes_are_throttled_even_if_the_next_code_is_right(world: World) -> None:
    client = Client()
    _password_step(client, "nurse")
    for _ in range(3):
        client.post(reverse("accounts:verify"), {"code": "000000"})
    response = client.post(reverse("accounts:verify"), {"code": current_code(world["nurse"])})
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("core:home")).status_code == 302


def test_wrong_password_gives_a_clear_message_and_signs_nobody_in(world: World) -> None:
    client = Client()
    response = _password_step(client, "nurse", "not-the-password")
    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_account_locks_after_repeated_failures_and_refuses_even_the_right_password(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password_step(client, "nurse", "wrong-password-guess")
    response = _password_step(client, "nurse")
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED, reason="account locked").exists()


def test_staff_without_an_authenticator_must_enrol_by_qr_code_first(world: World) -> None:
    TOTPDevice.objects.filter(user=world["billing"]).delete()
    client = Client()
    response = _password_step(client, "billing")
    assert response["Location"].startswith(reverse("accounts:mfa_setup"))
    page = client.get(reverse("accounts:mfa_setup"))
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=world["billing"], confirmed=False)
    assert client.post(reverse("accounts:mfa_setup"), {"code": "123456"}).status_code == 200
    assert not TOTPDevice.objects.filter(user=world["billing"], confirmed=True).exists()
    code = f"{TOTP(device.bin_key).token():06d}"
    response = client.post(reverse("accounts:mfa_setup"), {"code": code})
    assert response["Location"] == reverse("accounts:recovery_codes")
    codes_page = client.get(reverse("accounts:recovery_codes")).content.decode()
    assert StaticToken.objects.filter(device__user=world["billing"]).count() == settings.RECOVERY_CODE_COUNT
    assert client.get(reverse("core:home")).status_code == 200
    # Shown once only.
    assert client.get(reverse("accounts:recovery_codes")).status_code == 302
    assert codes_page.count("-") >= settings.RECOVERY_CODE_COUNT


def test_a_recovery_code_works_once(world: World) -> None:
    user = world["prescriber"]
    codes = actions.regenerate_recovery_codes(acting_user=user)
    first = Client()
    _password_step(first, "prescriber")
    first.post(reverse("accounts:verify"), {"code": codes[0]})
    assert first.get(reverse("core:home")).status_code == 200
    second = Client()
    _password_step(second, "prescriber")
    response = second.post(reverse("accounts:verify"), {"code": codes[0]})
    assert "did not match" in response.content.decode()


def test_patient_signs_in_with_password_only_and_lands_in_the_portal(world: World) -> None:
    client = Client()
    response = _password_step(client, "patient")
    assert response["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200


def test_inactivity_signs_the_user_out_on_the_next_request(world: World) -> None:
    client = signed_in_client(world["nurse"])
    assert client.get(reverse("core:home")).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - settings.IDLE_TIMEOUT_SECONDS - 5
    session.save()
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_OUT, reason="inactivity").count() == 1


def test_a_background_poll_does_not_keep_an_idle_screen_signed_in(world: World) -> None:
    client = signed_in_client(world["nurse"])
    assert client.get(reverse("core:home")).status_code == 200
    session = client.session
    idle_since = time.time() - settings.IDLE_TIMEOUT_SECONDS + 30
    session[LAST_SEEN_KEY] = idle_since
    session.save()
    # A page's own refresh (the chairside page, the day board) is not a person at the screen.
    assert client.get(reverse("core:home"), headers={"X-Background-Poll": "1"}).status_code == 200
    assert client.session[LAST_SEEN_KEY] == idle_since
    # A person's request is.
    client.get(reverse("core:home"))
    assert client.session[LAST_SEEN_KEY] > idle_since


def test_activity_is_stored_at_most_every_few_seconds_so_a_busy_page_does_not_write_each_time(
    world: World,
) -> None:
    client = signed_in_client(world["nurse"])
    assert client.get(reverse("core:home")).status_code == 200
    session = client.session
    recent = time.time() - LAST_SEEN_RESOLUTION_SECONDS / 3
    session[LAST_SEEN_KEY] = recent
    session.save()
    client.get(reverse("core:home"))
    assert client.session[LAST_SEEN_KEY] == recent  # within the resolution: nothing written
    session = client.session
    older = time.time() - LAST_SEEN_RESOLUTION_SECONDS - 1
    session[LAST_SEEN_KEY] = older
    session.save()
    client.get(reverse("core:home"))
    assert client.session[LAST_SEEN_KEY] > older  # stored again


def test_sign_out_is_a_post_and_is_audited(world: World) -> None:
    client = signed_in_client(world["nurse"])
    assert client.get(reverse("accounts:logout")).status_code == 200
    assert "_auth_user_id" in client.session
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_OUT, actor=world["nurse"]).exists()


@pytest.mark.parametrize("path", ["/staff/", "/patients/"])
def test_anonymous_visitors_are_sent_to_sign_in(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
