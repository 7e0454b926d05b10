"""Choices and constants for patient records, intake and candidacy."""

from __future__ import annotations

from django.db import models


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    NOT_SAID = "not_said", "Prefer not to say"


class Payer(models.TextChoices):
    SELF_PAY = "self_pay", "Self-pay"
    INSURANCE = "insurance", "Insurance"


class WeightSource(models.TextChoices):
    MEASURED = "measured", "Measured at the clinic"
    REPORTED = "reported", "Reported by the patient"


class IntakeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    MORE_INFO = "more_info", "More information needed"


class RuleSeverity(models.TextChoices):
    """The two severities a screening rule can carry (classification.Severity minus unanswered)."""

    ABSOLUTE = "absolute", "Absolute: contraindicated"
    RELATIVE = "relative", "Relative: needs review"


# Weight limits for a plausible adult outpatient, in kg: outside them the number is a typing
# error (pounds for kilograms, a missing digit), and a wrong weight becomes a wrong dose.
WEIGHT_KG_MIN = 20
WEIGHT_KG_MAX = 350

# A decision note, override or change reason shorter than this tells a reviewer nothing.
MIN_NOTE_CHARS = 10
