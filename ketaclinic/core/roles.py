"""The roles a person can hold in the clinic. A staff user may hold several."""

from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    NURSE = "nurse", "Infusion nurse"
    PRESCRIBER = "prescriber", "Prescriber"
    MEDICAL_DIRECTOR = "medical_director", "Medical director"
    BILLING = "billing", "Billing"
    ADMINISTRATOR = "administrator", "Administrator"
    PATIENT = "patient", "Patient"


STAFF_ROLES = frozenset(r for r in Role if r is not Role.PATIENT)
# Roles whose holders prescribe: the medical director is a prescriber too.
PRESCRIBING_ROLES = frozenset({Role.PRESCRIBER, Role.MEDICAL_DIRECTOR})
