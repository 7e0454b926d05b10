"""The leads API: create and list, permissions by role and location, and the guard's 422."""

from __future__ import annotations

from django.urls import reverse

from ketaclinic.core.testing import World, api_client
from ketaclinic.leads.choices import LeadSource, LeadStatus
from ketaclinic.leads.models import Lead
from ketaclinic.leads.tests.factories import make_lead

URL = reverse("api:create_lead")


def test_front_desk_records_a_phone_lead(world: World) -> None:
    client = api_client(world["frontdesk"])

    response = client.post(
        URL,
        {"location_id": world.location.pk, "name": "Ola Nordmann", "phone": "+13035550133", "message": "Prices?"},
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["source"], body["status"], body["preferred_contact"]) == ("phone", "new", "phone")
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.name, lead.source, lead.location) == ("Ola Nordmann", LeadSource.PHONE, world.location)


def test_message_with_health_details_is_refused_with_the_findings(world: World) -> None:
    client = api_client(world["frontdesk"])

    response = client.post(
        URL,
        {"location_id": world.location.pk, "phone": "+13035550133", "message": "DOB 04/17/1986, I take Topamax."},
        content_type="application/json",
    )

    assert response.status_code == 422
    body = response.json()
    assert {f["kind"] for f in body["findings"]} == {"date_of_birth", "medication"}
    assert "call the clinic" in body["detail"]
    assert Lead.objects.count() == 0


def test_lead_needs_a_way_to_reach_the_person(world: World) -> None:
    client = api_client(world["frontdesk"])

    response = client.post(
        URL, {"location_id": world.location.pk, "name": "No Contact"}, content_type="application/json"
    )

    assert response.status_code == 422
    assert Lead.objects.count() == 0


def test_cannot_record_a_lead_at_a_location_one_does_not_work_at(world: World) -> None:
    client = api_client(world["frontdesk"])

    response = client.post(
        URL,
        {"location_id": world.other_location.pk, "phone": "+13035550133"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert Lead.objects.count() == 0


def test_prescriber_may_list_but_not_create(world: World) -> None:
    client = api_client(world["prescriber"])

    created = client.post(
        URL, {"location_id": world.location.pk, "phone": "+13035550133"}, content_type="application/json"
    )
    listed = client.get(reverse("api:list_leads"))

    assert created.status_code == 403
    assert listed.status_code == 200


def test_list_shows_only_own_locations_and_filters_by_status(world: World) -> None:
    home = make_lead(world.location, name="Home")
    make_lead(world.other_location, name="Away")
    closed = make_lead(world.location, name="Closed")
    Lead.objects.filter(pk=closed.pk).update(status=LeadStatus.CLOSED)
    client = api_client(world["frontdesk"])

    everything = client.get(reverse("api:list_leads")).json()
    new_only = client.get(reverse("api:list_leads"), {"status": "new"}).json()
    elsewhere = client.get(reverse("api:list_leads"), {"location": world.other_location.pk})

    assert {lead["name"] for lead in everything} == {"Home", "Closed"}
    assert [lead["id"] for lead in new_only] == [home.pk]
    assert elsewhere.status_code == 403


def test_nurse_cannot_list_leads(world: World) -> None:
    client = api_client(world["nurse"])

    assert client.get(reverse("api:list_leads")).status_code == 403
