from __future__ import annotations

from ketaclinic.core.testing import World, api_client


def test_phi_check_finds_health_information_in_a_text(world: World) -> None:
    client = api_client(world["frontdesk"])
    response = client.post(
        "/api/v1/phi-check", {"text": "Reminder: your ketamine infusion is tomorrow"}, content_type="application/json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["contains_phi"] is True
    assert {"kind": "medication", "excerpt": "ketamine"} in data["findings"]


def test_phi_check_passes_a_plain_reminder_that_names_the_location(world: World) -> None:
    client = api_client(world["nurse"])
    text = f"Reminder: your appointment at {world.location.name} is on Tuesday at 9:00."
    response = client.post("/api/v1/phi-check", {"text": text}, content_type="application/json")
    assert response.json() == {"contains_phi": False, "findings": []}


def test_phi_check_is_refused_to_a_patient_token(world: World) -> None:
    client = api_client(world["patient"])
    response = client.post("/api/v1/phi-check", {"text": "hello"}, content_type="application/json")
    assert response.status_code == 403
