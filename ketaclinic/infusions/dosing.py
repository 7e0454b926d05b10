"""Dose arithmetic for a weight-based ketamine infusion: pump rate, bag concentration,
smart-pump style limit checks and running totals from a charted timeline.

Pure functions with no Django in them, so every number can be tested by hand. The formulas
follow docs/clinical-reference.md §2: mL/h = dose (mg/kg/h) × weight (kg) ÷ concentration
(mg/mL), e.g. 0.5 mg/kg/h × 70 kg ÷ 1 mg/mL = 35 mL/h.

The plausibility bounds below only catch typing errors (a value in the wrong field, a weight in
pounds, an undiluted vial). They are not clinical limits: those come from the clinic's protocol
through `DoseLimits`, set by the medical director. The software supports the decision; the
licensed clinician makes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Final, Literal

# Adult outpatients only: under 20 kg is a small child and over 350 kg exceeds any adult an
# infusion chair carries, so either value is almost certainly a typing or unit error (pounds).
WEIGHT_KG_MIN: Final = 20.0
WEIGHT_KG_MAX: Final = 350.0

# A diluted infusion bag: the Ketalar label dilution gives 1 mg/mL (500 mg in 500 mL) or 2 mg/mL
# (in 250 mL when fluid-restricted), docs/clinical-reference.md §2. Below 0.1 mg/mL the bag would
# be absurdly large; above 10 mg/mL it is a vial, not a bag (100 mg/mL must be diluted before IV
# use per the Ketalar label).
CONCENTRATION_MG_PER_ML_MIN: Final = 0.1
CONCENTRATION_MG_PER_ML_MAX: Final = 10.0

# An absurdity bound, NOT a clinical limit: published migraine practice tops out around
# 1–2 mg/kg/h (Schwenk 2018 mean maximum 0.76; Cohen 2018 consensus reports 0.5–2 mg/kg/h), so
# anything above 5 mg/kg/h is a misplaced decimal. Clinical limits come from the protocol.
DOSE_MG_PER_KG_H_MAX: Final = 5.0

# An absurdity bound for a single bolus, NOT a clinical limit: 4.5 mg/kg is the top of the IV
# anaesthetic induction range on the Ketalar label; the low-dose bolus bound is 0.5 mg/kg
# (Pennsylvania DoH 2020, docs/clinical-reference.md §1).
BOLUS_MG_PER_KG_MAX: Final = 4.5

# Pump displays and programmes rates to 0.1 mL/h.
PUMP_RATE_STEP_ML_PER_H: Final = Decimal("0.1")

_SECONDS_PER_HOUR: Final = 3600
_SECONDS_PER_MINUTE: Final = 60

LimitLevel = Literal["ok", "soft", "hard"]
EventKind = Literal["start", "titrate", "pause", "resume", "stop", "bolus"]
EVENT_KINDS: Final[frozenset[str]] = frozenset({"start", "titrate", "pause", "resume", "stop", "bolus"})
_KINDS_WITH_DOSE: Final[frozenset[str]] = frozenset({"start", "titrate"})


class DoseInputError(ValueError):
    """A dose, weight, concentration or volume that cannot be right (the message names it)."""


class LimitWideningError(ValueError):
    """An order tried to loosen a limit the protocol sets; an order may only tighten."""


class TimelineError(ValueError):
    """Infusion events that do not form a possible sequence (e.g. resume without a pause)."""


def _checked_number(field: str, value: float) -> float:
    """Return `value` as a float after refusing booleans, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DoseInputError(f"{field} must be a number, got {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise DoseInputError(f"{field} must be a finite number, got {value!r}.")
    return number


def _checked_positive(field: str, value: float) -> float:
    number = _checked_number(field, value)
    if number <= 0:
        raise DoseInputError(f"{field} must be greater than zero, got {value!r}.")
    return number


def _checked_in_range(field: str, value: float, low: float, high: float, unit: str) -> float:
    number = _checked_positive(field, value)
    if not low <= number <= high:
        raise DoseInputError(
            f"{field} of {value!r} {unit} is outside the plausible range {low:g}–{high:g} {unit}; "
            "check the value and its unit."
        )
    return number


def _checked_dose_rate(value: float, field: str = "dose_mg_per_kg_h") -> float:
    number = _checked_positive(field, value)
    if number > DOSE_MG_PER_KG_H_MAX:
        raise DoseInputError(
            f"{field} of {value!r} mg/kg/h is above {DOSE_MG_PER_KG_H_MAX:g} mg/kg/h, "
            "which no infusion protocol uses; check for a misplaced decimal point."
        )
    return number


def _checked_weight(value: float) -> float:
    return _checked_in_range("weight_kg", value, WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg")


def _checked_concentration(value: float) -> float:
    return _checked_in_range(
        "concentration_mg_per_ml",
        value,
        CONCENTRATION_MG_PER_ML_MIN,
        CONCENTRATION_MG_PER_ML_MAX,
        "mg/mL",
    )


def _exact(value: float) -> Fraction:
    """The decimal number the user typed, exactly (0.1 is 1/10, not its binary neighbour)."""
    return Fraction(repr(float(value)))


def pump_rate_ml_per_h(dose_mg_per_kg_h: float, weight_kg: float, concentration_mg_per_ml: float) -> float:
    """Pump rate in mL/h for a weight-based dose, rounded half-up to 0.1 mL/h.

    mL/h = dose (mg/kg/h) × weight (kg) ÷ concentration (mg/mL) (docs/clinical-reference.md §2).
    The product is computed in decimal so that an exact x.x5 always rounds up, as a nurse
    checking by hand would round it.

    Raises DoseInputError naming the field for a non-positive, non-finite or implausible value,
    and for a rate that rounds to 0.0 mL/h (the pump could not run it).
    """
    dose = _checked_dose_rate(dose_mg_per_kg_h)
    weight = _checked_weight(weight_kg)
    concentration = _checked_concentration(concentration_mg_per_ml)
    with localcontext() as context:
        # Ample precision so the quotient is exact or far finer than the 0.1 mL/h step.
        context.prec = 50
        rate = Decimal(repr(dose)) * Decimal(repr(weight)) / Decimal(repr(concentration))
        rounded = rate.quantize(PUMP_RATE_STEP_ML_PER_H, rounding=ROUND_HALF_UP)
    if rounded == 0:
        raise DoseInputError(
            f"The rate works out at {rate:.3f} mL/h, which rounds to 0.0 mL/h and cannot be "
            "programmed; check dose_mg_per_kg_h and use a more dilute bag."
        )
    return float(rounded)


def concentration_mg_per_ml(drug_mg: float, final_volume_ml: float) -> float:
    """Concentration of a prepared bag: drug (mg) ÷ final volume (mL), unrounded.

    `final_volume_ml` is the volume after the drug is added (e.g. 500 mg from 10 mL of 50 mg/mL
    into a 500 mL bag is 510 mL). The result must fall in the diluted-bag range, so an
    undiluted vial (50 or 100 mg/mL) is refused here rather than at the pump.
    """
    drug = _checked_positive("drug_mg", drug_mg)
    volume = _checked_positive("final_volume_ml", final_volume_ml)
    concentration = float(_exact(drug) / _exact(volume))
    if not CONCENTRATION_MG_PER_ML_MIN <= concentration <= CONCENTRATION_MG_PER_ML_MAX:
        raise DoseInputError(
            f"{drug:g} mg in {volume:g} mL gives {concentration:g} mg/mL, outside the "
            f"diluted-bag range {CONCENTRATION_MG_PER_ML_MIN:g}–{CONCENTRATION_MG_PER_ML_MAX:g} "
            "mg/mL; check drug_mg and final_volume_ml."
        )
    return concentration


# ---------------------------------------------------------------------------------------------
# Limits, in the manner of a smart-pump drug library (docs/clinical-reference.md §2): a soft
# limit may be overridden with a logged reason; a hard limit cannot be overridden, only the
# programme changed.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseLimits:
    """Dose limits for one ketamine entry of the clinic's protocol (or a narrower order).

    There is no published hard maximum for ketamine in headache (docs/clinical-reference.md §2),
    so every value here is set by the clinic's medical director. A rate equal to a limit is
    within it; only a rate above a limit trips it.
    """

    soft_max_mg_per_kg_h: float
    hard_max_mg_per_kg_h: float
    start_mg_per_kg_h: float
    max_total_mg_per_session: float

    def __post_init__(self) -> None:
        soft = _checked_dose_rate(self.soft_max_mg_per_kg_h, "soft_max_mg_per_kg_h")
        hard = _checked_dose_rate(self.hard_max_mg_per_kg_h, "hard_max_mg_per_kg_h")
        start = _checked_dose_rate(self.start_mg_per_kg_h, "start_mg_per_kg_h")
        _checked_positive("max_total_mg_per_session", self.max_total_mg_per_session)
        if soft > hard:
            raise DoseInputError(f"soft_max_mg_per_kg_h ({soft:g}) must not exceed hard_max_mg_per_kg_h ({hard:g}).")
        if start > soft:
            raise DoseInputError(f"start_mg_per_kg_h ({start:g}) must not exceed soft_max_mg_per_kg_h ({soft:g}).")


@dataclass(frozen=True)
class LimitCheck:
    """Outcome of checking a value against limits: "ok", "soft" (overridable with a reason) or
    "hard" (cannot be given; reprogramme)."""

    level: LimitLevel
    message: str

    @property
    def is_overridable(self) -> bool:
        """True when the value may be given after a clinician records an override reason."""
        return self.level != "hard"


def check_dose_rate(dose_mg_per_kg_h: float, limits: DoseLimits) -> LimitCheck:
    """Check a programmed rate against soft and hard maxima, as a pump's drug library does."""
    dose = _checked_dose_rate(dose_mg_per_kg_h)
    if dose > limits.hard_max_mg_per_kg_h:
        return LimitCheck(
            "hard",
            f"{dose:g} mg/kg/h is above the hard limit of {limits.hard_max_mg_per_kg_h:g} "
            "mg/kg/h and cannot be given; reprogramme the rate.",
        )
    if dose > limits.soft_max_mg_per_kg_h:
        return LimitCheck(
            "soft",
            f"{dose:g} mg/kg/h is above the soft limit of {limits.soft_max_mg_per_kg_h:g} "
            "mg/kg/h; give it only with a recorded override reason.",
        )
    return LimitCheck("ok", f"{dose:g} mg/kg/h is within the soft limit of {limits.soft_max_mg_per_kg_h:g} mg/kg/h.")


def check_session_total(total_mg: float, limits: DoseLimits) -> LimitCheck:
    """Check a session's total (given plus about to be given) against the per-session maximum.

    The maximum total is a single ceiling with no soft band, so crossing it is "hard".
    """
    total = _checked_number("total_mg", total_mg)
    if total < 0:
        raise DoseInputError(f"total_mg must not be negative, got {total_mg!r}.")
    if total > limits.max_total_mg_per_session:
        return LimitCheck(
            "hard",
            f"{total:g} mg is above the session maximum of {limits.max_total_mg_per_session:g} mg.",
        )
    return LimitCheck(
        "ok",
        f"{total:g} mg is within the session maximum of {limits.max_total_mg_per_session:g} mg.",
    )


def narrow(limits: DoseLimits, order_limits: DoseLimits) -> DoseLimits:
    """Return the order's limits after checking that each one is at most the protocol's.

    A prescriber may tighten the protocol for one patient but never loosen it; loosening a limit
    belongs to the medical director, in the protocol. The start rate is not a limit: the order
    may choose any start within its own (narrowed) soft limit.

    Raises LimitWideningError naming the first limit the order would widen.
    """
    pairs = (
        ("soft_max_mg_per_kg_h", limits.soft_max_mg_per_kg_h, order_limits.soft_max_mg_per_kg_h),
        ("hard_max_mg_per_kg_h", limits.hard_max_mg_per_kg_h, order_limits.hard_max_mg_per_kg_h),
        (
            "max_total_mg_per_session",
            limits.max_total_mg_per_session,
            order_limits.max_total_mg_per_session,
        ),
    )
    for field, protocol_value, order_value in pairs:
        if order_value > protocol_value:
            raise LimitWideningError(
                f"The order's {field} ({order_value:g}) is wider than the protocol's "
                f"({protocol_value:g}); an order may only narrow a limit."
            )
    return order_limits


# ---------------------------------------------------------------------------------------------
# Timeline totals
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfusionEvent:
    """One charted change to the pump: start, titrate, pause, resume, stop, or a bolus.

    `start` and `titrate` carry the new rate in `dose_mg_per_kg_h`; `bolus` carries `bolus_mg`;
    the other kinds carry neither. `at` must be timezone-aware.
    """

    at: datetime
    kind: EventKind
    dose_mg_per_kg_h: float | None = None
    bolus_mg: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise TimelineError(f"Unknown infusion event kind {self.kind!r}.")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise TimelineError(f"The {self.kind} event time must be timezone-aware.")
        if self.kind in _KINDS_WITH_DOSE:
            if self.dose_mg_per_kg_h is None:
                raise TimelineError(f"A {self.kind} event needs dose_mg_per_kg_h.")
            _checked_dose_rate(self.dose_mg_per_kg_h)
        elif self.dose_mg_per_kg_h is not None:
            raise TimelineError(f"A {self.kind} event must not carry dose_mg_per_kg_h.")
        if self.kind == "bolus":
            if self.bolus_mg is None:
                raise TimelineError("A bolus event needs bolus_mg.")
            _checked_positive("bolus_mg", self.bolus_mg)
        elif self.bolus_mg is not None:
            raise TimelineError(f"A {self.kind} event must not carry bolus_mg.")


@dataclass(frozen=True)
class Segment:
    """A stretch of time during which the pump ran at one constant rate."""

    start: datetime
    end: datetime
    dose_mg_per_kg_h: float

    @property
    def duration_min(self) -> float:
        """Elapsed minutes, in UTC so that a daylight-saving change cannot add or lose an hour."""
        elapsed = self.end.astimezone(UTC) - self.start.astimezone(UTC)
        return elapsed.total_seconds() / _SECONDS_PER_MINUTE


@dataclass(frozen=True)
class Bolus:
    """A single dose pushed at one instant."""

    at: datetime
    bolus_mg: float


@dataclass(frozen=True)
class Schedule:
    """The running segments and boluses a valid timeline describes, up to a point in time."""

    segments: tuple[Segment, ...]
    boluses: tuple[Bolus, ...]


@dataclass(frozen=True)
class Totals:
    """Drug given in a session: mg, mL of the bag, and minutes the pump was running."""

    total_mg: float
    total_ml: float
    infusion_min: float


def _carried(value: float | None, field: str, label: str) -> float:
    """The number an event carries; InfusionEvent guarantees it, this tells mypy so."""
    if value is None:
        raise TimelineError(f"The {label} needs {field}.")
    return value


class _PumpReplay:
    """Replays charted events in order, keeping the pump's state and the segments it ran."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.boluses: list[Bolus] = []
        self.rate_mg_per_kg_h = 0.0
        self.running_since: datetime | None = None
        self.is_started = False
        self.is_paused = False
        self.is_stopped = False

    def close_segment(self, at: datetime) -> None:
        if self.running_since is not None and at > self.running_since:
            self.segments.append(Segment(self.running_since, at, self.rate_mg_per_kg_h))

    def apply(self, event: InfusionEvent) -> None:
        label = f"{event.kind} at {event.at.isoformat()}"
        if self.is_stopped:
            raise TimelineError(f"The {label} comes after the infusion was stopped.")
        if event.kind == "bolus":
            self.boluses.append(Bolus(event.at, _carried(event.bolus_mg, "bolus_mg", label)))
            return
        if event.kind == "start":
            if self.is_started:
                raise TimelineError(f"The {label} repeats a start; titrate instead.")
            self.is_started = True
            self.rate_mg_per_kg_h = _carried(event.dose_mg_per_kg_h, "dose_mg_per_kg_h", label)
            self.running_since = event.at
            return
        if not self.is_started:
            raise TimelineError(f"The {label} comes before the infusion was started.")
        handlers = {
            "titrate": self._titrate,
            "pause": self._pause,
            "resume": self._resume,
            "stop": self._stop,
        }
        handlers[event.kind](event, label)

    def _titrate(self, event: InfusionEvent, label: str) -> None:
        # While paused only the rate changes; it applies from the resume.
        if self.running_since is not None:
            self.close_segment(event.at)
            self.running_since = event.at
        self.rate_mg_per_kg_h = _carried(event.dose_mg_per_kg_h, "dose_mg_per_kg_h", label)

    def _pause(self, event: InfusionEvent, label: str) -> None:
        if self.is_paused:
            raise TimelineError(f"The {label} comes while the infusion is already paused.")
        self.close_segment(event.at)
        self.is_paused, self.running_since = True, None

    def _resume(self, event: InfusionEvent, label: str) -> None:
        if not self.is_paused:
            raise TimelineError(f"The {label} has no pause before it.")
        self.is_paused, self.running_since = False, event.at

    def _stop(self, event: InfusionEvent, label: str) -> None:
        # A stop may come while running or while paused.
        self.close_segment(event.at)
        self.is_stopped, self.running_since = True, None


def build_schedule(events: Sequence[InfusionEvent], until: datetime) -> Schedule:
    """Turn charted events into running segments and boluses, up to `until`.

    Rules, each refused with a TimelineError that says what is wrong:
    events are in time order; everything except a bolus needs the infusion started first;
    one start only; pause only while running; resume only while paused; nothing after stop;
    no event after `until`. A titration while paused sets the rate used on resume. A bolus may
    come before the start (a loading dose). An infusion still running at `until` is counted to
    `until`. Segment and bolus times come back in UTC.
    """
    if until.tzinfo is None or until.utcoffset() is None:
        raise TimelineError("until must be timezone-aware.")
    # Work in UTC: Python compares and subtracts two datetimes sharing a tzinfo as wall-clock
    # times, which is an hour wrong across a daylight-saving change.
    until = until.astimezone(UTC)
    replay = _PumpReplay()
    previous_at: datetime | None = None
    for charted_event in events:
        event = replace(charted_event, at=charted_event.at.astimezone(UTC))
        label = f"{event.kind} at {event.at.isoformat()}"
        if previous_at is not None and event.at < previous_at:
            raise TimelineError(f"Events are out of order: the {label} comes after a later event.")
        if event.at > until:
            raise TimelineError(f"The {label} is after the end of the period ({until.isoformat()}).")
        previous_at = event.at
        replay.apply(event)
    replay.close_segment(until)  # an infusion still running is counted to `until`
    return Schedule(tuple(replay.segments), tuple(replay.boluses))


def _exact_hours(duration: timedelta) -> Fraction:
    microseconds = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return Fraction(microseconds, _SECONDS_PER_HOUR * 1_000_000)


def compute_totals(
    events: Sequence[InfusionEvent],
    weight_kg: float,
    concentration_mg_per_ml: float,
    until: datetime,
) -> Totals:
    """Total mg, mL and running minutes of a session from its charted events, up to `until`.

    Each running segment gives rate (mg/kg/h) × weight (kg) × hours mg; a bolus adds its mg at
    once; mL = mg ÷ concentration. The sums are exact fractions of the values as typed, so a
    result equals the figure a nurse works out by hand (converted to float only at the end).
    """
    weight = _exact(_checked_weight(weight_kg))
    concentration = _exact(_checked_concentration(concentration_mg_per_ml))
    schedule = build_schedule(events, until)

    bolus_limit_mg = weight * _exact(BOLUS_MG_PER_KG_MAX)
    for bolus in schedule.boluses:
        if _exact(bolus.bolus_mg) > bolus_limit_mg:
            raise DoseInputError(
                f"bolus_mg of {bolus.bolus_mg:g} mg at {bolus.at.isoformat()} is above "
                f"{BOLUS_MG_PER_KG_MAX:g} mg/kg for this weight; check for a misplaced decimal."
            )

    total_mg = sum((_exact(bolus.bolus_mg) for bolus in schedule.boluses), Fraction(0))
    running_hours = Fraction(0)
    for segment in schedule.segments:
        hours = _exact_hours(segment.end - segment.start)
        running_hours += hours
        total_mg += _exact(segment.dose_mg_per_kg_h) * weight * hours
    return Totals(
        total_mg=float(total_mg),
        total_ml=float(total_mg / concentration),
        infusion_min=float(running_hours * 60),
    )
