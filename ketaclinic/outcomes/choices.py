"""Choices for the diary, questionnaires and outcome settings."""

from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    NONE = "none", "None"
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class DrugClass(models.TextChoices):
    TRIPTAN = "triptan", "Triptan"
    GEPANT_DITAN = "gepant_ditan", "Gepant or ditan"
    ERGOT = "ergot", "Ergot"
    SIMPLE_ANALGESIC = "simple_analgesic", "NSAID or simple pain reliever"
    COMBINATION_ANALGESIC = "combination_analgesic", "Combination pain reliever"
    OPIOID = "opioid", "Opioid"
    OTHER = "other", "Other"


class DiarySource(models.TextChoices):
    WEB = "web", "Portal"
    SMS = "sms", "Text message"
    API = "api", "API"
    STAFF = "staff", "Staff on the patient's behalf"


class Instrument(models.TextChoices):
    MIDAS = "midas", "MIDAS"
    HIT6 = "hit6", "HIT-6"
    PGIC = "pgic", "PGIC"


class TriptanRule(models.TextChoices):
    ANY_USE = "any_use", "Any day migraine-specific medication was taken (van der Arend)"
    EFFECTIVE_2H = "effective_2h", "Only when it helped within 2 hours (trial guidelines)"


class PgicVersion(models.TextChoices):
    NINDS_CDE = "ninds_cde", "NINDS CDE (1 = very much improved … 7 = very much worse)"
    REVERSED = "reversed", "Reversed (1 = very much worse … 7 = very much improved)"


class RelapseStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


# How long a daily text prompt stays open for a reply: the next evening's prompt replaces it.
PROMPT_OPEN_HOURS = 36
