"""The headache diary, questionnaires (PROMs), outcome settings, daily text prompts and
relapse flags."""

from __future__ import annotations

from datetime import time
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Location
from ketaclinic.outcomes import endpoints
from ketaclinic.outcomes.choices import (
    DiarySource,
    Instrument,
    PgicVersion,
    RelapseStatus,
    Severity,
    TriptanRule,
)

DEFAULTS = endpoints.Definitions()


def _share_validators() -> list[Any]:
    return [MinValueValidator(0.5), MaxValueValidator(1.0)]


class OutcomeDefinition(models.Model):
    """The clinic's chosen outcome definitions: one clinic-wide row (no location) and
    optionally one per location that overrides it. Every number the outcome pages print names
    the definition it was computed under; defaults and sources are in
    ../shared/docs/clinical-reference.md §4 and :mod:`ketaclinic.outcomes.endpoints`."""

    location = models.OneToOneField(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="outcome_definition"
    )
    window_days = models.PositiveSmallIntegerField(
        "Days per month (window)",
        default=DEFAULTS.window_days,
        validators=[MinValueValidator(14), MaxValueValidator(31)],
        help_text="IHS guidelines (Tassorelli 2018): a 28-day month.",
    )
    baseline_days = models.PositiveSmallIntegerField(
        "Baseline length (days)",
        default=DEFAULTS.baseline_days,
        validators=[MinValueValidator(14), MaxValueValidator(90)],
        help_text="Days before the first induction infusion; commonly 28.",
    )
    min_recorded_share = models.FloatField(
        "Share of days that must be recorded",
        default=DEFAULTS.min_recorded_share,
        validators=_share_validators(),
        help_text="Below this (default 0.8 = 80%) a window is flagged insufficient.",
    )
    migraine_min_duration_min = models.PositiveSmallIntegerField(
        "Minimum migraine headache (min)",
        default=DEFAULTS.migraine_min_duration_min,
        validators=[MaxValueValidator(240)],
        help_text="van der Arend et al.: 30 min (ICHD-3 says 4 h untreated).",
    )
    headache_min_duration_min = models.PositiveSmallIntegerField(
        "Minimum headache for a headache day (min)",
        default=DEFAULTS.headache_min_duration_min,
        validators=[MaxValueValidator(240)],
        help_text="van der Arend et al.: 1 h, or any day acute medication was taken.",
    )
    count_probable_migraine = models.BooleanField(
        default=DEFAULTS.count_probable_migraine, help_text="ICHD-3 1.5: probable migraine counts as migraine."
    )
    triptan_rule = models.CharField(max_length=14, choices=TriptanRule.choices, default=DEFAULTS.triptan_rule)
    responder_thresholds_pct = models.CharField(
        "Responder thresholds (%)",
        max_length=40,
        default=",".join(str(t) for t in DEFAULTS.responder_thresholds_pct),
        help_text="Comma-separated reductions in monthly migraine days, e.g. 30,50,75.",
    )
    overuse_headache_days = models.PositiveSmallIntegerField(default=DEFAULTS.overuse_headache_days)
    overuse_specific_days = models.PositiveSmallIntegerField(default=DEFAULTS.overuse_specific_days)
    overuse_simple_days = models.PositiveSmallIntegerField(default=DEFAULTS.overuse_simple_days)
    pain_responder_min_drop = models.PositiveSmallIntegerField(
        default=DEFAULTS.pain_responder_min_drop, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    relapse_share_of_baseline = models.FloatField(
        default=DEFAULTS.relapse_share_of_baseline,
        validators=[MinValueValidator(0.1), MaxValueValidator(1.0)],
        help_text="Relapse when rolling monthly migraine days rise above this share of baseline after a response.",
    )
    diary_edit_days = models.PositiveSmallIntegerField(
        "Days back a patient may fill in",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Staff may enter older days on the patient's behalf.",
    )
    diary_late_after_days = models.PositiveSmallIntegerField(
        "Entries later than this many days are marked late",
        default=1,
        validators=[MaxValueValidator(60)],
    )
    midas_every_days = models.PositiveSmallIntegerField(
        default=90, help_text="MIDAS covers 3 months (Stewart 2001): at baseline and every 90 days."
    )
    hit6_every_days = models.PositiveSmallIntegerField(default=28, help_text="HIT-6 asks about the past 4 weeks.")
    pgic_every_days = models.PositiveSmallIntegerField(default=28, help_text="PGIC from the end of induction.")
    pgic_version = models.CharField(max_length=10, choices=PgicVersion.choices, default=PgicVersion.NINDS_CDE)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Outcome definitions ({self.location.name if self.location else 'clinic-wide'})"

    def thresholds(self) -> tuple[int, ...]:
        return tuple(sorted({int(t) for t in self.responder_thresholds_pct.split(",") if t.strip()}))

    def to_definitions(self) -> endpoints.Definitions:
        return endpoints.Definitions(
            window_days=self.window_days,
            baseline_days=self.baseline_days,
            min_recorded_share=self.min_recorded_share,
            migraine_min_duration_min=self.migraine_min_duration_min,
            headache_min_duration_min=self.headache_min_duration_min,
            count_probable_migraine=self.count_probable_migraine,
            triptan_rule=self.triptan_rule,  # type: ignore[arg-type]
            responder_thresholds_pct=self.thresholds() or DEFAULTS.responder_thresholds_pct,
            overuse_headache_days=self.overuse_headache_days,
            overuse_specific_days=self.overuse_specific_days,
            overuse_simple_days=self.overuse_simple_days,
            pain_responder_min_drop=self.pain_responder_min_drop,
            relapse_share_of_baseline=self.relapse_share_of_baseline,
        )


class DiaryEntry(models.Model):
    """One calendar day of a patient's headache diary, the day taken in the time zone of the
    patient's clinic location. A day with no entry is *missing*, never headache-free. The
    patient (portal, text, API) or staff on their behalf write it; a rewrite of the same day
    updates this row and the audit trail keeps every earlier version with who changed it.
    The medication columns repeat ``acute_medications`` by class so the dashboard can count
    in the database."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="diary_entries")
    date = models.DateField()
    headache = models.BooleanField()
    duration_min = models.PositiveIntegerField(null=True, blank=True, validators=[MaxValueValidator(24 * 60)])
    peak_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    pain_nrs = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)])
    unilateral = models.BooleanField(null=True, blank=True)
    pulsating = models.BooleanField(null=True, blank=True)
    aggravated_by_activity = models.BooleanField(null=True, blank=True)
    nausea = models.BooleanField(null=True, blank=True)
    vomiting = models.BooleanField(null=True, blank=True)
    photophobia = models.BooleanField(null=True, blank=True)
    phonophobia = models.BooleanField(null=True, blank=True)
    aura = models.BooleanField(null=True, blank=True)
    # The text-message shorthand "M": typical features reported without itemising them.
    migraine_features = models.BooleanField(null=True, blank=True)
    acute_medications = models.JSONField(default=list, blank=True)
    med_triptan = models.BooleanField(default=False)
    med_gepant_ditan = models.BooleanField(default=False)
    med_ergot = models.BooleanField(default=False)
    med_simple_analgesic = models.BooleanField(default=False)
    med_combination_analgesic = models.BooleanField(default=False)
    med_opioid = models.BooleanField(default=False)
    med_other = models.BooleanField(default=False)
    # A migraine-specific medication (triptan, ergot, gepant/ditan) helped within 2 h.
    specific_med_helped_2h = models.BooleanField(default=False)
    source = models.CharField(max_length=6, choices=DiarySource.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_on_behalf = models.BooleanField(default=False, help_text="Entered by staff for the patient.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    is_late = models.BooleanField(default=False, help_text="Written or last changed after the late limit.")
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering: ClassVar[list[str]] = ["-date"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "date"], name="one_diary_entry_per_patient_day"),
        ]
        # PostgreSQL also gets a covering index for the dashboard (migration 0002).
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["date"])]

    def __str__(self) -> str:
        return f"Diary {self.date} ({'headache' if self.headache else 'no headache'})"

    def to_day(self) -> endpoints.DiaryDay:
        return endpoints.DiaryDay(
            day=self.date,
            headache=self.headache,
            duration_min=self.duration_min,
            peak_severity=self.peak_severity or None,  # type: ignore[arg-type]
            pain_nrs=self.pain_nrs,
            unilateral=self.unilateral,
            pulsating=self.pulsating,
            aggravated_by_activity=self.aggravated_by_activity,
            nausea=self.nausea,
            vomiting=self.vomiting,
            photophobia=self.photophobia,
            phonophobia=self.phonophobia,
            aura=self.aura,
            migraine_features=self.migraine_features,
            medications=tuple(
                endpoints.Medication(m["drug_class"], m.get("helped_within_2h")) for m in self.acute_medications
            ),
        )


class DiaryPromptPreference(models.Model):
    """Whether and when (local time at the patient's location) the patient wants the daily
    diary text. Sending also needs care-message consent for the patient's number."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="diary_prompt")
    is_enabled = models.BooleanField(default=True)
    local_time = models.TimeField(default=time(20, 0))
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Diary text at {self.local_time:%H:%M} ({'on' if self.is_enabled else 'off'})"


class DiaryPrompt(models.Model):
    """One daily diary text sent for one local day: at most one per patient per day, so the
    sending command can run as often as it likes. A reply within the open window records
    that day."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="diary_prompts")
    local_date = models.DateField()
    sent_at = models.DateTimeField()
    message_id = models.BigIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-sent_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "local_date"], name="one_diary_prompt_per_day"),
        ]

    def __str__(self) -> str:
        return f"Diary text for {self.local_date}"


class PromResponse(models.Model):
    """One completed questionnaire: MIDAS (score and grade; A and B recorded), HIT-6 (score and
    impact band) or PGIC (value with its scale version). Scored by
    :mod:`ketaclinic.infusions.scores`; never edited — a corrected answer is a new response."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="prom_responses")
    instrument = models.CharField(max_length=6, choices=Instrument.choices)
    answers = models.JSONField(default=dict)
    score = models.SmallIntegerField()
    grade = models.CharField(max_length=20, blank=True, help_text="MIDAS grade, HIT-6 band or PGIC direction.")
    version = models.CharField(max_length=10, blank=True, help_text="PGIC scale version.")
    completed_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_on_behalf = models.BooleanField(default=False)

    class Meta:
        ordering: ClassVar[list[str]] = ["-completed_at"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["patient", "instrument", "completed_at"])]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.score} on {self.completed_at:%Y-%m-%d}"


class PromInstrumentText(models.Model):
    """The item wording of a licensed questionnaire, entered by a clinic that holds the licence
    (HIT-6 is copyright QualityMetric and GlaxoSmithKline). Without it the portal does not show
    the questionnaire and says the clinic will give it."""

    instrument = models.CharField(max_length=6, choices=Instrument.choices, unique=True)
    items = models.JSONField(default=list)
    licence_note = models.CharField(max_length=200)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} wording"


class RelapseFlag(models.Model):
    """The diary shows a relapse: after responding, the patient's rolling 28-day migraine days
    rose above the configured share of baseline. Raised for the prescriber, with the numbers
    and definitions used; acknowledged (not deleted) when handled."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="relapse_flags")
    raised_at = models.DateTimeField(default=timezone.now)
    window_start = models.DateField()
    window_end = models.DateField()
    rolling_migraine_days_per_28 = models.FloatField()
    baseline_migraine_days_per_28 = models.FloatField()
    threshold_per_28 = models.FloatField()
    definitions = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=RelapseStatus.choices, default=RelapseStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-raised_at"]

    def __str__(self) -> str:
        return f"Relapse flag {self.window_start}–{self.window_end} ({self.status})"
