"""Chairside API: pump-rate arithmetic, charting vitals and titrations, and a session's state.

Contract relied on by outside checks (issue 5): ``POST /dose/pump-rate`` answers the mL/h to
programme or 422; ``POST /sessions/{id}/vitals`` answers 201 with the alerts raised, 422 for
impossible values, 409 once the record is signed; ``POST /sessions/{id}/rate`` answers 201,
or 409 naming the hard or soft limit it crosses (a soft limit counts as overridden only when
the caller is a prescriber and gives ``override_reason``); ``GET /sessions/{id}`` answers the
current state, computed from the timeline, and audits the read. Every write is one call to
``infusions.actions``; this module only maps its answers to HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.responses import Status

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import can_use_api
from ketaclinic.api.permissions import require
from ketaclinic.core import audit
from ketaclinic.infusions import actions, dosing, queries, scores
from ketaclinic.infusions.models import Alert, InfusionSession, SessionEvent, SessionStatus, VitalSign
from ketaclinic.infusions.permissions import (
    can_chart_infusions,
    can_chart_session,
    can_view_infusions,
    can_view_session,
)

router = Router(tags=["infusions"])

SIGNED_STATUSES = frozenset({SessionStatus.SIGNED, SessionStatus.LOCKED})
PUMP_FIELDS = ("dose_mg_per_kg_h", "weight_kg", "concentration_mg_per_ml")


class Problem(Schema):
    detail: str
    limit: str = Field(
        default="",
        description="For a refused dose, the limit it crosses: 'hard' (never) or 'soft' (a prescriber's override)",
    )


def _session(session_id: int) -> InfusionSession:
    return get_object_or_404(
        InfusionSession.objects.select_related("protocol_version__protocol", "order", "patient", "chair"),
        pk=session_id,
    )


def _require_at(request: HttpRequest, check: Callable[[User, InfusionSession], bool], session: InfusionSession) -> User:
    return require(request, check, session, message="This session is at a location you do not work at.")


def _conflict(session: InfusionSession, exc: ValidationError, allowed: frozenset[str] | None) -> Problem | None:
    """A refusal caused by the session's state (signed, or not in a state that allows the
    change) is a 409; anything else stays a 422."""
    status = InfusionSession.objects.values_list("status", flat=True).get(pk=session.pk)
    if status in SIGNED_STATUSES or (allowed is not None and status not in allowed):
        return Problem(detail=" ".join(exc.messages))
    return None


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """The action's field names as the API's schema calls them."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


# --- Pump rate -------------------------------------------------------------------------------


class PumpRateIn(Schema):
    dose_mg_per_kg_h: float = Field(description="Dose rate in mg/kg/h")
    weight_kg: float = Field(description="Today's weight in kg")
    concentration_mg_per_ml: float = Field(description="Bag concentration in mg/mL")


class PumpRateOut(Schema):
    rate_ml_per_h: float = Field(description="mL/h to programme, rounded half-up to 0.1 mL/h")


@router.post(
    "/dose/pump-rate",
    response=PumpRateOut,
    summary="mL/h = dose (mg/kg/h) × weight (kg) ÷ concentration (mg/mL), rounded to 0.1; 422 on impossible input",
)
def infusion_pump_rate(request: HttpRequest, payload: PumpRateIn) -> PumpRateOut:
    require(request, can_use_api)
    try:
        rate = dosing.pump_rate_ml_per_h(payload.dose_mg_per_kg_h, payload.weight_kg, payload.concentration_mg_per_ml)
    except dosing.DoseInputError as exc:
        message = str(exc)
        field = next((f for f in PUMP_FIELDS if message.startswith(f)), "dose_mg_per_kg_h")
        raise ValidationError({field: message}) from exc
    return PumpRateOut(rate_ml_per_h=rate)


# --- Vitals ----------------------------------------------------------------------------------


class VitalsIn(Schema):
    taken_at: datetime
    systolic: float = Field(description="mmHg")
    diastolic: float = Field(description="mmHg")
    heart_rate: float = Field(description="beats/min")
    spo2: float = Field(description="%")
    resp_rate: float = Field(description="breaths/min")
    etco2: float | None = Field(default=None, description="mmHg")
    temperature_c: float | None = Field(default=None, description="°C")
    pain_nrs: float | None = Field(default=None, description="0–10")
    sedation: float | None = Field(default=None, description="on the protocol's scale (RASS or MOAA/S)")
    dissociation: float | None = Field(default=None, description="on the protocol's dissociation scale")


class AlertOut(Schema):
    id: int
    kind: str
    parameter: str
    value: str
    message: str


class VitalsCreated(Schema):
    id: int
    phase: str
    alerts: list[AlertOut]


def _alert_out(alert: Alert) -> AlertOut:
    return AlertOut(id=alert.pk, kind=alert.kind, parameter=alert.parameter, value=alert.value, message=alert.message)


@router.post(
    "/sessions/{session_id}/vitals",
    response={201: VitalsCreated, 409: Problem},
    summary="Chart a vitals set: 201 with the alerts it raised, 422 for impossible values, 409 once signed",
)
def infusion_session_vitals(
    request: HttpRequest, session_id: int, payload: VitalsIn
) -> Status[VitalsCreated] | Status[Problem]:
    require(request, can_chart_infusions)
    session = _session(session_id)
    user = _require_at(request, can_chart_session, session)
    values = payload.dict(exclude={"taken_at"})
    try:
        vital, alerts = actions.record_vitals(
            acting_user=user, session=session, values=values, taken_at=payload.taken_at
        )
    except ValidationError as exc:
        problem = _conflict(session, exc, None)
        if problem is not None:
            return Status(409, problem)
        raise _renamed(exc, {"at": "taken_at"}) from exc
    return Status(201, VitalsCreated(id=vital.pk, phase=vital.phase, alerts=[_alert_out(a) for a in alerts]))


# --- Titration -------------------------------------------------------------------------------


class RateIn(Schema):
    dose_mg_per_kg_h: float = Field(description="New dose rate in mg/kg/h")
    reason: str = Field(description="Why the rate changes")
    override_reason: str = Field(default="", description="Above the soft limit: counts only from a prescriber")
    pump_rate_ml_per_h: float | None = Field(
        default=None, description="The rate programmed, checked against the computed one"
    )


class EventOut(Schema):
    id: int
    kind: str
    at: datetime
    dose_mg_per_kg_h: float | None
    pump_rate_ml_per_h: float | None
    limit_level: str
    reason: str
    override_reason: str
    override_by: str | None


def _event_out(event: SessionEvent) -> EventOut:
    return EventOut(
        id=event.pk,
        kind=event.kind,
        at=event.at,
        dose_mg_per_kg_h=float(event.dose_mg_per_kg_h) if event.dose_mg_per_kg_h is not None else None,
        pump_rate_ml_per_h=float(event.pump_rate_ml_per_h) if event.pump_rate_ml_per_h is not None else None,
        limit_level=event.limit_level,
        reason=event.reason,
        override_reason=event.override_reason,
        override_by=event.override_by.username if event.override_by else None,
    )


def _limit_detail(exc: actions.LimitRefused) -> str:
    message = " ".join(exc.messages)
    label = f"{exc.level} limit"
    return message if label in message.lower() else f"{label.capitalize()}: {message}"


@router.post(
    "/sessions/{session_id}/rate",
    response={201: EventOut, 409: Problem},
    summary="Titrate: 201 with the event; 409 above the hard limit, or above the soft limit without a prescriber's override",
)
def infusion_session_rate(request: HttpRequest, session_id: int, payload: RateIn) -> Status[EventOut] | Status[Problem]:
    require(request, can_chart_infusions)
    session = _session(session_id)
    user = _require_at(request, can_chart_session, session)
    try:
        event = actions.set_rate(
            acting_user=user,
            session=session,
            dose_mg_per_kg_h=payload.dose_mg_per_kg_h,
            reason=payload.reason,
            override_reason=payload.override_reason,
            pump_rate_ml_per_h=payload.pump_rate_ml_per_h,
        )
    except actions.LimitRefused as exc:
        return Status(409, Problem(detail=_limit_detail(exc), limit=exc.level))
    except ValidationError as exc:
        problem = _conflict(session, exc, frozenset({SessionStatus.INFUSING}))
        if problem is not None:
            return Status(409, problem)
        raise
    return Status(201, _event_out(event))


# --- Current state ---------------------------------------------------------------------------


class VitalOut(Schema):
    id: int
    taken_at: datetime
    phase: str
    source: str
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None
    resp_rate: int | None
    etco2: int | None
    temperature_c: float | None
    pain_nrs: int | None
    sedation: int | None
    dissociation: int | None
    needs_validation: bool


class AlertState(AlertOut):
    raised_at: datetime
    acknowledged_at: datetime | None
    action_taken: str


class TotalsOut(Schema):
    total_mg: float
    total_ml: float
    infusion_min: float


class VitalsDueOut(Schema):
    due_at: datetime | None
    overdue: bool
    interval_min: int


class CurveOut(Schema):
    label: str
    started_at: datetime
    minutes: list[float]
    clements_ng_per_ml: list[float]
    domino_ng_per_ml: list[float]
    dissociation_band_ng_per_ml: tuple[float, float]


class SessionState(Schema):
    id: int
    status: str
    status_label: str
    patient_initials: str
    location_id: int
    chair: str | None
    protocol: str
    weight_kg: float | None
    started_at: datetime | None
    stopped_at: datetime | None
    dose_mg_per_kg_h: float | None
    pump_rate_ml_per_h: float | None = Field(description="The programmed rate; the pump runs only while infusing")
    is_running: bool
    totals: TotalsOut = Field(description="Computed from the timeline (rate × time per segment), never typed")
    total_mg: float
    total_ml: float
    infusion_min: float
    last_vitals: VitalOut | None
    vitals: list[VitalOut]
    vitals_due: VitalsDueOut
    open_alerts: list[AlertState]
    alerts: list[AlertState]
    timeline: list[EventOut]
    predicted_concentration: CurveOut | None


def _vital_out(v: VitalSign) -> VitalOut:
    return VitalOut(
        id=v.pk,
        taken_at=v.taken_at,
        phase=v.phase,
        source=v.source,
        systolic=v.systolic,
        diastolic=v.diastolic,
        heart_rate=v.heart_rate,
        spo2=v.spo2,
        resp_rate=v.resp_rate,
        etco2=v.etco2,
        temperature_c=float(v.temperature_c) if v.temperature_c is not None else None,
        pain_nrs=v.pain_nrs,
        sedation=v.sedation,
        dissociation=v.dissociation,
        needs_validation=v.needs_validation,
    )


def _alert_state(a: Alert) -> AlertState:
    return AlertState(
        id=a.pk,
        kind=a.kind,
        parameter=a.parameter,
        value=a.value,
        message=a.message,
        raised_at=a.raised_at,
        acknowledged_at=a.acknowledged_at,
        action_taken=a.action_taken,
    )


def _initials(session: InfusionSession) -> str:
    names = [session.patient.first_name, session.patient.last_name]
    return "".join(f"{n.strip()[0].upper()}." for n in names if n.strip())


@router.get("/sessions/{session_id}", response=SessionState, summary="A session's current state (audited read)")
def infusion_session(request: HttpRequest, session_id: int) -> SessionState:
    require(request, can_view_infusions)
    session = _session(session_id)
    user = _require_at(request, can_view_session, session)
    events = list(session.events.select_related("override_by").order_by("at", "pk"))
    vitals = [_vital_out(v) for v in session.vitals.order_by("taken_at", "pk")]
    alerts = [_alert_state(a) for a in session.alerts.order_by("raised_at", "pk")]
    totals = queries.session_totals(session)
    totals_out = TotalsOut(
        total_mg=round(totals.total_mg, 2) if totals else 0.0,
        total_ml=round(totals.total_ml, 2) if totals else 0.0,
        infusion_min=round(totals.infusion_min, 1) if totals else 0.0,
    )
    timeline = [_event_out(e) for e in events]
    programmed_out = next((e for e in reversed(timeline) if e.dose_mg_per_kg_h is not None), None)
    due = queries.vitals_due(session)
    curve = queries.pk_curve(session)
    audit.record_read(user, session, patient_id=session.patient_id, location_id=session.location_id)
    return SessionState(
        id=session.pk,
        status=session.status,
        status_label=session.get_status_display(),
        patient_initials=_initials(session),
        location_id=session.location_id,
        chair=session.chair.name if session.chair else None,
        protocol=str(session.protocol_version),
        weight_kg=float(session.weight_kg) if session.weight_kg is not None else None,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        dose_mg_per_kg_h=programmed_out.dose_mg_per_kg_h if programmed_out else None,
        pump_rate_ml_per_h=programmed_out.pump_rate_ml_per_h if programmed_out else None,
        is_running=session.status == SessionStatus.INFUSING,
        totals=totals_out,
        total_mg=totals_out.total_mg,
        total_ml=totals_out.total_ml,
        infusion_min=totals_out.infusion_min,
        last_vitals=vitals[-1] if vitals else None,
        vitals=vitals,
        vitals_due=VitalsDueOut(due_at=due.due_at, overdue=due.overdue, interval_min=due.interval_min),
        open_alerts=[a for a in alerts if a.acknowledged_at is None],
        alerts=alerts,
        timeline=timeline,
        predicted_concentration=(
            CurveOut(
                label="Model estimate (Clements 250 and Domino), not a measured level",
                started_at=curve.started_at,
                minutes=curve.minutes,
                clements_ng_per_ml=curve.clements,
                domino_ng_per_ml=curve.domino,
                dissociation_band_ng_per_ml=queries.DISSOCIATION_BAND_NG_PER_ML,
            )
            if curve
            else None
        ),
    )


# --- Modified Aldrete --------------------------------------------------------------------------


class AldreteIn(Schema):
    activity: int = Field(description="0–2")
    respiration: int = Field(description="0–2")
    circulation: int = Field(description="0–2")
    consciousness: int = Field(description="0–2")
    oxygen_saturation: int = Field(description="0–2")
    session_id: int | None = Field(
        default=None, description="Score under this session's protocol threshold instead of the clinic default"
    )


class AldreteOut(Schema):
    total: int = Field(description="0–10")
    threshold: int
    discharge_eligible: bool


@router.post(
    "/scores/aldrete",
    response=AldreteOut,
    summary="Modified Aldrete total (five items, 0–2 each) and whether it meets the discharge threshold; 422 outside 0–2",
)
def infusion_aldrete(request: HttpRequest, payload: AldreteIn) -> AldreteOut:
    """The threshold is the session's protocol version's when ``session_id`` is given, otherwise
    the clinic's ``ALDRETE_DISCHARGE_THRESHOLD`` setting (default 9, clinical-reference §5)."""
    require(request, can_use_api)
    threshold = settings.ALDRETE_DISCHARGE_THRESHOLD
    if payload.session_id is not None:
        session = _session(payload.session_id)
        _require_at(request, can_view_session, session)
        threshold = session.protocol_version.aldrete_threshold
    items = payload.dict(exclude={"session_id"})
    try:
        result = scores.aldrete(**items, threshold=threshold)
    except scores.ScoreInputError as exc:
        message = str(exc)
        field = next((f for f in items if message.startswith(f)), "activity")
        raise ValidationError({field: message}) from exc
    return AldreteOut(total=result.total, threshold=result.threshold, discharge_eligible=result.discharge_eligible)
