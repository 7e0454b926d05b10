"""Infusion protocols and the chairside record.

A ``Protocol`` is the clinic's named treatment; its smart-pump-style limits live in
``ProtocolVersion`` rows that are never edited (a change is a new version), so an
``InfusionSession`` records the exact version it ran under. A prescriber's ``InfusionOrder``
picks a version for a patient and may narrow, never widen, its limits.

The session's timeline (``SessionEvent``), vitals, alerts, side effects, medications given,
recovery scores and addenda hang off the session. Totals (mg, mL, minutes) are computed from
the timeline by ``dosing.compute_totals``, never stored as typed numbers. Once the prescriber
co-signs, the session is locked: actions refuse to change it and corrections are ``Addendum``
rows. Events and addenda are append-only in the database too (migration 0003).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Chair, Location

USER = settings.AUTH_USER_MODEL


class Protocol(models.Model):
    """A treatment protocol the clinic offers, e.g. an induction series of six low-dose ketamine
    infusions over three weeks followed by maintenance. A prescriber approves a candidate *with* a
    protocol; the smart-pump-style limits (dose range, titration, vitals interval) are versioned
    separately so a session records the exact version it ran under."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    summary = models.TextField(blank=True, help_text="Plain-language description shown to staff.")
    induction_infusions = models.PositiveSmallIntegerField(default=6)
    induction_window_days = models.PositiveSmallIntegerField(default=21)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> ProtocolVersion | None:
        return self.versions.order_by("-number").first()


class SedationScale(models.TextChoices):
    RASS = "rass", "RASS (+4 combative … −5 unarousable)"
    MOAAS = "moaas", "MOAA/S (5 responds readily … 0 no response)"


class AldreteVariant(models.TextChoices):
    MMHG = "mmhg_20", "Modified Aldrete, circulation ±20 mmHg of baseline"
    PERCENT = "percent_20", "Modified Aldrete, circulation ±20% of baseline"


D = Decimal


def _dec(max_digits: int = 6, places: int = 2, **kw: object) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(max_digits=max_digits, decimal_places=places, **kw)  # type: ignore[arg-type]


class ProtocolVersion(models.Model):
    """One immutable set of limits for a protocol, like one entry of a smart-pump drug library.

    Seeded values cite docs/clinical-reference.md; the medical director sets the clinic's own.
    Editing means publishing a new version (``actions.publish_protocol_version``)."""

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    change_note = models.TextField(blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    drug_name = models.CharField(max_length=60, default="Ketamine HCl")
    # Allowed bag concentrations in mg/mL, e.g. [1.0, 2.0] (Ketalar label dilution, §2).
    allowed_concentrations = models.JSONField(default=list)
    dose_unit = models.CharField(max_length=12, default="mg/kg/h", editable=False)
    start_mg_per_kg_h = _dec(5, 3)
    titration_step_mg_per_kg_h = _dec(5, 3)
    titration_min_interval_min = models.PositiveSmallIntegerField()
    soft_max_mg_per_kg_h = _dec(5, 3)
    hard_max_mg_per_kg_h = _dec(5, 3)
    max_total_mg_per_session = _dec(7, 1)
    bolus_allowed = models.BooleanField(default=False)
    bolus_max_mg_per_kg = _dec(4, 2, default=D("0"))
    duration_min_minutes = models.PositiveSmallIntegerField()
    duration_max_minutes = models.PositiveSmallIntegerField()

    vitals_interval_min = models.PositiveSmallIntegerField(help_text="Minutes between vitals while infusing.")
    recovery_vitals_interval_min = models.PositiveSmallIntegerField(help_text="Minutes between vitals in recovery.")
    # Absolute alert thresholds (a value outside [min, max] raises an alert).
    systolic_max = models.PositiveSmallIntegerField()
    systolic_min = models.PositiveSmallIntegerField()
    diastolic_max = models.PositiveSmallIntegerField()
    diastolic_min = models.PositiveSmallIntegerField()
    heart_rate_max = models.PositiveSmallIntegerField()
    heart_rate_min = models.PositiveSmallIntegerField()
    spo2_min = models.PositiveSmallIntegerField()
    resp_rate_min = models.PositiveSmallIntegerField()
    resp_rate_max = models.PositiveSmallIntegerField()
    etco2_max = models.PositiveSmallIntegerField(null=True, blank=True)
    # Change from baseline (Spravato label analogue: +40 systolic / +25 diastolic, §1).
    systolic_rise_max = models.PositiveSmallIntegerField()
    diastolic_rise_max = models.PositiveSmallIntegerField()
    # Baseline vitals above these block the start until a prescriber overrides (configurable;
    # the ">140/90 baseline" rule of §1 is unconfirmed, hence a setting).
    baseline_systolic_max = models.PositiveSmallIntegerField()
    baseline_diastolic_max = models.PositiveSmallIntegerField()

    sedation_scale = models.CharField(max_length=8, choices=SedationScale.choices, default=SedationScale.RASS)
    dissociation_scale_name = models.CharField(max_length=60, default="Clinician dissociation rating 0–4")
    dissociation_scale_max = models.PositiveSmallIntegerField(default=4)

    fasting_hours = models.PositiveSmallIntegerField(default=0)
    ask_pregnancy = models.BooleanField(default=True)
    checklist_items = models.JSONField(default=list)

    recovery_min_minutes = models.PositiveSmallIntegerField()
    aldrete_variant = models.CharField(max_length=12, choices=AldreteVariant.choices, default=AldreteVariant.MMHG)
    aldrete_threshold = models.PositiveSmallIntegerField(default=9, validators=[MaxValueValidator(10)])
    discharge_requires_escort = models.BooleanField(default=True)
    sources = models.TextField(blank=True, help_text="Where the defaults come from.")

    class Meta:
        ordering: ClassVar[list[str]] = ["protocol", "-number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["protocol", "number"], name="infusions_protocol_version_once"),
            models.CheckConstraint(
                condition=models.Q(soft_max_mg_per_kg_h__lte=models.F("hard_max_mg_per_kg_h")),
                name="infusions_version_soft_le_hard",
            ),
            models.CheckConstraint(
                condition=models.Q(start_mg_per_kg_h__lte=models.F("soft_max_mg_per_kg_h")),
                name="infusions_version_start_le_soft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol.name} v{self.number}"


class InfusionOrder(models.Model):
    """A prescriber's order: this patient, this protocol version, optionally narrower limits.
    A blank limit inherits the protocol's. Orders are replaced, not edited (``is_active``)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="infusion_orders")
    protocol_version = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="orders")
    prescriber = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    start_mg_per_kg_h = _dec(5, 3, null=True, blank=True)
    soft_max_mg_per_kg_h = _dec(5, 3, null=True, blank=True)
    hard_max_mg_per_kg_h = _dec(5, 3, null=True, blank=True)
    max_total_mg_per_session = _dec(7, 1, null=True, blank=True)
    note = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"Order {self.pk} for patient {self.patient_id}"


class SessionStatus(models.TextChoices):
    CHECKED_IN = "checked_in", "Checked in"
    READY = "ready", "Ready to start"
    INFUSING = "infusing", "Infusing"
    PAUSED = "paused", "Paused"
    RECOVERING = "recovering", "Recovering"
    DISCHARGED = "discharged", "Discharged"
    SIGNED = "signed", "Signed by nurse"
    LOCKED = "locked", "Co-signed and locked"


class PregnancyAnswer(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NO = "no", "Not pregnant"
    YES = "yes", "Pregnant or possibly pregnant"
    DECLINED = "declined", "Declined to answer"


class InfusionSession(models.Model):
    """One infusion for one booking, from check-in to the co-signed, locked record."""

    booking = models.OneToOneField(
        "scheduling.Booking", on_delete=models.PROTECT, related_name="infusion_session", null=True, blank=True
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="infusion_sessions")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="infusion_sessions")
    chair = models.ForeignKey(Chair, null=True, blank=True, on_delete=models.PROTECT, related_name="infusion_sessions")
    order = models.ForeignKey(InfusionOrder, on_delete=models.PROTECT, related_name="sessions")
    protocol_version = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.CHECKED_IN)
    checked_in_at = models.DateTimeField(default=timezone.now)
    checked_in_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    # Pre-infusion checklist.
    weight_kg = _dec(5, 1, null=True, blank=True)
    escort_name = models.CharField(max_length=120, blank=True)
    escort_phone = models.CharField(max_length=32, blank=True)
    fasting_confirmed = models.BooleanField(default=False)
    pregnancy = models.CharField(max_length=16, choices=PregnancyAnswer.choices, blank=True)
    checklist = models.JSONField(default=dict, blank=True)
    checklist_completed_at = models.DateTimeField(null=True, blank=True)
    checklist_completed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    baseline_override_reason = models.TextField(blank=True)
    baseline_override_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    baseline_override_at = models.DateTimeField(null=True, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharged_to = models.CharField(max_length=120, blank=True)
    discharged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discharge_note = models.TextField(blank=True)

    nurse_signed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    nurse_signed_at = models.DateTimeField(null=True, blank=True)
    cosigned_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cosigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-checked_in_at"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["location", "status"]),
            models.Index(fields=["chair", "status"]),
            models.Index(fields=["patient", "checked_in_at"]),
        ]

    def __str__(self) -> str:
        return f"Infusion session {self.pk}"

    @property
    def ledger_ref(self) -> str:
        """The session reference the controlled-substance ledger records dispenses against."""
        return f"infusion-session-{self.pk}"

    @property
    def is_locked(self) -> bool:
        return self.status == SessionStatus.LOCKED


class Diluent(models.TextChoices):
    SALINE = "ns", "0.9% sodium chloride"
    D5W = "d5w", "5% dextrose in water"


class BagPreparation(models.Model):
    """A bag made up for the session. Concentration = mg drawn ÷ final volume; the pump rate the
    nurse programmes is computed from it. If a bag is replaced, a new row is added."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="bags")
    container = models.ForeignKey(
        "inventory.Container", null=True, blank=True, on_delete=models.PROTECT, related_name="bags"
    )
    product_name = models.CharField(max_length=120)
    lot_number = models.CharField(max_length=40)
    vial_ml_drawn = _dec(7, 2)
    drug_mg = _dec(7, 2)
    diluent = models.CharField(max_length=4, choices=Diluent.choices, default=Diluent.SALINE)
    final_volume_ml = _dec(7, 1)
    concentration_mg_per_ml = _dec(7, 4)
    prepared_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(default=timezone.now)
    pump_rate_confirmed_ml_per_h = _dec(6, 1, null=True, blank=True)
    pump_confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    double_checked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["prepared_at"]

    def __str__(self) -> str:
        return f"Bag {self.pk}: {self.drug_mg} mg in {self.final_volume_ml} mL"


class EventKind(models.TextChoices):
    START = "start", "Start"
    TITRATE = "titrate", "Titrate"
    PAUSE = "pause", "Pause"
    RESUME = "resume", "Resume"
    STOP = "stop", "Stop"
    BOLUS = "bolus", "Bolus"


class SessionEvent(models.Model):
    """One pump event on the session timeline (append-only)."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=8, choices=EventKind.choices)
    at = models.DateTimeField()
    dose_mg_per_kg_h = _dec(5, 3, null=True, blank=True)
    bolus_mg = _dec(6, 2, null=True, blank=True)
    pump_rate_ml_per_h = _dec(6, 1, null=True, blank=True)
    reason = models.TextField(blank=True)
    limit_level = models.CharField(max_length=4, default="ok")
    override_reason = models.TextField(blank=True)
    override_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%H:%M} UTC"


class VitalSource(models.TextChoices):
    MANUAL = "manual", "Typed in"
    DEVICE = "device", "From monitor"


class VitalPhase(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    INFUSION = "infusion", "Infusion"
    RECOVERY = "recovery", "Recovery"


def _range(low: int, high: int) -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(low), MaxValueValidator(high)]


class VitalSign(models.Model):
    """One set of vitals. Device values arrive unvalidated; a nurse validates them before
    sign-off. Physiologically impossible values are refused by ``vitals.check_plausible``."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="vitals")
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=8, choices=VitalPhase.choices)
    source = models.CharField(max_length=6, choices=VitalSource.choices, default=VitalSource.MANUAL)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)
    resp_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    etco2 = models.PositiveSmallIntegerField(null=True, blank=True)
    temperature_c = _dec(4, 1, null=True, blank=True)
    pain_nrs = models.PositiveSmallIntegerField(null=True, blank=True)
    sedation = models.SmallIntegerField(null=True, blank=True)
    dissociation = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    device_message_id = models.CharField(max_length=64, blank=True)
    validated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    validated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["taken_at", "pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["session", "taken_at"]),
            # The baseline set (the gateway reads it for every batch, the page for the flags)
            # and a monitor's resent message (found by its control ID): without these both
            # scan every reading of a long session.
            models.Index(fields=["session", "phase", "taken_at"]),
            models.Index(fields=["session", "device_message_id"]),
        ]

    def __str__(self) -> str:
        return f"Vitals at {self.taken_at:%H:%M} UTC"

    @property
    def needs_validation(self) -> bool:
        return self.source == VitalSource.DEVICE and self.validated_at is None


class AlertKind(models.TextChoices):
    ABSOLUTE = "absolute", "Outside threshold"
    CHANGE = "change", "Change from baseline"


class Alert(models.Model):
    """A vital sign outside the protocol's thresholds. Must be acknowledged with the action taken."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="alerts")
    vital = models.ForeignKey(VitalSign, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    parameter = models.CharField(max_length=20)
    value = models.CharField(max_length=20)
    message = models.CharField(max_length=200)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["raised_at", "pk"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["session", "acknowledged_at"])]

    def __str__(self) -> str:
        return self.message


class SideEffectKind(models.TextChoices):
    NAUSEA = "nausea", "Nausea"
    VOMITING = "vomiting", "Vomiting"
    DIZZINESS = "dizziness", "Dizziness"
    PERCEPTUAL = "perceptual", "Hallucinations / perceptual change"
    ANXIETY = "anxiety", "Anxiety"
    HYPERTENSION = "hypertension", "Hypertension"
    TACHYCARDIA = "tachycardia", "Tachycardia"
    HEADACHE = "headache", "Headache"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class SideEffectOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    IMPROVED = "improved", "Improved"
    ONGOING = "ongoing", "Ongoing at discharge"


class SideEffect(models.Model):
    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="side_effects")
    kind = models.CharField(max_length=14, choices=SideEffectKind.choices)
    other_text = models.CharField(max_length=120, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    onset_at = models.DateTimeField()
    intervention = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=SideEffectOutcome.choices)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["onset_at", "pk"]

    def __str__(self) -> str:
        return f"{self.label} ({self.severity})"

    @property
    def label(self) -> str:
        return self.other_text if self.kind == SideEffectKind.OTHER and self.other_text else self.get_kind_display()


class Route(models.TextChoices):
    IV = "iv", "IV"
    PO = "po", "By mouth"
    ODT = "odt", "Orally disintegrating"
    IM = "im", "IM"
    SL = "sl", "Sublingual"


class MedicationAdministration(models.Model):
    """A medication given during the session (e.g. ondansetron for nausea)."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="medications")
    side_effect = models.ForeignKey(
        SideEffect, null=True, blank=True, on_delete=models.PROTECT, related_name="medications"
    )
    drug = models.CharField(max_length=80)
    dose = _dec(7, 2)
    dose_unit = models.CharField(max_length=8, default="mg")
    route = models.CharField(max_length=4, choices=Route.choices)
    given_at = models.DateTimeField()
    given_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["given_at", "pk"]

    def __str__(self) -> str:
        return f"{self.drug} {self.dose} {self.dose_unit} {self.route}"


class RecoveryScore(models.Model):
    """A modified Aldrete score (variant recorded) during recovery."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="recovery_scores")
    scored_at = models.DateTimeField()
    variant = models.CharField(max_length=12, choices=AldreteVariant.choices)
    activity = models.PositiveSmallIntegerField(validators=_range(0, 2))
    respiration = models.PositiveSmallIntegerField(validators=_range(0, 2))
    circulation = models.PositiveSmallIntegerField(validators=_range(0, 2))
    consciousness = models.PositiveSmallIntegerField(validators=_range(0, 2))
    oxygen_saturation = models.PositiveSmallIntegerField(validators=_range(0, 2))
    total = models.PositiveSmallIntegerField()
    threshold = models.PositiveSmallIntegerField()
    scored_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["scored_at", "pk"]

    def __str__(self) -> str:
        return f"Aldrete {self.total}/10"

    @property
    def discharge_eligible(self) -> bool:
        return self.total >= self.threshold


class Addendum(models.Model):
    """A correction or late note on a locked record (append-only)."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["written_at", "pk"]

    def __str__(self) -> str:
        return f"Addendum {self.pk}"


class MonitorMessage(models.Model):
    """Every HL7 message the monitor gateway received, with the ACK code it answered: the log of
    refused messages (unknown chair, bad message, no active session) that staff can review."""

    received_at = models.DateTimeField(default=timezone.now)
    control_id = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=120, blank=True)
    chair = models.ForeignKey(Chair, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    session = models.ForeignKey(
        InfusionSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="monitor_messages"
    )
    ack_code = models.CharField(max_length=2)
    error = models.CharField(max_length=300, blank=True)
    values_recorded = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["-received_at"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["ack_code", "received_at"])]

    def __str__(self) -> str:
        return f"HL7 {self.control_id} {self.ack_code}"
