"""Choices and clinic-configurable defaults for scheduling.

The series shape (6 infusions within 21 days, then maintenance) and the session length (40 min
to a few hours) come from the outpatient practice described in
../shared/docs/clinical-reference.md §1; the recovery and turnover times, the nurse ratio and
the reminder offsets are the issue's stated defaults. Each is a default for a database row the
medical director may edit (SeriesRule, SchedulingPolicy), never a constant used in logic."""

from __future__ import annotations

from django.db import models

# SeriesRule defaults (clinical-reference.md §1: "an induction series of 6 infusions over 3
# weeks"; 40 min to a few hours per session). Two hours is a middle value for the infusion.
DEFAULT_INFUSION_DURATION_MIN = 120
DEFAULT_MIN_GAP_DAYS = 1
DEFAULT_MAX_PER_WEEK = 3
# After the infusion the patient stays in the chair until recovered; the Spravato label's
# 2-hour observation is an analogue only (§1), so recovery is clinic-configurable.
DEFAULT_RECOVERY_MIN = 60
DEFAULT_TURNOVER_MIN = 10

# SchedulingPolicy defaults (issue 4): one nurse watches at most three concurrent infusions.
DEFAULT_NURSE_RATIO = 3
DEFAULT_SLOT_MIN = 15
DEFAULT_OFFER_HOLD_MIN = 120
DEFAULT_REMINDER_OFFSETS_H = "48,2"
# How far past the earliest start the planner looks for a first session.
DEFAULT_SEARCH_DAYS = 28


class AppointmentKind(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    INDUCTION = "induction", "Induction infusion"
    MAINTENANCE = "maintenance", "Maintenance infusion"
    FOLLOW_UP = "follow_up", "Follow-up"


INFUSION_KINDS = frozenset({AppointmentKind.INDUCTION, AppointmentKind.MAINTENANCE})


class BookingStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    INFUSING = "infusing", "Infusing"
    RECOVERING = "recovering", "Recovering"
    DONE = "done", "Done"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"


# Where a booking may go next (the day board's buttons follow this).
STATUS_FLOW: dict[str, tuple[str, ...]] = {
    BookingStatus.BOOKED: (BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW, BookingStatus.CANCELLED),
    BookingStatus.CHECKED_IN: (BookingStatus.INFUSING, BookingStatus.CANCELLED),
    BookingStatus.INFUSING: (BookingStatus.RECOVERING,),
    BookingStatus.RECOVERING: (BookingStatus.DONE,),
    BookingStatus.DONE: (),
    BookingStatus.NO_SHOW: (),
    BookingStatus.CANCELLED: (),
}

# Statuses that no longer hold a chair (a no-show's chair is free for a walk-in).
RELEASED_STATUSES = frozenset({BookingStatus.CANCELLED, BookingStatus.NO_SHOW})


class ShiftRole(models.TextChoices):
    NURSE = "nurse", "Nurse"
    PRESCRIBER = "prescriber", "Prescriber"


class ShiftPresence(models.TextChoices):
    ON_SITE = "on_site", "On site"
    ON_CALL = "on_call", "On call"


class SeriesKind(models.TextChoices):
    INDUCTION = "induction", "Induction series"
    MAINTENANCE = "maintenance", "Maintenance infusion"


# Sessions in a maintenance request: one infusion, booked like a series of one so the same
# planner and confirmation apply (clinical-reference.md section 6: maintenance "as needed").
MAINTENANCE_SESSIONS = 1


class SeriesStatus(models.TextChoices):
    REQUESTED = "requested", "Requested (not yet booked)"
    BOOKED = "booked", "Booked"
    WAITLISTED = "waitlisted", "On the waitlist"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a slot"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


class OfferStatus(models.TextChoices):
    HELD = "held", "Held for the patient"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    DECLINED = "declined", "Declined"


class ReminderOutcome(models.TextChoices):
    SENT_SMS = "sms", "Text queued"
    SENT_EMAIL = "email", "Email queued"
    NO_CONSENT = "no_consent", "Not sent: no consent"
    NO_CONTACT = "no_contact", "Not sent: no phone or email"
    REFUSED = "refused", "Not sent: text held health information"


class BindingRule(models.TextChoices):
    """Which rule stops a complete series from fitting (shown to staff and in the API's 409)."""

    CHAIRS = "chairs", "chairs"
    NURSES = "nurses", "nurse ratio"
    PRESCRIBER = "prescriber", "prescriber cover"
    AVAILABILITY = "availability", "patient availability"
    CALENDAR = "calendar", "opening hours"
