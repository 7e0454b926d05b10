"""The chairside state of each infusion booking on the day board (issue 5, "Views": every chair's
live state and unacknowledged alerts), read in a fixed number of queries whatever the number
of bookings, vitals or pump events: the sessions, their open alerts, their protocol versions
(the vitals interval), the last dose on each pump timeline, and the last vitals time with the
monitor readings still to validate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Q
from django.urls import reverse

from ketaclinic.infusions.models import (
    Alert,
    EventKind,
    InfusionSession,
    ProtocolVersion,
    SessionEvent,
    SessionStatus,
    VitalSign,
    VitalSource,
)
from ketaclinic.infusions.queries import sessions_by_booking, unacknowledged_alerts_by_booking
from ketaclinic.scheduling.choices import INFUSION_KINDS
from ketaclinic.scheduling.models import Booking

RUNNING = frozenset({SessionStatus.INFUSING, SessionStatus.PAUSED})


@dataclass
class ChairState:
    """What the board shows for one infusion booking that has a chairside record."""

    session: InfusionSession
    url: str
    dose_mg_per_kg_h: Decimal | None = None
    vitals_due_at: datetime | None = None
    vitals_overdue: bool = False
    unvalidated_readings: int = 0
    alerts: list[Alert] = field(default_factory=list)

    @property
    def is_running(self) -> bool:
        return self.session.status in RUNNING


def _interval_min(session: InfusionSession, version: ProtocolVersion) -> int | None:
    """Minutes between vitals for the session's phase, as ``infusions.queries.vitals_due``."""
    if session.status in RUNNING:
        return version.vitals_interval_min
    if session.status == SessionStatus.RECOVERING:
        return version.recovery_vitals_interval_min
    return None


def _plain(dose: Decimal | None) -> Decimal | None:
    """0.400 → 0.4 for display; the unit is printed beside it."""
    return None if dose is None else dose.normalize()


def chair_states(bookings: Iterable[Booking], now: datetime) -> dict[int, ChairState]:
    """Booking id → its chairside state, for the infusion bookings that have a session."""
    ids = [b.pk for b in bookings if b.appointment_type.kind in INFUSION_KINDS]
    if not ids:
        return {}
    sessions = sessions_by_booking(ids)
    if not sessions:
        return {}
    alerts = unacknowledged_alerts_by_booking(ids)
    session_ids = [s.pk for s in sessions.values()]
    versions = ProtocolVersion.objects.only("vitals_interval_min", "recovery_vitals_interval_min").in_bulk(
        {s.protocol_version_id for s in sessions.values()}
    )
    doses: dict[int, Decimal | None] = {}
    pump = (
        SessionEvent.objects.filter(session_id__in=session_ids, kind__in=[EventKind.START, EventKind.TITRATE])
        .order_by("at", "pk")
        .values_list("session_id", "dose_mg_per_kg_h")
    )
    for session_id, dose in pump:
        doses[session_id] = dose
    vitals = {
        row["session_id"]: row
        for row in VitalSign.objects.filter(session_id__in=session_ids)
        .values("session_id")
        .annotate(
            last=Max("taken_at"),
            unvalidated=Count("pk", filter=Q(source=VitalSource.DEVICE, validated_at__isnull=True)),
        )
    }
    states: dict[int, ChairState] = {}
    for booking_id, session in sessions.items():
        row = vitals.get(session.pk, {})
        state = ChairState(
            session=session,
            url=reverse("infusions:session", kwargs={"pk": session.pk}),
            dose_mg_per_kg_h=_plain(doses.get(session.pk)) if session.status in RUNNING else None,
            unvalidated_readings=row.get("unvalidated", 0),
            alerts=alerts.get(booking_id, []),
        )
        interval = _interval_min(session, versions[session.protocol_version_id])
        reference = max(filter(None, [row.get("last"), session.started_at]), default=None)
        if interval is not None and reference is not None:
            state.vitals_due_at = reference + timedelta(minutes=interval)
            state.vitals_overdue = now > state.vitals_due_at
        states[booking_id] = state
    return states
