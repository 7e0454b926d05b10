"""Shared test helpers: the named personas every test uses, and sign-in shortcuts.

Personas (as in healthchecks' Alice/Bob): a front-desk clerk, two nurses, a prescriber, the
medical director, a billing clerk, an administrator, a patient, and an outsider — a nurse at
another location who must be refused everywhere a location matters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.actions import create_api_token, create_user
from ketaclinic.accounts.models import User
from ketaclinic.clinics.actions import create_location
from ketaclinic.clinics.models import Location
from ketaclinic.core.roles import Role
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - test accounts only


@dataclass
class World:
    location: Location
    other_location: Location
    users: dict[str, User]
    patient: Patient
    other_patient: Patient

    def __getitem__(self, name: str) -> User:
        return self.users[name]


def make_location(name: str = "Test Site", tz: str = "America/Denver", chairs: int = 4) -> Location:
    return create_location(
        acting_user=None,
        name=name,
        address_line1="1 Test Way",
        city="Denver",
        state="CO",
        postal_code="80202",
        phone="+13035550199",
        sms_number="+13035550198",
        time_zone=tz,
        chair_names=[f"Chair {i + 1}" for i in range(chairs)],
    )


PERSONA_ROLES: dict[str, tuple[Role, ...]] = {
    "frontdesk": (Role.FRONT_DESK,),
    "nurse": (Role.NURSE,),
    "prescriber": (Role.PRESCRIBER,),
    "director": (Role.MEDICAL_DIRECTOR,),
    "billing": (Role.BILLING,),
    "admin": (Role.ADMINISTRATOR,),
}


def make_world() -> World:
    home = make_location("Home Site")
    away = make_location("Away Site", tz="America/New_York", chairs=2)
    users: dict[str, User] = {}
    for name, roles in PERSONA_ROLES.items():
        all_locs = name in {"director", "admin"}
        users[name] = create_user(
            acting_user=None,
            username=name,
            password=PASSWORD,
            roles=roles,
            first_name=name.title(),
            last_name="Tester",
            location_ids=[] if all_locs else [home.pk],
            all_locations=all_locs,
        )
        TOTPDevice.objects.create(user=users[name], name="test", confirmed=True)
    users["outsider"] = create_user(
        acting_user=None,
        username="outsider",
        password=PASSWORD,
        roles=[Role.NURSE],
        first_name="Olive",
        last_name="Outsider",
        location_ids=[away.pk],
    )
    TOTPDevice.objects.create(user=users["outsider"], name="test", confirmed=True)
    users["patient"] = create_user(acting_user=None, username="patient", password=PASSWORD, roles=[Role.PATIENT])
    patient = register_patient(
        acting_user=None,
        location=home,
        first_name="Pat",
        last_name="Example",
        date_of_birth=date(1980, 5, 17),
        user=users["patient"],
    )
    other = register_patient(
        acting_user=None, location=away, first_name="Ola", last_name="Elsewhere", date_of_birth=date(1975, 1, 2)
    )
    return World(home, away, users, patient, other)


def current_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def signed_in_client(user: User, *, verified: bool = True) -> Client:
    """A test client signed in as ``user``; staff also pass the second factor unless told not to."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if verified and user.is_staff_member:
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


def api_client(user: User) -> Client:
    """A test client that sends a fresh bearer token of ``user`` with every request."""
    _, raw = create_api_token(acting_user=user, user=user, name="test")
    return Client(headers={"Authorization": f"Bearer {raw}"})


# --- The route-walk table (ketaclinic/core/tests/test_routes.py) -----------------------------
SIGNED_IN = "signed_in"  # any signed-in person (own account pages)


@dataclass
class Route:
    """How one URL answers: who may use it (a grant, "public", SIGNED_IN or "session" for the
    sign-in steps), with what arguments, and what a permitted person gets back."""

    access: str  # "public", SIGNED_IN, "session" (own sign-in steps), or a grant name
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    method: str = "get"
    api: bool = False
    ok: int = 200  # the answer a permitted person gets
    body: Callable[[World], dict[str, Any]] | None = None  # JSON body for POST routes
    overrides: dict[str, int] = field(default_factory=dict)
