"""Booking rules enforced by the actions: chair, nurse ratio, prescriber cover, opening hours,
cancellation with a waitlist offer, reminders, and times across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World
from ketaclinic.messaging.phi import TREATMENT_WORDS
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.choices import BookingStatus, OfferStatus, ReminderOutcome
from ketaclinic.scheduling.models import Booking, Reminder, WaitlistOffer
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, local, next_monday, open_clinic


def _patient(w: World, name: str) -> Patient:
    return register_patient(
        acting_user=None, location=w.location, first_name=name, last_name="Tester", date_of_birth=date(1980, 1, 1)
    )


def test_a_chair_cannot_hold_two_overlapping_bookings(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    book_infusion(world, monday, time(9), chairs(world)[0])
    other = _patient(world, "Second")
    before = Booking.objects.count()
    start = local(world.location, monday, time(10))
    with pytest.raises(actions.BookingConflict) as caught:
        actions.book_appointment(
            acting_user=world["frontdesk"],
            patient=other,
            kind="induction",
            start=start,
            end=start + timedelta(minutes=60),
            chair=chairs(world)[0],
        )
    assert caught.value.rule == "chairs"
    assert "already booked" in caught.value.message
    assert Booking.objects.count() == before


def test_the_nurse_ratio_refuses_a_fourth_concurrent_infusion_for_one_nurse(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7, nurses=1)
    start = local(world.location, monday, time(9))
    for index, chair in enumerate(chairs(world)[:3]):
        actions.book_appointment(
            acting_user=world["frontdesk"],
            patient=_patient(world, f"P{index}"),
            kind="induction",
            start=start,
            end=start + timedelta(minutes=190),
            chair=chair,
        )
    before = Booking.objects.count()
    with pytest.raises(actions.BookingConflict) as caught:
        actions.book_appointment(
            acting_user=world["frontdesk"],
            patient=world.patient,
            kind="induction",
            start=start + timedelta(minutes=60),
            end=start + timedelta(minutes=250),
            chair=chairs(world)[3],
        )
    assert caught.value.rule == "nurses"
    assert "1:3" in caught.value.message
    assert Booking.objects.count() == before


def test_an_infusion_without_prescriber_cover_is_refused(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7, prescriber=False)
    with pytest.raises(actions.BookingConflict) as caught:
        book_infusion(world, monday, time(9), chairs(world)[0])
    assert caught.value.rule == "prescriber"
    assert not Booking.objects.exists()


def test_a_booking_outside_opening_hours_is_refused_in_plain_words(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    with pytest.raises(actions.BookingConflict) as caught:
        book_infusion(world, monday, time(15), chairs(world)[0])  # 15:00 + 190 min ends after 17:00
    assert "outside opening hours" in caught.value.message
    assert not Booking.objects.exists()


def test_every_booking_change_is_audited_with_old_and_new_status(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    actions.set_booking_status(acting_user=world["nurse"], booking=booking, status=BookingStatus.CHECKED_IN)
    event = (
        AuditEvent.objects.filter(object_type="scheduling.Booking", object_id=str(booking.pk)).order_by("-id").first()
    )
    assert event is not None
    assert event.changes == {"status": ["booked", "checked_in"]}
    assert event.actor == world["nurse"]


def test_a_status_cannot_skip_the_day_s_order(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    with pytest.raises(ValidationError, match="cannot become done"):
        actions.set_booking_status(acting_user=world["nurse"], booking=booking, status=BookingStatus.DONE)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_cancelling_offers_the_chair_to_the_first_waiting_patient_and_holds_it(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    first = _patient(world, "Waiting")
    second = _patient(world, "Later")
    actions.add_to_waitlist(acting_user=world["frontdesk"], patient=first, duration_min=190)
    actions.add_to_waitlist(acting_user=world["frontdesk"], patient=second, duration_min=190)
    offer = actions.cancel_booking(acting_user=world["frontdesk"], booking=booking, reason="Patient unwell")
    assert offer is not None
    assert offer.entry.patient == first
    assert offer.status == OfferStatus.HELD
    assert offer.expires_at <= booking.start
    # The waiting patient has neither phone nor email on file: recorded, not sent.
    assert offer.outcome == ReminderOutcome.NO_CONTACT
    taken = actions.accept_offer(acting_user=world["frontdesk"], offer=offer)
    assert taken.chair == booking.chair and taken.start == booking.start
    assert WaitlistOffer.objects.get(pk=offer.pk).status == OfferStatus.ACCEPTED


def test_cancelling_needs_a_reason_and_then_changes_nothing(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    with pytest.raises(ValidationError):
        actions.cancel_booking(acting_user=world["frontdesk"], booking=booking, reason=" ")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_reminders_are_sent_once_per_offset_and_name_only_the_clinic(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    world.patient.email = "pat@example.org"
    world.patient.save(update_fields=["email"])
    two_days_before = booking.start - timedelta(hours=47)
    first = actions.send_due_reminders(now=two_days_before)
    again = actions.send_due_reminders(now=two_days_before + timedelta(minutes=5))
    assert [r.offset_h for r in first] == [48]
    assert again == []
    later = actions.send_due_reminders(now=booking.start - timedelta(hours=1))
    assert [r.offset_h for r in later] == [2]
    assert Reminder.objects.filter(booking=booking).count() == 2
    assert actions.send_due_reminders(now=booking.start - timedelta(minutes=30)) == []
    assert {r.outcome for r in Reminder.objects.all()} == {ReminderOutcome.SENT_EMAIL}
    text = actions.reminder_text(booking)
    assert f"your appointment at {world.location.name}" in text
    assert not any(word in text.lower() for word in TREATMENT_WORDS)


def test_a_reminder_to_a_number_without_consent_is_recorded_as_not_sent(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    booking = book_infusion(world, monday, time(9), chairs(world)[0])
    world.patient.phone = "+13035550177"
    world.patient.save(update_fields=["phone"])
    sent = actions.send_due_reminders(now=booking.start - timedelta(hours=1))
    assert [(r.offset_h, r.outcome) for r in sent] == [(2, ReminderOutcome.NO_CONSENT)]
    # The 48-hour reminder it missed is not sent late.
    assert actions.send_due_reminders(now=booking.start - timedelta(minutes=30)) == []
    assert Reminder.objects.filter(booking=booking).count() == 1


@pytest.mark.parametrize(
    ("before", "after", "utc_before", "utc_after"),
    [
        # America/Denver springs forward on Sunday 2026-03-08 (UTC-7 -> UTC-6) and falls back on
        # Sunday 2026-11-01 (UTC-6 -> UTC-7).
        (date(2026, 3, 6), date(2026, 3, 9), 16, 15),
        (date(2026, 10, 30), date(2026, 11, 2), 15, 16),
    ],
)
def test_a_nine_o_clock_booking_stays_at_nine_local_across_a_dst_change(
    world: World, before: date, after: date, utc_before: int, utc_after: int
) -> None:
    with time_machine.travel(datetime.combine(before - timedelta(days=5), time(12), tzinfo=UTC), tick=False):
        open_clinic(world, before - timedelta(days=before.weekday()), days=14)
        a = book_infusion(world, before, time(9), chairs(world)[0])
        b = book_infusion(world, after, time(9), chairs(world)[0])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.start.astimezone(UTC).hour, b.start.astimezone(UTC).hour) == (utc_before, utc_after)
    zone = ZoneInfo(world.location.time_zone)
    assert a.start.astimezone(zone).time() == b.start.astimezone(zone).time() == time(9)
