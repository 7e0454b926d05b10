"""Changes to protocols, audited."""

from __future__ import annotations

from django.db import transaction
from django.forms.models import model_to_dict

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions.models import Protocol

PROTOCOL_FIELDS = ["code", "name", "summary", "induction_infusions", "induction_window_days", "is_active"]


@transaction.atomic
def create_protocol(
    *,
    acting_user: User | None,
    code: str,
    name: str,
    summary: str = "",
    induction_infusions: int = 6,
    induction_window_days: int = 21,
) -> Protocol:
    protocol = Protocol(
        code=code,
        name=name,
        summary=summary,
        induction_infusions=induction_infusions,
        induction_window_days=induction_window_days,
    )
    protocol.full_clean()
    protocol.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=protocol,
        changes=audit.changes_between({}, model_to_dict(protocol, fields=PROTOCOL_FIELDS)),
    )
    return protocol
