from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.accounts.actions import create_user
from ketaclinic.consents.choices import DocumentKind
from ketaclinic.consents.models import ConsentDocument, ConsentSignature
from ketaclinic.consents.tests.factories import SMALL_PNG, publish, sign
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.patients.actions import register_patient


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content)


def test_patient_signs_in_the_portal_and_downloads_the_pdf(world: World) -> None:
    document = publish(world)
    client = signed_in_client(world["patient"])
    page = client.get(reverse("consents_portal:list"))
    assert document.title in page.content.decode()

    response = client.post(
        reverse("consents_portal:sign", kwargs={"pk": document.pk}),
        {
            "typed_name": "pat example",
            "agreed": "on",
            "drawn_signature": "data:image/png;base64," + base64.b64encode(SMALL_PNG).decode(),
        },
    )
    assert response.status_code == 302
    signature = ConsentSignature.objects.get(patient=world.patient, document=document)
    assert bytes(signature.drawn_signature_png or b"") == SMALL_PNG
    assert signature.ip_address == "127.0.0.1"

    listing = client.get(reverse("consents_portal:list")).content.decode()
    url = reverse("consents_portal:download", kwargs={"pk": signature.pk})
    assert url in listing
    pdf = client.get(url)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert pdf["Cache-Control"] == "no-store"
    assert downloaded(pdf).startswith(b"%PDF")
    read = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_id=str(signature.pk)).get()
    assert read.actor == world["patient"]
    assert read.patient_id == world.patient.pk


def test_signing_works_without_javascript_and_a_drawing(world: World) -> None:
    document = publish(world)
    response = signed_in_client(world["patient"]).post(
        reverse("consents_portal:sign", kwargs={"pk": document.pk}),
        {"typed_name": "Pat Example", "agreed": "on", "drawn_signature": ""},
    )
    assert response.status_code == 302
    assert not ConsentSignature.objects.get().has_drawn_signature


def test_a_wrong_name_is_explained_on_the_page_and_nothing_is_signed(world: World, media_root: Path) -> None:
    document = publish(world)
    response = signed_in_client(world["patient"]).post(
        reverse("consents_portal:sign", kwargs={"pk": document.pk}), {"typed_name": "Pat Smith"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "does not match the name on the record" in html
    assert "I have read and agree" in html
    assert ConsentSignature.objects.count() == 0
    assert not list(media_root.rglob("*.pdf"))


def test_a_drawing_that_is_not_a_png_data_url_is_refused_on_the_page(world: World) -> None:
    document = publish(world)
    response = signed_in_client(world["patient"]).post(
        reverse("consents_portal:sign", kwargs={"pk": document.pk}),
        {"typed_name": "Pat Example", "agreed": "on", "drawn_signature": "data:image/gif;base64,R0lGODlh"},
    )
    assert response.status_code == 200
    assert "not a PNG image" in response.content.decode()
    assert ConsentSignature.objects.count() == 0


def test_opening_a_superseded_version_leads_to_the_current_one(world: World) -> None:
    old = publish(world, body="Old.")
    new = publish(world, body="New.")
    client = signed_in_client(world["patient"])
    response = client.get(reverse("consents_portal:sign", kwargs={"pk": old.pk}))
    assert response["Location"] == reverse("consents_portal:sign", kwargs={"pk": new.pk})
    posted = client.post(
        reverse("consents_portal:sign", kwargs={"pk": old.pk}), {"typed_name": "Pat Example", "agreed": "on"}
    )
    assert "A newer version" in posted.content.decode()
    assert ConsentSignature.objects.count() == 0


def test_another_patient_cannot_download_someone_elses_pdf(world: World) -> None:
    signature = sign(world, publish(world))
    other_user = create_user(acting_user=None, username="other-pt", password=PASSWORD, roles=[Role.PATIENT])
    register_patient(
        acting_user=None,
        location=world.location,
        first_name="Other",
        last_name="Person",
        date_of_birth=world.patient.date_of_birth,
        user=other_user,
    )
    client = signed_in_client(other_user)
    assert client.get(reverse("consents_portal:download", kwargs={"pk": signature.pk})).status_code == 404
    assert client.get(reverse("consents:download", kwargs={"pk": signature.pk})).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_id=str(signature.pk)).exists()


def test_staff_at_the_location_can_download_and_the_read_is_audited(world: World) -> None:
    signature = sign(world, publish(world))
    response = signed_in_client(world["nurse"]).get(reverse("consents:download", kwargs={"pk": signature.pk}))
    assert response.status_code == 200
    assert downloaded(response).startswith(b"%PDF")
    event = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_id=str(signature.pk)).get()
    assert event.actor == world["nurse"]
    assert not event.is_break_glass


def test_staff_at_another_location_cannot_download(world: World) -> None:
    signature = sign(world, publish(world))
    response = signed_in_client(world["outsider"]).get(reverse("consents:download", kwargs={"pk": signature.pk}))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_id=str(signature.pk)).exists()


def test_the_patient_consent_page_lists_signed_and_awaiting_and_is_audited(world: World) -> None:
    consent = publish(world, DocumentKind.INFORMED_CONSENT)
    financial = publish(world, DocumentKind.FINANCIAL_POLICY)
    signature = sign(world, consent)
    response = signed_in_client(world["frontdesk"]).get(reverse("consents:patient", kwargs={"pk": world.patient.pk}))
    html = response.content.decode()
    assert reverse("consents:download", kwargs={"pk": signature.pk}) in html
    assert f"{financial.title} (version 1)" in html
    event = AuditEvent.objects.filter(action=AuditEvent.Action.READ, patient_id=world.patient.pk).latest("id")
    assert event.actor == world["frontdesk"]
    assert event.changes == {"signature_ids": [str(signature.pk)]}


def test_the_document_list_counts_signatures_per_version(world: World) -> None:
    v1 = publish(world, DocumentKind.FINANCIAL_POLICY, body="One.")
    sign(world, v1)
    publish(world, DocumentKind.FINANCIAL_POLICY, body="Two.")
    html = signed_in_client(world["billing"]).get(reverse("consents:documents")).content.decode()
    # Billing may read documents but not publish, so the page does not offer it.
    assert reverse("consents:publish") not in html
    assert "1 signed" in html
    assert "0 signed" in html
    assert "Superseded" in html


def test_the_director_previews_then_publishes_a_new_version(world: World) -> None:
    publish(world, DocumentKind.SMS_TERMS, body="Reply STOP to opt out.")
    client = signed_in_client(world["director"])
    form = client.get(reverse("consents:publish") + "?kind=sms_terms").content.decode()
    assert "Reply STOP to opt out." in form
    data = {"kind": "sms_terms", "title": "Text terms", "body_markdown": "Reply **STOP** to opt out, HELP for help."}
    preview = client.post(reverse("consents:publish"), {**data, "preview": "1"})
    assert "<strong>STOP</strong>" in preview.content.decode()
    assert ConsentDocument.objects.count() == 1
    changed = client.post(
        reverse("consents:publish"), {**data, "body_markdown": "Edited after the preview.", "publish": "1"}
    )
    assert "The text changed after your preview" in changed.content.decode()
    assert ConsentDocument.objects.count() == 1
    previewed = preview.context["previewed_sha256"]
    published = client.post(reverse("consents:publish"), {**data, "previewed_sha256": previewed, "publish": "1"})
    assert published.status_code == 302
    assert ConsentDocument.objects.filter(kind="sms_terms").latest("version").version == 2


def test_published_text_is_sanitised(world: World) -> None:
    document = publish(world, body='<script>alert(1)</script><img src="https://evil.example/x.png"> Hello')
    html = signed_in_client(world["patient"]).get(reverse("consents_portal:sign", kwargs={"pk": document.pk}))
    body = html.content.decode()
    assert "alert(1)" not in body
    assert "evil.example" not in body
    assert "Hello" in body


def test_a_signed_version_shows_the_copy_instead_of_the_form(world: World) -> None:
    document = publish(world)
    signature = sign(world, document)
    html = signed_in_client(world["patient"]).get(reverse("consents_portal:sign", kwargs={"pk": document.pk}))
    body = html.content.decode()
    assert reverse("consents_portal:download", kwargs={"pk": signature.pk}) in body
    assert 'name="typed_name"' not in body


def test_anonymous_visitors_are_sent_to_sign_in(world: World) -> None:
    signature = sign(world, publish(world))
    response = Client().get(reverse("consents_portal:download", kwargs={"pk": signature.pk}))
    assert response.status_code == 302


def test_list_pages_do_not_query_per_row(world: World) -> None:
    patient_client = signed_in_client(world["patient"])
    staff_client = signed_in_client(world["nurse"])
    urls = [
        (patient_client, reverse("consents_portal:list")),
        (staff_client, reverse("consents:patient", kwargs={"pk": world.patient.pk})),
        (staff_client, reverse("consents:documents")),
    ]

    def query_counts() -> list[int]:
        counts = []
        for client, url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.append(len(queries))
        return counts

    sign(world, publish(world, DocumentKind.INFORMED_CONSENT))
    for client, _ in urls:
        client.get(reverse("core:home"))  # the first request of a sign-in stores its activity
    with_one = query_counts()
    for kind in (DocumentKind.FINANCIAL_POLICY, DocumentKind.SMS_TERMS):
        sign(world, publish(world, kind))
    publish(world, DocumentKind.SMS_TERMS, body="Second version.")
    assert query_counts() == with_one
