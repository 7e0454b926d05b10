"""Leads over the JSON API: the front desk records phone and walk-in enquiries, and tools list
the inbox. The same health-information guard as the contact form runs on the message."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from ketaclinic.api.permissions import require
from ketaclinic.clinics.models import Location
from ketaclinic.leads import actions
from ketaclinic.leads.choices import ContactMethod, LeadSource, LeadStatus
from ketaclinic.leads.models import Lead
from ketaclinic.leads.permissions import can_create_lead_at, can_manage_leads, can_view_leads, visible_to
from ketaclinic.website.phi_guard import default_guard

router = Router(tags=["leads"])

MAX_LISTED = 200


class LeadOut(Schema):
    id: int
    location_id: int
    name: str
    email: str
    phone: str
    preferred_contact: ContactMethod
    message: str
    source: LeadSource
    status: LeadStatus
    assigned_to_id: int | None
    patient_id: int | None
    created_at: datetime


class LeadIn(Schema):
    location_id: int
    name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=16, description="International form, e.g. +13035550123")
    preferred_contact: ContactMethod = ContactMethod.PHONE
    message: str = Field(default="", max_length=2000, description="No health details: the guard refuses them")
    source: LeadSource = LeadSource.PHONE


class FindingOut(Schema):
    kind: str
    excerpt: str


class RefusedOut(Schema):
    detail: str
    findings: list[FindingOut]


def _out(lead: Lead) -> LeadOut:
    return LeadOut(
        id=lead.pk,
        location_id=lead.location_id,
        name=lead.name,
        email=lead.email,
        phone=lead.phone,
        preferred_contact=ContactMethod(lead.preferred_contact),
        message=lead.message,
        source=LeadSource(lead.source),
        status=LeadStatus(lead.status),
        assigned_to_id=lead.assigned_to_id,
        patient_id=lead.patient_id,
        created_at=lead.created_at,
    )


@router.post(
    "/leads",
    response={201: LeadOut, 422: RefusedOut},
    summary="Record a lead at one of your locations (refused if the message holds health details)",
)
def create_lead(request: HttpRequest, payload: LeadIn) -> Status[LeadOut] | Status[RefusedOut]:
    user = require(request, can_manage_leads)
    location = Location.objects.filter(pk=payload.location_id).first()
    if location is None or not can_create_lead_at(user, location.pk):
        raise PermissionDenied("You can only record leads at a location where you work.")
    result = default_guard().check("\n".join((payload.name, payload.message)))
    if result.contains_phi:
        return Status(
            422,
            RefusedOut(
                detail=result.advice(),
                findings=[FindingOut(kind=f.kind, excerpt=f.excerpt) for f in result.findings],
            ),
        )
    lead = actions.create_lead(
        acting_user=user,
        location=location,
        source=payload.source,
        name=payload.name,
        email=payload.email,
        phone=payload.phone,
        preferred_contact=payload.preferred_contact,
        message=payload.message,
    )
    return Status(201, _out(lead))


@router.get("/leads", response=list[LeadOut], summary="Leads at your locations, newest first")
def list_leads(request: HttpRequest, status: LeadStatus | None = None, location: int | None = None) -> list[LeadOut]:
    user = require(request, can_view_leads)
    leads = visible_to(Lead.objects.all(), user)
    if status is not None:
        leads = leads.filter(status=status)
    if location is not None:
        if not user.works_at(location):
            raise PermissionDenied("You do not work at that location.")
        leads = leads.filter(location_id=location)
    return [_out(lead) for lead in leads.order_by("-created_at")[:MAX_LISTED]]
