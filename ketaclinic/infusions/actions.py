"""Every change to protocols, orders and the chairside record: validated, audited, and refused
once the record is locked.

Each action runs in one transaction with the session row locked (``select_for_update``; on
SQLite the IMMEDIATE transaction holds the write lock), so two nurses charting the same chair
cannot interleave a half-applied change. Errors are ``ValidationError`` with a message a nurse
can act on; nothing is written when one is raised. Totals are computed from the timeline
(``queries.session_totals``), never typed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.bulk import insert_rows
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.permissions import has_grant
from ketaclinic.infusions import device_queries, dosing, scores, vitals
from ketaclinic.infusions.defaults import default_values
from ketaclinic.infusions.models import (
    Addendum,
    Alert,
    BagPreparation,
    EventKind,
    InfusionOrder,
    InfusionSession,
    MedicationAdministration,
    MonitorMessage,
    PregnancyAnswer,
    Protocol,
    ProtocolVersion,
    RecoveryScore,
    SessionEvent,
    SessionStatus,
    SideEffect,
    VitalPhase,
    VitalSign,
    VitalSource,
)
from ketaclinic.infusions.queries import (
    baseline_vitals,
    current_dose,
    effective_limits,
    session_totals,
    thresholds_for,
)
from ketaclinic.inventory import actions as ledger
from ketaclinic.inventory.models import Container
from ketaclinic.inventory.queries import session_balance, session_outstanding_ml
from ketaclinic.patients.actions import record_weight
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import set_booking_status
from ketaclinic.scheduling.choices import INFUSION_KINDS, BookingStatus
from ketaclinic.scheduling.models import Booking

PROTOCOL_FIELDS = ["code", "name", "summary", "induction_infusions", "induction_window_days", "is_active"]
VERSION_FIELDS = [
    f.name
    for f in ProtocolVersion._meta.get_fields()
    if getattr(f, "concrete", False)
    and f.name not in {"id", "protocol", "number", "created_by", "created_at", "change_note"}
]
RATE_PLACES = Decimal("0.1")
# A typed pump rate must match the computed one to the pump's 0.1 mL/h display.
WitnessCredential = ledger.WitnessCredential


class LimitRefused(ValidationError):  # noqa: N818 - reads as the condition it reports
    """A dose the protocol forbids (hard) or allows only with a prescriber's override (soft)."""

    def __init__(self, message: str, *, level: str) -> None:
        super().__init__({"dose_mg_per_kg_h": message})
        self.level = level


def _record(
    user: User | None, obj: Any, session: InfusionSession | None, changes: Mapping[str, Any], *, new: bool = True
) -> None:
    audit.record(
        actor=user,
        action=AuditEvent.Action.CREATE if new else AuditEvent.Action.UPDATE,
        obj=obj,
        patient_id=session.patient_id if session else None,
        location_id=session.location_id if session else None,
        changes=changes,
    )


def _dec(value: Any, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError({field: f"{label} must be a number."}) from exc
    if not number.is_finite():
        raise ValidationError({field: f"{label} must be a number."})
    return number


def _when(at: datetime | None) -> datetime:
    now = timezone.now()
    when = at or now
    if when > now + timedelta(minutes=2):
        raise ValidationError({"at": "A charted time cannot be in the future."})
    return when


def _event_time(session: InfusionSession, at: datetime | None) -> datetime:
    """A pump event's time: not in the future and not before the last event on the timeline
    (totals replay the events in time order, so a back-dated one would break them)."""
    when = _when(at)
    last = session.events.order_by("-at", "-pk").values_list("at", flat=True).first()
    if last is not None and when < last:
        raise ValidationError(
            {"at": f"The timeline already has an event at {timezone.localtime(last):%H:%M}; chart this one after it."}
        )
    return when


def _lock(session: InfusionSession, *, allow: Sequence[str] | None = None) -> InfusionSession:
    locked = (
        InfusionSession.objects.select_for_update(of=("self",))
        .select_related("protocol_version", "order", "booking", "patient")
        .get(pk=session.pk)
    )
    if locked.status in {SessionStatus.SIGNED, SessionStatus.LOCKED} and (allow is None or locked.status not in allow):
        raise ValidationError("This record is signed; add an addendum instead of changing it.")
    if allow is not None and locked.status not in allow:
        raise ValidationError(f"Not possible while the session is {locked.get_status_display().lower()}.")
    return locked


def _set_booking(user: User | None, session: InfusionSession, status: str) -> None:
    if session.booking_id is None:
        return
    booking = Booking.objects.get(pk=session.booking_id)
    if booking.status != status:
        set_booking_status(acting_user=user, booking=booking, status=status)


# --- Protocol library -----------------------------------------------------------------------


@transaction.atomic
def create_protocol(
    *,
    acting_user: User | None,
    code: str,
    name: str,
    summary: str = "",
    induction_infusions: int = 6,
    induction_window_days: int = 21,
    version_values: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> Protocol:
    """A new protocol with its first version (the cited defaults unless values are given)."""
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
    publish_protocol_version(
        acting_user=acting_user,
        protocol=protocol,
        values={**default_values(), **(version_values or {})},
        change_note="First version from the cited defaults.",
        at=at,
    )
    return protocol


def _check_version(version: ProtocolVersion) -> None:
    try:
        dosing.DoseLimits(
            soft_max_mg_per_kg_h=float(version.soft_max_mg_per_kg_h),
            hard_max_mg_per_kg_h=float(version.hard_max_mg_per_kg_h),
            start_mg_per_kg_h=float(version.start_mg_per_kg_h),
            max_total_mg_per_session=float(version.max_total_mg_per_session),
        )
    except dosing.DoseInputError as exc:
        raise ValidationError(str(exc)) from exc
    errors: dict[str, str] = {}
    concentrations = version.allowed_concentrations
    if not isinstance(concentrations, list) or not concentrations:
        errors["allowed_concentrations"] = "List at least one allowed bag concentration in mg/mL."
    else:
        for c in concentrations:
            try:
                dosing.concentration_mg_per_ml(float(c), 1.0)
            except (dosing.DoseInputError, TypeError, ValueError):
                errors["allowed_concentrations"] = f"{c} mg/mL is not a usable bag concentration (0.1–10 mg/mL)."
    if version.duration_min_minutes > version.duration_max_minutes:
        errors["duration_max_minutes"] = "The longest infusion must not be shorter than the shortest."
    pairs = [
        ("systolic", "Systolic"),
        ("diastolic", "Diastolic"),
        ("heart_rate", "Heart rate"),
        ("resp_rate", "Resp. rate"),
    ]
    for field, label in pairs:
        if getattr(version, f"{field}_min") >= getattr(version, f"{field}_max"):
            errors[f"{field}_max"] = f"{label}: the upper alert limit must be above the lower one."
    if not isinstance(version.checklist_items, list) or not all(
        isinstance(i, str) and i.strip() for i in version.checklist_items
    ):
        errors["checklist_items"] = "Checklist items must be non-empty lines of text."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def publish_protocol_version(
    *,
    acting_user: User | None,
    protocol: Protocol,
    values: Mapping[str, Any],
    change_note: str,
    at: datetime | None = None,
) -> ProtocolVersion:
    """Publish a new version of a protocol's limits; the previous versions stay as they were
    for the sessions that ran under them."""
    Protocol.objects.select_for_update().get(pk=protocol.pk)
    previous = protocol.versions.order_by("-number").first()
    unknown = set(values) - set(VERSION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown protocol settings: {', '.join(sorted(unknown))}.")
    version = ProtocolVersion(
        protocol=protocol,
        number=(previous.number + 1) if previous else 1,
        created_by=acting_user,
        created_at=_when(at),
        change_note=change_note.strip(),
        **values,
    )
    if previous is not None and not version.change_note:
        raise ValidationError({"change_note": "Say what changed and why; the note stays with the version."})
    version.full_clean(exclude=["protocol"])
    _check_version(version)
    version.save()
    old = model_to_dict(previous, fields=VERSION_FIELDS) if previous else {}
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=version,
        changes=audit.changes_between(old, model_to_dict(version, fields=VERSION_FIELDS)),
        reason=version.change_note,
    )
    return version


@transaction.atomic
def write_order(
    *,
    acting_user: User,
    patient: Patient,
    protocol_version: ProtocolVersion,
    start_mg_per_kg_h: Decimal | None = None,
    soft_max_mg_per_kg_h: Decimal | None = None,
    hard_max_mg_per_kg_h: Decimal | None = None,
    max_total_mg_per_session: Decimal | None = None,
    note: str = "",
    at: datetime | None = None,
) -> InfusionOrder:
    """A prescriber orders a protocol version for a patient; limits may only narrow. The order
    replaces the patient's earlier active orders."""
    if not has_grant(acting_user, "write_orders"):
        raise ValidationError("Only a prescriber can write an infusion order.")
    order = InfusionOrder(
        patient=patient,
        protocol_version=protocol_version,
        prescriber=acting_user,
        created_at=_when(at),
        start_mg_per_kg_h=start_mg_per_kg_h,
        soft_max_mg_per_kg_h=soft_max_mg_per_kg_h,
        hard_max_mg_per_kg_h=hard_max_mg_per_kg_h,
        max_total_mg_per_session=max_total_mg_per_session,
        note=note.strip(),
    )
    try:
        limits = effective_limits(order)
        dosing.narrow(
            dosing.DoseLimits(
                soft_max_mg_per_kg_h=float(protocol_version.soft_max_mg_per_kg_h),
                hard_max_mg_per_kg_h=float(protocol_version.hard_max_mg_per_kg_h),
                start_mg_per_kg_h=float(protocol_version.start_mg_per_kg_h),
                max_total_mg_per_session=float(protocol_version.max_total_mg_per_session),
            ),
            limits,
        )
    except (dosing.LimitWideningError, dosing.DoseInputError) as exc:
        raise ValidationError(str(exc)) from exc
    previous = list(InfusionOrder.objects.select_for_update().filter(patient=patient, is_active=True))
    InfusionOrder.objects.filter(pk__in=[o.pk for o in previous]).update(is_active=False)
    order.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=order,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={
            "protocol_version": [None, str(protocol_version)],
            "limits": [None, limits.__dict__],
            "replaces": [None, [o.pk for o in previous]],
        },
    )
    return order


# --- Check-in and checklist -----------------------------------------------------------------


@transaction.atomic
def check_in(*, acting_user: User, booking: Booking, at: datetime | None = None) -> InfusionSession:
    """Open the chairside record for an infusion booking; the booking becomes checked in."""
    booking = Booking.objects.select_for_update().select_related("appointment_type").get(pk=booking.pk)
    if booking.appointment_type.kind not in INFUSION_KINDS or booking.chair_id is None:
        raise ValidationError("Only an infusion booking on a chair opens an infusion record.")
    existing = InfusionSession.objects.filter(booking=booking).first()
    if existing is not None:
        return existing
    if booking.status not in {BookingStatus.BOOKED, BookingStatus.CHECKED_IN}:
        raise ValidationError(f"A booking that is {booking.get_status_display().lower()} cannot be checked in.")
    order = InfusionOrder.objects.filter(patient_id=booking.patient_id, is_active=True).first()
    if order is None:
        raise ValidationError("This patient has no active infusion order: a prescriber must write one first.")
    busy = InfusionSession.objects.filter(
        chair_id=booking.chair_id,
        status__in=[SessionStatus.CHECKED_IN, SessionStatus.READY, SessionStatus.INFUSING, SessionStatus.PAUSED],
    ).exists()
    if busy:
        raise ValidationError("Another patient's infusion is still open on this chair.")
    patient = booking.patient
    session = InfusionSession.objects.create(
        booking=booking,
        patient=patient,
        location_id=booking.location_id,
        chair_id=booking.chair_id,
        order=order,
        protocol_version=order.protocol_version,
        checked_in_at=_when(at),
        checked_in_by=acting_user,
        escort_name=getattr(patient, "escort_name", "") or "",
        escort_phone=getattr(patient, "escort_phone", "") or "",
    )
    _record(acting_user, session, session, {"booking": [None, booking.pk], "order": [None, order.pk]})
    _set_booking(acting_user, session, BookingStatus.CHECKED_IN)
    return session


@transaction.atomic
def complete_checklist(
    *,
    acting_user: User,
    session: InfusionSession,
    weight_kg: Any,
    escort_name: str,
    escort_phone: str,
    fasting_confirmed: bool,
    pregnancy: str,
    items: Mapping[str, bool],
    at: datetime | None = None,
) -> InfusionSession:
    """The pre-infusion checklist: every item ticked, today's weight, escort confirmed."""
    session = _lock(session, allow=[SessionStatus.CHECKED_IN, SessionStatus.READY])
    version = session.protocol_version
    errors: dict[str, str] = {}
    weight = _dec(weight_kg, "weight_kg", "Today's weight")
    if not dosing.WEIGHT_KG_MIN <= float(weight) <= dosing.WEIGHT_KG_MAX:
        errors["weight_kg"] = (
            f"{weight} kg is outside {dosing.WEIGHT_KG_MIN:g}–{dosing.WEIGHT_KG_MAX:g} kg; weigh in kilograms."
        )
    if version.discharge_requires_escort and not escort_name.strip():
        errors["escort_name"] = "Name the adult who will take the patient home."
    if version.discharge_requires_escort and not escort_phone.strip():
        errors["escort_phone"] = "Confirm the escort's phone number."
    if version.fasting_hours and not fasting_confirmed:
        errors["fasting_confirmed"] = f"Confirm the patient has fasted {version.fasting_hours} h."
    if version.ask_pregnancy:
        if pregnancy not in PregnancyAnswer.values:
            errors["pregnancy"] = "Answer the pregnancy question."
        elif pregnancy == PregnancyAnswer.YES:
            errors["pregnancy"] = "Pregnancy is a contraindication: stop and call the prescriber."
    missing = [item for item in version.checklist_items if not items.get(item)]
    if missing:
        errors["items"] = "Not yet checked: " + "; ".join(missing) + "."
    if errors:
        raise ValidationError(errors)
    old = {"weight_kg": session.weight_kg, "escort_name": session.escort_name}
    session.weight_kg = weight.quantize(Decimal("0.1"))
    session.escort_name = escort_name.strip()
    session.escort_phone = escort_phone.strip()
    session.fasting_confirmed = bool(fasting_confirmed)
    session.pregnancy = pregnancy if version.ask_pregnancy else PregnancyAnswer.NOT_APPLICABLE
    session.checklist = {item: True for item in version.checklist_items}
    session.checklist_completed_at = _when(at)
    session.checklist_completed_by = acting_user
    session.status = SessionStatus.READY
    session.save()
    record_weight(
        acting_user=acting_user,
        patient=session.patient,
        weight_kg=session.weight_kg,
        measured_at=session.checklist_completed_at,
    )
    _record(
        acting_user,
        session,
        session,
        audit.changes_between(old, {"weight_kg": session.weight_kg, "escort_name": session.escort_name})
        | {"checklist": [None, "complete"]},
        new=False,
    )
    return session


# --- Vitals and alerts ------------------------------------------------------------------------


def _phase(session: InfusionSession) -> str:
    if session.status in {SessionStatus.CHECKED_IN, SessionStatus.READY}:
        return VitalPhase.BASELINE
    if session.status in {SessionStatus.INFUSING, SessionStatus.PAUSED}:
        return VitalPhase.INFUSION
    return VitalPhase.RECOVERY


def _clean_values(session: InfusionSession, values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in vitals.VITAL_FIELDS:
        raw = values.get(field)
        if raw is None or raw == "":
            continue
        try:
            number = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            errors[field] = f"{field.replace('_', ' ')} must be a number."
            continue
        if not number.is_finite():
            errors[field] = f"{field.replace('_', ' ')} must be a number."
            continue
        if field == "temperature_c":
            cleaned[field] = number.quantize(Decimal("0.1"))
        elif number != number.to_integral_value():
            errors[field] = f"{field.replace('_', ' ')} must be a whole number."
        else:
            cleaned[field] = int(number)
    if errors:
        raise ValidationError(errors)
    version = session.protocol_version
    try:
        vitals.check_plausible(
            cleaned, sedation_scale=version.sedation_scale, dissociation_max=version.dissociation_scale_max
        )
    except vitals.ImplausibleVitals as exc:
        raise ValidationError(exc.errors) from exc
    return cleaned


def _store_vitals(  # noqa: PLR0917 - the stored row's parts
    user: User | None,
    session: InfusionSession,
    cleaned: Mapping[str, Any],
    taken_at: datetime,
    source: str,
    device_message_id: str = "",
) -> tuple[VitalSign, list[Alert]]:
    vital = VitalSign.objects.create(
        session=session,
        taken_at=taken_at,
        phase=_phase(session),
        source=source,
        recorded_by=user,
        device_message_id=device_message_id,
        **cleaned,
    )
    base = baseline_vitals(session)
    reference = {"systolic": base.systolic, "diastolic": base.diastolic} if base and base.pk != vital.pk else None
    findings = vitals.evaluate(cleaned, thresholds_for(session), reference)
    alerts = [
        Alert.objects.create(
            session=session,
            vital=vital,
            kind=f.kind,
            parameter=f.parameter,
            value=f.value,
            message=f.message,
            raised_at=min(taken_at, timezone.now()),
        )
        for f in findings
    ]
    return vital, alerts


@transaction.atomic
def record_vitals(
    *,
    acting_user: User | None,
    session: InfusionSession,
    values: Mapping[str, Any],
    taken_at: datetime | None = None,
    source: str = VitalSource.MANUAL,
    device_message_id: str = "",
) -> tuple[VitalSign, list[Alert]]:
    """Chart one vitals set; returns it with the alerts it raised. Impossible values are refused
    (nothing written)."""
    session = _lock(session, allow=[s for s in SessionStatus.values if s not in {"signed", "locked"}])
    cleaned = _clean_values(session, values)
    vital, alerts = _store_vitals(acting_user, session, cleaned, _when(taken_at), source, device_message_id)
    _record(
        acting_user,
        vital,
        session,
        {"values": [None, cleaned], "source": [None, source], "alerts": [None, [a.message for a in alerts]]},
    )
    return vital, alerts


@dataclass(frozen=True)
class DeviceReading:
    values: Mapping[str, Any]
    taken_at: datetime
    message_id: str


DEVICE_STATUSES = (
    SessionStatus.CHECKED_IN,
    SessionStatus.READY,
    SessionStatus.INFUSING,
    SessionStatus.PAUSED,
    SessionStatus.RECOVERING,
)


@transaction.atomic
def record_device_vitals(
    *, session: InfusionSession, readings: Sequence[DeviceReading], device: str = ""
) -> list[tuple[VitalSign, list[Alert]]]:
    """Chart monitor readings for one session in one transaction with one audit event (the
    gateway's batch path). Each reading is checked like a typed one; an impossible reading
    refuses the whole batch, so the gateway can answer AE for it."""
    result = record_device_vitals_many([DeviceMessage(session=session, readings=readings, device=device)])[0]
    if isinstance(result, ValidationError):
        raise result
    return result


@dataclass(frozen=True)
class DeviceMessage:
    """One monitor message's readings for one session: what the gateway acknowledges as a unit."""

    session: InfusionSession
    readings: Sequence[DeviceReading]
    device: str = ""


def _refusal(session: InfusionSession) -> ValidationError | None:
    """Why monitor values cannot be charted on this session now (as ``_lock`` words it)."""
    if session.status in {SessionStatus.SIGNED, SessionStatus.LOCKED}:
        return ValidationError("This record is signed; add an addendum instead of changing it.")
    if session.status not in DEVICE_STATUSES:
        return ValidationError(f"Not possible while the session is {session.get_status_display().lower()}.")
    return None


# What charting device values reads of a session's protocol version: the plausibility scales
# (``_clean_values``) and alert thresholds (``thresholds_for``). The session's own columns are
# ``device_queries.SESSION_COLUMNS``.
DEVICE_VERSION_FIELDS = (
    "sedation_scale",
    "dissociation_scale_max",
    *(f.name for f in dataclass_fields(vitals.Thresholds)),
)


DeviceSessions = dict[int, tuple[InfusionSession, VitalSign | None]]


def lock_device_sessions(
    *,
    session_ids: Collection[int] = (),
    open_on_chairs: Collection[int] = (),
    versions: dict[int, ProtocolVersion] | None = None,
) -> DeviceSessions:
    """Lock sessions for charting monitor values (their rows only, in pk order), each with its
    current baseline set: those named by ``session_ids``, and every open session on
    ``open_on_chairs`` (the gateway's batch reads its chairs' sessions this once, locked, with
    the fields its own checks need: chair and check-in time).

    Three statements (``device_queries``, written as SQL: they run once per gateway batch): the
    sessions, their protocol versions (each distinct one once, and none already in ``versions``:
    a published version never changes, so the gateway keeps those it has read), and the latest
    baseline-phase set of each session, read after the lock so a set charted by whoever held it
    is seen."""
    sessions = device_queries.lock_sessions(session_ids, open_on_chairs, DEVICE_STATUSES)
    if not sessions:
        return {}
    known = versions if versions is not None else {}
    missing = {s.protocol_version_id for s in sessions} - known.keys()
    if missing:
        known.update((v.pk, v) for v in ProtocolVersion.objects.only(*DEVICE_VERSION_FIELDS).filter(pk__in=missing))
    for session in sessions:
        session.protocol_version = known[session.protocol_version_id]
    baselines = device_queries.latest_baselines([s.pk for s in sessions])
    return {s.pk: (s, baselines.get(s.pk)) for s in sessions}


class _Baseline:
    """The reference for change alerts while a batch is charted: what ``baseline_vitals`` would
    return after each row is inserted, without asking the database again. During the baseline
    phase each new row may become the baseline (the latest by time, then by insertion)."""

    def __init__(self, row: VitalSign | None) -> None:
        self.taken_at = row.taken_at if row is not None else None
        self.values = {"systolic": row.systolic, "diastolic": row.diastolic} if row is not None else None

    def reference_for(self, phase: str, cleaned: Mapping[str, Any], taken_at: datetime) -> dict[str, Any] | None:
        if phase == VitalPhase.BASELINE and (self.taken_at is None or taken_at >= self.taken_at):
            self.taken_at = taken_at
            self.values = {"systolic": cleaned.get("systolic"), "diastolic": cleaned.get("diastolic")}
            return None  # the new row is itself the baseline
        return self.values


@transaction.atomic(savepoint=False)  # inside the gateway's batch: a failure sinks the batch, which is retried
def record_device_vitals_many(
    messages: Sequence[DeviceMessage], *, locked: DeviceSessions | None = None
) -> list[list[tuple[VitalSign, list[Alert]]] | ValidationError]:
    """Chart many monitor messages in one transaction (the gateway's group commit), each checked
    on its own exactly as ``record_device_vitals`` checks one: the result at each position is the
    message's stored sets with their alerts, or the ``ValidationError`` that refused it (nothing
    of that message written; the others are stored). The sessions are locked once; values are
    checked like typed ones and alerts evaluated against the same thresholds and baseline as
    ``record_vitals``; rows are inserted in bulk; one audit event per session and device names
    every vitals set written. ``locked``: the sessions as ``lock_device_sessions`` returned them
    earlier in this transaction (the messages' sessions must be among them); by default they
    are locked here."""
    sessions = locked if locked is not None else lock_device_sessions(session_ids=[m.session.pk for m in messages])
    results: list[list[tuple[VitalSign, list[Alert]]] | ValidationError] = []
    accepted: list[tuple[int, InfusionSession, list[tuple[dict[str, Any], DeviceReading]], str]] = []
    for index, message in enumerate(messages):
        session = sessions[message.session.pk][0]
        refusal = _refusal(session)
        if refusal is None:
            try:
                cleaned = [(_clean_values(session, r.values), r) for r in message.readings]
            except ValidationError as exc:
                refusal = exc
        if refusal is not None:
            results.append(refusal)
            continue
        results.append([])  # filled below, once the rows have their keys
        accepted.append((index, session, cleaned, message.device))

    baselines: dict[int, _Baseline] = {}
    vitals_rows: list[VitalSign] = []
    planned: list[tuple[int, VitalSign, list[vitals.AlertFinding]]] = []
    for index, session, cleaned, _ in accepted:
        baseline = baselines.setdefault(session.pk, _Baseline(sessions[session.pk][1]))
        phase = _phase(session)
        thresholds = thresholds_for(session)
        for values, reading in cleaned:
            # Keys, not instances: a model's relation setters cost more than the rest of the
            # row at the gateway's volume (nothing reads row.session or alert.vital back).
            row = VitalSign(
                session_id=session.pk,
                taken_at=reading.taken_at,
                phase=phase,
                source=VitalSource.DEVICE,
                device_message_id=reading.message_id,
                **values,
            )
            reference = baseline.reference_for(phase, values, reading.taken_at)
            vitals_rows.append(row)
            planned.append((index, row, vitals.evaluate(values, thresholds, reference)))
    if not vitals_rows:
        return results
    insert_rows(vitals_rows)
    alert_rows: list[Alert] = []
    by_message: dict[int, list[tuple[VitalSign, list[Alert]]]] = {}
    for index, row, findings in planned:
        alerts = [
            Alert(
                session_id=row.session_id,
                vital_id=row.pk,
                kind=f.kind,
                parameter=f.parameter,
                value=f.value,
                message=f.message,
            )
            for f in findings
        ]
        alert_rows.extend(alerts)
        by_message.setdefault(index, []).append((row, alerts))
    if alert_rows:
        insert_rows(alert_rows)

    written: dict[tuple[int, str], list[tuple[VitalSign, list[Alert]]]] = {}
    for index, session, _, device in accepted:
        stored = by_message.get(index, [])
        results[index] = stored
        written.setdefault((session.pk, device), []).extend(stored)
    entries = []
    for (session_id, device), sets in written.items():
        session = sessions[session_id][0]
        entries.append(
            {
                "actor": None,
                "action": AuditEvent.Action.CREATE,
                "object_type": "infusions.VitalSign",
                "object_id": ",".join(str(v.pk) for v, _ in sets)[:64],
                "patient_id": session.patient_id,
                "location_id": session.location_id,
                "username": f"monitor:{device}"[:150],
                "changes": {
                    "device_readings": [None, len(sets)],
                    "alerts": [None, sum(len(a) for _, a in sets)],
                    "vitals": [None, [v.pk for v, _ in sets]],
                },
            }
        )
    # One step of the audit chain for the whole batch (one event per session and device).
    audit.record_many(entries)
    return results


def log_monitor_messages(messages: Sequence[MonitorMessage]) -> None:
    """Keep the gateway's log of every HL7 message and the ACK it answered (control ID, device,
    chair, session, code, reason; never the raw message or patient identifiers), so refused
    messages are visible to staff on the monitor log page."""
    if messages:
        insert_rows(messages)


@transaction.atomic
def validate_device_vitals(*, acting_user: User, session: InfusionSession, at: datetime | None = None) -> int:
    """A nurse confirms the monitor's values she has reviewed; returns how many."""
    session = _lock(session)
    pending = session.vitals.filter(source=VitalSource.DEVICE, validated_at__isnull=True)
    ids = list(pending.values_list("pk", flat=True))
    pending.update(validated_by=acting_user, validated_at=_when(at))
    if ids:
        _record(acting_user, session, session, {"validated_device_vitals": [None, ids]}, new=False)
    return len(ids)


@transaction.atomic
def acknowledge_alert(*, acting_user: User, alert: Alert, action_taken: str, at: datetime | None = None) -> Alert:
    """Acknowledge an alert with the action taken (required)."""
    session = _lock(alert.session, allow=[s for s in SessionStatus.values if s not in {"signed", "locked"}])
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is not None:
        raise ValidationError("This alert was already acknowledged.")
    if not action_taken.strip():
        raise ValidationError({"action_taken": "Say what was done about it (e.g. 'rate reduced, BP rechecked')."})
    alert.acknowledged_by = acting_user
    alert.acknowledged_at = _when(at)
    alert.action_taken = action_taken.strip()
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "action_taken"])
    _record(acting_user, alert, session, {"action_taken": [None, alert.action_taken]}, new=False)
    return alert


@transaction.atomic
def override_baseline(*, acting_user: User, session: InfusionSession, reason: str) -> InfusionSession:
    """A prescriber allows the start despite baseline vitals outside the protocol's limits."""
    if not has_grant(acting_user, "approve_override"):
        raise ValidationError("Only a prescriber can override a baseline block.")
    session = _lock(session, allow=[SessionStatus.CHECKED_IN, SessionStatus.READY])
    if not reason.strip():
        raise ValidationError({"reason": "Give the clinical reason for starting despite the baseline."})
    session.baseline_override_reason = reason.strip()
    session.baseline_override_by = acting_user
    session.baseline_override_at = timezone.now()
    session.save(update_fields=["baseline_override_reason", "baseline_override_by", "baseline_override_at"])
    _record(acting_user, session, session, {"baseline_override": [None, reason.strip()]}, new=False)
    return session


# --- Bag and pump -----------------------------------------------------------------------------


@transaction.atomic
def prepare_bag(
    *,
    acting_user: User,
    session: InfusionSession,
    container: Container,
    vial_ml_drawn: Any,
    final_volume_ml: Any,
    diluent: str = "ns",
    at: datetime | None = None,
) -> BagPreparation:
    """Draw drug from a ledger container into a bag: dispenses on the controlled-substance
    ledger, computes mg and the concentration, which must be one the protocol allows."""
    session = _lock(session, allow=[SessionStatus.READY, SessionStatus.INFUSING, SessionStatus.PAUSED])
    if container.location_id != session.location_id:
        raise ValidationError({"container": "Choose a container held at this location."})
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    ml = _dec(vial_ml_drawn, "vial_ml_drawn", "mL drawn from the vial")
    volume = _dec(final_volume_ml, "final_volume_ml", "Final bag volume")
    if ml <= 0:
        raise ValidationError({"vial_ml_drawn": "Draw more than 0 mL."})
    if volume <= ml:
        raise ValidationError({"final_volume_ml": "The final bag volume must be larger than the mL drawn."})
    strength = container.lot.product.strength_mg_per_ml
    drug_mg = (ml * strength).quantize(Decimal("0.01"))
    try:
        concentration = Decimal(str(dosing.concentration_mg_per_ml(float(drug_mg), float(volume))))
    except dosing.DoseInputError as exc:
        raise ValidationError({"final_volume_ml": str(exc)}) from exc
    allowed = [Decimal(str(c)) for c in session.protocol_version.allowed_concentrations]
    if not any(abs(concentration - a) <= a * Decimal("0.02") for a in allowed):
        shown = ", ".join(f"{a} mg/mL" for a in allowed)
        raise ValidationError(
            {
                "final_volume_ml": f"{drug_mg} mg in {volume} mL is {concentration:.2f} mg/mL; the protocol allows {shown}."
            }
        )
    when = _when(at)
    ledger.dispense(
        acting_user=acting_user,
        container=container,
        ml=ml,
        session_ref=session.ledger_ref,
        patient=session.patient,
        at=when,
    )
    bag = BagPreparation.objects.create(
        session=session,
        container=container,
        product_name=str(container.lot.product),
        lot_number=container.lot.lot_number,
        vial_ml_drawn=ml,
        drug_mg=drug_mg,
        diluent=diluent,
        final_volume_ml=volume,
        concentration_mg_per_ml=concentration.quantize(Decimal("0.0001")),
        prepared_by=acting_user,
        prepared_at=when,
    )
    _record(
        acting_user,
        bag,
        session,
        {"container": [None, container.label], "mg": [None, drug_mg], "concentration_mg_per_ml": [None, concentration]},
    )
    return bag


def pump_rate(session: InfusionSession, dose_mg_per_kg_h: Decimal) -> Decimal:
    """mL/h to programme for this dose with the session's weight and current bag."""
    bag = session.bags.order_by("-prepared_at", "-pk").first()
    if bag is None or session.weight_kg is None:
        raise ValidationError("Prepare the bag and record today's weight before programming the pump.")
    try:
        rate = dosing.pump_rate_ml_per_h(
            float(dose_mg_per_kg_h), float(session.weight_kg), float(bag.concentration_mg_per_ml)
        )
    except dosing.DoseInputError as exc:
        raise ValidationError({"dose_mg_per_kg_h": str(exc)}) from exc
    return Decimal(str(rate)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Verified:
    """A colleague's credential already checked (outside the action's transaction, so that a
    failed attempt stays on the audit trail and counts towards that person's throttle)."""

    user: User

    @property
    def username(self) -> str:
        return self.user.username


def _preverify(
    acting_user: User,
    session: InfusionSession,
    credential: WitnessCredential | Verified | None,
    *,
    purpose: str,
    field_prefix: str,
) -> WitnessCredential | Verified | None:
    if credential is None or isinstance(credential, Verified) or not credential.username.strip():
        return credential
    user, _method = ledger.verify_witness(
        acting_user=acting_user,
        location_id=session.location_id,
        credential=credential,
        purpose=purpose,
        field_prefix=field_prefix,
    )
    return Verified(user)


def _preverify_prescriber(
    acting_user: User, session: InfusionSession, prescriber: WitnessCredential | Verified | None
) -> WitnessCredential | Verified | None:
    """A soft-limit acknowledgement's prescriber, checked before the transaction (nothing to
    check when the acting user is a prescriber)."""
    if has_grant(acting_user, "approve_override"):
        return None
    return _preverify(acting_user, session, prescriber, purpose="a soft-limit override", field_prefix="prescriber")


def _approver(acting_user: User, session: InfusionSession, prescriber: WitnessCredential | Verified | None) -> User:
    """The prescriber who acknowledges a soft-limit dose: the acting user if a prescriber,
    otherwise one who re-entered their password for it."""
    if has_grant(acting_user, "approve_override"):
        return acting_user
    if prescriber is None or not prescriber.username.strip():
        raise LimitRefused("A prescriber must acknowledge a dose above the soft limit.", level="soft")
    verified = _preverify_prescriber(acting_user, session, prescriber)
    if not isinstance(verified, Verified):  # pragma: no cover - _preverify verifies a named credential
        raise LimitRefused("A prescriber must acknowledge a dose above the soft limit.", level="soft")
    user = verified.user
    if not has_grant(user, "approve_override"):
        raise ValidationError({"prescriber_username": f"{user.username} is not a prescriber."})
    return user


def _check_dose(
    acting_user: User,
    session: InfusionSession,
    dose: Decimal,
    override_reason: str,
    prescriber: WitnessCredential | Verified | None,
    *,
    previous: Decimal | None,
    now: datetime,
) -> tuple[str, User | None]:
    limits = effective_limits(session.order)
    try:
        check = dosing.check_dose_rate(float(dose), limits)
    except dosing.DoseInputError as exc:
        raise ValidationError({"dose_mg_per_kg_h": str(exc)}) from exc
    if check.level == "hard":
        raise LimitRefused(check.message, level="hard")
    version = session.protocol_version
    soft_reasons = [check.message] if check.level == "soft" else []
    if previous is not None and dose > previous:
        if dose - previous > version.titration_step_mg_per_kg_h:
            soft_reasons.append(
                f"A step of {dose - previous} mg/kg/h is larger than the protocol's {version.titration_step_mg_per_kg_h} mg/kg/h."
            )
        last_up = session.events.filter(kind__in=[EventKind.START, EventKind.TITRATE]).order_by("-at", "-pk").first()
        if last_up is not None and now - last_up.at < timedelta(minutes=version.titration_min_interval_min):
            soft_reasons.append(
                f"The last change was under {version.titration_min_interval_min} min ago (protocol minimum between steps)."
            )
    if not soft_reasons:
        return "ok", None
    if not override_reason.strip():
        raise LimitRefused(" ".join(soft_reasons) + " Give an override reason.", level="soft")
    return "soft", _approver(acting_user, session, prescriber)


def _check_total(session: InfusionSession, now: datetime, *, adding_mg: Decimal = Decimal(0)) -> None:
    totals = session_totals(session, until=now)
    limits = effective_limits(session.order)
    given = totals.total_mg if totals else 0.0
    if given >= limits.max_total_mg_per_session:
        raise LimitRefused(
            f"{given:.1f} mg given reaches the session maximum of {limits.max_total_mg_per_session:g} mg; stop the infusion.",
            level="hard",
        )
    # A bolus goes in at once: it must fit under the maximum with what was already given.
    if given + float(adding_mg) > limits.max_total_mg_per_session:
        raise LimitRefused(
            f"{given:.1f} mg given plus {adding_mg} mg would pass the session maximum of "
            f"{limits.max_total_mg_per_session:g} mg.",
            level="hard",
        )


def _confirm_rate(session: InfusionSession, dose: Decimal, confirmed: Any) -> Decimal:
    expected = pump_rate(session, dose)
    if confirmed is None or confirmed == "":
        return expected
    typed = _dec(confirmed, "pump_rate_ml_per_h", "The programmed pump rate")
    if typed.quantize(RATE_PLACES, rounding=ROUND_HALF_UP) != expected:
        raise ValidationError(
            {"pump_rate_ml_per_h": f"You entered {typed} mL/h but this dose needs {expected} mL/h: check the pump."}
        )
    return expected


def _event(user: User, session: InfusionSession, kind: str, at: datetime, **fields: Any) -> SessionEvent:
    event = SessionEvent.objects.create(session=session, kind=kind, at=at, recorded_by=user, **fields)
    changes = {
        k: [None, v if not isinstance(v, User) else v.username] for k, v in fields.items() if v not in ("", None)
    }
    _record(user, event, session, {"kind": [None, kind], **changes})
    return event


def start_infusion(
    *,
    acting_user: User,
    session: InfusionSession,
    dose_mg_per_kg_h: Any | None = None,
    pump_rate_ml_per_h: Any = None,
    override_reason: str = "",
    prescriber: WitnessCredential | None = None,
    double_checker: WitnessCredential | None = None,
    at: datetime | None = None,
) -> SessionEvent:
    """Start the pump at the order's start dose (or a chosen one within limits). A colleague's
    credentials (prescriber for a soft-limit start, second nurse for the double check) are
    checked first, outside the transaction, so a wrong password is audited and throttled even
    though the start is refused."""
    checked_prescriber = _preverify_prescriber(acting_user, session, prescriber)
    checked_double = _preverify(
        acting_user, session, double_checker, purpose="a pump double check", field_prefix="checker"
    )
    return _start_infusion(
        acting_user=acting_user,
        session=session,
        dose_mg_per_kg_h=dose_mg_per_kg_h,
        pump_rate_ml_per_h=pump_rate_ml_per_h,
        override_reason=override_reason,
        prescriber=checked_prescriber,
        double_checker=checked_double,
        at=at,
    )


def set_rate(
    *,
    acting_user: User,
    session: InfusionSession,
    dose_mg_per_kg_h: Any,
    reason: str,
    override_reason: str = "",
    prescriber: WitnessCredential | None = None,
    pump_rate_ml_per_h: Any = None,
    at: datetime | None = None,
) -> SessionEvent:
    """Titrate to a new dose rate. Above the hard limit: refused. Above the soft limit, a
    bigger step than the protocol's or sooner than its interval: only with a reason and a
    prescriber's acknowledgement (the prescriber acting, or their password checked first,
    outside the transaction, so a wrong one is audited and throttled)."""
    checked = _preverify_prescriber(acting_user, session, prescriber)
    return _set_rate(
        acting_user=acting_user,
        session=session,
        dose_mg_per_kg_h=dose_mg_per_kg_h,
        reason=reason,
        override_reason=override_reason,
        prescriber=checked,
        pump_rate_ml_per_h=pump_rate_ml_per_h,
        at=at,
    )


@transaction.atomic
def _start_infusion(
    *,
    acting_user: User,
    session: InfusionSession,
    dose_mg_per_kg_h: Any | None = None,
    pump_rate_ml_per_h: Any = None,
    override_reason: str = "",
    prescriber: WitnessCredential | Verified | None = None,
    double_checker: WitnessCredential | Verified | None = None,
    at: datetime | None = None,
) -> SessionEvent:
    """Start the pump at the order's start dose (or a chosen one within limits)."""
    session = _lock(session, allow=[SessionStatus.READY])
    when = _when(at)
    base = baseline_vitals(session)
    if base is None:
        raise ValidationError("Chart a baseline vitals set before starting.")
    version = session.protocol_version
    block = vitals.baseline_blocks(
        {"systolic": base.systolic, "diastolic": base.diastolic},
        version.baseline_systolic_max,
        version.baseline_diastolic_max,
    )
    if block and not session.baseline_override_at:
        raise ValidationError(block)
    limits = effective_limits(session.order)
    dose = _dec(
        dose_mg_per_kg_h if dose_mg_per_kg_h not in (None, "") else limits.start_mg_per_kg_h,
        "dose_mg_per_kg_h",
        "Dose rate",
    )
    level, approver = _check_dose(acting_user, session, dose, override_reason, prescriber, previous=None, now=when)
    rate = _confirm_rate(session, dose, pump_rate_ml_per_h)
    bag = session.bags.order_by("-prepared_at", "-pk").first()
    if double_checker is not None and double_checker.username.strip() and bag is not None:
        checked = _preverify(
            acting_user, session, double_checker, purpose="a pump double check", field_prefix="checker"
        )
        if isinstance(checked, Verified):
            bag.double_checked_by = checked.user
    if bag is not None:
        bag.pump_rate_confirmed_ml_per_h = rate
        bag.pump_confirmed_by = acting_user
        bag.save(update_fields=["pump_rate_confirmed_ml_per_h", "pump_confirmed_by", "double_checked_by"])
    event = _event(
        acting_user,
        session,
        EventKind.START,
        when,
        dose_mg_per_kg_h=dose,
        pump_rate_ml_per_h=rate,
        limit_level=level,
        override_reason=override_reason.strip() if level == "soft" else "",
        override_by=approver,
    )
    session.status = SessionStatus.INFUSING
    session.started_at = when
    session.save(update_fields=["status", "started_at"])
    _set_booking(acting_user, session, BookingStatus.INFUSING)
    return event


@transaction.atomic
def _set_rate(
    *,
    acting_user: User,
    session: InfusionSession,
    dose_mg_per_kg_h: Any,
    reason: str,
    override_reason: str = "",
    prescriber: WitnessCredential | Verified | None = None,
    pump_rate_ml_per_h: Any = None,
    at: datetime | None = None,
) -> SessionEvent:
    """Titrate to a new dose rate. Above the hard limit: refused. Above the soft limit, a
    bigger step than the protocol's or sooner than its interval: only with a reason and a
    prescriber's acknowledgement."""
    session = _lock(session, allow=[SessionStatus.INFUSING])
    when = _event_time(session, at)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the rate changes (e.g. 'pain 6/10, tolerating well')."})
    dose = _dec(dose_mg_per_kg_h, "dose_mg_per_kg_h", "Dose rate")
    previous = current_dose(session)
    if previous is not None and dose == previous:
        raise ValidationError({"dose_mg_per_kg_h": f"The pump already runs at {dose} mg/kg/h."})
    level, approver = _check_dose(acting_user, session, dose, override_reason, prescriber, previous=previous, now=when)
    if previous is None or dose > previous:
        _check_total(session, when)
    rate = _confirm_rate(session, dose, pump_rate_ml_per_h)
    return _event(
        acting_user,
        session,
        EventKind.TITRATE,
        when,
        dose_mg_per_kg_h=dose,
        pump_rate_ml_per_h=rate,
        reason=reason.strip(),
        limit_level=level,
        override_reason=override_reason.strip() if level == "soft" else "",
        override_by=approver,
    )


@transaction.atomic
def pause_infusion(
    *, acting_user: User, session: InfusionSession, reason: str, at: datetime | None = None
) -> SessionEvent:
    session = _lock(session, allow=[SessionStatus.INFUSING])
    if not reason.strip():
        raise ValidationError({"reason": "Say why the infusion is paused."})
    event = _event(acting_user, session, EventKind.PAUSE, _event_time(session, at), reason=reason.strip())
    session.status = SessionStatus.PAUSED
    session.save(update_fields=["status"])
    return event


@transaction.atomic
def resume_infusion(
    *, acting_user: User, session: InfusionSession, reason: str = "", at: datetime | None = None
) -> SessionEvent:
    session = _lock(session, allow=[SessionStatus.PAUSED])
    when = _event_time(session, at)
    _check_total(session, when)
    event = _event(acting_user, session, EventKind.RESUME, when, reason=reason.strip())
    session.status = SessionStatus.INFUSING
    session.save(update_fields=["status"])
    return event


@transaction.atomic
def stop_infusion(
    *, acting_user: User, session: InfusionSession, reason: str = "", at: datetime | None = None
) -> SessionEvent:
    """Stop the pump; recovery starts."""
    session = _lock(session, allow=[SessionStatus.INFUSING, SessionStatus.PAUSED])
    when = _event_time(session, at)
    event = _event(acting_user, session, EventKind.STOP, when, reason=reason.strip() or "Infusion complete")
    session.status = SessionStatus.RECOVERING
    session.stopped_at = when
    session.save(update_fields=["status", "stopped_at"])
    _set_booking(acting_user, session, BookingStatus.RECOVERING)
    return event


@transaction.atomic
def give_bolus(
    *, acting_user: User, session: InfusionSession, bolus_mg: Any, reason: str, at: datetime | None = None
) -> SessionEvent:
    session = _lock(session, allow=[SessionStatus.INFUSING, SessionStatus.PAUSED])
    version = session.protocol_version
    if not version.bolus_allowed:
        raise ValidationError({"bolus_mg": "This protocol does not allow a bolus."})
    mg = _dec(bolus_mg, "bolus_mg", "Bolus")
    if mg <= 0:
        raise ValidationError({"bolus_mg": "A bolus must be more than 0 mg."})
    if session.weight_kg is None:
        raise ValidationError("Record today's weight first.")
    ceiling = (version.bolus_max_mg_per_kg * session.weight_kg).quantize(Decimal("0.1"))
    if mg > ceiling:
        raise LimitRefused(
            f"{mg} mg is above the protocol's bolus maximum of {version.bolus_max_mg_per_kg} mg/kg ({ceiling} mg).",
            level="hard",
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why the bolus is given."})
    when = _event_time(session, at)
    _check_total(session, when, adding_mg=mg)
    return _event(acting_user, session, EventKind.BOLUS, when, bolus_mg=mg, reason=reason.strip())


# --- Side effects, medications, recovery ------------------------------------------------------


@transaction.atomic
def record_side_effect(
    *,
    acting_user: User,
    session: InfusionSession,
    kind: str,
    severity: str,
    outcome: str,
    intervention: str = "",
    other_text: str = "",
    onset_at: datetime | None = None,
) -> SideEffect:
    session = _lock(session, allow=[s for s in SessionStatus.values if s not in {"signed", "locked"}])
    effect = SideEffect(
        session=session,
        kind=kind,
        severity=severity,
        outcome=outcome,
        intervention=intervention.strip(),
        other_text=other_text.strip(),
        onset_at=_when(onset_at),
        recorded_by=acting_user,
    )
    effect.full_clean(exclude=["session", "recorded_by"])
    if kind == "other" and not effect.other_text:
        raise ValidationError({"other_text": "Describe the side effect."})
    effect.save()
    _record(acting_user, effect, session, {"kind": [None, effect.label], "severity": [None, severity]})
    return effect


@transaction.atomic
def record_medication(
    *,
    acting_user: User,
    session: InfusionSession,
    drug: str,
    dose: Any,
    dose_unit: str,
    route: str,
    given_at: datetime | None = None,
    side_effect: SideEffect | None = None,
) -> MedicationAdministration:
    session = _lock(session, allow=[s for s in SessionStatus.values if s not in {"signed", "locked"}])
    amount = _dec(dose, "dose", "Dose")
    if amount <= 0:
        raise ValidationError({"dose": "The dose must be more than 0."})
    if side_effect is not None and side_effect.session_id != session.pk:
        raise ValidationError({"side_effect": "That side effect belongs to another session."})
    med = MedicationAdministration(
        session=session,
        drug=drug.strip(),
        dose=amount,
        dose_unit=dose_unit.strip() or "mg",
        route=route,
        given_at=_when(given_at),
        given_by=acting_user,
        side_effect=side_effect,
    )
    med.full_clean(exclude=["session", "given_by", "side_effect"])
    med.save()
    _record(
        acting_user,
        med,
        session,
        {"drug": [None, med.drug], "dose": [None, f"{amount} {med.dose_unit}"], "route": [None, route]},
    )
    return med


@transaction.atomic
def record_recovery_score(
    *,
    acting_user: User,
    session: InfusionSession,
    activity: int,
    respiration: int,
    circulation: int,
    consciousness: int,
    oxygen_saturation: int,
    at: datetime | None = None,
) -> RecoveryScore:
    session = _lock(session, allow=[SessionStatus.RECOVERING])
    version = session.protocol_version
    try:
        result = scores.aldrete(
            activity, respiration, circulation, consciousness, oxygen_saturation, threshold=version.aldrete_threshold
        )
    except scores.ScoreInputError as exc:
        raise ValidationError(str(exc)) from exc
    score = RecoveryScore.objects.create(
        session=session,
        scored_at=_when(at),
        variant=version.aldrete_variant,
        activity=activity,
        respiration=respiration,
        circulation=circulation,
        consciousness=consciousness,
        oxygen_saturation=oxygen_saturation,
        total=result.total,
        threshold=result.threshold,
        scored_by=acting_user,
    )
    _record(acting_user, score, session, {"total": [None, result.total], "variant": [None, score.variant]})
    return score


def discharge_blockers(session: InfusionSession, now: datetime | None = None) -> list[str]:
    """What still stands between this patient and discharge (empty when the rule holds)."""
    now = now or timezone.now()
    version = session.protocol_version
    blockers: list[str] = []
    if session.status != SessionStatus.RECOVERING:
        return [f"The session is {session.get_status_display().lower()}, not in recovery."]
    if session.stopped_at is None:
        return ["The infusion has not been stopped."]
    ready_at = session.stopped_at + timedelta(minutes=version.recovery_min_minutes)
    if now < ready_at:
        minutes = int((ready_at - now).total_seconds() // 60) + 1
        blockers.append(f"Minimum recovery of {version.recovery_min_minutes} min: {minutes} min to go.")
    latest = session.recovery_scores.order_by("-scored_at", "-pk").first()
    if latest is None:
        blockers.append("Score recovery (modified Aldrete) before discharge.")
    elif latest.total < latest.threshold:
        blockers.append(
            f"Latest Aldrete score {latest.total}/10 is below the discharge threshold of {latest.threshold}."
        )
    open_alerts = session.alerts.filter(acknowledged_at__isnull=True).count()
    if open_alerts:
        blockers.append(f"{open_alerts} alert(s) not yet acknowledged.")
    if version.discharge_requires_escort and not session.escort_name:
        blockers.append("No escort is named.")
    return blockers


@transaction.atomic
def discharge(
    *, acting_user: User, session: InfusionSession, escort_name: str, note: str = "", at: datetime | None = None
) -> InfusionSession:
    """Discharge to the named escort once the protocol's rule holds."""
    session = _lock(session, allow=[SessionStatus.RECOVERING])
    when = _when(at)
    blockers = discharge_blockers(session, when)
    if blockers:
        raise ValidationError(blockers)
    if (
        session.protocol_version.discharge_requires_escort
        and escort_name.strip().casefold() != session.escort_name.casefold()
    ):
        raise ValidationError(
            {"escort_name": f"The escort named at check-in is {session.escort_name}; confirm who is here."}
        )
    session.status = SessionStatus.DISCHARGED
    session.discharged_at = when
    session.discharged_to = escort_name.strip() or session.escort_name
    session.discharged_by = acting_user
    session.discharge_note = note.strip()
    session.save()
    _record(acting_user, session, session, {"discharged_to": [None, session.discharged_to]}, new=False)
    _set_booking(acting_user, session, BookingStatus.DONE)
    return session


# --- Drug accountability, signatures, addenda ------------------------------------------------


def account_for_drug(
    *,
    acting_user: User,
    session: InfusionSession,
    waste_method: str,
    witness: WitnessCredential | None,
    at: datetime | None = None,
) -> None:
    """Record on the ledger what the patient received (the computed total, never typed) and
    waste the remainder with a witness. The witness's password or code is checked first,
    outside the transaction, so a wrong one is audited and throttled although nothing is
    recorded (the ledger checks it again when it writes the waste)."""
    if witness is not None and witness.username.strip():
        _preverify(acting_user, session, witness, purpose="waste", field_prefix="witness")
    _account_for_drug(acting_user=acting_user, session=session, waste_method=waste_method, witness=witness, at=at)


@transaction.atomic
def _account_for_drug(
    *,
    acting_user: User,
    session: InfusionSession,
    waste_method: str,
    witness: WitnessCredential | None,
    at: datetime | None = None,
) -> None:
    """Record on the ledger what the patient received (the computed total, never typed) and
    waste the remainder of every bag's drug with a witness."""
    session = _lock(session, allow=[SessionStatus.RECOVERING, SessionStatus.DISCHARGED])
    when = _when(at)
    totals = session_totals(session)
    given_mg = Decimal(str(totals.total_mg if totals else 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    bags = list(session.bags.select_related("container__lot__product").order_by("prepared_at", "pk"))
    drawn = sum((b.drug_mg for b in bags), Decimal(0))
    if given_mg > drawn + Decimal("0.05"):
        raise ValidationError(f"The timeline gives {given_mg} mg but only {drawn} mg was drawn: check the events.")
    if session_balance(session.ledger_ref).balanced:
        raise ValidationError("The drug for this session is already accounted for.")
    remaining = given_mg
    for bag in bags:
        if bag.container is None:
            raise ValidationError("A bag without a ledger container cannot be accounted for.")
        take = min(remaining, bag.drug_mg)
        if take > 0:
            ledger.administer(
                acting_user=acting_user,
                container=bag.container,
                session_ref=session.ledger_ref,
                mg=take,
                at=when,
            )
            remaining -= take
    # Waste per container only after every administration: two bags may come from one vial.
    containers = {bag.container.pk: bag.container for bag in bags if bag.container is not None}
    for container in containers.values():
        left = session_outstanding_ml(container.pk, session.ledger_ref)
        if left > 0:
            ledger.waste(
                acting_user=acting_user,
                container=container,
                ml=left,
                method=waste_method,
                witness=witness,
                session_ref=session.ledger_ref,
                reason="Remainder of the infusion bag",
                at=when,
            )
    _record(acting_user, session, session, {"administered_mg": [None, given_mg]}, new=False)


def sign_blockers(session: InfusionSession) -> list[str]:
    """What must be done before the nurse can sign."""
    blockers = []
    if session.status != SessionStatus.DISCHARGED:
        blockers.append("Discharge the patient first.")
    unvalidated = session.vitals.filter(source=VitalSource.DEVICE, validated_at__isnull=True).count()
    if unvalidated:
        blockers.append(f"Review and validate {unvalidated} monitor reading(s).")
    open_alerts = session.alerts.filter(acknowledged_at__isnull=True).count()
    if open_alerts:
        blockers.append(f"Acknowledge {open_alerts} alert(s).")
    balance = session_balance(session.ledger_ref)
    if not balance.balanced:
        blockers.append(
            f"Ketamine not accounted for: dispensed {balance.dispensed_ml} mL, administered "
            f"{balance.administered_ml} mL, wasted {balance.wasted_ml} mL."
        )
    return blockers


@transaction.atomic
def nurse_sign(*, acting_user: User, session: InfusionSession, at: datetime | None = None) -> InfusionSession:
    session = _lock(session, allow=[SessionStatus.DISCHARGED])
    blockers = sign_blockers(session)
    if blockers:
        raise ValidationError(blockers)
    session.status = SessionStatus.SIGNED
    session.nurse_signed_by = acting_user
    session.nurse_signed_at = _when(at)
    session.save(update_fields=["status", "nurse_signed_by", "nurse_signed_at"])
    _record(acting_user, session, session, {"status": ["discharged", "signed"]}, new=False)
    return session


@transaction.atomic
def cosign(*, acting_user: User, session: InfusionSession, at: datetime | None = None) -> InfusionSession:
    """The prescriber co-signs; the record locks."""
    if not has_grant(acting_user, "cosign_infusion"):
        raise ValidationError("Only a prescriber can co-sign an infusion record.")
    session = _lock(session, allow=[SessionStatus.SIGNED])
    if session.nurse_signed_by_id == acting_user.pk:
        raise ValidationError("The co-signer must be a second person, not the nurse who signed.")
    session.status = SessionStatus.LOCKED
    session.cosigned_by = acting_user
    session.cosigned_at = _when(at)
    session.save(update_fields=["status", "cosigned_by", "cosigned_at"])
    _record(acting_user, session, session, {"status": ["signed", "locked"]}, new=False)
    return session


@transaction.atomic
def add_addendum(*, acting_user: User, session: InfusionSession, text: str) -> Addendum:
    session = InfusionSession.objects.select_for_update().get(pk=session.pk)
    if session.status not in {SessionStatus.SIGNED, SessionStatus.LOCKED}:
        raise ValidationError("Chart directly until the record is signed; addenda are for signed records.")
    if not text.strip():
        raise ValidationError({"text": "Write the addendum."})
    addendum = Addendum.objects.create(session=session, text=text.strip(), author=acting_user)
    _record(acting_user, addendum, session, {"text": [None, addendum.text]})
    return addendum
