"""The waitlist: an offer's link opens a page where the patient or the front desk books the
held slot; when the hold runs out the slot passes to the next eligible patient, once, however
often the expiry command runs."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.core.management import call_command
from django.utils import timezone

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.messaging.models import Message
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import actions
from ketaclinic.scheduling.choices import BookingStatus, OfferStatus, WaitlistStatus
from ketaclinic.scheduling.models import Booking, WaitlistEntry, WaitlistOffer
from ketaclinic.scheduling.tests.factories import chairs, local, next_monday, open_clinic


def _patient(w: World, name: str, email: str = "") -> Patient:
    return register_patient(
        acting_user=None,
        location=w.location,
        first_name=name,
        last_name="Waiting",
        date_of_birth=date(1985, 5, 5),
        email=email,
    )


def _offer(world: World, *waiting: Patient) -> tuple[Booking, WaitlistOffer]:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    start = local(world.location, monday, time(9))
    booking = actions.book_appointment(
        acting_user=world["frontdesk"],
        patient=_patient(world, "Holder"),
        kind="induction",
        start=start,
        end=start + timedelta(minutes=190),
        chair=chairs(world)[0],
    )
    for patient in waiting:
        actions.add_to_waitlist(acting_user=world["frontdesk"], patient=patient, duration_min=190)
    offer = actions.cancel_booking(acting_user=world["frontdesk"], booking=booking, reason="Unwell")
    assert offer is not None
    return booking, offer


def test_the_offer_message_links_to_the_offer_page_and_names_no_treatment(world: World) -> None:
    first = _patient(world, "Ada", email="ada@example.test")
    _, offer = _offer(world, first)
    message = Message.objects.filter(patient=first).latest("id")
    assert f"/schedule/offers/{offer.pk}/" in message.body
    for word in ("ketamine", "infusion", "migraine"):
        assert word not in message.body.lower()


def test_the_front_desk_books_a_held_offer_from_its_page(world: World) -> None:
    first = _patient(world, "Ada")
    freed, offer = _offer(world, first)
    client = signed_in_client(world["frontdesk"])
    page = client.get(f"/schedule/offers/{offer.pk}/")
    assert page.status_code == 200
    assert "Book this appointment" in page.content.decode()
    response = client.post(f"/schedule/offers/{offer.pk}/")
    assert response.status_code == 302
    booked = Booking.objects.get(patient=first)
    assert (booked.chair, booked.start, booked.status) == (freed.chair, freed.start, BookingStatus.BOOKED)
    assert WaitlistEntry.objects.get(patient=first).status == WaitlistStatus.BOOKED


def test_a_patient_books_their_own_offer_but_not_someone_elses(world: World) -> None:
    _, offer = _offer(world, world.patient)
    stranger_entry = WaitlistEntry.objects.create(
        patient=_patient(world, "Other"), location=world.location, duration_min=190
    )
    client = signed_in_client(world["patient"])
    assert client.post(f"/schedule/offers/{offer.pk}/").status_code == 302
    assert Booking.objects.filter(patient=world.patient, start=offer.start).exists()
    other = WaitlistOffer.objects.create(
        entry=stranger_entry,
        chair=offer.chair,
        start=offer.start + timedelta(days=1),
        end=offer.end + timedelta(days=1),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert client.get(f"/schedule/offers/{other.pk}/").status_code == 403


def test_an_expired_offer_cannot_be_booked_and_nothing_is_written(world: World) -> None:
    first = _patient(world, "Ada")
    _, offer = _offer(world, first)
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    bookings = Booking.objects.count()
    response = signed_in_client(world["frontdesk"]).post(f"/schedule/offers/{offer.pk}/")
    assert response.status_code == 409
    assert "no longer held" in response.content.decode()
    assert Booking.objects.count() == bookings


def test_an_expired_offer_passes_to_the_next_patient_once(world: World) -> None:
    first, second, third = _patient(world, "Ada"), _patient(world, "Ben"), _patient(world, "Cy")
    _, offer = _offer(world, first, second, third)
    later = offer.expires_at + timedelta(seconds=1)
    handled = actions.expire_waitlist_offers(now=later)
    assert len(handled) == 1
    expired, onward = handled[0]
    assert expired.pk == offer.pk
    assert onward is not None and onward.entry.patient == second
    assert WaitlistOffer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    # The first patient waits again, but is not offered the same slot twice.
    assert WaitlistEntry.objects.get(patient=first).status == WaitlistStatus.WAITING
    assert actions.expire_waitlist_offers(now=later) == []
    assert WaitlistOffer.objects.filter(start=offer.start).count() == 2
    assert AuditEvent.objects.filter(object_type="scheduling.WaitlistOffer", changes__status__1="expired").count() == 1


def test_a_slot_booked_by_hand_meanwhile_is_not_passed_on(world: World) -> None:
    first, second = _patient(world, "Ada"), _patient(world, "Ben")
    freed, offer = _offer(world, first, second)
    actions.book_appointment(
        acting_user=world["frontdesk"],
        patient=_patient(world, "Walk-in"),
        kind="induction",
        start=freed.start,
        end=freed.end,
        chair=freed.chair,
    )
    handled = actions.expire_waitlist_offers(now=offer.expires_at + timedelta(seconds=1))
    assert handled[0][1] is None
    assert not WaitlistOffer.objects.filter(entry__patient=second).exists()


def test_the_expiry_command_is_idempotent(world: World, capsys: object) -> None:
    first, second = _patient(world, "Ada"), _patient(world, "Ben")
    _, offer = _offer(world, first, second)
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    call_command("expire_waitlist_offers")
    call_command("expire_waitlist_offers")
    assert WaitlistOffer.objects.filter(status=OfferStatus.EXPIRED).count() == 1
    assert WaitlistOffer.objects.filter(status=OfferStatus.HELD, entry__patient=second).count() == 1
