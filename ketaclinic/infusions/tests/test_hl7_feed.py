"""The monitor feed's pure half: HL7 ORU^R01 in, vitals sets and ACKs out (no database)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import hl7  # type: ignore[import-untyped]
import pytest

from ketaclinic.infusions import hl7_feed
from ketaclinic.infusions.hl7_feed import ACCEPT, ERROR, REJECT, Header, build_ack, parse_message

MSH = "MSH|^~\\&|MONITOR^0123456789ABCDEF^EUI-64|WARD|KC|CLINIC|20260302101500||ORU^R01^ORU_R01|MSG0001|P|2.6"
PID = "PID|||MRN12345^^^HOSP^MR||Doe^Jane||19800101|F"
PV1 = "PV1||O|Home Site^^Chair 1"
OBR = "OBR|1|||182777000^monitoring of patient^SCT|||20260302101400"


def wall_clock(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A monitor's time sent without a UTC offset: the chair's local time, resolved later."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - deliberately naive, as the monitor sent it


def obx(n: int, code: str, value: str, unit: str, at: str = "", status: str = "F") -> str:
    return f"OBX|{n}|NM|{code}||{value}|{unit}|||||{status}|||{at}"


def message(*obxs: str, msh: str = MSH, pv1: str | None = PV1, obr: str | None = OBR) -> str:
    segments = [msh, PID] + ([pv1] if pv1 else []) + ([obr] if obr else []) + list(obxs)
    return "\r".join(segments) + "\r"


MDC_SET = (
    obx(1, "150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "132", "266016^MDC_DIM_MMHG^MDC", "20260302101000-0700"),
    obx(2, "150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "84", "266016^MDC_DIM_MMHG^MDC", "20260302101000-0700"),
    obx(3, "150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "100", "266016^MDC_DIM_MMHG^MDC", "20260302101000-0700"),
    obx(4, "147842^MDC_ECG_HEART_RATE^MDC", "71.5", "264864^MDC_DIM_BEAT_PER_MIN^MDC", "20260302101000-0700"),
    obx(5, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", "262688^MDC_DIM_PERCENT^MDC", "20260302101000-0700"),
    obx(6, "151562^MDC_RESP_RATE^MDC", "14", "264928^MDC_DIM_RESP_PER_MIN^MDC", "20260302101000-0700"),
    obx(7, "151708^MDC_AWAY_CO2_ET^MDC", "38", "266016^MDC_DIM_MMHG^MDC", "20260302101000-0700"),
    obx(8, "150364^MDC_TEMP_BODY^MDC", "36.84", "268192^MDC_DIM_DEGC^MDC", "20260302101000-0700"),
)


def test_mdc_codes_map_to_one_vitals_set_in_chart_units():
    parsed = parse_message(message(*MDC_SET))
    assert parsed.problem is None
    assert (parsed.point_of_care, parsed.bed) == ("Home Site", "Chair 1")
    assert len(parsed.readings) == 1
    reading = parsed.readings[0]
    assert reading.values == {
        "systolic": 132,
        "diastolic": 84,
        "heart_rate": 72,  # 71.5 rounds half up to the whole beats the chart holds
        "spo2": 97,
        "resp_rate": 14,
        "etco2": 38,
        "temperature_c": Decimal("36.8"),
    }
    assert reading.taken_at == datetime(2026, 3, 2, 17, 10, tzinfo=UTC)
    assert parsed.ignored == 1  # the mean pressure is checked but not charted


def test_loinc_codes_with_ucum_units_map_too():
    parsed = parse_message(
        message(
            obx(1, "8480-6^Systolic blood pressure^LN", "118", "mm[Hg]^^UCUM"),
            obx(2, "8462-4^Diastolic blood pressure^LN", "76", "mm[Hg]^^UCUM"),
            obx(3, "8867-4^Heart rate^LN", "64", "/min^^UCUM"),
            obx(4, "59408-5^SpO2^LN", "99", "%^^UCUM"),
            obx(5, "9279-1^Respiratory rate^LN", "12", "{breaths}/min^^UCUM"),
            obx(6, "8310-5^Body temperature^LN", "98.6", "[degF]^^UCUM"),
        )
    )
    assert parsed.problem is None
    assert parsed.readings[0].values == {
        "systolic": 118,
        "diastolic": 76,
        "heart_rate": 64,
        "spo2": 99,
        "resp_rate": 12,
        "temperature_c": Decimal("37.0"),
    }


def test_observations_are_grouped_by_time_with_obr_then_msh_fallback():
    parsed = parse_message(
        message(
            obx(1, "8480-6^^LN", "120", "mm[Hg]", "20260302100000"),
            obx(2, "8462-4^^LN", "80", "mm[Hg]", "20260302100000"),
            obx(3, "8480-6^^LN", "126", "mm[Hg]", "20260302100500"),
            obx(4, "8462-4^^LN", "82", "mm[Hg]", "20260302100500"),
            obx(5, "8867-4^^LN", "70", "/min"),  # no OBX-14: the OBR-7 time
        )
    )
    assert parsed.problem is None
    by_time = {r.taken_at: dict(r.values) for r in parsed.readings}
    assert by_time == {
        wall_clock(2026, 3, 2, 10, 0): {"systolic": 120, "diastolic": 80},
        wall_clock(2026, 3, 2, 10, 5): {"systolic": 126, "diastolic": 82},
        wall_clock(2026, 3, 2, 10, 14): {"heart_rate": 70},
    }
    without_obr = parse_message(message(obx(1, "8867-4^^LN", "70", "/min"), obr=None))
    assert without_obr.readings[0].taken_at == wall_clock(2026, 3, 2, 10, 15)  # MSH-7
    no_time = MSH.replace("|20260302101500|", "||")
    assert (
        parse_message(message(obx(1, "8867-4^^LN", "70", "/min"), msh=no_time, obr=None)).readings[0].taken_at is None
    )


def test_ecg_heart_rate_wins_over_the_oximeter_pulse_rate_in_either_order():
    for order in ((1, 2), (2, 1)):
        segments = {
            1: obx(1, "149530^MDC_PULS_OXIM_PULS_RATE^MDC", "90", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
            2: obx(2, "147842^MDC_ECG_HEART_RATE^MDC", "88", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
        }
        parsed = parse_message(message(*(segments[i] for i in order)))
        assert parsed.readings[0].values == {"heart_rate": 88}


def test_unknown_codes_and_unusable_statuses_are_ignored():
    parsed = parse_message(
        message(
            obx(1, "148066^MDC_ECG_V_P_C_RATE^MDC", "1", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
            obx(2, "8867-4^^LN", "200", "/min", status="X"),
            obx(3, "8867-4^^LN", "66", "/min"),
        )
    )
    assert parsed.problem is None
    assert parsed.readings[0].values == {"heart_rate": 66}
    assert parsed.ignored == 2


@pytest.mark.parametrize(
    ("obxs", "fragment"),
    [
        ((obx(1, "8867-4^^LN", "fast", "/min"),), "OBX 1 (heart rate): the value is not a number."),
        ((obx(1, "8867-4^^LN", "70", ""),), "OBX 1 (heart rate): no unit."),
        ((obx(1, "8480-6^^LN", "16", "kPa"), obx(2, "8462-4^^LN", "80", "%")), "not a unit of diastolic"),
        ((obx(1, "59408-5^^LN", "97", "mm[Hg]"),), "not a unit of SpO2"),
        ((obx(1, "148066^MDC_ECG_V_P_C_RATE^MDC", "1", "/min"),), "No OBX carries a vital sign"),
        (
            (obx(1, "8867-4^^LN", "70", "/min", at="yesterday"),),
            "OBX 1 (heart rate) OBX-14 'yesterday' is not an HL7 date/time.",
        ),
    ],
)
def test_content_errors_are_answered_ae_with_a_reason(obxs, fragment):
    parsed = parse_message(message(*obxs))
    assert parsed.problem is not None
    assert parsed.problem.ack_code == ERROR
    assert fragment in parsed.problem.text
    assert parsed.readings == ()
    assert (parsed.point_of_care, parsed.bed) == ("Home Site", "Chair 1")  # still logged against the chair


def test_implausible_value_is_ae_before_any_database_work():
    parsed = parse_message(message(obx(1, "8480-6^^LN", "400", "mm[Hg]"), obx(2, "8462-4^^LN", "80", "mm[Hg]")))
    assert parsed.problem is not None
    assert parsed.problem.ack_code == ERROR
    assert "systolic blood pressure of 400 mmHg is not possible" in parsed.problem.text
    assert parsed.readings == ()


def test_kpa_pressure_is_converted_to_mmhg():
    parsed = parse_message(message(obx(1, "151708^MDC_AWAY_CO2_ET^MDC", "5.1", "kPa")))
    assert parsed.readings[0].values == {"etco2": 38}  # 5.1 kPa × 7.50062 = 38.25 mmHg


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("hello monitor", "Not an HL7 v2 message"),
        (message(obx(1, "8867-4^^LN", "70", "/min"), msh=MSH.replace("ORU^R01^ORU_R01", "ADT^A01")), "ADT^A01"),
        (message(obx(1, "8867-4^^LN", "70", "/min"), pv1=None), "PV1-3"),
        (message(obx(1, "8867-4^^LN", "70", "/min"), pv1="PV1||O|Home Site"), "PV1-3"),
    ],
)
def test_unusable_messages_are_answered_ar(raw, fragment):
    parsed = parse_message(raw)
    assert parsed.problem is not None
    assert parsed.problem.ack_code == REJECT
    assert fragment in parsed.problem.text


def test_unparseable_message_is_ar():
    parsed = parse_message("MSH|")
    assert parsed.problem is not None
    assert parsed.problem.ack_code == REJECT
    assert "could not be parsed" in parsed.problem.text


def test_parse_failure_still_echoes_the_control_id(monkeypatch):
    def refuse(text):
        raise ValueError("broken")

    monkeypatch.setattr(hl7_feed, "split_message", refuse)
    parsed = parse_message(message(*MDC_SET))
    assert parsed.problem is not None
    assert parsed.problem.ack_code == REJECT
    assert parsed.header.control_id == "MSG0001"
    assert parsed.header.sending_application == "MONITOR^0123456789ABCDEF^EUI-64"


def test_no_patient_identifier_reaches_the_parsed_message():
    parsed = parse_message(message(*MDC_SET))
    assert "MRN12345" not in repr(parsed)
    assert "Doe" not in repr(parsed)


def test_header_carries_control_id_and_device():
    header = parse_message(message(*MDC_SET)).header
    assert header.control_id == "MSG0001"
    assert header.device == "MONITOR^0123456789ABCDEF"


NOW = datetime(2026, 3, 2, 17, 15, tzinfo=UTC)


def _ack(raw: bytes) -> hl7.Message:
    return hl7.parse(raw.decode())


def test_accept_ack_swaps_sender_and_receiver_and_echoes_the_control_id():
    header = parse_message(message(*MDC_SET)).header
    ack = _ack(build_ack(header, ACCEPT, "Recorded 1 vitals set(s).", now=NOW, ack_id="A1"))
    assert str(ack["MSH.F3"]) == "KC"
    assert str(ack["MSH.F5"]) == "MONITOR"
    assert str(ack["MSH.F9.R1.C1"]) == "ACK"
    assert str(ack["MSH.F9.R1.C2"]) == "R01"
    assert str(ack["MSH.F10"]) == "A1"
    assert str(ack["MSA.F1"]) == "AA"
    assert str(ack["MSA.F2"]) == "MSG0001"
    with pytest.raises(KeyError):
        ack.segment("ERR")


def test_error_ack_carries_an_err_segment_and_escapes_delimiters():
    header = parse_message(message(*MDC_SET)).header
    raw = build_ack(header, ERROR, "bad | value ^ here & there", error=hl7_feed.ERR_DATA_TYPE, now=NOW, ack_id="A2")
    ack = _ack(raw)
    assert str(ack["MSA.F1"]) == "AE"
    assert ack.segment("MSA").extract_field(1, 3) == "bad | value ^ here & there"  # unescaped by the parser
    assert str(ack["ERR.F3.R1.C1"]) == "102"
    assert str(ack["ERR.F4"]) == "E"
    assert raw.count(b"\r") == 3


def test_ack_for_a_message_without_header_is_still_valid_hl7():
    ack = _ack(build_ack(Header(), REJECT, "Not HL7.", now=NOW, ack_id="A3"))
    assert str(ack["MSA.F1"]) == "AR"
    assert str(ack["MSA.F2"]) == ""


def test_every_code_maps_to_a_known_field_and_dimension():
    fields = {"systolic", "diastolic", "heart_rate", "spo2", "resp_rate", "etco2", "temperature_c", None}
    dimensions = {u.dimension for u in hl7_feed.UNITS.values()}
    for code in hl7_feed.CODES.values():
        assert code.field in fields
        assert code.dimension in dimensions


def test_half_values_round_up_to_whole_chart_units():
    parsed = parse_message(message(obx(1, "59408-5^^LN", "96.5", "%"), obx(2, "9279-1^^LN", "12.49", "/min")))
    assert parsed.readings[0].values == {"spo2": 97, "resp_rate": 12}
    assert isinstance(parsed.readings[0].values["spo2"], int)


ESCAPED = (
    "MSH|^~\\&|A^B\\S\\C&x~R2^c2|F|||20240101||ORU^R01|ID\\F\\1|P|2.6\r"
    "PV1||O|Site\\T\\1^^Chair 1&sub~rep2^x\r"
    "OBX|1|NM|8867-4^^LN||70|/min|||||F\r"
    "OBX|2|||\rZZZ\r\rOBX"
)
OTHER_DELIMITERS = "MSH#*$%@#A*B#C\rPV1##O#S1**B1\rOBX#1#NM#8867-4**LN##70#/min"


@pytest.mark.parametrize("raw", [message(*MDC_SET), ESCAPED, OTHER_DELIMITERS])
def test_fields_read_as_python_hl7_reads_them(raw):
    """The light splitter answers every field, component and repetition as hl7.parse does."""
    reference = hl7.parse(raw)
    segments = hl7_feed.split_message(raw)
    assert [str(s[0]) for s in reference] == [s.kind for s in segments]
    for ours, theirs in zip(segments, reference, strict=True):
        assert len(ours) == len(theirs)
        for number in range(1, len(theirs) + 2):
            for component in (1, 2, 3):
                for repetition in (1, 2):
                    try:
                        expected = str(theirs.extract_field(1, number, repetition, component))
                    except IndexError:
                        expected = ""
                    assert ours.part(number, component, repetition) == expected, (ours.kind, number, component)
        assert [ours.field(n) for n in range(1, len(theirs))] == [str(theirs(n)) for n in range(1, len(theirs))]


def test_escaped_delimiters_are_read_back():
    parsed = parse_message(ESCAPED)
    assert parsed.header.control_id == "ID|1"
    assert parsed.point_of_care == "Site&1"
    assert parsed.bed == "Chair 1"


def test_a_parsed_message_survives_pickling_for_the_writer_process():
    """The gateway may hand parsed messages to a writer process: times carry a standard offset."""
    offset = obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "72", "264864^MDC_DIM_BEAT_PER_MIN^MDC", "20260305091500-0500")
    utc = obx(2, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", "262688^MDC_DIM_PERCENT^MDC", "20260305141600+0000")
    parsed = parse_message(message(offset, utc))
    assert parsed.problem is None
    assert pickle.loads(pickle.dumps(parsed)) == parsed  # noqa: S301 - our own bytes
    assert [r.taken_at for r in parsed.readings] == [
        datetime(2026, 3, 5, 14, 15, tzinfo=UTC),
        datetime(2026, 3, 5, 14, 16, tzinfo=UTC),
    ]
    first = parsed.readings[0].taken_at
    assert first is not None
    assert first.utcoffset() == timedelta(hours=-5)  # the monitor's own offset is kept
