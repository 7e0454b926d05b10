from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from ketaclinic.accounts.permissions import can_use_api
from ketaclinic.api.permissions import require
from ketaclinic.clinics.models import Location

router = Router(tags=["accounts"])


class LocationRef(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    roles: list[str]
    all_locations: bool
    locations: list[LocationRef]


@router.get("/me", response=MeOut, summary="The signed-in user, roles and locations")
def me(request: HttpRequest) -> MeOut:
    user = require(request, can_use_api)
    qs = Location.objects.all() if user.all_locations else user.locations.all()
    return MeOut(
        id=user.pk,
        username=user.username,
        full_name=user.get_full_name(),
        roles=sorted(user.role_set),
        all_locations=user.all_locations,
        locations=[LocationRef(id=loc.pk, name=loc.name) for loc in qs.order_by("name")],
    )
