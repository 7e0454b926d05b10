"""The demo clinic's calendar and bookings (synthetic): opening hours Monday to Friday 08:00-17:00
and Saturday mornings, an upcoming holiday closure, a chair out of service for its annual service,
nurse and prescriber shifts from three months back to six weeks ahead (none on the holiday),
completed induction series in past months, patients mid-series, a busy day board today (every
chair in use, bookings done, infusing, recovering, checked in, booked later and one no-show),
a waitlist whose first patient holds an open offer of a cancelled slot, an unconfirmed request
for clinic-wide replanning, and the reminders now due."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ketaclinic.clinics.models import Chair
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients.choices import Decision
from ketaclinic.patients.models import CandidacyDecision, Patient
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.choices import INFUSION_KINDS, STATUS_FLOW, BookingStatus, ShiftPresence, ShiftRole
from ketaclinic.scheduling.models import Booking

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext

SERIES_MIN = 190  # the series rule's default chair time: 120 min infusion + 60 recovery + 10 turnover
INFUSION_MIN = 120
SATURDAY, SUNDAY = 5, 6
PATH = (BookingStatus.CHECKED_IN, BookingStatus.INFUSING, BookingStatus.RECOVERING, BookingStatus.DONE)


def _weekdays(around: date, before: int, after: int) -> list[date]:
    days = [around + timedelta(days=i) for i in range(-before, after + 1)]
    return [d for d in days if d.weekday() < SATURDAY]


def _status_at(start: datetime, end: datetime, pivot: datetime) -> str:
    """Where a booking is in its day at ``pivot``."""
    if end <= pivot:
        return BookingStatus.DONE
    if start <= pivot < start + timedelta(minutes=INFUSION_MIN):
        return BookingStatus.INFUSING
    if start + timedelta(minutes=INFUSION_MIN) <= pivot:
        return BookingStatus.RECOVERING
    if start - timedelta(minutes=30) <= pivot:
        return BookingStatus.CHECKED_IN
    return BookingStatus.BOOKED


def _advance(ctx: DemoContext, booking: Booking, target: str) -> None:
    if target == BookingStatus.NO_SHOW:
        actions.set_booking_status(acting_user=ctx.users["frontdesk"], booking=booking, status=target)
        return
    if booking.appointment_type.kind in INFUSION_KINDS:
        # Infusions move through the chairside record (ketaclinic/infusions/demo.py), which
        # checks them in and carries the booking's status along with the session.
        return
    for step in PATH:
        if booking.status == target or step not in STATUS_FLOW[booking.status]:
            break
        actor = ctx.users["frontdesk"] if step == BookingStatus.CHECKED_IN else ctx.users["nurse"]
        booking = actions.set_booking_status(acting_user=actor, booking=booking, status=step)


def _series(
    ctx: DemoContext,
    *,
    protocol: Protocol,
    patient: Patient,
    days: list[date],
    at: time,
    chair: Chair,
    zone: ZoneInfo,
) -> list[Booking]:
    request = actions.request_series(
        acting_user=ctx.users["frontdesk"],
        patient=patient,
        protocol=protocol,
        earliest_start=days[0],
        time_windows=[(time(8), time(17))],
    )
    sessions = []
    for day in days:
        start = datetime.combine(day, at, tzinfo=zone)
        sessions.append(actions.PlannedSession(start, start + timedelta(minutes=SERIES_MIN), chair.pk))
    return actions.confirm_series(acting_user=ctx.users["frontdesk"], series_request=request, sessions=sessions)


def _patients_in_order(ctx: DemoContext) -> list[Patient]:
    """Patients approved with a protocol first (the patients demo's candidacy decisions)."""
    approved = set(CandidacyDecision.objects.filter(decision=Decision.APPROVED).values_list("patient_id", flat=True))
    return sorted(ctx.patients, key=lambda p: (p.pk not in approved, p.pk))


def _holiday(board_day: date) -> date:
    """A weekday three to four weeks ahead, after every series seeded here has finished."""
    day = board_day + timedelta(weeks=3)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


def _shifts(ctx: DemoContext, board_day: date, zone: ZoneInfo, closed: set[date]) -> None:
    """Two nurses on weekdays, one on Saturday mornings; the prescriber on site Monday,
    Wednesday and Friday and on call otherwise, from 100 days back to six weeks ahead, except
    on days the clinic is closed."""
    director = ctx.users["director"]
    for offset in range(-100, 43):
        day = board_day + timedelta(days=offset)
        if day.weekday() == SUNDAY or day in closed:
            continue
        closes = time(13) if day.weekday() == SATURDAY else time(17)
        start, end = datetime.combine(day, time(8), tzinfo=zone), datetime.combine(day, closes, tzinfo=zone)
        nurses = ["nurse"] if day.weekday() == SATURDAY else ["nurse", "nurse2"]
        for name in nurses:
            actions.add_shift(
                acting_user=director,
                user=ctx.users[name],
                location=ctx.location,
                start=start,
                end=end,
                role=ShiftRole.NURSE,
            )
        on_site = day.weekday() in {0, 2, 4}
        actions.add_shift(
            acting_user=director,
            user=ctx.users["prescriber"],
            location=ctx.location,
            start=start,
            end=end,
            role=ShiftRole.PRESCRIBER,
            presence=ShiftPresence.ON_SITE if on_site else ShiftPresence.ON_CALL,
        )


def seed(ctx: DemoContext) -> None:
    location = ctx.location
    zone = ZoneInfo(location.time_zone)
    director = ctx.users["director"]
    actions.save_policy(acting_user=director, location=location)
    for weekday in range(5):
        actions.set_opening_hours(
            acting_user=director, location=location, weekday=weekday, opens=time(8), closes=time(17)
        )
    actions.set_opening_hours(acting_user=director, location=location, weekday=5, opens=time(8), closes=time(13))
    protocol = Protocol.objects.get(code="migraine-induction-low-dose")
    actions.save_series_rule(acting_user=director, protocol=protocol, infusion_duration_min=INFUSION_MIN)

    now_local = ctx.now.astimezone(zone)
    board_day = now_local.date()
    while board_day.weekday() >= SATURDAY:
        board_day += timedelta(days=1)
    holiday = _holiday(board_day)
    actions.add_closure(
        acting_user=director,
        location=location,
        starts_on=holiday,
        ends_on=holiday,
        reason="Clinic holiday (synthetic)",
    )
    _shifts(ctx, board_day, zone, {holiday})
    chairs = list(Chair.objects.filter(location=location).order_by("name"))
    people = _patients_in_order(ctx)
    weekdays = _weekdays(board_day, 120, 60)
    today = weekdays.index(board_day)
    # Chair 3 out of service for two weekdays next week or the week after, once its series
    # bookings (the last on the fourth weekday from today) are over.
    service_from = datetime.combine(weekdays[today + 6], time(0), tzinfo=zone)
    actions.add_chair_outage(
        acting_user=director,
        chair=chairs[2],
        starts_at=service_from,
        ends_at=datetime.combine(weekdays[today + 8], time(0), tzinfo=zone),
        reason="Annual service of the recliner and pump mount (synthetic)",
    )

    # Completed induction series in past months (the outcomes module's baselines start at the
    # first induction infusion).
    for patient, weeks_ago, chair, at in (
        (people[4], 13, chairs[0], time(8)),
        (people[6], 11, chairs[2], time(8)),
        (people[7], 9, chairs[3], time(8)),
        (people[9], 6, chairs[1], time(12, 15)),
    ):
        first = weekdays.index(min(d for d in weekdays if d >= board_day - timedelta(weeks=weeks_ago)))
        for booking in _series(
            ctx,
            protocol=protocol,
            patient=patient,
            days=[weekdays[first + 2 * i] for i in range(6)],
            at=at,
            chair=chair,
            zone=zone,
        ):
            _advance(ctx, booking, BookingStatus.DONE)

    # Today's board: every chair in use. The status of each follows the time of seeding; when
    # the demo is seeded outside opening hours the board is shown as it stood at 11:30.
    opens = datetime.combine(board_day, time(8), tzinfo=zone)
    closes = datetime.combine(board_day, time(17), tzinfo=zone)
    pivot = now_local if opens <= now_local < closes else datetime.combine(board_day, time(11, 30), tzinfo=zone)
    mid_series = (
        (people[0], 3, chairs[0], time(8)),
        (people[1], 5, chairs[3], time(8)),
        (people[2], 2, chairs[1], time(9)),
        (people[3], 4, chairs[2], time(11, 45)),
        (people[8], 1, chairs[3], time(13)),
    )
    for patient, number, chair, at in mid_series:
        days = [weekdays[today + 2 * (j - number)] for j in range(1, 7)]
        for booking in _series(ctx, protocol=protocol, patient=patient, days=days, at=at, chair=chair, zone=zone):
            day = booking.start.astimezone(zone).date()
            if day < board_day:
                _advance(ctx, booking, BookingStatus.DONE)
            elif day == board_day:
                _advance(ctx, booking, _status_at(booking.start, booking.end, pivot))
    for patient, chair, at, no_show in (
        (people[4], chairs[0], time(11, 15), False),
        (people[6], chairs[2], time(8), True),
        (people[9], chairs[1], time(12, 15), False),
    ):
        start = datetime.combine(board_day, at, tzinfo=zone)
        booking = actions.book_appointment(
            acting_user=ctx.users["frontdesk"],
            patient=patient,
            kind="maintenance",
            start=start,
            end=start + timedelta(minutes=SERIES_MIN),
            chair=chair,
        )
        if no_show and start + timedelta(minutes=15) < pivot:
            _advance(ctx, booking, BookingStatus.NO_SHOW)
        else:
            _advance(ctx, booking, _status_at(booking.start, booking.end, pivot))

    # The waitlist and an unconfirmed request for clinic-wide replanning.
    waiting = actions.request_series(
        acting_user=ctx.users["frontdesk"],
        patient=people[10],
        protocol=protocol,
        earliest_start=board_day + timedelta(days=1),
        weekdays=[1, 3],
        time_windows=[(time(8), time(12))],
    )
    actions.add_to_waitlist(
        acting_user=ctx.users["frontdesk"],
        patient=people[10],
        duration_min=SERIES_MIN,
        series_request=waiting,
        note="Tuesday and Thursday mornings only; wants the first free chair.",
    )
    actions.request_series(
        acting_user=ctx.users["frontdesk"],
        patient=people[11],
        protocol=protocol,
        earliest_start=board_day + timedelta(days=7),
        time_windows=[(time(12), time(17))],
    )
    # A cancellation: the freed Tuesday or Thursday morning is offered to the first patient on
    # the waitlist (the one above), and held for the policy's offer time.
    offered_day = next(d for d in weekdays[today + 1 :] if d.weekday() in {1, 3})
    start = datetime.combine(offered_day, time(8), tzinfo=zone)
    cancelled = actions.book_appointment(
        acting_user=ctx.users["frontdesk"],
        patient=people[9],
        kind="maintenance",
        start=start,
        end=start + timedelta(minutes=SERIES_MIN),
        chair=chairs[2],
    )
    actions.cancel_booking(
        acting_user=ctx.users["frontdesk"], booking=cancelled, reason="Patient travelling that week (synthetic)."
    )
    actions.send_due_reminders(now=ctx.now)
