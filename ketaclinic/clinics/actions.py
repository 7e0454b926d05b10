"""Creating and changing locations and chairs, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Chair, Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent

LOCATION_FIELDS = [
    "name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "sms_number",
    "time_zone",
    "dea_number",
    "npi",
    "tin",
    "is_active",
]


@transaction.atomic
def create_location(*, acting_user: User | None, chair_names: list[str] | None = None, **fields: Any) -> Location:
    location = Location(**fields)
    location.full_clean()
    location.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=location,
        location_id=location.pk,
        changes=audit.changes_between({}, model_to_dict(location, fields=LOCATION_FIELDS)),
    )
    for name in chair_names or []:
        add_chair(acting_user=acting_user, location=location, name=name)
    return location


@transaction.atomic
def update_location(*, acting_user: User, location: Location, **fields: Any) -> Location:
    before = model_to_dict(location, fields=LOCATION_FIELDS)
    for name, value in fields.items():
        if name not in LOCATION_FIELDS:
            raise ValueError(f"{name} is not an editable location field")
        setattr(location, name, value)
    location.full_clean()
    location.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=location,
        location_id=location.pk,
        changes=audit.changes_between(before, model_to_dict(location, fields=LOCATION_FIELDS)),
    )
    return location


@transaction.atomic
def add_chair(*, acting_user: User | None, location: Location, name: str) -> Chair:
    chair = Chair(location=location, name=name.strip())
    chair.full_clean()
    chair.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=chair,
        location_id=location.pk,
        changes={"name": [None, chair.name]},
    )
    return chair


@transaction.atomic
def set_chair_active(*, acting_user: User, chair: Chair, is_active: bool) -> Chair:
    if chair.is_active != is_active:
        chair.is_active = is_active
        chair.save(update_fields=["is_active"])
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.UPDATE,
            obj=chair,
            location_id=chair.location_id,
            changes={"is_active": [not is_active, is_active]},
        )
    return chair
