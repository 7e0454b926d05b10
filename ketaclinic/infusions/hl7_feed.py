"""Bedside-monitor feed: HL7 v2 ORU^R01 messages turned into device vitals sets, and the ACK
that answers each message. Pure functions (no Django, no database): ``parse_message`` reads a
message into a :class:`ParsedMessage`, ``build_ack`` writes the answer. The gateway
(``manage.py run_monitor_gateway``) resolves the chair and its session and records the values.

How a message finds its chair
    A monitor is configured with its bed label, which it sends in PV1-3 (assigned patient
    location, type PL): PV1-3.1 *point of care* is the location's primary key or its name, and
    PV1-3.3 *bed* is the chair's name (both compared case-insensitively), e.g.
    ``PV1||O|Home Site^^Chair 3``. PID identifiers are never used for matching and never logged:
    the chair's active session decides whose record the values belong to, so a stale patient ID
    on the monitor cannot chart onto another patient.

What is read
    Every OBX whose OBX-3 identifier (component 1 or 2, or the alternate identifier in 4 or 5)
    is a known LOINC or IEEE 11073-10101 (MDC) code for a charted vital sign, with a numeric
    OBX-5 and a unit in OBX-6 (UCUM or MDC) of the right dimension; other OBX segments
    (waveforms, ST segments, alarms, settings) are ignored. Mean arterial pressure is
    recognised and checked but not charted (the flowsheet has no field for it). Observations
    are grouped into one vitals set per observation time: OBX-14, else OBR-7 of their order,
    else MSH-7, else the time of receipt.

The answer (MSA-1)
    ``AA`` the values were recorded (or the message is a repeat of one already recorded);
    ``AE`` the message was understood but not recorded: an implausible value, a wrong unit, no
    vital sign in it, a time in the future or before check-in, or no active session on the chair;
    ``AR`` the message was refused: not parseable HL7, not ORU^R01, or no known chair in PV1-3.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

import hl7  # type: ignore[import-untyped]

from ketaclinic.infusions import vitals

ACCEPT: Final = "AA"
ERROR: Final = "AE"
REJECT: Final = "AR"

# HL7 table 0357 (message error condition codes), sent in ERR-3 of a negative ACK.
ERR_UNSUPPORTED_TYPE: Final = ("200", "Unsupported message type")
ERR_UNKNOWN_KEY: Final = ("204", "Unknown key identifier")
ERR_DATA_TYPE: Final = ("102", "Data type error")
ERR_REQUIRED_MISSING: Final = ("101", "Required field missing")
ERR_SEGMENT_SEQUENCE: Final = ("100", "Segment sequence error")
ERR_INTERNAL: Final = ("207", "Application internal error")


@dataclass(frozen=True)
class Unit:
    """A unit as a monitor may send it, with the conversion into the chart's unit."""

    dimension: str  # "pressure" (mmHg), "rate" (/min), "percent", "temperature" (°C)
    to_chart: Callable[[Decimal], Decimal]


def _same(value: Decimal) -> Decimal:
    return value


def _kpa_to_mmhg(value: Decimal) -> Decimal:
    return value * Decimal("7.50062")  # 1 kPa = 7.50062 mmHg


def _fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return (value - 32) * 5 / 9


_MMHG = Unit("pressure", _same)
_KPA = Unit("pressure", _kpa_to_mmhg)
_PER_MIN = Unit("rate", _same)
_PERCENT = Unit("percent", _same)
_CELSIUS = Unit("temperature", _same)
_FAHRENHEIT = Unit("temperature", _fahrenheit_to_celsius)

# OBX-6: UCUM codes (case-sensitive, as UCUM is), common spellings, and MDC unit codes
# (numeric and reference ID, IEEE 11073-10101 partition 4).
UNITS: Final[dict[str, Unit]] = {
    **dict.fromkeys(("mm[Hg]", "mmHg", "266016", "MDC_DIM_MMHG"), _MMHG),
    **dict.fromkeys(("kPa", "MDC_DIM_KILO_PASCAL"), _KPA),
    **dict.fromkeys(
        (
            "/min",
            "1/min",
            "{beats}/min",
            "{beat}/min",
            "{Beats}/min",
            "beats/min",
            "bpm",
            "264864",
            "MDC_DIM_BEAT_PER_MIN",
            "{breaths}/min",
            "{breath}/min",
            "{resp}/min",
            "breaths/min",
            "264928",
            "MDC_DIM_RESP_PER_MIN",
        ),
        _PER_MIN,
    ),
    **dict.fromkeys(("%", "262688", "MDC_DIM_PERCENT"), _PERCENT),
    **dict.fromkeys(("Cel", "degC", "°C", "268192", "MDC_DIM_DEGC"), _CELSIUS),
    **dict.fromkeys(("[degF]", "degF", "°F", "MDC_DIM_FAHR"), _FAHRENHEIT),
}


@dataclass(frozen=True)
class Code:
    """What an OBX-3 code means for the flowsheet. ``field`` is the VitalSign field (``None``:
    recognised and checked, not charted); ``rank`` picks between two codes for the same field in
    one set (lower wins: ECG heart rate over the oximeter's pulse rate)."""

    field: str | None
    dimension: str
    label: str
    rank: int = 0


_SYS = Code("systolic", "pressure", "systolic blood pressure")
_DIA = Code("diastolic", "pressure", "diastolic blood pressure")
_MEAN = Code(None, "pressure", "mean blood pressure")
_HR = Code("heart_rate", "rate", "heart rate")
_PULSE = Code("heart_rate", "rate", "pulse rate", rank=1)
_SPO2 = Code("spo2", "percent", "SpO2")
_RR = Code("resp_rate", "rate", "respiratory rate")
_RR_CO2 = Code("resp_rate", "rate", "respiratory rate (capnography)", rank=1)
_ETCO2 = Code("etco2", "pressure", "EtCO2")
_TEMP = Code("temperature_c", "temperature", "temperature")

# OBX-3 identifiers. LOINC codes (https://loinc.org) as used by the HL7 vital-signs profile;
# MDC codes and reference IDs from IEEE 11073-10101 as sent by monitors following the IHE PCD-01
# profile: non-invasive (1500 2x) and arterial (1500 1x, 1500 3x) pressures, ECG heart rate,
# pulse-oximeter and non-invasive pulse rate, SpO2, impedance and capnography respiratory rate,
# end-tidal CO2, and body temperature. Keys never collide: LOINC codes carry a check digit after
# a dash, MDC numeric codes have none, reference IDs start with MDC_.
CODES: Final[dict[str, Code]] = {
    # LOINC
    "8480-6": _SYS,
    "8462-4": _DIA,
    "8478-0": _MEAN,
    "8867-4": _HR,
    "8889-8": _PULSE,
    "59408-5": _SPO2,
    "2708-6": _SPO2,
    "9279-1": _RR,
    "19891-1": _ETCO2,
    "8310-5": _TEMP,
    "8331-1": _TEMP,
    # IEEE 11073-10101 (MDC)
    "150021": _SYS,
    "MDC_PRESS_BLD_NONINV_SYS": _SYS,
    "150022": _DIA,
    "MDC_PRESS_BLD_NONINV_DIA": _DIA,
    "150023": _MEAN,
    "MDC_PRESS_BLD_NONINV_MEAN": _MEAN,
    "150017": _SYS,
    "MDC_PRESS_BLD_ART_SYS": _SYS,
    "150018": _DIA,
    "MDC_PRESS_BLD_ART_DIA": _DIA,
    "150019": _MEAN,
    "MDC_PRESS_BLD_ART_MEAN": _MEAN,
    "150033": _SYS,
    "MDC_PRESS_BLD_ART_ABP_SYS": _SYS,
    "150034": _DIA,
    "MDC_PRESS_BLD_ART_ABP_DIA": _DIA,
    "150035": _MEAN,
    "MDC_PRESS_BLD_ART_ABP_MEAN": _MEAN,
    "147842": _HR,
    "MDC_ECG_HEART_RATE": _HR,
    "149530": _PULSE,
    "MDC_PULS_OXIM_PULS_RATE": _PULSE,
    "149546": _PULSE,
    "MDC_PULS_RATE_NON_INV": _PULSE,
    "150456": _SPO2,
    "MDC_PULS_OXIM_SAT_O2": _SPO2,
    "151562": _RR,
    "MDC_RESP_RATE": _RR,
    "151578": _RR,
    "MDC_TTHOR_RESP_RATE": _RR,
    "151594": _RR_CO2,
    "MDC_CO2_RESP_RATE": _RR_CO2,
    "151708": _ETCO2,
    "MDC_AWAY_CO2_ET": _ETCO2,
    "150364": _TEMP,
    "MDC_TEMP_BODY": _TEMP,
    "150344": _TEMP,
    "MDC_TEMP": _TEMP,
}

# OBX-11 result status: corrected, final, preliminary, partial, result (IHE PCD) or none.
# "X" (could not be obtained), "D"/"W" (deleted / wrong) and the rest carry no value to chart.
USABLE_STATUSES: Final = frozenset({"", "C", "F", "P", "R", "S"})
TEMPERATURE_PLACES: Final = Decimal("0.1")
CONTROL_ID_MAX: Final = 64
DEVICE_MAX: Final = 120
ERROR_MAX: Final = 300


@dataclass(frozen=True)
class Header:
    """What the ACK needs from MSH (and what the log keeps): never any patient data."""

    control_id: str = ""
    device: str = ""
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"
    version: str = "2.6"
    trigger: str = "R01"
    field_separator: str = "|"
    encoding_characters: str = "^~\\&"


@dataclass(frozen=True)
class Problem:
    """Why a message is answered AE or AR; ``text`` is safe to log (no patient data)."""

    ack_code: str
    text: str
    error: tuple[str, str] = ERR_INTERNAL


@dataclass(frozen=True)
class ReadingSet:
    """One vitals set: the values observed at one time, in the chart's units. ``taken_at`` is
    naive when the monitor sent a time without a UTC offset (local time at the chair), ``None``
    when the message carries no time at all (the gateway then uses the time of receipt)."""

    taken_at: datetime | None
    values: Mapping[str, int | Decimal]


@dataclass(frozen=True)
class ParsedMessage:
    header: Header
    point_of_care: str = ""
    bed: str = ""
    readings: tuple[ReadingSet, ...] = ()
    problem: Problem | None = None
    ignored: int = 0  # OBX segments that carry nothing the flowsheet charts


class Segment:
    """One segment split into its fields: the part of a parsed message this feed reads.

    ``hl7.parse`` builds a container for every field, repetition and component of every segment
    (about 200 objects for a monitor's eight OBX), which costs more than everything else the
    gateway does with a message. Only a few components of MSH, PV1, OBR and OBX are read, so the
    message is split into segments and fields once and a component is split out when asked for,
    with python-hl7's own rules (:meth:`hl7.Segment.extract_field`: MSH-1 is the field separator
    and MSH-2 the encoding characters, a missing part is blank, a deeper tree yields its first
    leaf) and its own unescaping (:func:`hl7.util.unescape`)."""

    __slots__ = ("component", "esc", "fields", "kind", "repetition", "separators", "subcomponent")

    def __init__(self, text: str, separators: str, esc: str) -> None:
        self.separators = separators  # "\r", field, repetition, component, subcomponent (as hl7)
        self.repetition, self.component, self.subcomponent = separators[2], separators[3], separators[4]
        self.esc = esc
        field_separator = separators[1]
        self.kind = text[:3]
        if self.kind in {"MSH", "BHS", "FHS"} and len(text) > 3:  # noqa: PLR2004 - the segment ID
            end = text.find(text[3], 4)
            rest = text[end + 1 :] if end >= 0 else ""
            self.fields = [self.kind, text[3], text[4:end] if end >= 0 else text[4:]]
            if rest:
                self.fields += rest.split(field_separator)
        else:
            self.fields = text.split(field_separator)

    def __len__(self) -> int:
        return len(self.fields)

    def field(self, number: int) -> str:
        """The whole field as sent ('' when absent)."""
        return self.fields[number] if number < len(self.fields) else ""

    def part(self, field_num: int, component: int = 1, repetition: int = 1) -> str:
        """Subcomponent 1 of one component of one repetition of a field, unescaped; '' when
        absent. (A delimiter a value does not contain is not split on: most fields a monitor
        sends have no repetitions and no subcomponents, and this runs ~60 times a message.)"""
        if field_num >= len(self.fields):
            return ""
        value = self.fields[field_num]
        if field_num in {1, 2} and self.kind == "MSH":
            return value if component == 1 and repetition == 1 else ""
        value = _nth(_nth(value, self.repetition, repetition), self.component, component)
        if self.subcomponent in value:
            value = value.split(self.subcomponent, 1)[0]
        if self.esc in value:
            unescaped: str = hl7.util.unescape(self, value)
            return unescaped
        return value


def _nth(value: str, separator: str, number: int) -> str:
    """Part ``number`` (from 1) of ``value`` split on ``separator``, '' when there is none (a
    value without the separator is its own first part: nothing is split)."""
    if separator not in value:
        return value if number == 1 else ""
    parts = value.split(separator)
    return parts[number - 1] if number <= len(parts) else ""


def _part(segment: Segment, field_num: int, component: int = 1, repetition: int = 1) -> str:
    return segment.part(field_num, component, repetition).strip()


def split_message(text: str) -> list[Segment]:
    """The message's segments (``text`` has \\r between segments). Raises ``ValueError`` when it
    does not start with an MSH segment that declares its delimiters."""
    text = text.strip()
    if not text.startswith("MSH") or len(text) < 8:  # noqa: PLR2004 - "MSH|^~\\&"
        raise ValueError("no MSH segment with delimiters")
    field_separator = text[3]
    end = text.find(field_separator, 4)
    encoding = text[4:end] if end >= 0 else ""
    if field_separator.isalnum() or field_separator.isspace() or not encoding:
        raise ValueError("MSH-1/MSH-2 do not declare delimiters")
    # The order python-hl7 keeps them in: segment, field, repetition, component, subcomponent.
    separators = "".join(
        (
            "\r",
            field_separator,
            encoding[1] if len(encoding) > 1 else "~",  # MSH-2 is component, repetition,
            encoding[0],  # escape and subcomponent character, in that order
            encoding[3] if len(encoding) > 3 else "&",  # noqa: PLR2004
        )
    )
    esc = encoding[2] if len(encoding) > 2 else "\\"  # noqa: PLR2004
    return [Segment(line, separators, esc) for line in text.split("\r")]


def _first(segments: list[Segment], kind: str) -> Segment | None:
    return next((s for s in segments if s.kind == kind), None)


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # never fails: every byte is a character


_CONTROL_ID_RE = re.compile(r"^MSH(.)")


def _header_from_text(text: str) -> Header:
    """Best-effort MSH fields from a message python-hl7 could not parse, so even a rejection
    echoes the sender's control ID (MSA-2) when there is one."""
    first = text.lstrip().split("\r", 1)[0].split("\n", 1)[0]
    match = _CONTROL_ID_RE.match(first)
    if not match or match.group(1).isalnum():
        return Header()
    parts = first.split(match.group(1))

    def get(number: int) -> str:
        # parts[0] is "MSH", parts[1] the encoding characters: MSH-n is parts[n - 1].
        return parts[number - 1].strip() if len(parts) >= number else ""

    return Header(
        control_id=get(10)[:CONTROL_ID_MAX],
        sending_application=get(3),
        sending_facility=get(4),
        receiving_application=get(5),
        receiving_facility=get(6),
        processing_id=get(11) or "P",
        version=get(12) or "2.6",
        field_separator=match.group(1),
        encoding_characters=get(2) or "^~\\&",
    )


def _header(msh: Segment) -> Header:
    sending = _part(msh, 3)
    device = "^".join(p for p in (_part(msh, 3, 1), _part(msh, 3, 2)) if p) or sending
    return Header(
        control_id=_part(msh, 10)[:CONTROL_ID_MAX],
        device=device[:DEVICE_MAX],
        sending_application=msh.field(3),
        sending_facility=msh.field(4),
        receiving_application=msh.field(5),
        receiving_facility=msh.field(6),
        processing_id=_part(msh, 11) or "P",
        version=_part(msh, 12) or "2.6",
        trigger=_part(msh, 9, 2) or "R01",
        field_separator=msh.field(1),
        encoding_characters=msh.field(2),
    )


def _hl7_datetime(value: str) -> datetime | None:
    """``hl7.parse_datetime`` with its UTC offset as a standard ``datetime.timezone``: the
    package's own offset class cannot be pickled, and a parsed message may be handed to the
    gateway's writer process."""
    parsed: datetime | None = hl7.parse_datetime(value)
    offset = parsed.utcoffset() if parsed is not None else None
    if parsed is not None and offset is not None:
        parsed = parsed.replace(tzinfo=timezone(offset))
    return parsed


# A monitor stamps every OBX of a set with the same time: parse each distinct string once.
_parse_datetime = functools.lru_cache(maxsize=1024)(_hl7_datetime)


def _time(value: str, where: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed: datetime | None = _parse_datetime(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{where} '{value[:26]}' is not an HL7 date/time.") from exc
    return parsed


def _number(raw: str) -> Decimal | None:
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _code_of(obx: Any) -> Code | None:
    for component in (1, 2, 4, 5):
        code = CODES.get(_part(obx, 3, component))
        if code is not None:
            return code
    return None


def _unit_of(obx: Any) -> Unit | None:
    for component in (1, 2, 4, 5):
        unit = UNITS.get(_part(obx, 6, component))
        if unit is not None:
            return unit
    return None


def _chart_value(code: Code, value: Decimal) -> int | Decimal:
    if code.field == "temperature_c":
        return value.quantize(TEMPERATURE_PLACES, rounding=ROUND_HALF_UP)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _reject(header: Header, text: str, error: tuple[str, str]) -> ParsedMessage:
    return ParsedMessage(header=header, problem=Problem(REJECT, text, error))


def _where(obx: Segment, code: Code) -> str:
    """How an error names an OBX (worded only when there is an error)."""
    return f"OBX {_part(obx, 1) or '?'} ({code.label})"


def _observations(
    message: list[Segment], header_time: datetime | None
) -> tuple[dict[datetime | None, dict[str, tuple[int, Code, Decimal]]], int, list[str]]:
    """Walk the OBX segments in order, remembering the OBR-7 of the order they belong to."""
    groups: dict[datetime | None, dict[str, tuple[int, Code, Decimal]]] = {}
    errors: list[str] = []
    ignored = 0
    order_time = header_time
    for segment in message:
        kind = segment.kind
        if kind == "OBR":
            order_time = _time(_part(segment, 7), "OBR-7") or header_time
            continue
        if kind != "OBX":
            continue
        code = _code_of(segment)
        status = _part(segment, 11).upper()
        if code is None or status not in USABLE_STATUSES:
            ignored += 1
            continue
        value = _number(_part(segment, 5))
        if value is None:
            errors.append(f"{_where(segment, code)}: the value is not a number.")
            continue
        unit = _unit_of(segment)
        if unit is None:
            sent = _part(segment, 6, 1) or _part(segment, 6, 2)
            where = _where(segment, code)
            errors.append(
                f"{where}: unit '{sent[:20]}' is not a unit of {code.label}." if sent else f"{where}: no unit."
            )
            continue
        if unit.dimension != code.dimension:
            errors.append(f"{_where(segment, code)}: unit '{_part(segment, 6, 1)[:20]}' is not a unit of {code.label}.")
            continue
        try:
            taken_at = _time(_part(segment, 14), "OBX-14") or order_time
        except ValueError as exc:
            raise ValueError(f"{_where(segment, code)} {exc}") from exc
        if code.field is None:
            ignored += 1
            continue
        group = groups.setdefault(taken_at, {})
        current = group.get(code.field)
        if current is None or code.rank < current[0]:
            group[code.field] = (code.rank, code, unit.to_chart(value))
    return groups, ignored, errors


def parse_message(raw: bytes | str) -> ParsedMessage:
    """Read one HL7 message (the content of one MLLP block). Never raises: a message that cannot
    be used comes back with a :class:`Problem` saying which ACK it gets and why."""
    text = _decode(raw).replace("\r\n", "\r").replace("\n", "\r")
    if not text.lstrip().startswith("MSH"):
        return _reject(Header(), "Not an HL7 v2 message (no MSH segment).", ERR_SEGMENT_SEQUENCE)
    try:
        message = split_message(text)
    except ValueError:
        return _reject(_header_from_text(text), "The message could not be parsed as HL7 v2.", ERR_SEGMENT_SEQUENCE)
    msh = message[0]
    header = _header(msh)
    message_type = (_part(msh, 9, 1), _part(msh, 9, 2))
    if message_type != ("ORU", "R01"):
        shown = "^".join(p for p in message_type if p) or "none"
        return _reject(header, f"Message type {shown[:20]} is not accepted; send ORU^R01.", ERR_UNSUPPORTED_TYPE)
    pv1 = _first(message, "PV1")
    point_of_care = _part(pv1, 3, 1) if pv1 is not None else ""
    bed = _part(pv1, 3, 3) if pv1 is not None else ""
    if not point_of_care or not bed:
        return _reject(
            header,
            "No chair: PV1-3 must carry the location (PV1-3.1) and the chair's name (PV1-3.3).",
            ERR_REQUIRED_MISSING,
        )
    located = ParsedMessage(header=header, point_of_care=point_of_care[:120], bed=bed[:60])
    try:
        header_time = _time(_part(msh, 7), "MSH-7")
        groups, ignored, errors = _observations(message, header_time)
    except ValueError as exc:
        return _with_problem(located, Problem(ERROR, str(exc), ERR_DATA_TYPE))
    if errors:
        return _with_problem(located, Problem(ERROR, " ".join(errors), ERR_DATA_TYPE))
    readings = tuple(
        ReadingSet(taken_at, {name: _chart_value(code, value) for name, (_, code, value) in group.items()})
        for taken_at, group in groups.items()
        if group
    )
    if not readings:
        return _with_problem(
            located, Problem(ERROR, "No OBX carries a vital sign this clinic charts.", ERR_REQUIRED_MISSING)
        )
    implausible = _implausible(readings)
    if implausible:
        return _with_problem(located, Problem(ERROR, implausible, ERR_DATA_TYPE))
    return ParsedMessage(
        header=header, point_of_care=located.point_of_care, bed=located.bed, readings=readings, ignored=ignored
    )


def _with_problem(parsed: ParsedMessage, problem: Problem) -> ParsedMessage:
    return ParsedMessage(header=parsed.header, point_of_care=parsed.point_of_care, bed=parsed.bed, problem=problem)


def _implausible(readings: Iterable[ReadingSet]) -> str:
    """The plausibility check a typed set gets (vitals.check_plausible), here before any database
    work so a probe error is answered AE at once; the action checks again when it records."""
    messages: list[str] = []
    for reading in readings:
        try:
            vitals.check_plausible(reading.values)
        except vitals.ImplausibleVitals as exc:
            messages.extend(exc.errors.values())
    return " ".join(messages)


def _escape(text: str, header: Header) -> str:
    """HL7 escape sequences for free text in the sender's own delimiters (§2.7)."""
    encoding = (header.encoding_characters + "^~\\&")[:4]
    component, repetition, escape, subcomponent = encoding[0], encoding[1], encoding[2], encoding[3]
    text = " ".join(text.split())  # no segment terminators or tabs inside a field
    text = text.replace(escape, f"{escape}E{escape}")
    for char, code in (
        (header.field_separator, "F"),
        (component, "S"),
        (repetition, "R"),
        (subcomponent, "T"),
    ):
        text = text.replace(char, f"{escape}{code}{escape}")
    return text


def build_ack(
    header: Header, ack_code: str, text: str = "", *, error: tuple[str, str] | None = None, now: datetime, ack_id: str
) -> bytes:
    """The original-mode acknowledgement (HL7 v2 §2.9.2): MSH with sender and receiver swapped,
    MSA echoing the message's control ID, and for AE/AR an ERR segment (ERR-3 from table 0357,
    ERR-4 severity E, ERR-8 the user message)."""
    sep = header.field_separator
    component = (header.encoding_characters or "^")[0]
    msh = sep.join(
        (
            "MSH",
            header.encoding_characters,
            header.receiving_application or "KETACLINIC",
            header.receiving_facility,
            header.sending_application,
            header.sending_facility,
            now.strftime("%Y%m%d%H%M%S%z"),
            "",
            component.join(("ACK", header.trigger, "ACK")),
            ack_id,
            header.processing_id,
            header.version,
        )
    )
    escaped = _escape(text, header)[:ERROR_MAX]
    segments = [msh, sep.join(("MSA", ack_code, header.control_id, escaped))]
    if ack_code != ACCEPT:
        code, name = error or ERR_INTERNAL
        segments.append(sep.join(("ERR", "", "", component.join((code, name, "HL70357")), "E", "", "", "", escaped)))
    return ("\r".join(segments) + "\r").encode("utf-8")
