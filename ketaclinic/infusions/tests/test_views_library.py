"""The protocol library, orders and the monitor log, driven through the pages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.core.tests.test_routes import PERSONAS, expected_status
from ketaclinic.infusions.forms_library import EDITED_FIELDS, VersionForm
from ketaclinic.infusions.models import InfusionOrder, MonitorMessage, Protocol, ProtocolVersion
from ketaclinic.infusions.tests.factories import make_session, order, version
from ketaclinic.infusions.tests.routes_library import ROUTES


def _post_data(current: ProtocolVersion, **changes: Any) -> dict[str, Any]:
    """The publish form as the browser sends it, pre-filled from ``current``."""
    data: dict[str, Any] = {}
    for name, value in VersionForm.initial_from(current).items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    data["change_note"] = "Clinic review"
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def test_the_publish_form_offers_every_setting_prefilled_from_the_current_version(world: World) -> None:
    current = version()
    response = signed_in_client(world["director"]).get(
        reverse("infusions:protocol_publish", args=[current.protocol_id])
    )
    assert response.status_code == 200
    html = response.content.decode()
    for name in EDITED_FIELDS:
        assert f'name="{name}"' in html, name
    assert 'value="1, 2"' in html  # concentrations as a list in mg/mL
    assert "Identity confirmed with two identifiers\nConsent on file" in html  # one checklist item a line
    assert re.search(r'<input[^>]*name="ask_pregnancy"[^>]*checked', html)  # booleans too


def test_the_director_publishes_a_new_version_with_every_setting_and_a_note(world: World) -> None:
    current = version()
    client = signed_in_client(world["director"])
    data = _post_data(
        current,
        soft_max_mg_per_kg_h="0.8",
        allowed_concentrations="1, 2, 0.5",
        checklist_items="Identity confirmed\n\nEscort present\n",
        sedation_scale="moaas",
        ask_pregnancy=None,
        change_note="Lower soft limit after the quarterly review",
    )
    response = client.post(reverse("infusions:protocol_publish", args=[current.protocol_id]), data)
    assert response.status_code == 302
    new = ProtocolVersion.objects.get(protocol_id=current.protocol_id, number=current.number + 1)
    assert new.soft_max_mg_per_kg_h == Decimal("0.800")
    assert new.allowed_concentrations == [1.0, 2.0, 0.5]
    assert new.checklist_items == ["Identity confirmed", "Escort present"]
    assert new.sedation_scale == "moaas"
    assert new.ask_pregnancy is False
    assert new.hard_max_mg_per_kg_h == current.hard_max_mg_per_kg_h  # untouched settings carried
    assert new.change_note == "Lower soft limit after the quarterly review"
    assert new.created_by == world["director"]
    assert "soft_max_mg_per_kg_h: Clinic setting, changed in version 2" in new.sources
    assert "hard_max_mg_per_kg_h: §1 Cohen 2018" in new.sources
    event = AuditEvent.objects.get(object_type="infusions.ProtocolVersion", object_id=str(new.pk))
    assert event.changes["soft_max_mg_per_kg_h"] == ["1.000", "0.800"]

    page = client.get(reverse("infusions:protocol", args=[current.protocol_id])).content.decode()
    assert "Version 2" in page and "Lower soft limit after the quarterly review" in page
    assert "<del>1 mg/kg/h</del>" in page and "<ins>0.8 mg/kg/h</ins>" in page
    assert "<del>RASS" in page and "<ins>MOAA/S" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"soft_max_mg_per_kg_h": "2.5"}, "soft_max_mg_per_kg_h", "must not exceed the hard maximum (2 mg/kg/h)"),
        ({"start_mg_per_kg_h": "1.2"}, "start_mg_per_kg_h", "must not exceed the soft maximum"),
        ({"duration_min_minutes": "300"}, "duration_max_minutes", "must not be shorter"),
        ({"allowed_concentrations": "1, lots"}, "allowed_concentrations", "is not a number of mg/mL"),
        ({"allowed_concentrations": "50"}, "allowed_concentrations", "not a usable bag concentration"),
        ({"change_note": ""}, "change_note", "required"),
        ({"systolic_min": "170"}, "systolic_max", "upper alert limit must be above"),
        ({"aldrete_threshold": "12"}, "aldrete_threshold", "less than or equal to 10"),
    ],
)
def test_a_refused_version_writes_nothing_and_says_why_next_to_the_field(
    world: World, changes: dict[str, str], field: str | None, message: str
) -> None:
    current = version()
    before = (ProtocolVersion.objects.count(), AuditEvent.objects.count())
    response = signed_in_client(world["director"]).post(
        reverse("infusions:protocol_publish", args=[current.protocol_id]), _post_data(current, **changes)
    )
    assert response.status_code == 200
    assert (ProtocolVersion.objects.count(), AuditEvent.objects.count()) == before
    form = response.context["form"]
    errors = form.errors.get(field or "__all__", [])
    assert any(message in e for e in errors), form.errors


def test_the_protocol_page_groups_every_setting_with_its_source(world: World) -> None:
    current = version()
    html = signed_in_client(world["nurse"]).get(reverse("infusions:protocol", args=[current.protocol_id])).content
    page = html.decode()
    for heading in (
        "Drug and concentrations",
        "Dose limits",
        "Titration",
        "Vitals interval and alert thresholds",
        "Change-from-baseline alerts",
        "Baseline block",
        "Sedation and dissociation",
        "Fasting, pregnancy and checklist",
        "Recovery and discharge",
    ):
        assert heading in page
    assert "2 mg/kg/h" in page and "§1 Spravato label: rise ≥40 mmHg systolic" in page
    assert "Resuscitation equipment checked" in page
    assert "Publish a new version" not in page  # the nurse reads, the director publishes


def test_the_director_creates_a_protocol_from_the_cited_defaults(world: World) -> None:
    client = signed_in_client(world["director"])
    data = {"code": "maint", "name": "Maintenance", "induction_infusions": "1", "induction_window_days": "7"}
    response = client.post(reverse("infusions:protocol_new"), data)
    protocol = Protocol.objects.get(code="maint")
    assert response.status_code == 302
    assert protocol.current_version is not None and protocol.current_version.number == 1
    again = client.post(reverse("infusions:protocol_new"), data)
    assert again.status_code == 200
    assert "code" in again.context["form"].errors
    assert Protocol.objects.filter(code="maint").count() == 1


def test_library_lists_protocols_with_their_current_version(world: World, django_assert_max_num_queries: Any) -> None:
    current = version()
    client = signed_in_client(world["nurse"])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("infusions:library")).content.decode()
    assert current.protocol.name in page and f"Version {current.number}" in page
    assert "0.3 / 1 / 2 mg/kg/h" in page and "400 mg" in page


# --- Orders ------------------------------------------------------------------------------------


def _order_data(**changes: str) -> dict[str, str]:
    return {"protocol_version": str(version().pk), "note": "", **changes}


def test_a_prescriber_narrows_the_limits_for_a_patient(world: World) -> None:
    client = signed_in_client(world["prescriber"])
    url = reverse("infusions:orders", args=[world.patient.pk])
    first = order(world)
    response = client.post(url, _order_data(soft_max_mg_per_kg_h="0.6", max_total_mg_per_session="150"))
    assert response.status_code == 302
    new = InfusionOrder.objects.get(patient=world.patient, is_active=True)
    assert new.pk != first.pk
    assert new.soft_max_mg_per_kg_h == Decimal("0.600") and new.hard_max_mg_per_kg_h is None
    assert new.max_total_mg_per_session == Decimal("150.0")
    first.refresh_from_db()
    assert not first.is_active
    page = client.get(url).content.decode()
    assert "Soft maximum: 0.6 mg/kg/h" in page and "narrowed" in page
    assert "Hard maximum: 2 mg/kg/h" in page and "Replaced" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"soft_max_mg_per_kg_h": "1.5"}, "soft_max_mg_per_kg_h", "above the protocol's 1 mg/kg/h"),
        ({"hard_max_mg_per_kg_h": "3"}, "hard_max_mg_per_kg_h", "an order may only narrow a limit"),
        ({"max_total_mg_per_session": "500"}, "max_total_mg_per_session", "above the protocol's 400 mg"),
        ({"hard_max_mg_per_kg_h": "0.5"}, "hard_max_mg_per_kg_h", "must not be below the soft maximum"),
        ({"start_mg_per_kg_h": "0.8", "soft_max_mg_per_kg_h": "0.5"}, "start_mg_per_kg_h", "above the soft maximum"),
    ],
)
def test_a_widened_or_inconsistent_order_is_refused_and_nothing_is_written(
    world: World, changes: dict[str, str], field: str, message: str
) -> None:
    data = _order_data(**changes)
    writes = AuditEvent.objects.exclude(action=AuditEvent.Action.READ)  # the page's read is audited
    before = (InfusionOrder.objects.count(), writes.count())
    response = signed_in_client(world["prescriber"]).post(reverse("infusions:orders", args=[world.patient.pk]), data)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    assert (InfusionOrder.objects.count(), writes.count()) == before
    assert message.split("'", maxsplit=1)[0] in response.content.decode()


def test_a_nurse_reads_the_order_history_but_cannot_write_an_order(world: World) -> None:
    order(world)
    client = signed_in_client(world["nurse"])
    url = reverse("infusions:orders", args=[world.patient.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"] is None and "Active" in page.content.decode()
    assert client.post(url, _order_data()).status_code == 403
    assert InfusionOrder.objects.count() == 1


def test_a_prescriber_cannot_order_for_a_patient_at_another_location(world: World) -> None:
    url = reverse("infusions:orders", args=[world.other_patient.pk])
    client = signed_in_client(world["prescriber"])
    assert client.get(url).status_code == 403
    assert client.post(url, _order_data()).status_code == 403
    assert not InfusionOrder.objects.filter(patient=world.other_patient).exists()


# --- Monitor log -------------------------------------------------------------------------------


def test_the_monitor_log_shows_refused_messages_at_own_locations(world: World) -> None:
    session = make_session(world, "infusing")
    home_chair = world.location.chairs.order_by("pk").first()
    away_chair = world.other_location.chairs.order_by("pk").first()
    MonitorMessage.objects.create(
        control_id="HOME-OK", chair=home_chair, session=session, ack_code="AA", values_recorded=4
    )
    MonitorMessage.objects.create(control_id="HOME-AE", chair=home_chair, ack_code="AE", error="No open session")
    MonitorMessage.objects.create(control_id="AWAY-AR", chair=away_chair, ack_code="AR", error="Bad message")
    MonitorMessage.objects.create(control_id="NOWHERE", ack_code="AR", error="Unknown chair BED-9")
    url = reverse("infusions:monitor_log")

    nurse_page = signed_in_client(world["nurse"]).get(url).content.decode()
    assert "HOME-OK" in nurse_page and "HOME-AE" in nurse_page and "No open session" in nurse_page
    assert "AWAY-AR" not in nurse_page and "NOWHERE" not in nurse_page
    assert reverse("infusions:record", args=[session.pk]) in nurse_page

    refused = signed_in_client(world["nurse"]).get(url + "?show=refused").content.decode()
    assert "HOME-AE" in refused and "HOME-OK" not in refused

    director_page = signed_in_client(world["director"]).get(url).content.decode()
    assert "NOWHERE" in director_page and "Unknown chair BED-9" in director_page and "AWAY-AR" in director_page


# --- Who may open each page (the same table as the route walk) -----------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_library_route_answers_each_persona_as_the_table_says(world: World, persona: str) -> None:
    from django.test import Client  # noqa: PLC0415

    mismatches = []
    for name, route in sorted(ROUTES.items()):
        url = reverse(name, kwargs=route.kwargs(world))
        client = Client() if persona == "anonymous" else signed_in_client(world[persona])
        got = client.get(url).status_code
        if got != expected_status(route, persona):
            mismatches.append(f"{name}: got {got}, want {expected_status(route, persona)}")
    assert not mismatches
