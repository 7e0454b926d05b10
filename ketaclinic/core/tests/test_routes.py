"""Walk every URL pattern and API route with every persona (and anonymous) and compare each
answer with the permission table. A route missing from ROUTES fails the test, so no view can
ship without someone deciding who may use it."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ketaclinic.core.permissions import GRANTS
from ketaclinic.core.roles import Role
from ketaclinic.core.testing import SIGNED_IN, Route, World, api_client, signed_in_client

PERSONAS = ["anonymous", "frontdesk", "nurse", "prescriber", "director", "billing", "admin", "outsider", "patient"]
PERSONA_ROLE = {
    "frontdesk": Role.FRONT_DESK,
    "nurse": Role.NURSE,
    "prescriber": Role.PRESCRIBER,
    "director": Role.MEDICAL_DIRECTOR,
    "billing": Role.BILLING,
    "admin": Role.ADMINISTRATOR,
    "outsider": Role.NURSE,
    "patient": Role.PATIENT,
}


def _patient(w: World) -> dict[str, Any]:
    return {"pk": w.patient.pk}


FOUNDATION_ROUTES: dict[str, Route] = {
    "website:home": Route("public"),
    "accounts:login": Route("public", overrides={p: 302 for p in PERSONAS if p != "anonymous"}),
    "accounts:verify": Route("session", overrides={"anonymous": 302, **{p: 302 for p in PERSONAS if p != "anonymous"}}),
    # Signed-in, verified people may enrol a new authenticator (a new phone); anonymous may not.
    "accounts:mfa_setup": Route(
        "session", overrides={"anonymous": 302, **{p: 200 for p in PERSONAS if p != "anonymous"}}
    ),
    "accounts:logout": Route("session", overrides={p: 200 for p in PERSONAS}),
    "accounts:keepalive": Route("session", overrides={p: 405 for p in PERSONAS}),
    "accounts:profile": Route(SIGNED_IN),
    "accounts:recovery_codes": Route(SIGNED_IN, ok=302),
    "accounts:regenerate_codes": Route(SIGNED_IN, ok=405),
    "accounts:token_create": Route(SIGNED_IN, ok=405),
    "accounts:token_revoke": Route(SIGNED_IN, kwargs=lambda w: {"pk": 1}, ok=405),
    "accounts:staff_list": Route("manage_staff"),
    "accounts:staff_new": Route("manage_staff"),
    "accounts:staff_edit": Route("manage_staff", kwargs=lambda w: {"pk": w["nurse"].pk}),
    "accounts:staff_reset_mfa": Route("manage_staff", kwargs=lambda w: {"pk": w["nurse"].pk}, ok=405),
    "core:home": Route("use_staff_pages"),
    "core:audit": Route("view_audit"),
    "core:audit_export": Route("view_audit"),
    "clinics:list": Route("view_locations"),
    "clinics:edit": Route("manage_locations", kwargs=lambda w: {"pk": w.location.pk}),
    "clinics:chair_add": Route("manage_locations", kwargs=lambda w: {"pk": w.location.pk}, ok=405),
    "clinics:chair_toggle": Route("manage_locations", kwargs=lambda w: {"pk": w.location.chairs.first().pk}, ok=405),  # type: ignore[union-attr]
    "patients:list": Route("view_patients"),
    "patients:detail": Route("view_patients", kwargs=_patient, overrides={"outsider": 302}),
    # Break-glass is for records outside one's locations: staff at home are sent to the record.
    "patients:break_glass": Route(
        "view_patients",
        kwargs=_patient,
        overrides={"frontdesk": 302, "nurse": 302, "prescriber": 302, "director": 302, "billing": 302, "outsider": 200},
    ),
    "portal:home": Route("use_portal"),
    # The schema and its docs describe the API; they contain no health data.
    "api:openapi-json": Route("public", api=True),
    "api:openapi-view": Route("public", api=True),
    # Ninja's router root (used only to build paths): answers 404 to everyone.
    "api:api-root": Route("public", api=True, ok=404),
    "api:me": Route("use_api", api=True),
    "api:locations": Route("view_locations", api=True),
    "api:get_patient": Route(
        "view_patients", api=True, kwargs=lambda w: {"patient_id": w.patient.pk}, overrides={"outsider": 403}
    ),
    "api:create_patient": Route(
        "create_patients",
        api=True,
        method="post",
        ok=201,
        body=lambda w: {
            "location_id": w.location.pk,
            "first_name": "Route",
            "last_name": "Walker",
            "date_of_birth": "1990-01-01",
        },
    ),
}


def _app_routes() -> dict[str, Route]:
    """Each app may keep its own table in ``<app>/tests/routes.py`` (a ``ROUTES`` dict)."""
    merged = dict(FOUNDATION_ROUTES)
    for app in apps.get_app_configs():
        if not app.name.startswith("ketaclinic."):
            continue
        module_name = f"{app.name}.tests.routes"
        if importlib.util.find_spec(module_name) is None:
            continue
        table = importlib.import_module(module_name).ROUTES
        overlap = set(table) & set(merged)
        assert not overlap, f"{module_name} repeats routes already listed: {sorted(overlap)}"
        merged.update(table)
    return merged


ROUTES = _app_routes()


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}"


def all_route_names() -> set[str]:
    return set(_walk(get_resolver().url_patterns))


def test_every_route_is_in_the_permission_table() -> None:
    missing = all_route_names() - set(ROUTES)
    assert not missing, f"Routes with no entry in ROUTES (decide who may use them): {sorted(missing)}"
    stale = set(ROUTES) - all_route_names()
    assert not stale, f"ROUTES names routes that no longer exist: {sorted(stale)}"


def expected_status(route: Route, persona: str) -> int:
    if persona in route.overrides:
        return route.overrides[persona]
    if route.access == "public":
        return route.ok
    if persona == "anonymous":
        return 401 if route.api else 302
    if route.access == SIGNED_IN:
        return route.ok
    allowed = PERSONA_ROLE[persona] in GRANTS[route.access][0]
    if route.api and PERSONA_ROLE[persona] not in GRANTS["use_api"][0]:
        allowed = False
    return route.ok if allowed else 403


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_route_answers_each_persona_as_the_table_says(world: World, persona: str) -> None:
    mismatches = []
    for name, route in sorted(ROUTES.items()):
        url = reverse(name, kwargs=route.kwargs(world))
        if persona == "anonymous":
            client = Client()
        elif route.api:
            client = api_client(world[persona])
        else:
            client = signed_in_client(world[persona])
        body = route.body(world) if route.body else {}
        if route.method == "post":
            response = client.post(url, data=body, content_type="application/json")
        else:
            response = client.get(url)
        want = expected_status(route, persona)
        if response.status_code != want:
            mismatches.append(f"{name} ({url}): got {response.status_code}, table says {want}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.access not in {"public", "session"} and not r.api])
def test_staff_without_second_factor_are_sent_to_enter_their_code(world: World, name: str) -> None:
    route = ROUTES[name]
    client = signed_in_client(world["director"], verified=False)
    response = client.get(reverse(name, kwargs=route.kwargs(world)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))
