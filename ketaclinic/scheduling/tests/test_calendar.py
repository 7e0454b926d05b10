"""Calendar management pages: opening hours, closures, chairs out of service, staff shifts, the
scheduling policy and series rules. Each change is audited; bad input is answered with a
clear message and writes nothing."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.scheduling.choices import ShiftPresence, ShiftRole
from ketaclinic.scheduling.models import (
    ChairOutage,
    Closure,
    OpeningHours,
    SchedulingPolicy,
    SeriesRule,
    StaffShift,
)
from ketaclinic.scheduling.tests.factories import book_infusion, chairs, next_monday, open_clinic, protocol

URL = "/schedule/calendar/"


def _post(world: World, form: str, data: dict[str, object], who: str = "director") -> tuple[int, str]:
    client = signed_in_client(world[who])
    fields = {f"{form}-{name}": value for name, value in data.items()}
    response = client.post(URL, {"form": form, "location": world.location.pk, **fields})
    return response.status_code, response.content.decode()


def _audits(object_type: str) -> int:
    return AuditEvent.objects.filter(object_type=object_type).count()


def test_the_director_sees_every_calendar_section(world: World) -> None:
    response = signed_in_client(world["director"]).get(f"{URL}?location={world.location.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    for heading in ("Opening hours", "Closures and holidays", "Chairs out of service", "Staff shifts"):
        assert heading in page
    assert "Scheduling policy" in page


def test_setting_a_weekdays_hours_replaces_them_and_is_audited(world: World) -> None:
    before = _audits("scheduling.OpeningHours")
    status, _ = _post(world, "hours", {"weekday": 2, "opens": "07:30", "closes": "18:00"})
    assert status == 302
    hours = OpeningHours.objects.get(location=world.location, weekday=2)
    assert (hours.opens, hours.closes) == (time(7, 30), time(18))
    assert _audits("scheduling.OpeningHours") == before + 1


def test_hours_that_close_before_they_open_are_refused_and_nothing_is_written(world: World) -> None:
    rows, events = OpeningHours.objects.count(), AuditEvent.objects.count()
    status, page = _post(world, "hours", {"weekday": 2, "opens": "17:00", "closes": "08:00"})
    assert status == 400
    assert "The location closes after it opens." in page
    assert OpeningHours.objects.count() == rows
    assert AuditEvent.objects.filter(object_type="scheduling.OpeningHours").count() == 0
    assert AuditEvent.objects.count() == events


def test_one_time_without_the_other_is_refused(world: World) -> None:
    status, page = _post(world, "hours", {"weekday": 1, "opens": "08:00", "closes": ""})
    assert status == 400
    assert "Give both times" in page
    assert not OpeningHours.objects.filter(weekday=1).exists()


def test_a_closure_is_added_and_a_backwards_one_is_refused(world: World) -> None:
    monday = next_monday()
    status, _ = _post(world, "closure", {"starts_on": monday, "ends_on": monday, "reason": "Staff training"})
    assert status == 302
    assert Closure.objects.filter(location=world.location, reason="Staff training").count() == 1
    assert _audits("scheduling.Closure") == 1
    status, page = _post(
        world, "closure", {"starts_on": monday, "ends_on": monday - timedelta(days=1), "reason": "Backwards"}
    )
    assert status == 400
    assert "The last day closed is on or after the first." in page
    assert Closure.objects.count() == 1
    assert _audits("scheduling.Closure") == 1


def test_a_chair_with_bookings_cannot_be_taken_out_of_service_then(world: World) -> None:
    monday = next_monday()
    open_clinic(world, monday, days=7)
    chair = chairs(world)[0]
    book_infusion(world, monday, time(9), chair)
    period = {"chair": chair.pk, "starts_at": f"{monday}T08:00", "ends_at": f"{monday}T12:00", "reason": "Pump repair"}
    status, page = _post(world, "outage", period)
    assert status == 400
    assert "booking(s) then; move or cancel them first" in page
    assert ChairOutage.objects.count() == 0
    free_day = monday + timedelta(days=2)
    status, _ = _post(world, "outage", {**period, "starts_at": f"{free_day}T08:00", "ends_at": f"{free_day}T12:00"})
    assert status == 302
    assert ChairOutage.objects.get().chair == chair
    assert _audits("scheduling.ChairOutage") == 1


def test_an_outage_is_stored_in_utc_from_the_locations_local_time(world: World) -> None:
    day = next_monday() + timedelta(days=3)
    chair = chairs(world)[1]
    status, _ = _post(
        world, "outage", {"chair": chair.pk, "starts_at": f"{day}T13:00", "ends_at": f"{day}T15:00", "reason": "Clean"}
    )
    assert status == 302
    outage = ChairOutage.objects.get(chair=chair)
    local = outage.starts_at.astimezone(ZoneInfo(world.location.time_zone))
    assert (local.date(), local.hour) == (day, 13)


def test_a_shift_is_added_for_a_nurse_on_call(world: World) -> None:
    day = next_monday()
    status, _ = _post(
        world,
        "shift",
        {
            "user": world["prescriber"].pk,
            "role": ShiftRole.PRESCRIBER,
            "presence": ShiftPresence.ON_CALL,
            "starts_at": f"{day}T08:00",
            "ends_at": f"{day}T17:00",
        },
    )
    assert status == 302
    shift = StaffShift.objects.get()
    assert (shift.user, shift.presence) == (world["prescriber"], ShiftPresence.ON_CALL)
    assert _audits("scheduling.StaffShift") == 1


def test_a_shift_for_someone_who_is_not_clinical_staff_here_is_refused(world: World) -> None:
    day = next_monday()
    status, page = _post(
        world,
        "shift",
        {
            "user": world["billing"].pk,
            "role": ShiftRole.NURSE,
            "presence": ShiftPresence.ON_SITE,
            "starts_at": f"{day}T08:00",
            "ends_at": f"{day}T07:00",
        },
    )
    assert status == 400
    assert "is not one of the available choices" in page
    assert "The period ends after it starts." in page
    assert StaffShift.objects.count() == 0


def test_the_policy_is_saved_and_audited_and_bad_reminder_offsets_are_refused(world: World) -> None:
    good = {"nurse_ratio": 2, "require_prescriber_cover": "on", "slot_min": 15, "offer_hold_min": 90}
    status, _ = _post(world, "policy", {**good, "reminder_offsets_h": "72,2"})
    assert status == 302
    policy = SchedulingPolicy.objects.get(location=world.location)
    assert (policy.nurse_ratio, policy.offer_hold_min, policy.reminder_offsets) == (2, 90, [72, 2])
    assert _audits("scheduling.SchedulingPolicy") == 1
    status, page = _post(world, "policy", {**good, "nurse_ratio": 5, "reminder_offsets_h": "soon"})
    assert status == 400
    assert "Write whole hours separated by commas" in page
    policy.refresh_from_db()
    assert policy.nurse_ratio == 2
    assert _audits("scheduling.SchedulingPolicy") == 1


def test_staff_without_the_calendar_grant_cannot_change_it(world: World) -> None:
    status, _ = _post(world, "hours", {"weekday": 2, "opens": "07:00", "closes": "18:00"}, who="nurse")
    assert status == 403
    assert not OpeningHours.objects.exists()


def test_an_unknown_form_name_is_a_bad_request(world: World) -> None:
    status, _ = _post(world, "everything", {})
    assert status == 400


def test_a_series_rule_is_saved_and_an_impossible_one_is_refused(world: World) -> None:
    made = protocol()
    client = signed_in_client(world["director"])
    prefix = f"rule{made.pk}"
    fields = {"infusion_duration_min": 100, "recovery_min": 45, "turnover_min": 15, "min_gap_days": 2}
    data = {"protocol": made.pk, **{f"{prefix}-{k}": v for k, v in fields.items()}, f"{prefix}-max_per_week": 2}
    before = _audits("scheduling.SeriesRule")
    assert client.post("/schedule/series-rules/", data).status_code == 302
    rule = SeriesRule.objects.get(protocol=made)
    assert (rule.chair_time_min, rule.min_gap_days, rule.max_per_week) == (160, 2, 2)
    assert _audits("scheduling.SeriesRule") == before + 1
    response = client.post("/schedule/series-rules/", {**data, f"{prefix}-infusion_duration_min": 5})
    assert response.status_code == 400
    assert "greater than or equal to 20" in response.content.decode()
    rule.refresh_from_db()
    assert rule.infusion_duration_min == 100
    assert _audits("scheduling.SeriesRule") == before + 1
