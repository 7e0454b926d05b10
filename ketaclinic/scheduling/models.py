"""The clinic's calendar (opening hours, closures, chairs out of service, staff shifts), the
rules a series follows, the requests for a series, and the bookings that hold chairs.

Times are stored in UTC; a location's local day and hours are computed in its time zone.
A Booking is the only thing that holds a chair."""

from __future__ import annotations

from datetime import date, time
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ketaclinic.clinics.models import Chair, Location
from ketaclinic.scheduling.choices import (
    DEFAULT_INFUSION_DURATION_MIN,
    DEFAULT_MAX_PER_WEEK,
    DEFAULT_MIN_GAP_DAYS,
    DEFAULT_NURSE_RATIO,
    DEFAULT_OFFER_HOLD_MIN,
    DEFAULT_RECOVERY_MIN,
    DEFAULT_REMINDER_OFFSETS_H,
    DEFAULT_SEARCH_DAYS,
    DEFAULT_SLOT_MIN,
    DEFAULT_TURNOVER_MIN,
    INFUSION_KINDS,
    MAINTENANCE_SESSIONS,
    AppointmentKind,
    BookingStatus,
    OfferStatus,
    ReminderOutcome,
    SeriesKind,
    SeriesStatus,
    ShiftPresence,
    ShiftRole,
    WaitlistStatus,
)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SchedulingPolicy(models.Model):
    """How one location staffs and books its chairs: how many concurrent infusions one nurse
    on site may watch, whether a prescriber must be on site or on call for every infusion, the
    booking grid, how long a waitlist offer is held and when reminders go out."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="scheduling_policy")
    nurse_ratio = models.PositiveSmallIntegerField(
        default=DEFAULT_NURSE_RATIO, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    require_prescriber_cover = models.BooleanField(default=True)
    slot_min = models.PositiveSmallIntegerField(default=DEFAULT_SLOT_MIN, validators=[MinValueValidator(5)])
    offer_hold_min = models.PositiveIntegerField(default=DEFAULT_OFFER_HOLD_MIN)
    reminder_offsets_h = models.CharField(
        max_length=40, default=DEFAULT_REMINDER_OFFSETS_H, help_text="Hours before the appointment, comma-separated."
    )
    search_days = models.PositiveSmallIntegerField(default=DEFAULT_SEARCH_DAYS)

    class Meta:
        verbose_name_plural = "scheduling policies"

    def __str__(self) -> str:
        return f"Scheduling policy for {self.location.name}"

    @property
    def reminder_offsets(self) -> list[int]:
        return sorted({int(part) for part in self.reminder_offsets_h.split(",") if part.strip()}, reverse=True)

    def clean(self) -> None:
        try:
            offsets = self.reminder_offsets
        except ValueError as exc:
            raise ValidationError({"reminder_offsets_h": "Write whole hours separated by commas, e.g. 48,2."}) from exc
        if any(h <= 0 for h in offsets):
            raise ValidationError({"reminder_offsets_h": "Reminder offsets are hours before, so above zero."})


class OpeningHours(models.Model):
    """When a location is open on one weekday, in its local time (e.g. Monday 08:00–17:00)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=list(enumerate(WEEKDAY_NAMES)))
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["location", "weekday", "opens"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"),
        ]

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """Days a location is closed (a holiday, a training day), both dates included."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=120)

    class Meta:
        ordering: ClassVar[list[str]] = ["starts_on"]

    def __str__(self) -> str:
        return f"Closed {self.starts_on}–{self.ends_on}: {self.reason}"


class ChairOutage(models.Model):
    """A period when one chair may not be booked (repair, cleaning, a pump missing)."""

    chair = models.ForeignKey(Chair, on_delete=models.CASCADE, related_name="outages")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=120)

    class Meta:
        ordering: ClassVar[list[str]] = ["starts_at"]

    def __str__(self) -> str:
        return f"{self.chair.name} out of service: {self.reason}"


class StaffShift(models.Model):
    """One nurse or prescriber working (on site) or reachable (on call) at a location."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="shifts")
    start = models.DateTimeField()
    end = models.DateTimeField()
    role = models.CharField(max_length=12, choices=ShiftRole.choices)
    presence = models.CharField(max_length=8, choices=ShiftPresence.choices, default=ShiftPresence.ON_SITE)

    class Meta:
        ordering: ClassVar[list[str]] = ["start"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["location", "start"])]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} {self.get_presence_display()} {self.start:%Y-%m-%d %H:%M}"


class AppointmentType(models.Model):
    """A kind of appointment and how long it takes. Infusion types take their chair time from
    the protocol's series rule; the others use ``duration_min`` and hold no chair."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=AppointmentKind.choices)
    duration_min = models.PositiveSmallIntegerField()

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_infusion(self) -> bool:
        return self.kind in INFUSION_KINDS


class SeriesRule(models.Model):
    """How a protocol's series is booked: infusion length, recovery and turnover in the chair,
    spacing and weekly cap. The count and window (6 within 21 days) come from the protocol."""

    protocol = models.OneToOneField("infusions.Protocol", on_delete=models.CASCADE, related_name="series_rule")
    infusion_duration_min = models.PositiveSmallIntegerField(
        default=DEFAULT_INFUSION_DURATION_MIN, validators=[MinValueValidator(20), MaxValueValidator(480)]
    )
    recovery_min = models.PositiveSmallIntegerField(default=DEFAULT_RECOVERY_MIN)
    turnover_min = models.PositiveSmallIntegerField(default=DEFAULT_TURNOVER_MIN)
    min_gap_days = models.PositiveSmallIntegerField(default=DEFAULT_MIN_GAP_DAYS, validators=[MinValueValidator(1)])
    max_per_week = models.PositiveSmallIntegerField(default=DEFAULT_MAX_PER_WEEK, validators=[MinValueValidator(1)])

    def __str__(self) -> str:
        return f"Series rule for {self.protocol}"

    @property
    def chair_time_min(self) -> int:
        return self.infusion_duration_min + self.recovery_min + self.turnover_min


class SeriesRequest(models.Model):
    """A request to book one patient's series under a protocol, with the patient's
    availability: weekdays, daily time windows (local time) and dates they cannot come."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="series_requests")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="series_requests")
    protocol = models.ForeignKey("infusions.Protocol", on_delete=models.PROTECT, related_name="+")
    earliest_start = models.DateField()
    weekdays = models.JSONField(default=list, help_text="0 = Monday … 6 = Sunday")
    time_windows = models.JSONField(default=list, help_text='Local times, e.g. [["08:00", "12:00"]]')
    blackout_dates = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=SeriesStatus.choices, default=SeriesStatus.REQUESTED)
    kind = models.CharField(max_length=12, choices=SeriesKind.choices, default=SeriesKind.INDUCTION)
    reason = models.CharField(max_length=200, blank=True, help_text="Why a maintenance infusion was requested.")
    maintenance_interval_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(7), MaxValueValidator(365)],
        help_text="Set by a prescriber: offer a maintenance infusion this many days after the last one.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"Series for {self.patient.initials} from {self.earliest_start}"

    @property
    def is_maintenance(self) -> bool:
        return self.kind == SeriesKind.MAINTENANCE

    @property
    def sessions_wanted(self) -> int:
        return MAINTENANCE_SESSIONS if self.is_maintenance else int(self.protocol.induction_infusions)

    @property
    def window_times(self) -> list[tuple[time, time]]:
        return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in self.time_windows]

    @property
    def blackout(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d) for d in self.blackout_dates)


class Booking(models.Model):
    """A patient's appointment: a time, and for an infusion a chair. Times are UTC. On
    PostgreSQL an exclusion constraint (migration 0002) refuses two live bookings overlapping
    on one chair; on every database :func:`ketaclinic.scheduling.actions.book_appointment`
    checks the same inside its locked transaction."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="bookings")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="bookings")
    chair = models.ForeignKey(Chair, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    series_request = models.ForeignKey(
        SeriesRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    series_number = models.PositiveSmallIntegerField(null=True, blank=True)
    series_total = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["start"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["location", "start"]),
            models.Index(fields=["chair", "start"]),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="booking_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type.name} {self.start:%Y-%m-%d %H:%M} UTC"

    @property
    def series_label(self) -> str:
        return f"{self.series_number} of {self.series_total}" if self.series_number and self.series_total else ""

    @property
    def is_live(self) -> bool:
        return self.status not in {BookingStatus.CANCELLED, BookingStatus.NO_SHOW}

    def snapshot(self) -> dict[str, Any]:
        return {
            "patient": self.patient_id,
            "chair": self.chair_id,
            "type": self.appointment_type_id,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "series_request": self.series_request_id,
            "series_number": self.series_number,
        }


class WaitlistEntry(models.Model):
    """A patient waiting for an earlier or any slot; offered freed chairs first come, first
    served."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="waitlist")
    series_request = models.ForeignKey(SeriesRequest, null=True, blank=True, on_delete=models.PROTECT)
    duration_min = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Waitlist: {self.patient.initials} since {self.created_at:%Y-%m-%d}"


class WaitlistOffer(models.Model):
    """A freed chair offered to a waiting patient and held until ``expires_at``."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.HELD)
    offered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=ReminderOutcome.choices, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-offered_at"]

    def __str__(self) -> str:
        return f"Offer to {self.entry.patient.initials} ({self.get_status_display()})"


class Reminder(models.Model):
    """One reminder for one booking at one offset (e.g. 48 h before): written once, so the
    sending command can run every few minutes and never send twice."""

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="reminders")
    offset_h = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=12, choices=ReminderOutcome.choices)
    message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["booking", "offset_h"], name="one_reminder_per_offset"),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.offset_h} h before booking {self.booking_id}: {self.get_outcome_display()}"
