"""Demo protocols and chairside records (synthetic), made through the real actions.

The protocol library holds the two clinic protocols; the induction protocol has a second,
reviewed version with a change note, so the library shows history. The series shape (6
infusions within 21 days, then maintenance) is the one the clinic's seed describes
(../shared/docs/clinical-reference.md §1, outpatient practice).

Every patient with an infusion booking has an active prescriber's order. Every past infusion
booking becomes a complete record: check-in, checklist, baseline vitals, a bag drawn from a real
ledger container, start, vitals at the protocol's interval, a titration or two, now and then a
side effect (nausea treated with ondansetron 4 mg IV; a transient BP rise whose alert is
acknowledged), recovery vitals and modified Aldrete scores, discharge to the escort, the drug
accounted for on the ledger (computed total administered, the remainder wasted with a second
nurse as witness), the nurse's signature and the prescriber's co-signature. Today's board gets
sessions that match each booking: checked in (checklist pending), infusing (vitals up to now;
one chair with an unacknowledged alert, one with monitor readings not yet validated),
recovering, and done (discharged or signed).

The day board's story (which day, and the moment it shows) is the scheduling demo's: the next
weekday from the seeding time, at the seeding time while the clinic is open, else at 11:30.
When that moment lies ahead of the real clock (seeded early or on a weekend), today's charting
is moved back by the difference, because nothing can be charted in the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.forms.models import model_to_dict

from ketaclinic.demo.seed import demo_password
from ketaclinic.infusions import actions
from ketaclinic.infusions.models import (
    InfusionOrder,
    InfusionSession,
    PregnancyAnswer,
    Protocol,
    ProtocolVersion,
    Route,
    Severity,
    SideEffectKind,
    SideEffectOutcome,
)
from ketaclinic.infusions.queries import effective_limits
from ketaclinic.inventory.choices import EntryKind, WasteMethod
from ketaclinic.inventory.models import Container, LedgerEntry
from ketaclinic.inventory.queries import container_balance_ml
from ketaclinic.patients.models import WeightMeasurement
from ketaclinic.scheduling.choices import INFUSION_KINDS, AppointmentKind, BookingStatus
from ketaclinic.scheduling.models import Booking

if TYPE_CHECKING:
    from random import Random

    from ketaclinic.accounts.models import User
    from ketaclinic.demo.seed import DemoContext
    from ketaclinic.patients.models import Patient

INDUCTION = "migraine-induction-low-dose"
MAINTENANCE = "migraine-maintenance"
LIBRARY_OPENED_DAYS_AGO = 200
REVIEW_DAYS_AGO = 50
# The scheduling demo's board story: opening hours, the moment shown outside them, and the
# chair time's infusion part (series rule: 120 min infusion + 60 recovery + 10 turnover).
BOARD_OPENS, BOARD_CLOSES, BOARD_SHOWN_AT = time(8), time(17), time(11, 30)
INFUSION_MIN = 120
CHECK_IN_BEFORE_MIN = 30
SATURDAY = 5
# The bag is 1 mg/mL, one of the protocol's allowed concentrations (Ketalar label, §2).
BAG_MG_PER_ML = Decimal(1)
BAG_SIZES_MG = (Decimal(100), Decimal(150), Decimal(200), Decimal(250))
ESCORT_FALLBACK = ("Alex Rivera", "+13035556000")
ORDER_LEAD = timedelta(days=7)
REORDER_LEAD = timedelta(days=3)
M = timedelta(minutes=1)


# --- Protocol library ---------------------------------------------------------------------------


def _protocols(ctx: DemoContext) -> None:
    if Protocol.objects.filter(code=INDUCTION).exists():
        return
    opened = ctx.now - timedelta(days=LIBRARY_OPENED_DAYS_AGO)
    director = ctx.users.get("director")
    actions.create_protocol(
        acting_user=director,
        code=INDUCTION,
        name="Migraine induction — low-dose ketamine, 6 infusions in 3 weeks",
        summary="Six outpatient infusions within 21 days, at least a day apart, then maintenance as needed.",
        at=opened,
    )
    actions.create_protocol(
        acting_user=director,
        code=MAINTENANCE,
        name="Migraine maintenance — single low-dose infusion",
        summary="One infusion when the diary shows relapse, or at an interval the prescriber sets.",
        induction_infusions=1,
        induction_window_days=1,
        at=opened,
    )


def _review_induction(ctx: DemoContext) -> None:
    """The medical director's quarterly review publishes version 2 of the induction protocol."""
    protocol = Protocol.objects.get(code=INDUCTION)
    first = protocol.versions.order_by("number").first()
    if first is None or protocol.versions.count() > 1:
        return
    values = model_to_dict(first, fields=[f for f in actions.VERSION_FIELDS if f != "change_note"])
    values.update(soft_max_mg_per_kg_h=Decimal("0.800"), titration_min_interval_min=20)
    actions.publish_protocol_version(
        acting_user=ctx.users["director"],
        protocol=protocol,
        values=values,
        change_note=(
            "Quarterly review of 3 months of titrations: no patient needed more than 0.6 mg/kg/h, so the "
            "soft maximum drops from 1.0 to 0.8 mg/kg/h (hard maximum unchanged), and steps are at least "
            "20 min apart so each step's effect is charted at two vitals checks."
        ),
        at=ctx.now - timedelta(days=REVIEW_DAYS_AGO),
    )


# --- The day board's story ----------------------------------------------------------------------


def board_day_and_moment(ctx: DemoContext) -> tuple[date, datetime]:
    """The day the demo board shows and the moment it shows it (the scheduling demo's rule)."""
    zone = ZoneInfo(ctx.location.time_zone)
    now_local = ctx.now.astimezone(zone)
    day = now_local.date()
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    opens = datetime.combine(day, BOARD_OPENS, tzinfo=zone)
    closes = datetime.combine(day, BOARD_CLOSES, tzinfo=zone)
    return day, now_local if opens <= now_local < closes else datetime.combine(day, BOARD_SHOWN_AT, tzinfo=zone)


def status_at(booking: Booking, board_day: date, moment: datetime) -> str:
    """Where an infusion booking stands at the board's moment: done on earlier days, not yet
    begun on later ones, and on the board's day by the time of day."""
    day = booking.start.astimezone(moment.tzinfo).date()
    infusion_end = booking.start + timedelta(minutes=INFUSION_MIN)
    if day < board_day or (day == board_day and booking.end <= moment):
        return BookingStatus.DONE
    if day > board_day:
        return BookingStatus.BOOKED
    if booking.start <= moment < infusion_end:
        return BookingStatus.INFUSING
    if infusion_end <= moment:
        return BookingStatus.RECOVERING
    if booking.start - timedelta(minutes=CHECK_IN_BEFORE_MIN) <= moment:
        return BookingStatus.CHECKED_IN
    return BookingStatus.BOOKED


# --- Orders -------------------------------------------------------------------------------------


def _version_at(code: str, at: datetime) -> ProtocolVersion:
    versions = ProtocolVersion.objects.filter(protocol__code=code)
    return versions.filter(created_at__lte=at).order_by("-number").first() or versions.order_by("number")[0]


def _ensure_order(ctx: DemoContext, booking: Booking) -> None:
    """The patient's active order runs the protocol of this booking's kind; a new one is written
    a few days ahead when the patient moves from induction to maintenance."""
    code = MAINTENANCE if booking.appointment_type.kind == AppointmentKind.MAINTENANCE else INDUCTION
    active = (
        InfusionOrder.objects.filter(patient_id=booking.patient_id, is_active=True)
        .select_related("protocol_version__protocol")
        .first()
    )
    if active is not None and active.protocol_version.protocol.code == code:
        return
    lead = REORDER_LEAD if active is not None else ORDER_LEAD
    at = min(booking.start - lead, ctx.now - timedelta(hours=1))
    actions.write_order(
        acting_user=ctx.users["prescriber"],
        patient=booking.patient,
        protocol_version=_version_at(code, at),
        note="Maintenance infusion after the induction series." if code == MAINTENANCE else "",
        at=at,
    )


# --- Ledger stock -------------------------------------------------------------------------------


@dataclass
class _Stock:
    """The location's ketamine containers with the time each was received."""

    containers: list[tuple[Container, datetime]]

    @classmethod
    def at(cls, ctx: DemoContext) -> _Stock:
        received = {
            e.container_id: e.at
            for e in LedgerEntry.objects.filter(location=ctx.location, kind=EntryKind.RECEIVE).order_by("-at")
        }
        containers = Container.objects.filter(location=ctx.location, pk__in=received).select_related("lot__product")
        return cls([(c, received[c.pk]) for c in containers])

    def vial_for(self, mg: Decimal, at: datetime, zone: ZoneInfo) -> tuple[Container, Decimal] | None:
        """An opened vial first, then the lot expiring first; returns it with the mL to draw."""
        ordered = sorted(
            self.containers,
            key=lambda item: (item[0].opened_at is None, item[0].lot.expires_on, item[0].label),
        )
        for container, received_at in ordered:
            ml = (mg / container.lot.product.strength_mg_per_ml).quantize(Decimal("0.01"))
            if received_at > at or container.lot.is_expired_on(at.astimezone(zone).date()):
                continue
            if container_balance_ml(container.pk) >= ml:
                return container, ml
        return None


# --- One session --------------------------------------------------------------------------------


@dataclass
class _Plan:
    """How one session goes: everything the random draws decide, in board time."""

    target: str
    start: datetime
    stop: datetime
    moment: datetime | None  # today's board moment; None for a past session
    shift: timedelta
    weight_kg: Decimal
    doses: list[tuple[datetime, Decimal]]  # titrations after the start
    bp_rise_at: datetime | None = None
    bp_rise_acknowledged: bool = True
    nausea_at: datetime | None = None
    perceptual_at: datetime | None = None
    from_monitor: bool = False
    monitor_validated: bool = True
    sign: str = "cosign"  # "cosign", "nurse", "none"
    double_check: bool = False
    base: dict[str, int] = field(default_factory=dict)


@dataclass
class _Charter:
    ctx: DemoContext
    session: InfusionSession
    plan: _Plan
    nurse: User
    colleague: User
    dose: Decimal = Decimal(0)
    readings: int = 0
    capped: bool = False  # after a blood-pressure rise the dose is not raised again

    @property
    def rng(self) -> Random:
        return self.ctx.rng

    def when(self, at: datetime) -> datetime:
        return at - self.plan.shift

    def reached(self, at: datetime) -> bool:
        return self.plan.moment is None or at <= self.plan.moment

    def witness(self) -> actions.WitnessCredential:
        return actions.WitnessCredential(username=self.colleague.username, password=demo_password())

    def vitals(self, at: datetime, values: dict[str, Any], *, device: bool = False) -> list[Any]:
        if device:
            self.readings += 1
            reading = actions.DeviceReading(
                values={k: values[k] for k in ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate")},
                taken_at=self.when(at),
                message_id=f"DEMO{self.session.pk:05d}{self.readings:03d}",
            )
            stored = actions.record_device_vitals(session=self.session, readings=[reading], device="demo-monitor")
            return [a for _, alerts in stored for a in alerts]
        _, alerts = actions.record_vitals(
            acting_user=self.nurse, session=self.session, values=values, taken_at=self.when(at)
        )
        return alerts

    def during(self, minutes_in: float) -> dict[str, Any]:
        base, rng = self.plan.base, self.rng
        relief = min(base["pain_nrs"] - 1, int(minutes_in // 25))
        return {
            "systolic": base["systolic"] + rng.randint(4, 18),
            "diastolic": base["diastolic"] + rng.randint(2, 10),
            "heart_rate": base["heart_rate"] + rng.randint(0, 10),
            "spo2": rng.randint(95, 99),
            "resp_rate": max(11, base["resp_rate"] + rng.randint(-2, 1)),
            "pain_nrs": base["pain_nrs"] - relief,
            "sedation": rng.choice([0, 0, -1]),
            "dissociation": rng.choice([1, 1, 2]),
        }

    def after(self, minutes_out: float) -> dict[str, Any]:
        base, rng = self.plan.base, self.rng
        return {
            "systolic": base["systolic"] + rng.randint(-2, 8),
            "diastolic": base["diastolic"] + rng.randint(-2, 5),
            "heart_rate": base["heart_rate"] + rng.randint(-3, 4),
            "spo2": rng.randint(96, 99),
            "resp_rate": base["resp_rate"],
            "pain_nrs": base["pain_after"] + (1 if minutes_out < 20 else 0),  # noqa: PLR2004 - eases on
            "sedation": 0,
            "dissociation": 1 if minutes_out < 15 else 0,  # noqa: PLR2004 - fades within 15 min
        }

    # --- phases ---

    def prepare(self, vial: tuple[Container, Decimal], patient: Patient) -> None:
        plan = self.plan
        escort_name = patient.escort_name or ESCORT_FALLBACK[0]
        escort_phone = patient.escort_phone or ESCORT_FALLBACK[1]
        version = self.session.protocol_version
        pregnancy = PregnancyAnswer.NO if patient.sex_at_birth == "female" else PregnancyAnswer.NOT_APPLICABLE
        self.session = actions.complete_checklist(
            acting_user=self.nurse,
            session=self.session,
            weight_kg=plan.weight_kg,
            escort_name=escort_name,
            escort_phone=escort_phone,
            fasting_confirmed=True,
            pregnancy=pregnancy,
            items=dict.fromkeys(version.checklist_items, True),
            at=self.when(plan.start - 10 * M),
        )
        baseline = {k: v for k, v in plan.base.items() if k != "pain_after"}
        self.vitals(plan.start - 7 * M, {**baseline, "temperature_c": Decimal("36.7"), "sedation": 0})
        container, ml = vial
        actions.prepare_bag(
            acting_user=self.nurse,
            session=self.session,
            container=container,
            vial_ml_drawn=ml,
            final_volume_ml=(ml * container.lot.product.strength_mg_per_ml / BAG_MG_PER_ML).quantize(Decimal("0.1")),
            at=self.when(plan.start - 4 * M),
        )
        self.dose = Decimal(str(effective_limits(self.session.order).start_mg_per_kg_h)).quantize(Decimal("0.001"))
        actions.start_infusion(
            acting_user=self.nurse,
            session=self.session,
            double_checker=self.witness() if plan.double_check else None,
            at=self.when(plan.start),
        )

    def infuse(self) -> None:
        plan = self.plan
        interval = timedelta(minutes=self.session.protocol_version.vitals_interval_min)
        end = plan.stop if plan.moment is None else min(plan.stop, plan.moment)
        steps: list[datetime] = []
        at = plan.start + interval
        while at < end:
            steps.append(at)
            at += interval
        doses = iter([d for d in plan.doses if d[0] < end])
        next_dose = next(doses, None)
        for step in steps:
            while next_dose is not None and next_dose[0] <= step:
                self.titrate(*next_dose)
                next_dose = next(doses, None)
            minutes_in = (step - plan.start).total_seconds() / 60
            values = self.during(minutes_in)
            if plan.bp_rise_at is not None and step == plan.bp_rise_at:
                self.bp_rise(step, values)
                continue
            if plan.perceptual_at is not None and step == plan.perceptual_at:
                values["dissociation"] = 3
            self.vitals(step, values, device=plan.from_monitor)
            if plan.from_monitor and self.rng.random() < 0.5:  # noqa: PLR2004 - every other check or so
                scales = {k: values[k] for k in ("pain_nrs", "sedation", "dissociation")}
                self.vitals(step + M, scales)
            if plan.nausea_at is not None and step == plan.nausea_at:
                self.nausea(step + 2 * M)
            if plan.perceptual_at is not None and step == plan.perceptual_at:
                actions.record_side_effect(
                    acting_user=self.nurse,
                    session=self.session,
                    kind=SideEffectKind.PERCEPTUAL,
                    severity=Severity.MILD,
                    outcome=SideEffectOutcome.RESOLVED,
                    intervention="Reassurance; lights dimmed and music on; settled within 10 min.",
                    onset_at=self.when(step),
                )
        for dose in [next_dose, *doses]:
            if dose is not None and dose[0] < end:
                self.titrate(*dose)

    def titrate(self, at: datetime, dose: Decimal) -> None:
        if dose <= self.dose or self.capped:
            return
        actions.set_rate(
            acting_user=self.nurse,
            session=self.session,
            dose_mg_per_kg_h=dose,
            reason="Headache not yet easing; tolerating well, no side effects: up one step.",
            at=self.when(at),
        )
        self.dose = dose

    def bp_rise(self, at: datetime, values: dict[str, Any]) -> None:
        base, rng = self.plan.base, self.rng
        values.update(
            systolic=base["systolic"] + rng.randint(41, 46),
            diastolic=base["diastolic"] + rng.randint(14, 20),
            heart_rate=base["heart_rate"] + rng.randint(8, 14),
        )
        alerts = self.vitals(at, values)
        if not self.plan.bp_rise_acknowledged:
            return
        self.capped = True
        lower = self.dose - self.session.protocol_version.titration_step_mg_per_kg_h
        if lower > 0:
            actions.set_rate(
                acting_user=self.nurse,
                session=self.session,
                dose_mg_per_kg_h=lower,
                reason="Blood pressure rise: rate reduced one step",
                at=self.when(at + 2 * M),
            )
            self.dose = lower
        for alert in alerts:
            actions.acknowledge_alert(
                acting_user=self.nurse,
                alert=alert,
                action_taken="Rate reduced one step, patient calm and asymptomatic; BP rechecked at 5 min.",
                at=self.when(at + 3 * M),
            )
        actions.record_side_effect(
            acting_user=self.nurse,
            session=self.session,
            kind=SideEffectKind.HYPERTENSION,
            severity=Severity.MILD,
            outcome=SideEffectOutcome.RESOLVED,
            intervention="Infusion rate reduced one step; BP back to baseline range on recheck.",
            onset_at=self.when(at),
        )
        self.vitals(at + 5 * M, self.during((at - self.plan.start).total_seconds() / 60))

    def nausea(self, at: datetime) -> None:
        effect = actions.record_side_effect(
            acting_user=self.nurse,
            session=self.session,
            kind=SideEffectKind.NAUSEA,
            severity=self.rng.choice([Severity.MILD, Severity.MODERATE]),
            outcome=SideEffectOutcome.RESOLVED,
            intervention="Ondansetron 4 mg IV",
            onset_at=self.when(at),
        )
        actions.record_medication(
            acting_user=self.nurse,
            session=self.session,
            drug="Ondansetron",
            dose=Decimal(4),
            dose_unit="mg",
            route=Route.IV,
            given_at=self.when(at + 3 * M),
            side_effect=effect,
        )

    def recover(self) -> None:
        plan = self.plan
        actions.stop_infusion(acting_user=self.nurse, session=self.session, at=self.when(plan.stop))
        interval = self.session.protocol_version.recovery_vitals_interval_min
        for minutes_out in range(5, self.session.protocol_version.recovery_min_minutes, interval):
            at = plan.stop + timedelta(minutes=minutes_out)
            if not self.reached(at):
                return
            values = self.after(minutes_out)
            self.vitals(at, values, device=plan.from_monitor)
            if plan.from_monitor:  # pain, sedation and dissociation are the nurse's to assess
                self.vitals(at + M, {k: values[k] for k in ("pain_nrs", "sedation", "dissociation")})
            if minutes_out == 20:  # noqa: PLR2004 - the first Aldrete score, 20 min after the stop
                self.aldrete(at + M, consciousness=1, activity=self.rng.choice([1, 2]))
        scored = plan.stop + timedelta(minutes=self.session.protocol_version.recovery_min_minutes - 3)
        if self.reached(scored):
            self.aldrete(scored, consciousness=2, activity=2)

    def aldrete(self, at: datetime, *, consciousness: int, activity: int) -> None:
        actions.record_recovery_score(
            acting_user=self.nurse,
            session=self.session,
            activity=activity,
            respiration=2,
            circulation=2,
            consciousness=consciousness,
            oxygen_saturation=2,
            at=self.when(at),
        )

    def finish(self) -> None:
        plan = self.plan
        out = plan.stop + timedelta(minutes=self.session.protocol_version.recovery_min_minutes + 1)
        out += timedelta(minutes=self.rng.randint(0, 4))
        session = InfusionSession.objects.get(pk=self.session.pk)
        actions.discharge(
            acting_user=self.nurse,
            session=session,
            escort_name=session.escort_name,
            note="Alert and oriented, walking steadily; leaves with the escort named at check-in.",
            at=self.when(out),
        )
        actions.account_for_drug(
            acting_user=self.nurse,
            session=session,
            waste_method=WasteMethod.DENATURING_CONTAINER,
            witness=self.witness(),
            at=self.when(out + 5 * M),
        )
        if plan.from_monitor and plan.monitor_validated:
            actions.validate_device_vitals(acting_user=self.nurse, session=session, at=self.when(out + 8 * M))
        if plan.sign == "none":
            return
        actions.nurse_sign(acting_user=self.nurse, session=session, at=self.when(out + 12 * M))
        if plan.sign == "cosign":
            later = min(out + timedelta(minutes=self.rng.randint(45, 20 * 60)), self.ctx.now - 5 * M)
            actions.cosign(acting_user=self.ctx.users["prescriber"], session=session, at=self.when(later))


def _weight(patient: Patient, rng: Random) -> Decimal:
    """Today's weight: the last one on file give or take a little."""
    last = WeightMeasurement.objects.filter(patient=patient).order_by("-measured_at").first()
    return (last.weight_kg if last is not None else Decimal(72)) + Decimal(rng.randint(-6, 6)) / 10


def _plan(ctx: DemoContext, booking: Booking, target: str, moment: datetime | None, shift: timedelta) -> _Plan:
    rng = ctx.rng
    start = booking.start + timedelta(minutes=10 + rng.randint(0, 5))
    if moment is not None and target == BookingStatus.INFUSING:
        start = min(start, moment - 2 * M)
    stop = start + timedelta(minutes=rng.randint(95, 105))
    if moment is not None and target == BookingStatus.RECOVERING:
        stop = min(stop, moment - 2 * M)
    order = InfusionOrder.objects.filter(patient_id=booking.patient_id, is_active=True).select_related(
        "protocol_version"
    )[0]
    version = order.protocol_version
    limits = effective_limits(order)
    dose = Decimal(str(limits.start_mg_per_kg_h)).quantize(Decimal("0.001"))
    step = version.titration_step_mg_per_kg_h
    doses: list[tuple[datetime, Decimal]] = []
    at = start
    for _ in range(rng.choice([1, 1, 2])):
        at += timedelta(minutes=version.titration_min_interval_min + rng.randint(3, 12))
        dose += step
        if at < stop - 15 * M and dose <= Decimal(str(limits.soft_max_mg_per_kg_h)):
            doses.append((at, dose))
    interval = timedelta(minutes=version.vitals_interval_min)
    checks = [start + interval * i for i in range(2, 9) if start + interval * i < stop - interval]
    return _Plan(
        target=target,
        start=start,
        stop=stop,
        moment=moment,
        shift=shift,
        weight_kg=_weight(booking.patient, rng),
        doses=doses,
        bp_rise_at=rng.choice(checks) if checks and rng.random() < 0.15 else None,  # noqa: PLR2004
        nausea_at=rng.choice(checks) if checks and rng.random() < 0.2 else None,  # noqa: PLR2004
        perceptual_at=rng.choice(checks) if checks and rng.random() < 0.12 else None,  # noqa: PLR2004
        from_monitor=rng.random() < 0.25,  # noqa: PLR2004
        double_check=rng.random() < 0.1,  # noqa: PLR2004
        base={
            "systolic": rng.randint(112, 132),
            "diastolic": rng.randint(70, 84),
            "heart_rate": rng.randint(62, 84),
            "spo2": rng.randint(97, 99),
            "resp_rate": rng.randint(12, 16),
            "pain_nrs": (pain := rng.randint(5, 8)),
            "pain_after": max(0, pain - rng.randint(3, 5)),
        },
    )


def _bag_mg(plan: _Plan) -> Decimal:
    top = max([d for _, d in plan.doses], default=Decimal("0.3"))
    hours = Decimal((plan.stop - plan.start).total_seconds() / 3600)
    need = top * plan.weight_kg * hours * Decimal("1.1")
    return next((size for size in BAG_SIZES_MG if size >= need), BAG_SIZES_MG[-1])


@dataclass
class _Board:
    """Today's special chairs: one alert left open, one chair fed by the monitor unvalidated."""

    alert_booking: int | None = None
    monitor_booking: int | None = None
    done_today: int = 0


def _chart(
    ctx: DemoContext, booking: Booking, *, target: str, moment: datetime | None, board: _Board, stock: _Stock
) -> InfusionSession | None:
    zone = ZoneInfo(ctx.location.time_zone)
    shift = max(moment - ctx.now + M, timedelta(0)) if moment is not None else timedelta(0)
    plan = _plan(ctx, booking, target, moment, shift)
    if moment is not None:
        plan.bp_rise_at = plan.bp_rise_at if booking.pk != board.alert_booking else None
        if target == BookingStatus.DONE:
            # The first finished record of the day waits for the co-signature, the next for the
            # nurse's signature.
            plan.sign = "nurse" if board.done_today == 0 else "none"
            board.done_today += 1
        if booking.pk == board.monitor_booking:
            plan.from_monitor, plan.monitor_validated = True, False
        elif target != BookingStatus.DONE:
            plan.from_monitor = False
    vial = stock.vial_for(_bag_mg(plan), plan.start - plan.shift, zone)
    if vial is None:
        return None
    chair_index = int(booking.chair.name.rsplit(" ", 1)[-1]) if booking.chair else 1
    nurses = [ctx.users["nurse"], ctx.users["nurse2"]]
    nurse = nurses[0] if chair_index <= 2 else nurses[1]  # noqa: PLR2004 - two chairs per nurse
    colleague = nurses[1] if nurse == nurses[0] else nurses[0]
    check_in_at = plan.start - 15 * M
    if target == BookingStatus.CHECKED_IN and moment is not None:
        check_in_at = max(booking.start - timedelta(minutes=CHECK_IN_BEFORE_MIN), moment - 5 * M)
    session = actions.check_in(acting_user=nurse, booking=booking, at=check_in_at - plan.shift)
    if target == BookingStatus.CHECKED_IN:
        return session
    charter = _Charter(ctx, session, plan, nurse, colleague)
    charter.prepare(vial, booking.patient)
    charter.infuse()
    if booking.pk == board.alert_booking and target == BookingStatus.INFUSING and moment is not None:
        charter.plan.bp_rise_acknowledged = False
        last = InfusionSession.objects.get(pk=session.pk).vitals.order_by("-taken_at").first()
        at = moment - 2 * M if last is None else max(last.taken_at + plan.shift + M, moment - 2 * M)
        charter.bp_rise(at, charter.during((at - plan.start).total_seconds() / 60))
    if target == BookingStatus.INFUSING:
        return session
    charter.recover()
    if target == BookingStatus.RECOVERING:
        if booking.pk == board.alert_booking and moment is not None:
            charter.plan.bp_rise_acknowledged = False
            charter.bp_rise(moment - M, charter.after((moment - plan.stop).total_seconds() / 60))
        return session
    charter.finish()
    return session


def _pick_board(bookings: list[tuple[Booking, str]]) -> _Board:
    live = [b for b, t in bookings if t == BookingStatus.INFUSING] + [
        b for b, t in bookings if t == BookingStatus.RECOVERING
    ]
    board = _Board()
    if live:
        board.alert_booking = live[0].pk
        board.monitor_booking = (live[1] if len(live) > 1 else live[0]).pk
    return board


def seed(ctx: DemoContext) -> None:
    """Protocols first (the patients demo calls this early for its approvals); once scheduling
    has booked the chairs, the orders and chairside records. Safe to run twice."""
    _protocols(ctx)
    _chart_bookings(ctx, until=None)


def chart_through(ctx: DemoContext, until: datetime) -> None:
    """Chart the infusion bookings that end by ``until`` (a demo that builds its history day by
    day, such as the inventory demo with its close-of-day counts, calls this before each count
    so the count sees that day's drug movements). ``seed`` charts whatever is left."""
    _protocols(ctx)
    _chart_bookings(ctx, until=until)


def _chart_bookings(ctx: DemoContext, *, until: datetime | None) -> None:
    bookings = list(
        Booking.objects.filter(location=ctx.location, appointment_type__kind__in=INFUSION_KINDS)
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("patient", "appointment_type", "chair")
        .order_by("start", "pk")
    )
    if until is not None:
        bookings = [b for b in bookings if b.end <= until]
    if not bookings:
        return
    _review_induction(ctx)
    board_day, moment = board_day_and_moment(ctx)
    zone = ZoneInfo(ctx.location.time_zone)
    charted = set(InfusionSession.objects.filter(booking__in=bookings).values_list("booking_id", flat=True))
    # A booking another demo already moved past check-in has no chairside record to walk through.
    walkable = {BookingStatus.BOOKED, BookingStatus.CHECKED_IN}
    targets = [
        (b, status_at(b, board_day, moment))
        for b in bookings
        if b.status in walkable and b.pk not in charted and b.chair_id is not None
    ]
    board = _pick_board([(b, t) for b, t in targets if b.start.astimezone(zone).date() == board_day])
    stock = _Stock.at(ctx)
    wanted = {b.pk: t for b, t in targets}
    for booking in bookings:
        _ensure_order(ctx, booking)
        target = wanted.get(booking.pk, BookingStatus.BOOKED)
        if target == BookingStatus.BOOKED:
            continue
        today = booking.start.astimezone(zone).date() == board_day
        _chart(ctx, booking, target=target, moment=moment if today else None, board=board, stock=stock)
