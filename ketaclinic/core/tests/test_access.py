"""Location scoping and break-glass access to patient records."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from config import settings as production
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.patients.models import BreakGlassGrant


def test_patient_list_shows_only_patients_at_the_users_locations(world: World) -> None:
    html = signed_in_client(world["nurse"]).get(reverse("patients:list")).content.decode()
    assert "Example, Pat" in html
    assert "Elsewhere" not in html


def test_staff_outside_the_location_must_state_a_reason_to_open_a_record(world: World) -> None:
    client = signed_in_client(world["outsider"])
    url = reverse("patients:detail", args=[world.patient.pk])
    response = client.get(url)
    assert response["Location"] == reverse("patients:break_glass", args=[world.patient.pk])
    form = client.get(response["Location"]).content.decode()
    assert "Example" not in form  # no name or health data before access is granted
    refused = client.post(response["Location"], {"reason": "need it"})
    assert refused.status_code == 200
    assert not BreakGlassGrant.objects.exists()
    client.post(response["Location"], {"reason": "Patient arrived at our site needing urgent review"})
    page = client.get(url)
    assert page.status_code == 200
    assert "Emergency access" in page.content.decode()
    flagged = AuditEvent.objects.filter(is_break_glass=True, actor=world["outsider"]).get()
    assert flagged.reason == "Patient arrived at our site needing urgent review"
    assert flagged.patient_id == world.patient.pk


def test_roles_without_patient_access_cannot_break_glass(world: World) -> None:
    client = signed_in_client(world["admin"])
    assert client.get(reverse("patients:break_glass", args=[world.patient.pk])).status_code == 403


def test_production_settings_use_argon2_and_pass_the_deploy_check() -> None:
    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "clinic.example.org",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_request_in_a_locations_time_zone_does_not_leak_it_to_later_code(world: World) -> None:
    signed_in_client(world["nurse"]).get(reverse("core:home"))
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
