"""The JSON API at /api/v1/. Routers live in each app's ``api.py`` and call that app's actions,
queries and permission functions: the API has no rules of its own."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from ketaclinic.accounts.api import router as accounts_router
from ketaclinic.api.auth import BearerToken
from ketaclinic.clinics.api import router as clinics_router
from ketaclinic.consents.api import router as consents_router
from ketaclinic.infusions.api import router as infusions_router
from ketaclinic.inventory.api import router as inventory_router
from ketaclinic.leads.api import router as leads_router
from ketaclinic.messaging.api import router as messaging_router
from ketaclinic.outcomes.api import router as outcomes_router
from ketaclinic.patients.api import router as patients_router
from ketaclinic.scheduling.api import router as scheduling_router

api = NinjaAPI(
    title="KetaClinic API",
    version="1",
    description="Staff API. Authenticate with `Authorization: Bearer <token>`; create a token in your profile.",
    auth=BearerToken(),
    urls_namespace="api",
)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Send a valid token: Authorization: Bearer <token>."}, status=401)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Your role may not do this."}, status=403)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    return api.create_response(request, {"detail": detail}, status=422)


api.add_router("/", accounts_router)
api.add_router("/", clinics_router)
api.add_router("/", patients_router)
api.add_router("/", leads_router)
api.add_router("/", messaging_router)
api.add_router("/", consents_router)
api.add_router("/", scheduling_router)
api.add_router("/", inventory_router)
api.add_router("/", infusions_router)
api.add_router("/", outcomes_router)
