"""The session page, its live regions and the day board read a fixed number of queries whatever
the number of vitals rows (issue 5, Performance): 10 rows and 200 rows, with the monitor
readings still to validate and the alerts (open and acknowledged) that a long session brings,
cost the same. The rows are bulk-inserted: the charting path is not what is measured here."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.infusions.models import Alert, AlertKind, InfusionSession, VitalPhase, VitalSign, VitalSource
from ketaclinic.infusions.tests.factories import make_session

AssertNumQueries = Callable[[int], AbstractContextManager[object]]


def add_vitals(session: InfusionSession, count: int, nurse: User) -> None:
    """``count`` complete 1-minute vitals sets ending now; every 4th from the monitor and not
    validated, every 5th with a systolic alert (every other one of them acknowledged)."""
    now = timezone.now()
    first = session.vitals.count()
    rows = VitalSign.objects.bulk_create(
        VitalSign(
            session=session,
            taken_at=now - timedelta(minutes=count - i),
            phase=VitalPhase.INFUSION,
            source=VitalSource.DEVICE if (first + i) % 4 == 0 else VitalSource.MANUAL,
            systolic=178 if (first + i) % 5 == 0 else 126,
            diastolic=80,
            heart_rate=76,
            spo2=97,
            resp_rate=14,
            etco2=37,
            pain_nrs=4,
            sedation=0,
            dissociation=1,
            recorded_by=None if (first + i) % 4 == 0 else nurse,
        )
        for i in range(count)
    )
    flagged = [v for n, v in enumerate(rows) if (first + n) % 5 == 0]
    Alert.objects.bulk_create(
        Alert(
            session=session,
            vital=v,
            kind=AlertKind.ABSOLUTE,
            parameter="systolic",
            value="178",
            message="Systolic 178 mmHg is above 160 mmHg",
            raised_at=v.taken_at,
            acknowledged_by=nurse if n % 2 else None,
            acknowledged_at=v.taken_at + timedelta(minutes=1) if n % 2 else None,
            action_taken="Rechecked; rate reduced one step." if n % 2 else "",
        )
        for n, v in enumerate(flagged)
    )


def count_queries(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def board_url(session: InfusionSession) -> str:
    assert session.booking is not None
    day = session.booking.start.astimezone(ZoneInfo(session.location.time_zone)).date()
    return f"{reverse('scheduling:board')}?location={session.location_id}&date={day.isoformat()}"


def test_the_session_page_reads_as_many_queries_for_200_vitals_rows_as_for_10(
    world: World, django_assert_num_queries: AssertNumQueries
) -> None:
    session = make_session(world, "infusing", started_minutes_ago=240)
    client = signed_in_client(world["nurse"])
    url = reverse("infusions:session", kwargs={"pk": session.pk})
    client.get(url)  # the first request of a sign-in does its own bookkeeping
    add_vitals(session, 10, world["nurse"])
    few, response = count_queries(client, url)
    assert len(response.context["flow_rows"]) == 11  # the baseline and 10 sets
    add_vitals(session, 190, world["nurse"])
    with django_assert_num_queries(few):
        response = client.get(url)
    assert response.context["flow_rows_total"] == 201
    assert len(response.context["flow_rows"]) == 60  # noqa: PLR2004 - the newest; the record has all
    assert len(response.context["open_alerts"]) == 20  # noqa: PLR2004 - 40 alerts, every other one open
    assert response.context["unvalidated"] == 50  # noqa: PLR2004


def test_the_live_regions_read_as_many_queries_for_200_vitals_rows_as_for_10(
    world: World, django_assert_num_queries: AssertNumQueries
) -> None:
    session = make_session(world, "infusing", started_minutes_ago=240)
    client = signed_in_client(world["nurse"])
    url = reverse("infusions:session_live", kwargs={"pk": session.pk})
    client.get(url)
    add_vitals(session, 10, world["nurse"])
    few, response = count_queries(client, url)
    assert len(response.context["flow_rows"]) == 11
    add_vitals(session, 190, world["nurse"])
    with django_assert_num_queries(few):
        response = client.get(url)
    assert response.context["flow_rows_total"] == 201
    assert len(response.context["flow_rows"]) == 60  # noqa: PLR2004 - the newest; the record has all


def test_the_day_board_reads_as_many_queries_for_200_vitals_rows_as_for_10(
    world: World, django_assert_num_queries: AssertNumQueries
) -> None:
    session = make_session(world, "infusing", started_minutes_ago=240)
    client = signed_in_client(world["nurse"])
    url = board_url(session)
    client.get(url)
    add_vitals(session, 10, world["nurse"])
    few, response = count_queries(client, url)
    session_url = reverse("infusions:session", kwargs={"pk": session.pk})
    assert session_url in response.content.decode()
    add_vitals(session, 190, world["nurse"])
    with django_assert_num_queries(few):
        response = client.get(url)
    body = response.content.decode()
    assert session_url in body
    assert "50 monitor readings to validate" in body
