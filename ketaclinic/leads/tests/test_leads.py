"""The lead inbox: scoping by location, the audited detail page, status, notes, assignment and
conversion to a patient with a portal invitation."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, signed_in_client
from ketaclinic.leads.actions import add_lead_note, assign_lead, convert_lead_to_patient, set_lead_status
from ketaclinic.leads.choices import LeadStatus
from ketaclinic.leads.models import Lead, LeadNote
from ketaclinic.leads.tests.factories import make_lead
from ketaclinic.messaging.choices import Purpose
from ketaclinic.messaging.models import Message
from ketaclinic.patients.models import Patient, PortalInvitation


def test_inbox_lists_only_leads_at_the_users_locations(world: World) -> None:
    make_lead(world.location, name="Home Lead")
    make_lead(world.other_location, name="Away Lead")

    html = signed_in_client(world["frontdesk"]).get(reverse("leads:inbox")).content.decode()

    assert "Home Lead" in html
    assert "Away Lead" not in html


def test_director_at_all_locations_sees_every_lead(world: World) -> None:
    make_lead(world.location, name="Home Lead")
    make_lead(world.other_location, name="Away Lead")

    html = signed_in_client(world["director"]).get(reverse("leads:inbox")).content.decode()

    assert "Home Lead" in html and "Away Lead" in html


def test_inbox_filters_by_status_and_assigned_to_me(world: World) -> None:
    desk = world["frontdesk"]
    mine = make_lead(world.location, name="Mine Lead")
    assign_lead(acting_user=desk, lead=mine, assignee=desk)
    closed = make_lead(world.location, name="Closed Lead")
    set_lead_status(acting_user=desk, lead=closed, status=LeadStatus.CLOSED)
    make_lead(world.location, name="Other Lead")
    client = signed_in_client(desk)

    open_html = client.get(reverse("leads:inbox")).content.decode()
    mine_html = client.get(reverse("leads:inbox"), {"mine": "on"}).content.decode()
    closed_html = client.get(reverse("leads:inbox"), {"status": "closed"}).content.decode()

    assert "Mine Lead" in open_html and "Other Lead" in open_html and "Closed Lead" not in open_html
    assert "Mine Lead" in mine_html and "Other Lead" not in mine_html
    assert "Closed Lead" in closed_html and "Mine Lead" not in closed_html


def test_inbox_query_count_does_not_grow_with_leads(world: World) -> None:
    client = signed_in_client(world["frontdesk"])
    make_lead(world.location)
    client.get(reverse("leads:inbox"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("leads:inbox"))
    for index in range(5):
        lead = make_lead(world.location, name=f"Lead {index}")
        assign_lead(acting_user=world["frontdesk"], lead=lead, assignee=world["frontdesk"])

    with CaptureQueriesContext(connection) as many:
        client.get(reverse("leads:inbox"))

    assert len(many) == len(few)


def test_reading_a_lead_is_audited(world: World) -> None:
    lead = make_lead(world.location)

    response = signed_in_client(world["prescriber"]).get(reverse("leads:detail", kwargs={"pk": lead.pk}))

    assert response.status_code == 200
    event = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_type="leads.Lead").get()
    assert (event.actor, event.object_id) == (world["prescriber"], str(lead.pk))


def test_lead_at_another_location_is_refused(world: World) -> None:
    lead = make_lead(world.other_location)

    response = signed_in_client(world["frontdesk"]).get(reverse("leads:detail", kwargs={"pk": lead.pk}))

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_type="leads.Lead").exists()


def test_prescriber_sees_a_lead_but_cannot_change_it(world: World) -> None:
    lead = make_lead(world.location)
    client = signed_in_client(world["prescriber"])

    html = client.get(reverse("leads:detail", kwargs={"pk": lead.pk})).content.decode()
    response = client.post(reverse("leads:status", kwargs={"pk": lead.pk}), {"status": "closed"})

    assert "Change status" not in html
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_status_change_is_audited_with_old_and_new(world: World) -> None:
    lead = make_lead(world.location)

    response = signed_in_client(world["frontdesk"]).post(
        reverse("leads:status", kwargs={"pk": lead.pk}), {"status": "contacted"}
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_type="leads.Lead").get()
    assert event.changes == {"status": ["new", "contacted"]}


def test_became_patient_is_set_only_by_conversion(world: World) -> None:
    lead = make_lead(world.location)

    with pytest.raises(ValidationError, match="Convert to patient"):
        set_lead_status(acting_user=world["frontdesk"], lead=lead, status=LeadStatus.BECAME_PATIENT)

    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_note_is_added_and_shown(world: World) -> None:
    lead = make_lead(world.location)
    client = signed_in_client(world["frontdesk"])

    client.post(reverse("leads:note", kwargs={"pk": lead.pk}), {"body": "Left a voicemail about prices."})

    assert LeadNote.objects.get().author == world["frontdesk"]
    assert (
        "Left a voicemail about prices." in client.get(reverse("leads:detail", kwargs={"pk": lead.pk})).content.decode()
    )


def test_note_with_health_details_is_refused_and_stores_nothing(world: World) -> None:
    lead = make_lead(world.location)

    response = signed_in_client(world["frontdesk"]).post(
        reverse("leads:note", kwargs={"pk": lead.pk}), {"body": "She has chronic migraine and takes topiramate."}
    )

    assert response.status_code == 400
    assert "Leave health details out of lead notes" in response.content.decode()
    assert LeadNote.objects.count() == 0


def test_assignment_is_audited_and_limited_to_staff_who_work_leads_there(world: World) -> None:
    lead = make_lead(world.location)
    desk = world["frontdesk"]

    assign_lead(acting_user=world["director"], lead=lead, assignee=desk)

    lead.refresh_from_db()
    assert lead.assigned_to == desk
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_type="leads.Lead").get()
    assert event.changes == {"assigned_to": [None, "frontdesk"]}
    with pytest.raises(ValidationError):
        assign_lead(acting_user=world["director"], lead=lead, assignee=world["nurse"])
    lead.refresh_from_db()
    assert lead.assigned_to == desk


def test_assign_form_offers_only_staff_who_work_leads(world: World) -> None:
    lead = make_lead(world.location)

    html = signed_in_client(world["frontdesk"]).get(reverse("leads:detail", kwargs={"pk": lead.pk})).content.decode()

    assert "Frontdesk Tester" in html and "Director Tester" in html
    assert "Nurse Tester" not in html


def test_conversion_creates_the_patient_links_the_lead_and_sends_the_invitation(world: World) -> None:
    lead = make_lead(world.location, name="Ada Brightwater")
    client = signed_in_client(world["frontdesk"])

    response = client.post(
        reverse("leads:convert", kwargs={"pk": lead.pk}),
        {
            "first_name": "Ada",
            "last_name": "Brightwater",
            "date_of_birth": "1984-03-09",
            "email": "ada.brightwater@example.org",
            "phone": "+13035550177",
        },
    )

    lead.refresh_from_db()
    patient = Patient.objects.get(first_name="Ada", last_name="Brightwater")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", kwargs={"pk": patient.pk})
    assert lead.patient == patient
    assert lead.status == LeadStatus.BECAME_PATIENT
    assert (patient.location, patient.date_of_birth) == (world.location, date(1984, 3, 9))
    invitation = PortalInvitation.objects.get(patient=patient)
    assert invitation.email == "ada.brightwater@example.org"
    assert Message.objects.filter(patient=patient, purpose=Purpose.ACCOUNT).count() == 1


def test_conversion_without_email_sends_no_invitation(world: World) -> None:
    lead = make_lead(world.location, email="", preferred_contact="phone")

    patient = convert_lead_to_patient(
        acting_user=world["frontdesk"], lead=lead, first_name="Ada", last_name="B", date_of_birth=date(1990, 1, 1)
    )

    assert PortalInvitation.objects.filter(patient=patient).count() == 0


def test_conversion_form_asks_for_the_date_of_birth_and_stores_nothing_without_it(world: World) -> None:
    lead = make_lead(world.location)
    client = signed_in_client(world["frontdesk"])

    page = client.get(reverse("leads:convert", kwargs={"pk": lead.pk})).content.decode()
    response = client.post(
        reverse("leads:convert", kwargs={"pk": lead.pk}), {"first_name": "Ada", "last_name": "Brightwater"}
    )

    assert 'value="Ada"' in page and 'value="Brightwater"' in page
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert Patient.objects.filter(first_name="Ada").count() == 0


def test_lead_cannot_be_converted_twice(world: World) -> None:
    lead = make_lead(world.location)
    desk = world["frontdesk"]
    convert_lead_to_patient(
        acting_user=desk, lead=lead, first_name="Ada", last_name="B", date_of_birth=date(1990, 1, 1)
    )
    patients = Patient.objects.count()

    with pytest.raises(ValidationError, match="already been converted"):
        convert_lead_to_patient(
            acting_user=desk, lead=lead, first_name="Ada", last_name="B", date_of_birth=date(1990, 1, 1)
        )

    assert Patient.objects.count() == patients


def test_notes_cannot_be_blank(world: World) -> None:
    lead = make_lead(world.location)

    with pytest.raises(ValidationError):
        add_lead_note(acting_user=world["frontdesk"], lead=lead, body="   ")

    assert LeadNote.objects.count() == 0
    assert Lead.objects.get().pk == lead.pk
