"""Read helpers: the definitions in force, a patient's local calendar day, the induction dates
and chairside scores from the other apps (each isolated in one function), and a patient's
outcome report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max, Q
from django.utils import timezone

from ketaclinic.clinics.models import Location
from ketaclinic.infusions import queries as infusion_queries
from ketaclinic.outcomes import endpoints
from ketaclinic.outcomes.choices import Instrument, RelapseStatus
from ketaclinic.outcomes.models import DiaryEntry, OutcomeDefinition, PromInstrumentText, PromResponse, RelapseFlag
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.choices import RELEASED_STATUSES, AppointmentKind
from ketaclinic.scheduling.models import Booking


def definition_row(location: Location | None) -> OutcomeDefinition:
    """The location's own definitions, else the clinic-wide row, else unsaved defaults."""
    rows = {row.location_id: row for row in OutcomeDefinition.objects.filter(Q(location=location) | Q(location=None))}
    if location is not None and location.pk in rows:
        return rows[location.pk]
    return rows.get(None) or OutcomeDefinition()


def definitions_for(patient: Patient) -> endpoints.Definitions:
    return definition_row(patient.location).to_definitions()


def zone_of(patient: Patient) -> ZoneInfo:
    return ZoneInfo(patient.location.time_zone)


def local_today(patient: Patient, now: datetime | None = None) -> date:
    """The patient's calendar day: the diary day is the day at the patient's clinic location,
    so 23:30 on a daylight-saving day is still that day."""
    return (now or timezone.now()).astimezone(zone_of(patient)).date()


@dataclass(frozen=True)
class InductionDates:
    """The induction series as the schedule has it (local dates at the patient's location)."""

    first: date | None
    last: date | None
    infusion_dates: tuple[date, ...] = ()
    protocol_name: str = ""


# Statuses of a booking that still stands; booked-but-future infusions set the planned baseline.
def _live_infusions(patient: Patient) -> list[Booking]:
    return list(
        Booking.objects.filter(
            patient=patient, appointment_type__kind__in=[AppointmentKind.INDUCTION, AppointmentKind.MAINTENANCE]
        )
        .exclude(status__in=RELEASED_STATUSES)
        .select_related("appointment_type", "series_request__protocol")
        .order_by("start")
    )


def induction_dates(patient: Patient) -> InductionDates:
    """First and last induction infusion (live bookings of kind induction: booked, under way or
    done), and every infusion date including maintenance, for marking charts. The one place that
    reads scheduling's bookings."""
    zone = zone_of(patient)
    bookings = _live_infusions(patient)
    induction = [b for b in bookings if b.appointment_type.kind == AppointmentKind.INDUCTION]
    all_dates = tuple(b.start.astimezone(zone).date() for b in bookings)
    if not induction:
        return InductionDates(None, None, all_dates)
    protocol = induction[0].series_request.protocol.name if induction[0].series_request else ""
    return InductionDates(
        first=induction[0].start.astimezone(zone).date(),
        last=induction[-1].start.astimezone(zone).date(),
        infusion_dates=all_dates,
        protocol_name=protocol,
    )


def session_pain_scores(patient: Patient) -> list[tuple[date, int, int]]:
    """Pain NRS before and after each finished infusion, from the chairside record: before = the
    last baseline value charted, after = the last value charted in recovery (dates in the
    patient's zone)."""
    return infusion_queries.pain_scores_for_patient(patient.pk, zone_of(patient))


def adverse_event_rates(
    location_ids: list[int] | None = None,
    protocol_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[tuple[str, int, int]] | None:
    """(side effect, infusions with it, infusions finished) per side-effect kind from the
    chairside record; ``None`` when no infusion has finished yet (nothing to divide by)."""
    rows = infusion_queries.adverse_event_counts(
        location_ids=location_ids, protocol_id=protocol_id, start=start, end=end
    )
    return rows if rows and rows[0][2] else None


def classified_days(patient: Patient, defs: endpoints.Definitions) -> list[endpoints.DayClass]:
    return [
        endpoints.classify_day(e.to_day(), defs) for e in DiaryEntry.objects.filter(patient=patient).order_by("date")
    ]


@dataclass
class PatientReport:
    """Everything the outcome pages and the API show for one patient."""

    patient: Patient
    definitions: endpoints.Definitions
    as_of: date
    induction: InductionDates
    baseline: endpoints.Window | None
    windows: list[endpoints.Window]
    change: endpoints.Change | None
    comparison: endpoints.Window | None
    relapse: endpoints.RelapseCheck | None
    days: list[endpoints.DayClass] = field(default_factory=list)
    pain: list[endpoints.SessionPain] = field(default_factory=list)


def patient_report(
    patient: Patient,
    *,
    baseline: tuple[date, date] | None = None,
    window: tuple[date, date] | None = None,
    as_of: date | None = None,
) -> PatientReport:
    """Baseline, follow-up windows, change and relapse for one patient. Explicit dates
    replace the defaults from the infusion series; an explicit window is the only window."""
    defs = definitions_for(patient)
    today = as_of or local_today(patient)
    induction = induction_dates(patient)
    days = classified_days(patient, defs)
    if baseline is None and induction.first is not None:
        baseline = endpoints.baseline_bounds(induction.first, defs)
    base = endpoints.summarise_window(days, *baseline, defs) if baseline else None
    if window is not None:
        bounds = [window]
    elif induction.last is not None:
        bounds = endpoints.follow_up_bounds(induction.last, today, defs)
    else:
        bounds = []
    windows = [endpoints.summarise_window(days, s, e, defs, as_of=today) for s, e in bounds]
    comparison = windows[0] if windows else None
    change = endpoints.change_from_baseline(base, comparison, defs) if base and comparison else None
    relapse = endpoints.check_relapse(days, base, windows, today, defs) if base and windows else None
    pain = endpoints.session_pain(session_pain_scores(patient), defs)
    return PatientReport(patient, defs, today, induction, base, windows, change, comparison, relapse, days, pain)


def open_relapse_flag(patient: Patient) -> RelapseFlag | None:
    return RelapseFlag.objects.filter(patient=patient, status=RelapseStatus.OPEN).first()


@dataclass(frozen=True)
class DueQuestionnaire:
    instrument: str
    label: str
    reason: str
    can_answer_online: bool


def due_questionnaires(patient: Patient, now: datetime | None = None) -> list[DueQuestionnaire]:
    """Questionnaires the protocol schedule says are due: each instrument at baseline (before
    the first induction infusion, or now if none is booked) and then every ``<instrument>_every_days``
    days after the last answer. PGIC starts once the induction series is over (it asks about
    change since treatment began)."""
    row = definition_row(patient.location)
    moment = now or timezone.now()
    today = local_today(patient, moment)
    induction = induction_dates(patient)
    last = dict(
        PromResponse.objects.filter(patient=patient)
        .values_list("instrument")
        .annotate(latest=Max("completed_at"))
        .values_list("instrument", "latest")
    )
    licensed = set(PromInstrumentText.objects.values_list("instrument", flat=True))
    intervals = {
        Instrument.MIDAS: row.midas_every_days,
        Instrument.HIT6: row.hit6_every_days,
        Instrument.PGIC: row.pgic_every_days,
    }
    due = []
    for instrument, every in intervals.items():
        if instrument == Instrument.PGIC and (induction.last is None or induction.last >= today):
            continue
        latest = last.get(instrument.value)
        if latest is None:
            reason = "at the start of treatment" if instrument != Instrument.PGIC else "after the induction series"
        elif latest + timedelta(days=every) <= moment:
            reason = f"every {every} days; last answered {latest.astimezone(zone_of(patient)):%Y-%m-%d}"
        else:
            continue
        online = instrument != Instrument.HIT6 or Instrument.HIT6.value in licensed
        due.append(DueQuestionnaire(instrument.value, instrument.label, reason, online))
    return due


def prom_history(patient: Patient) -> dict[str, list[PromResponse]]:
    history: dict[str, list[PromResponse]] = {i.value: [] for i in Instrument}
    for response in PromResponse.objects.filter(patient=patient).order_by("completed_at"):
        history[response.instrument].append(response)
    return history
