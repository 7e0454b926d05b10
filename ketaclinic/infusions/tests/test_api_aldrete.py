"""POST /api/v1/scores/aldrete: total, threshold, eligibility; 422 outside 0–2."""

from __future__ import annotations

import pytest
from django.test import override_settings

from ketaclinic.core.testing import World, api_client
from ketaclinic.infusions.tests.factories import make_session

URL = "/api/v1/scores/aldrete"
FULL = {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2, "oxygen_saturation": 2}


def test_full_marks_are_ten_and_eligible_under_the_default_threshold(world: World) -> None:
    response = api_client(world["nurse"]).post(URL, FULL, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"total": 10, "threshold": 9, "discharge_eligible": True}


def test_eight_is_below_the_default_threshold(world: World) -> None:
    body = {**FULL, "activity": 1, "consciousness": 1}
    response = api_client(world["nurse"]).post(URL, body, content_type="application/json")
    assert response.json() == {"total": 8, "threshold": 9, "discharge_eligible": False}


@override_settings(ALDRETE_DISCHARGE_THRESHOLD=8)
def test_the_clinic_threshold_is_a_setting(world: World) -> None:
    body = {**FULL, "activity": 1, "consciousness": 1}
    response = api_client(world["nurse"]).post(URL, body, content_type="application/json")
    assert response.json() == {"total": 8, "threshold": 8, "discharge_eligible": True}


def test_a_session_scores_under_its_protocol_version(world: World) -> None:
    session = make_session(world, "recovering")
    body = {**FULL, "respiration": 1, "session_id": session.pk}
    response = api_client(world["nurse"]).post(URL, body, content_type="application/json")
    assert response.json()["threshold"] == session.protocol_version.aldrete_threshold
    assert response.json()["total"] == 9


@pytest.mark.parametrize("bad", [-1, 3])
def test_an_item_outside_zero_to_two_is_422(world: World, bad: int) -> None:
    response = api_client(world["nurse"]).post(URL, {**FULL, "circulation": bad}, content_type="application/json")
    assert response.status_code == 422
    assert "circulation" in response.content.decode()


def test_another_locations_session_is_refused(world: World) -> None:
    session = make_session(world, "recovering")
    response = api_client(world["outsider"]).post(
        URL, {**FULL, "session_id": session.pk}, content_type="application/json"
    )
    assert response.status_code == 403
