"""The session page's content is shared between views of the same state (views_session.session_body):
a repeat view renders nothing new, yet every change shows at once, users with other permissions
get their own content, a refused form is never cached, each response carries its own request's
CSRF token, and every view is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.infusions import actions, views_session
from ketaclinic.infusions.models import InfusionSession
from ketaclinic.infusions.tests.factories import make_session


def page(session: InfusionSession) -> str:
    return reverse("infusions:session", kwargs={"pk": session.pk})


def get(client: Client, session: InfusionSession) -> tuple[str, Any, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page(session))
    assert response.status_code == 200
    return response.content.decode(), response, len(captured)


def body_rendered(response: Any) -> bool:
    return any(t.name == "infusions/_session_body.html" for t in response.templates)


def a_later_minute() -> Any:
    """A frozen moment in a minute no earlier request of the test has used."""
    return time_machine.travel(timezone.now().replace(second=5) + timedelta(minutes=2), tick=False)


def blocked(world: World) -> InfusionSession:
    """A session ready to start, held back by a baseline above 140 systolic."""
    session = make_session(world, "ready")
    actions.record_vitals(
        acting_user=world["nurse"],
        session=session,
        values={"systolic": 152, "diastolic": 84, "heart_rate": 80, "spo2": 97},
        taken_at=timezone.now() - timedelta(minutes=1),
    )
    return session


def test_a_repeat_view_reuses_the_content_and_a_new_vitals_set_shows_at_once(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    client = signed_in_client(world["nurse"])
    client.get(page(session))  # the first request of a sign-in does its own bookkeeping
    with a_later_minute():
        first, response, first_queries = get(client, session)
        assert body_rendered(response)
        again, response, again_queries = get(client, session)
        assert not body_rendered(response)
        assert again_queries < first_queries
        actions.record_vitals(
            acting_user=world["nurse"],
            session=session,
            values={"systolic": 151, "diastolic": 97, "heart_rate": 88, "spo2": 96},
            taken_at=timezone.now(),
        )
        after, response, _ = get(client, session)
    assert body_rendered(response)
    assert "151" not in first and "151" in after


def test_a_change_to_the_session_itself_shows_at_once(world: World) -> None:
    """An override writes no row the change token counts, only the session's own fields."""
    session = blocked(world)
    client = signed_in_client(world["prescriber"])
    with a_later_minute():
        before, _, _ = get(client, session)
        assert "Start blocked" in before
        actions.override_baseline(acting_user=world["prescriber"], session=session, reason="Cleared by phone call")
        after, response, _ = get(client, session)
    assert body_rendered(response)
    assert "Cleared by phone call" not in before
    assert "Cleared by phone call" in after


def test_the_minute_turning_renders_afresh(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    client = signed_in_client(world["nurse"])
    moment = timezone.now().replace(second=5)
    with time_machine.travel(moment, tick=False):
        get(client, session)
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        _, response, _ = get(client, session)
    assert body_rendered(response)


def test_users_with_other_permissions_do_not_share_content(world: World) -> None:
    session = blocked(world)
    override = 'action="' + reverse("infusions:session_override", kwargs={"pk": session.pk})
    with a_later_minute():
        nurse_page, _, _ = get(signed_in_client(world["nurse"]), session)
        prescriber_page, response, _ = get(signed_in_client(world["prescriber"]), session)
        assert body_rendered(response)
        nurse_again, response, _ = get(signed_in_client(world["nurse"]), session)
        assert not body_rendered(response)
    # Only a prescriber may override the block; the nurse sees it without the form.
    assert "Start blocked" in nurse_page and override not in nurse_page
    assert override in prescriber_page
    assert override not in nurse_again


def test_each_response_carries_a_working_csrf_token_of_its_own_request(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    first = Client(enforce_csrf_checks=True)
    second = Client(enforce_csrf_checks=True)
    for client in (first, second):
        login = signed_in_client(world["nurse"])
        client.cookies = login.cookies
    with a_later_minute():
        page_one = first.get(page(session)).content.decode()
        page_two = second.get(page(session)).content.decode()
    assert views_session.CSRF_PLACEHOLDER not in page_one + page_two
    token = page_two.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = second.post(
        reverse("infusions:session_vitals", kwargs={"pk": session.pk}),
        {"csrfmiddlewaretoken": token, "systolic": 122, "diastolic": 79, "heart_rate": 70, "spo2": 98},
    )
    assert response.status_code == 302  # saved: the cached content's form posts with this token
    assert session.vitals.filter(systolic=122).exists()


def test_a_refused_form_is_rendered_with_its_errors_and_not_kept(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    client = signed_in_client(world["nurse"])
    with a_later_minute():
        get(client, session)
        refused = client.post(
            reverse("infusions:session_vitals", kwargs={"pk": session.pk}), {"systolic": 400, "diastolic": 80}
        )
        assert refused.status_code == 200
        assert "field--invalid" in refused.content.decode()
        plain, _, _ = get(client, session)
    assert "field--invalid" not in plain


def test_every_view_is_audited_even_when_the_content_is_reused(world: World) -> None:
    session = make_session(world, "infusing", started_minutes_ago=30)
    client = signed_in_client(world["nurse"])
    before = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_id=str(session.pk)).count()
    with a_later_minute():
        get(client, session)
        _, response, _ = get(client, session)
    assert not body_rendered(response)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_id=str(session.pk)).count() == before + 2
