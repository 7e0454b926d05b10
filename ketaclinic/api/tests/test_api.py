from __future__ import annotations

import io
import json
from datetime import timedelta

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from ketaclinic.accounts.actions import create_api_token, revoke_api_token
from ketaclinic.accounts.models import ApiToken
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import World, api_client
from ketaclinic.patients.models import Patient


def test_me_returns_user_roles_and_locations(world: World) -> None:
    client = api_client(world["nurse"])
    body = client.get("/api/v1/me").json()
    assert body["username"] == "nurse"
    assert body["roles"] == ["nurse"]
    assert body["locations"] == [{"id": world.location.pk, "name": "Home Site"}]


def test_locations_lists_each_location_with_its_chairs(world: World) -> None:
    client = api_client(world["director"])
    body = client.get("/api/v1/locations").json()
    by_name = {loc["name"]: loc for loc in body}
    assert set(by_name) == {"Home Site", "Away Site"}
    home = by_name["Home Site"]
    assert set(home) == {"id", "name", "time_zone", "chairs"}
    assert home["time_zone"] == "America/Denver"
    assert [c["name"] for c in home["chairs"]] == ["Chair 1", "Chair 2", "Chair 3", "Chair 4"]
    assert set(home["chairs"][0]) == {"id", "name"}


def test_nurse_sees_only_own_locations(world: World) -> None:
    client = api_client(world["nurse"])
    assert [loc["name"] for loc in client.get("/api/v1/locations").json()] == ["Home Site"]


def test_missing_token_gets_401_json(db: None) -> None:
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_expired_token_is_refused_with_the_reason(world: World) -> None:
    token, raw = create_api_token(acting_user=world["nurse"], user=world["nurse"], name="old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_revoked_and_unknown_tokens_are_refused(world: World) -> None:
    token, raw = create_api_token(acting_user=world["nurse"], user=world["nurse"], name="gone")
    revoke_api_token(acting_user=world["nurse"], token=token)
    assert "revoked" in Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["detail"]
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer kc_nonsense").status_code == 401


def test_reading_a_patient_through_the_api_is_audited(world: World) -> None:
    client = api_client(world["prescriber"])
    response = client.get(f"/api/v1/patients/{world.patient.pk}")
    assert response.status_code == 200
    assert response.json()["mrn"] == world.patient.mrn
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.actor, event.patient_id) == ("read", world["prescriber"], world.patient.pk)


def test_staff_at_another_location_get_403_and_no_data(world: World) -> None:
    client = api_client(world["outsider"])
    response = client.get(f"/api/v1/patients/{world.patient.pk}")
    assert response.status_code == 403
    assert "location" in response.json()["detail"]


def test_malformed_body_gets_422_and_writes_nothing(world: World) -> None:
    client = api_client(world["frontdesk"])
    before = (Patient.objects.count(), AuditEvent.objects.filter(action="create").count())
    bad_bodies = [
        "{not json",
        json.dumps({"location_id": world.location.pk, "first_name": "A"}),
        json.dumps(
            {"location_id": world.location.pk, "first_name": "A", "last_name": "B", "date_of_birth": "1990-02-31"}
        ),
        json.dumps(
            {"location_id": world.location.pk, "first_name": "A", "last_name": "B", "date_of_birth": "2999-01-01"}
        ),
    ]
    for body in bad_bodies:
        response = client.post("/api/v1/patients", data=body, content_type="application/json")
        assert response.status_code in {400, 422}, body
        assert "detail" in response.json()
    assert (Patient.objects.count(), AuditEvent.objects.filter(action="create").count()) == before


def test_front_desk_registers_a_patient_but_a_nurse_may_not(world: World) -> None:
    body = {"location_id": world.location.pk, "first_name": "Ana", "last_name": "Api", "date_of_birth": "1991-03-04"}
    client = api_client(world["frontdesk"])
    response = client.post("/api/v1/patients", data=body, content_type="application/json")
    assert response.status_code == 201
    assert Patient.objects.filter(last_name="Api").count() == 1
    client = api_client(world["nurse"])
    assert client.post("/api/v1/patients", data=body, content_type="application/json").status_code == 403
    assert Patient.objects.filter(last_name="Api").count() == 1


def test_create_api_token_command_prints_a_working_token(world: World) -> None:
    out = io.StringIO()
    call_command("create_api_token", "billing", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("kc_")
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["username"] == "billing"


def test_openapi_schema_is_served_and_lists_the_routes(db: None) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert {"/api/v1/me", "/api/v1/locations"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
