"""Portal invitations: emailed, expiring, single-use; accepting creates a linked PATIENT user."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.messaging.models import Message
from ketaclinic.patients.actions import InvitationUnusable, accept_portal_invitation, invite_to_portal, register_patient
from ketaclinic.patients.models import Patient, PortalInvitation

NEW_PASSWORD = "violet-otter-lantern-42"


@pytest.fixture
def invitee(world: World) -> Patient:
    return register_patient(
        acting_user=world["frontdesk"],
        location=world.location,
        first_name="Ivy",
        last_name="Invitee",
        date_of_birth=timezone.localdate().replace(year=1990),
        email="ivy@example.org",
    )


def _token_from_email(patient: Patient) -> str:
    message = Message.objects.filter(patient=patient).order_by("-id").first()
    assert message is not None
    match = re.search(r"/portal/invitation/([A-Za-z0-9_\-]+)/", message.body)
    assert match is not None
    return match.group(1)


def test_invitation_emails_a_link_and_stores_only_the_token_hash(world: World, invitee: Patient) -> None:
    invitation = invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    token = _token_from_email(invitee)
    assert token not in invitation.token_hash
    assert invitation.state == "valid"


def test_invitation_needs_an_email_address(world: World) -> None:
    with pytest.raises(ValidationError, match="email"):
        invite_to_portal(acting_user=world["frontdesk"], patient=world.other_patient)
    assert not PortalInvitation.objects.exists()


def test_a_new_invitation_revokes_the_older_unused_one(world: World, invitee: Patient) -> None:
    first = invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    old_token = _token_from_email(invitee)
    invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    first.refresh_from_db()
    assert first.state == "revoked"
    response = Client().get(f"/portal/invitation/{old_token}/")
    assert response.status_code == 410
    assert b"replaced" in response.content


def test_accepting_creates_a_patient_user_linked_to_the_record_and_signs_in(world: World, invitee: Patient) -> None:
    invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    token = _token_from_email(invitee)
    client = Client()
    page = client.get(f"/portal/invitation/{token}/")
    assert page.status_code == 200
    response = client.post(
        f"/portal/invitation/{token}/",
        {"username": "ivy@example.org", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    invitee.refresh_from_db()
    assert invitee.user is not None
    assert invitee.user.role_set == {Role.PATIENT}
    assert client.get("/portal/").status_code == 200


def test_an_invitation_works_only_once(world: World, invitee: Patient) -> None:
    invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    token = _token_from_email(invitee)
    accept_portal_invitation(acting_user=None, raw_token=token, username="ivy1", password=NEW_PASSWORD)
    users = User.objects.count()
    with pytest.raises(InvitationUnusable):
        accept_portal_invitation(acting_user=None, raw_token=token, username="ivy2", password=NEW_PASSWORD)
    assert User.objects.count() == users
    response = Client().get(f"/portal/invitation/{token}/")
    assert response.status_code == 410
    assert b"already been used" in response.content


def test_an_expired_invitation_is_refused_with_the_clinic_phone(world: World, invitee: Patient) -> None:
    invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    token = _token_from_email(invitee)
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        response = Client().post(
            f"/portal/invitation/{token}/",
            {"username": "late", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        )
    assert response.status_code == 410
    assert b"expired" in response.content
    assert world.location.phone.encode() in response.content
    assert not User.objects.filter(username="late").exists()


def test_an_unknown_token_gets_a_clear_page(db: None) -> None:
    response = Client().get("/portal/invitation/nonsense-token/")
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_a_weak_password_is_refused_and_nothing_is_created(world: World, invitee: Patient) -> None:
    invite_to_portal(acting_user=world["frontdesk"], patient=invitee)
    token = _token_from_email(invitee)
    users = User.objects.count()
    response = Client().post(
        f"/portal/invitation/{token}/", {"username": "ivy", "password": "password", "password_again": "password"}
    )
    assert response.status_code == 200
    assert User.objects.count() == users
    assert PortalInvitation.objects.get(patient=invitee).used_at is None


def test_staff_button_sends_the_invitation(world: World, invitee: Patient) -> None:
    response = signed_in_client(world["frontdesk"]).post(f"/patients/{invitee.pk}/invite/")
    assert response.status_code == 302
    assert PortalInvitation.objects.filter(patient=invitee, created_by=world["frontdesk"]).count() == 1


def test_nurse_cannot_send_invitations(world: World, invitee: Patient) -> None:
    response = signed_in_client(world["nurse"]).post(f"/patients/{invitee.pk}/invite/")
    assert response.status_code == 403
    assert not PortalInvitation.objects.exists()
