"""The demo clinic: one location, its chairs, a named persona for every role, and synthetic
patients. Everything is made through the real actions, so the audit trail shows the seeding
like any other work. All people and data here are invented."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import os
import random
from dataclasses import dataclass
from datetime import date, datetime

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.actions import create_user
from ketaclinic.accounts.models import User
from ketaclinic.clinics.actions import create_location
from ketaclinic.clinics.models import Location
from ketaclinic.core.roles import Role
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient

DEFAULT_DEMO_PASSWORD = "keta-demo-2026!"  # noqa: S105 - synthetic demo clinic only


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


@dataclass(frozen=True)
class Persona:
    username: str
    first_name: str
    last_name: str
    roles: tuple[Role, ...]
    credentials: str = ""
    all_locations: bool = False


PERSONAS = (
    Persona("frontdesk", "Dana", "Whitfield", (Role.FRONT_DESK,)),
    Persona("nurse", "Marisol", "Ortega", (Role.NURSE,), "RN"),
    Persona("nurse2", "Theo", "Lindqvist", (Role.NURSE,), "RN"),
    Persona("prescriber", "Amara", "Okafor", (Role.PRESCRIBER,), "MD"),
    Persona("director", "Henrik", "Vale", (Role.MEDICAL_DIRECTOR,), "MD", all_locations=True),
    Persona("billing", "Priya", "Raman", (Role.BILLING,)),
    Persona("admin", "Sam", "Castellano", (Role.ADMINISTRATOR,), all_locations=True),
)

# Invented names; dates of birth drawn at random within adult ranges.
SYNTHETIC_PATIENTS = [
    ("Jordan", "Ellery"),
    ("Casey", "Marchetti"),
    ("Robin", "Achterberg"),
    ("Avery", "Solano"),
    ("Morgan", "Thistlewood"),
    ("Riley", "Quenneville"),
    ("Harper", "Oyelaran"),
    ("Quinn", "Vasquez-Lind"),
    ("Sasha", "Brannigan"),
    ("Emerson", "Takahara"),
    ("Rowan", "Delacroix"),
    ("Kendall", "Fairweather"),
]


@dataclass
class DemoContext:
    """Handed to each app's ``demo.seed(ctx)`` so it can add its part of the demo clinic."""

    location: Location
    users: dict[str, User]
    patients: list[Patient]
    rng: random.Random
    now: datetime


def run_app_seeds(ctx: DemoContext) -> None:
    """Every capability extends the demo: an app with a ``demo.py`` defining ``seed(ctx)`` adds
    its synthetic history, in INSTALLED_APPS order (so later apps can use earlier ones' data)."""
    for app in apps.get_app_configs():
        if app.name.startswith("ketaclinic.") and app.label != "demo" and importlib.util.find_spec(f"{app.name}.demo"):
            importlib.import_module(f"{app.name}.demo").seed(ctx)


def totp_secret_base32(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return base64.b32encode(device.bin_key).decode()


def is_seeded() -> bool:
    return User.objects.filter(username="frontdesk").exists()


@transaction.atomic
def seed(*, seed_value: int = 20261124) -> Location:
    rng = random.Random(seed_value)
    password = demo_password()
    location = create_location(
        acting_user=None,
        name="Riverside Infusion Center",
        address_line1="1200 Example Avenue, Suite 300",
        city="Denver",
        state="CO",
        postal_code="80202",
        phone="+13035550100",
        sms_number="+13035550101",
        time_zone="America/Denver",
        dea_number="BR1234563",
        npi="1234567893",
        tin="84-1234567",
        chair_names=["Chair 1", "Chair 2", "Chair 3", "Chair 4"],
    )
    for p in PERSONAS:
        user = create_user(
            acting_user=None,
            username=p.username,
            password=password,
            roles=p.roles,
            first_name=p.first_name,
            last_name=p.last_name,
            email=f"{p.username}@example.org",
            credentials=p.credentials,
            location_ids=[] if p.all_locations else [location.pk],
            all_locations=p.all_locations,
        )
        TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)

    patient_user = create_user(
        acting_user=None,
        username="patient",
        password=password,
        roles=[Role.PATIENT],
        first_name="Jordan",
        last_name="Ellery",
        email="patient@example.org",
    )
    users = {p.username: User.objects.get(username=p.username) for p in PERSONAS}
    users["patient"] = patient_user
    patients = []
    for index, (first, last) in enumerate(SYNTHETIC_PATIENTS):
        born = date(rng.randint(1958, 2001), rng.randint(1, 12), rng.randint(1, 28))
        patient = register_patient(
            acting_user=None,
            location=location,
            first_name=first,
            last_name=last,
            date_of_birth=born,
            email=f"{first.lower()}.{last.lower()}@example.org",
            phone=f"+1303555{index + 200:04d}",
            user=patient_user if index == 0 else None,
        )
        patients.append(patient)
    run_app_seeds(DemoContext(location=location, users=users, patients=patients, rng=rng, now=timezone.now()))
    return location


def sign_in_table() -> str:
    password = demo_password()
    lines = ["Demo sign-ins (synthetic clinic; DEMO ONLY — never print secrets in production):", ""]
    lines.append(f"  {'username':<12} {'role':<18} {'password':<18} TOTP secret (add to an authenticator app)")
    for p in PERSONAS:
        user = User.objects.get(username=p.username)
        lines.append(f"  {p.username:<12} {p.roles[0].label:<18} {password:<18} {totp_secret_base32(user)}")
    lines.append(f"  {'patient':<12} {'Patient':<18} {password:<18} (patients sign in with password only)")
    return "\n".join(lines)
