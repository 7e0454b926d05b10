"""Reads for the chairside record: effective limits, the timeline as dosing events, computed
totals, the predicted-concentration curve, vitals due, alerts for the day board."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Count, F
from django.utils import timezone

from ketaclinic.infusions import dosing, pk
from ketaclinic.infusions.models import (
    Alert,
    EventKind,
    InfusionOrder,
    InfusionSession,
    SessionStatus,
    SideEffect,
    SideEffectKind,
    VitalPhase,
    VitalSign,
)
from ketaclinic.infusions.vitals import Thresholds

OPEN_STATUSES = (
    SessionStatus.CHECKED_IN,
    SessionStatus.READY,
    SessionStatus.INFUSING,
    SessionStatus.PAUSED,
    SessionStatus.RECOVERING,
)
# The band where dissociation is reported, ng/mL (defined in pk.py from clinical-reference §3).
DISSOCIATION_BAND_NG_PER_ML = (pk.DISSOCIATION_BAND_LOW_NG_PER_ML, pk.DISSOCIATION_BAND_HIGH_NG_PER_ML)


def effective_limits(order: InfusionOrder) -> dosing.DoseLimits:
    """The order's limits: each blank one inherits the protocol version's."""
    v = order.protocol_version

    def pick(own: Decimal | None, base: Decimal) -> float:
        return float(own if own is not None else base)

    soft = pick(order.soft_max_mg_per_kg_h, v.soft_max_mg_per_kg_h)
    start = pick(order.start_mg_per_kg_h, v.start_mg_per_kg_h)
    return dosing.DoseLimits(
        soft_max_mg_per_kg_h=soft,
        hard_max_mg_per_kg_h=pick(order.hard_max_mg_per_kg_h, v.hard_max_mg_per_kg_h),
        start_mg_per_kg_h=min(start, soft),
        max_total_mg_per_session=pick(order.max_total_mg_per_session, v.max_total_mg_per_session),
    )


def thresholds_for(session: InfusionSession) -> Thresholds:
    v = session.protocol_version
    return Thresholds(
        systolic_max=v.systolic_max,
        systolic_min=v.systolic_min,
        diastolic_max=v.diastolic_max,
        diastolic_min=v.diastolic_min,
        heart_rate_max=v.heart_rate_max,
        heart_rate_min=v.heart_rate_min,
        spo2_min=v.spo2_min,
        resp_rate_min=v.resp_rate_min,
        resp_rate_max=v.resp_rate_max,
        etco2_max=v.etco2_max,
        systolic_rise_max=v.systolic_rise_max,
        diastolic_rise_max=v.diastolic_rise_max,
    )


def baseline_vitals(session: InfusionSession) -> VitalSign | None:
    """The last vitals set charted before the start (the reference for change alerts)."""
    return session.vitals.filter(phase=VitalPhase.BASELINE).order_by("-taken_at", "-pk").first()


def timeline_events(session: InfusionSession) -> list[dosing.InfusionEvent]:
    return [
        dosing.InfusionEvent(
            at=e.at,
            kind=e.kind,  # type: ignore[arg-type]
            dose_mg_per_kg_h=float(e.dose_mg_per_kg_h) if e.dose_mg_per_kg_h is not None else None,
            bolus_mg=float(e.bolus_mg) if e.bolus_mg is not None else None,
        )
        for e in session.events.order_by("at", "pk")
    ]


def _until(session: InfusionSession, until: datetime | None) -> datetime:
    if until is not None:
        return until
    if session.stopped_at is not None:
        return session.stopped_at
    return timezone.now()


def session_totals(session: InfusionSession, until: datetime | None = None) -> dosing.Totals | None:
    """mg, mL and running minutes from the timeline (None before the start). mL follow the
    concentration of the bag hanging at each moment: a replacement bag of another concentration
    changes how many mL each mg is from its preparation on."""
    events = timeline_events(session)
    if not events or session.weight_kg is None:
        return None
    weight = float(session.weight_kg)
    end = max(_until(session, until), events[-1].at)
    bags = list(session.bags.order_by("prepared_at", "pk").values_list("prepared_at", "concentration_mg_per_ml"))
    concentrations = {c for _, c in bags}
    if len(concentrations) <= 1:
        concentration = float(bags[-1][1]) if bags else 1.0
        return dosing.compute_totals(events, weight, concentration, end)

    def mg_until(moment: datetime) -> float:
        before = [e for e in events if e.at <= moment]
        return dosing.compute_totals(before, weight, 1.0, moment).total_mg if before else 0.0

    totals = dosing.compute_totals(events, weight, 1.0, end)
    total_ml = 0.0
    for index, (prepared_at, concentration) in enumerate(bags):
        start = events[0].at if index == 0 else min(max(prepared_at, events[0].at), end)
        stop = end if index == len(bags) - 1 else min(max(bags[index + 1][0], events[0].at), end)
        total_ml += (mg_until(stop) - mg_until(start)) / float(concentration)
    return dosing.Totals(total_mg=totals.total_mg, total_ml=total_ml, infusion_min=totals.infusion_min)


@dataclass(frozen=True)
class Curve:
    """Predicted plasma concentration (model estimate) at minutes after the start."""

    minutes: list[float]
    clements: list[float]
    domino: list[float]
    started_at: datetime


def pk_curve(session: InfusionSession, *, step_min: float = 2.0, tail_min: float = 60.0) -> Curve | None:
    events = timeline_events(session)
    if not events or session.weight_kg is None or session.started_at is None:
        return None
    end = _until(session, None)
    schedule = dosing.build_schedule(events, max(end, events[-1].at))
    origin = session.started_at
    weight = float(session.weight_kg)

    def minutes(at: datetime) -> float:
        return (at - origin).total_seconds() / 60

    segments = [
        (minutes(s.start), minutes(s.end), s.dose_mg_per_kg_h * weight / 60)
        for s in schedule.segments
        if s.end > s.start
    ]
    boluses = [(minutes(b.at), b.bolus_mg) for b in schedule.boluses]
    horizon = minutes(end) + (tail_min if session.stopped_at else 0.0)
    times = np.arange(0.0, max(horizon, step_min) + step_min / 2, step_min)
    clements = pk.predict_concentration_ng_per_ml(pk.CLEMENTS_250, weight, segments, boluses, times)
    domino = pk.predict_concentration_ng_per_ml(pk.DOMINO, weight, segments, boluses, times)
    return Curve(
        minutes=[round(float(t), 1) for t in times],
        clements=[round(float(c), 1) for c in clements],
        domino=[round(float(c), 1) for c in domino],
        started_at=origin,
    )


@dataclass(frozen=True)
class VitalsDue:
    due_at: datetime | None
    overdue: bool
    interval_min: int


def vitals_due(session: InfusionSession, now: datetime | None = None) -> VitalsDue:
    """When the next vitals set is due at the protocol's interval for the current phase."""
    now = now or timezone.now()
    v = session.protocol_version
    if session.status in {SessionStatus.INFUSING, SessionStatus.PAUSED}:
        interval = v.vitals_interval_min
    elif session.status == SessionStatus.RECOVERING:
        interval = v.recovery_vitals_interval_min
    else:
        return VitalsDue(None, False, v.vitals_interval_min)
    last = session.vitals.order_by("-taken_at").values_list("taken_at", flat=True).first()
    reference = max(filter(None, [last, session.started_at]))
    due = reference + timedelta(minutes=interval)
    return VitalsDue(due, now > due, interval)


def current_dose(session: InfusionSession) -> Decimal | None:
    last = session.events.filter(kind__in=[EventKind.START, EventKind.TITRATE]).order_by("-at", "-pk").first()
    return last.dose_mg_per_kg_h if last else None


def active_session_for_chair(chair_id: int) -> InfusionSession | None:
    """The session a monitor on this chair reports for: checked in through recovery."""
    return (
        InfusionSession.objects.filter(chair_id=chair_id, status__in=OPEN_STATUSES)
        .select_related("protocol_version")
        .order_by("-checked_in_at")
        .first()
    )


def unacknowledged_alerts_by_booking(booking_ids: Iterable[int]) -> dict[int, list[Alert]]:
    """Open alerts per booking, for the day board (one query)."""
    found: dict[int, list[Alert]] = defaultdict(list)
    alerts = Alert.objects.filter(session__booking_id__in=list(booking_ids), acknowledged_at__isnull=True).annotate(
        booking_id=F("session__booking_id")
    )
    for alert in alerts:
        found[alert.booking_id].append(alert)  # the annotation above
    return dict(found)


def sessions_by_booking(booking_ids: Iterable[int]) -> dict[int, InfusionSession]:
    """Booking id → its session, with only what the day board reads (status and the vitals
    clock): a board of a busy day would otherwise load every field of every record."""
    rows = InfusionSession.objects.filter(booking_id__in=list(booking_ids)).only(
        "pk", "booking_id", "status", "started_at", "protocol_version_id"
    )
    return {s.booking_id: s for s in rows if s.booking_id is not None}


def pain_before_after(session: InfusionSession) -> tuple[int, int] | None:
    """Pain NRS at baseline (last before start) and the last charted in recovery."""
    before = (
        session.vitals.filter(phase=VitalPhase.BASELINE, pain_nrs__isnull=False)
        .order_by("-taken_at")
        .values_list("pain_nrs", flat=True)
        .first()
    )
    after = (
        session.vitals.filter(phase=VitalPhase.RECOVERY, pain_nrs__isnull=False)
        .order_by("-taken_at")
        .values_list("pain_nrs", flat=True)
        .first()
    )
    if before is None or after is None:
        return None
    return before, after


# --- Feeds for the outcomes module ----------------------------------------------------------

FINISHED_STATUSES = (SessionStatus.DISCHARGED, SessionStatus.SIGNED, SessionStatus.LOCKED)


def pain_scores_for_patient(patient_id: int, zone: ZoneInfo) -> list[tuple[date, int, int]]:
    """(local date, pain NRS before, pain NRS after) for each finished infusion with both charted:
    before = the last baseline value, after = the last value in recovery. Two queries."""
    sessions = {
        s.pk: s.started_at
        for s in InfusionSession.objects.filter(
            patient_id=patient_id, status__in=FINISHED_STATUSES, started_at__isnull=False
        ).only("pk", "started_at")
    }
    last: dict[tuple[int, str], int] = {}
    rows = (
        VitalSign.objects.filter(session_id__in=list(sessions), pain_nrs__isnull=False)
        .exclude(phase=VitalPhase.INFUSION)
        .order_by("taken_at", "pk")
        .values_list("session_id", "phase", "pain_nrs")
    )
    for session_id, phase, pain in rows:
        if pain is not None:
            last[(session_id, phase)] = pain
    found = []
    for session_id, started_at in sorted(sessions.items(), key=lambda item: item[1] or timezone.now()):
        before, after = last.get((session_id, VitalPhase.BASELINE)), last.get((session_id, VitalPhase.RECOVERY))
        if started_at is not None and before is not None and after is not None:
            found.append((started_at.astimezone(zone).date(), before, after))
    return found


def adverse_event_counts(
    *,
    location_ids: Iterable[int] | None = None,
    protocol_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[tuple[str, int, int]]:
    """(side effect, infusions with it, infusions finished) per side-effect kind, from finished
    sessions (optionally at some locations and started in [start, end)). Kinds that never
    occurred are listed with 0 so the table shows what was looked for."""
    sessions = InfusionSession.objects.filter(status__in=FINISHED_STATUSES, started_at__isnull=False)
    if location_ids is not None:
        sessions = sessions.filter(location_id__in=list(location_ids))
    if protocol_id is not None:
        sessions = sessions.filter(protocol_version__protocol_id=protocol_id)
    if start is not None:
        sessions = sessions.filter(started_at__gte=start)
    if end is not None:
        sessions = sessions.filter(started_at__lt=end)
    total = sessions.count()
    counts = dict(
        SideEffect.objects.filter(session__in=sessions)
        .values("kind")
        .annotate(n=Count("session", distinct=True))
        .values_list("kind", "n")
    )
    return [(kind.label, counts.get(kind.value, 0), total) for kind in SideEffectKind]
