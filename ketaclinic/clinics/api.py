from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from ketaclinic.api.permissions import require
from ketaclinic.clinics.models import Location
from ketaclinic.clinics.permissions import can_view_locations, visible_to

router = Router(tags=["locations"])


class ChairOut(Schema):
    id: int
    name: str


class LocationOut(Schema):
    id: int
    name: str
    time_zone: str
    chairs: list[ChairOut]


@router.get("/locations", response=list[LocationOut], summary="Locations with their chairs")
def locations(request: HttpRequest) -> list[LocationOut]:
    user = require(request, can_view_locations)
    result = []
    for loc in visible_to(Location.objects.prefetch_related("chairs"), user):
        chairs = [ChairOut(id=c.pk, name=c.name) for c in loc.chairs.all() if c.is_active]
        result.append(LocationOut(id=loc.pk, name=loc.name, time_zone=loc.time_zone, chairs=chairs))
    return result
