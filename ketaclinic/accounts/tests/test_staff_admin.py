from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.models import User
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import World, signed_in_client


def test_administrator_creates_a_staff_account_with_roles_and_locations(world: World) -> None:
    client = signed_in_client(world["admin"])
    response = client.post(
        reverse("accounts:staff_new"),
        {
            "username": "newnurse",
            "first_name": "Nia",
            "last_name": "Newton",
            "email": "nia@example.org",
            "credentials": "RN",
            "roles": ["nurse", "front_desk"],
            "locations": [world.location.pk],
            "is_active": "on",
            "password": "a-long-enough-passphrase-1",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newnurse")
    assert user.role_set == {Role.NURSE, Role.FRONT_DESK}
    assert user.works_at(world.location.pk)
    assert not user.works_at(world.other_location.pk)
    event = AuditEvent.objects.filter(object_type="accounts.User", object_id=str(user.pk), action="create").get()
    assert event.actor == world["admin"]
    assert event.changes["roles"] == [None, ["front_desk", "nurse"]]


def test_staff_form_refuses_a_weak_password_and_creates_nothing(world: World) -> None:
    client = signed_in_client(world["admin"])
    before = User.objects.count()
    response = client.post(
        reverse("accounts:staff_new"),
        {
            "username": "weak",
            "first_name": "W",
            "last_name": "K",
            "email": "w@example.org",
            "roles": ["nurse"],
            "locations": [world.location.pk],
            "password": "password",
        },
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode() or "too common" in response.content.decode()
    assert User.objects.count() == before


def test_editing_roles_records_old_and_new_values(world: World) -> None:
    client = signed_in_client(world["admin"])
    nurse = world["nurse"]
    client.post(
        reverse("accounts:staff_edit", args=[nurse.pk]),
        {
            "first_name": nurse.first_name,
            "last_name": nurse.last_name,
            "email": "n@example.org",
            "roles": ["nurse", "prescriber"],
            "locations": [world.location.pk],
            "is_active": "on",
        },
    )
    event = AuditEvent.objects.filter(object_id=str(nurse.pk), action="update").latest("id")
    assert event.changes["roles"] == [["nurse"], ["nurse", "prescriber"]]


def test_administrator_cannot_remove_their_own_administrator_role(world: World) -> None:
    admin = world["admin"]
    client = signed_in_client(admin)
    response = client.post(
        reverse("accounts:staff_edit", args=[admin.pk]),
        {
            "first_name": "A",
            "last_name": "B",
            "email": "a@example.org",
            "roles": ["nurse"],
            "all_locations": "on",
            "is_active": "on",
        },
    )
    assert "cannot remove your own administrator role" in response.content.decode()
    assert Role.ADMINISTRATOR in User.objects.get(pk=admin.pk).role_set


def test_resetting_mfa_removes_the_authenticator_and_is_audited(world: World) -> None:
    client = signed_in_client(world["admin"])
    client.post(reverse("accounts:staff_reset_mfa", args=[world["nurse"].pk]))
    assert not TOTPDevice.objects.filter(user=world["nurse"]).exists()
    assert AuditEvent.objects.filter(action="mfa", object_id=str(world["nurse"].pk)).exists()


def test_create_administrator_command_makes_an_all_locations_administrator(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "first-admin-passphrase-77")
    call_command("create_administrator", "firstadmin", email="first@example.org", stdout=io.StringIO())
    user = User.objects.get(username="firstadmin")
    assert user.role_set == {Role.ADMINISTRATOR}
    assert user.all_locations
    assert user.check_password("first-admin-passphrase-77")


def test_create_administrator_command_refuses_a_weak_password(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match="too short"):
        call_command("create_administrator", "weakadmin", email="w@example.org")
    assert not User.objects.filter(username="weakadmin").exists()
