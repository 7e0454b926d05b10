"""The monitor gateway: messages find the chair's active session, values are charted as device
vitals, every message is answered (AA/AE/AR) and logged, and the real MLLP server does this over
a socket."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketaclinic.clinics.models import Chair
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions import actions
from ketaclinic.infusions.hl7_feed import ParsedMessage, parse_message
from ketaclinic.infusions.management.commands import run_monitor_gateway
from ketaclinic.infusions.management.commands.run_monitor_gateway import (
    ChairDirectory,
    Gateway,
    handle_message,
    record_messages,
)
from ketaclinic.infusions.models import Alert, InfusionSession, MonitorMessage, VitalSign, VitalSource
from ketaclinic.infusions.tests.factories import BASELINE, make_session

PID = "PID|||MRN12345^^^HOSP^MR||Doe^Jane||19800101|F"


def hl7_time(at: datetime) -> str:
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y%m%d%H%M%S+0000")


def oru(
    *obxs: str,
    control_id: str = "MSG1",
    bed: str = "Chair 1",
    location: str = "Home Site",
    message_type: str = "ORU^R01^ORU_R01",
) -> bytes:
    segments = [
        f"MSH|^~\\&|MONITOR^ABCDEF^EUI-64|WARD|KC|CLINIC|{hl7_time(timezone.now())}||{message_type}|{control_id}|P|2.6",
        PID,
        f"PV1||O|{location}^^{bed}",
        "OBR|1|||182777000^monitoring of patient^SCT",
        *obxs,
    ]
    return ("\r".join(segments) + "\r").encode()


def vitals_obx(
    at: datetime | None = None, *, systolic: int = 128, diastolic: int = 80, heart_rate: int = 74, spo2: int = 97
) -> list[str]:
    when = hl7_time(at or timezone.now())
    return [
        f"OBX|1|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC||{systolic}|266016^MDC_DIM_MMHG^MDC|||||F|||{when}",
        f"OBX|2|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC||{diastolic}|266016^MDC_DIM_MMHG^MDC|||||F|||{when}",
        f"OBX|3|NM|147842^MDC_ECG_HEART_RATE^MDC||{heart_rate}|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F|||{when}",
        f"OBX|4|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||{spo2}|262688^MDC_DIM_PERCENT^MDC|||||F|||{when}",
    ]


def ack_fields(raw: bytes) -> tuple[str, str, str]:
    ack = hl7.parse(raw.decode())
    msa = ack.segment("MSA")
    return str(msa(1)), str(msa(2)), msa.extract_field(1, 3)


def device_vitals(session: InfusionSession) -> list[VitalSign]:
    return list(VitalSign.objects.filter(session=session, source=VitalSource.DEVICE))


def test_monitor_values_are_charted_as_device_vitals_awaiting_validation(world):
    session = make_session(world, "infusing")
    code, control_id, text = ack_fields(handle_message(oru(*vitals_obx(), control_id="C-1")))
    assert (code, control_id) == ("AA", "C-1")
    assert "Recorded 1 vitals set(s)" in text
    [vital] = device_vitals(session)
    assert (vital.systolic, vital.diastolic, vital.heart_rate, vital.spo2) == (128, 80, 74, 97)
    assert vital.needs_validation
    assert vital.recorded_by is None
    assert vital.device_message_id == "C-1"
    assert vital.phase == "infusion"
    log = MonitorMessage.objects.get()
    assert (log.ack_code, log.control_id, log.chair_id, log.session_id) == ("AA", "C-1", session.chair_id, session.pk)
    assert log.values_recorded == 4
    assert log.device == "MONITOR^ABCDEF"


def test_one_vitals_set_per_observation_time_in_one_message(world):
    session = make_session(world, "infusing")
    base = session.checked_in_at.replace(microsecond=0) + timedelta(seconds=1)
    obxs = vitals_obx(base) + vitals_obx(base + timedelta(seconds=30), heart_rate=80)
    code, _, _ = ack_fields(handle_message(oru(*obxs)))
    assert code == "AA"
    assert [(v.taken_at, v.heart_rate) for v in device_vitals(session)] == [
        (base, 74),
        (base + timedelta(seconds=30), 80),
    ]
    assert MonitorMessage.objects.get().values_recorded == 8


def test_device_values_past_thresholds_raise_alerts(world):
    session = make_session(world, "infusing")
    code, _, text = ack_fields(handle_message(oru(*vitals_obx(systolic=190, diastolic=112, spo2=86))))
    assert code == "AA"
    alerts = Alert.objects.filter(session=session)
    parameters = {a.parameter for a in alerts}
    assert {"systolic", "diastolic", "spo2"} <= parameters
    assert all(a.vital.source == VitalSource.DEVICE for a in alerts)
    assert f"{alerts.count()} alert(s)" in text


def test_implausible_value_is_ae_and_nothing_recorded(world):
    session = make_session(world, "infusing")
    code, _, text = ack_fields(handle_message(oru(*vitals_obx(systolic=400))))
    assert code == "AE"
    assert "not possible" in text
    assert device_vitals(session) == []
    log = MonitorMessage.objects.get()
    assert (log.ack_code, log.session_id, log.values_recorded) == ("AE", session.pk, 0)
    assert "not possible" in log.error


def test_one_implausible_set_refuses_the_whole_message(world):
    session = make_session(world, "infusing")
    base = session.checked_in_at
    obxs = vitals_obx(base) + vitals_obx(base + timedelta(seconds=20), heart_rate=400)
    assert ack_fields(handle_message(oru(*obxs)))[0] == "AE"
    assert device_vitals(session) == []


def test_unknown_chair_is_ar_and_logged_without_chair(world):
    make_session(world, "infusing")
    code, control_id, text = ack_fields(handle_message(oru(*vitals_obx(), bed="Chair 99", control_id="X9")))
    assert (code, control_id) == ("AR", "X9")
    assert "Chair 99" in text
    log = MonitorMessage.objects.get()
    assert (log.ack_code, log.chair_id, log.session_id) == ("AR", None, None)
    assert VitalSign.objects.filter(source=VitalSource.DEVICE).count() == 0


def test_chair_at_another_location_is_not_matched(world):
    make_session(world, "infusing")
    assert ack_fields(handle_message(oru(*vitals_obx(), location="Away Site", bed="Chair 3")))[0] == "AR"


def test_no_active_session_on_the_chair_is_ae(world):
    make_session(world, "infusing")
    code, _, text = ack_fields(handle_message(oru(*vitals_obx(), bed="Chair 2")))
    assert code == "AE"
    assert "No active infusion session on Chair 2" in text
    log = MonitorMessage.objects.get()
    assert log.chair is not None
    assert log.chair.name == "Chair 2"
    assert log.session_id is None


def test_signed_session_is_no_longer_active(world):
    session = make_session(world, "signed")
    assert ack_fields(handle_message(oru(*vitals_obx())))[0] == "AE"
    assert device_vitals(session) == []


def test_wrong_message_type_and_garbage_are_ar_and_logged(world):
    make_session(world, "infusing")
    assert ack_fields(handle_message(oru(*vitals_obx(), message_type="ADT^A01")))[0] == "AR"
    assert ack_fields(handle_message(b"GET / HTTP/1.1\r\n\r\n"))[0] == "AR"
    assert list(MonitorMessage.objects.values_list("ack_code", flat=True)) == ["AR", "AR"]


def test_location_pk_and_any_case_chair_name_find_the_chair(world):
    session = make_session(world, "infusing")
    raw = oru(*vitals_obx(), location=str(world.location.pk), bed="chair 1")
    assert ack_fields(handle_message(raw))[0] == "AA"
    assert len(device_vitals(session)) == 1


def test_time_without_offset_is_the_chairs_local_time(world):
    session = make_session(world, "infusing")
    local_at = (session.checked_in_at + timedelta(seconds=61)).astimezone(ZoneInfo(world.location.time_zone))
    local_at = local_at.replace(microsecond=0)
    stamp = local_at.strftime("%Y%m%d%H%M%S")
    obxs = [o.replace(hl7_time(timezone.now()), stamp) for o in vitals_obx(timezone.now())]
    assert ack_fields(handle_message(oru(*obxs)))[0] == "AA"
    [vital] = device_vitals(session)
    assert vital.taken_at == local_at


def test_times_in_the_future_or_before_check_in_are_ae(world):
    session = make_session(world, "infusing")
    later = handle_message(oru(*vitals_obx(timezone.now() + timedelta(minutes=30))))
    assert ack_fields(later)[0] == "AE"
    earlier = handle_message(oru(*vitals_obx(session.checked_in_at - timedelta(hours=2)), control_id="M2"))
    code, _, text = ack_fields(earlier)
    assert code == "AE"
    assert "before this session's check-in" in text
    assert device_vitals(session) == []


def test_a_repeated_message_is_acknowledged_but_not_charted_twice(world):
    session = make_session(world, "infusing")
    raw = oru(*vitals_obx(), control_id="SAME")
    assert ack_fields(handle_message(raw))[0] == "AA"
    code, _, text = ack_fields(handle_message(raw))
    assert code == "AA"
    assert "Already recorded" in text
    assert len(device_vitals(session)) == 1


def test_no_patient_identifier_is_logged(world, caplog):
    make_session(world, "infusing")
    caplog.set_level(logging.DEBUG, logger="ketaclinic.infusions.monitor")
    handle_message(oru(*vitals_obx(systolic=400)))
    handle_message(oru(*vitals_obx(), bed="Nowhere"))
    handle_message(oru(*vitals_obx()))
    stored = " ".join(
        str(v) for row in MonitorMessage.objects.values_list("control_id", "device", "error") for v in row
    )
    for identifier in ("MRN12345", "Doe", "Jane", "19800101"):
        assert identifier not in stored
        assert identifier not in caplog.text
    assert "AE" in caplog.text  # the refusals were logged, without the identifiers


def test_a_batch_keeps_good_messages_when_one_is_refused(world):
    session = make_session(world, "infusing")
    now = timezone.now()
    items = [
        (parse_message(oru(*vitals_obx(session.checked_in_at), control_id="B1")), now),
        (parse_message(oru(*vitals_obx(systolic=400), control_id="B2")), now),
        (parse_message(oru(*vitals_obx(now), control_id="B3")), now),
    ]
    outcomes = record_messages(items)
    assert [o.ack_code for o in outcomes] == ["AA", "AE", "AA"]
    assert sorted(v.device_message_id for v in device_vitals(session)) == ["B1", "B3"]
    assert MonitorMessage.objects.count() == 3


def test_the_same_message_twice_in_one_batch_is_charted_once(world):
    session = make_session(world, "infusing")
    now = timezone.now()
    raw = oru(*vitals_obx(now), control_id="TWICE")
    outcomes = record_messages([(parse_message(raw), now), (parse_message(raw), now)])
    assert [o.ack_code for o in outcomes] == ["AA", "AA"]
    assert "Recorded 1" in outcomes[0].text
    assert "Already recorded" in outcomes[1].text
    assert [v.device_message_id for v in device_vitals(session)] == ["TWICE"]
    assert MonitorMessage.objects.count() == 2


def test_a_batch_costs_the_same_queries_whatever_its_size(world):
    first = make_session(world, "infusing")
    second = make_session(world, "infusing", chair_index=1)
    chairs = ChairDirectory()
    now = timezone.now()
    beds = list(Chair.objects.filter(pk__in=[first.chair_id, second.chair_id]).values_list("name", flat=True))

    def batch(count: int, prefix: str) -> list[tuple[ParsedMessage, datetime]]:
        return [
            (parse_message(oru(*vitals_obx(now, systolic=190), bed=bed, control_id=f"{prefix}{n}")), now)
            for n in range(count)
            for bed in beds
        ]

    record_messages(batch(1, "warm"), chairs)  # the chair directory learns the chairs
    with CaptureQueriesContext(connection) as small:
        record_messages(batch(1, "S"), chairs)
    with CaptureQueriesContext(connection) as large:
        outcomes = record_messages(batch(20, "L"), chairs)
    assert {o.ack_code for o in outcomes} == {"AA"}
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(device_vitals(first)) == len(device_vitals(second)) == 22
    assert Alert.objects.filter(session=second, vital__device_message_id="L19").exists()


def test_a_failed_batch_is_stored_one_message_at_a_time(world, monkeypatch):
    session = make_session(world, "infusing")
    now = timezone.now()

    def broken(*args: object) -> set[int]:
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(run_monitor_gateway, "_repeats", broken)
    items = [(parse_message(oru(*vitals_obx(now), control_id=f"F{n}")), now) for n in range(3)]
    assert [o.ack_code for o in record_messages(items)] == ["AA", "AA", "AA"]
    assert sorted(v.device_message_id for v in device_vitals(session)) == ["F0", "F1", "F2"]
    assert MonitorMessage.objects.filter(ack_code="AA").count() == 3


def test_the_chair_directory_forgets_after_its_ttl(world):
    make_session(world, "infusing")
    clock = [0.0]
    chairs = ChairDirectory(ttl_s=5, clock=lambda: clock[0])
    chair = chairs.find("Home Site", "CHAIR 1")
    assert chair is not None
    Chair.objects.filter(pk=chair.pk).update(name="Recliner 1")
    clock[0] = 4.9
    assert chairs.find("home site", "chair 1") == chair
    clock[0] = 5.0
    assert chairs.find("Home Site", "Chair 1") is None
    assert chairs.find("Home Site", "Recliner 1") == chair


def _typed_and_device(world, stage: str) -> tuple[InfusionSession, InfusionSession, list[actions.DeviceReading]]:
    typed = make_session(world, stage)
    device = make_session(world, stage, chair_index=1)
    now = timezone.now()
    readings = [  # before and after the baseline set, with rises past the protocol's limits
        actions.DeviceReading({**BASELINE, "systolic": 170, "diastolic": 96}, now - timedelta(minutes=30), "R1"),
        actions.DeviceReading({**BASELINE, "systolic": 150}, now - timedelta(seconds=20), "R2"),
        actions.DeviceReading({**BASELINE, "systolic": 168, "spo2": 88}, now - timedelta(seconds=10), "R3"),
        actions.DeviceReading({**BASELINE, "diastolic": 106}, now - timedelta(minutes=40), "R4"),
    ]
    return typed, device, readings


@pytest.mark.parametrize("stage", ["ready", "infusing"])
def test_batched_device_vitals_raise_exactly_the_alerts_typed_vitals_raise(world, stage):
    typed, device, readings = _typed_and_device(world, stage)
    for r in readings:
        actions.record_vitals(acting_user=world["nurse"], session=typed, values=r.values, taken_at=r.taken_at)
    results = actions.record_device_vitals_many(
        [
            actions.DeviceMessage(session=device, readings=readings[:2], device="m"),
            actions.DeviceMessage(session=device, readings=readings[2:], device="m"),
        ]
    )
    assert not any(isinstance(r, ValidationError) for r in results)

    def alerts(session: InfusionSession) -> list[set[tuple[str, str, str]]]:
        rows = VitalSign.objects.filter(session=session, recorded_at__gte=readings[0].taken_at).order_by("pk")
        return [{(a.kind, a.parameter, a.message) for a in v.alerts.all()} for v in rows.prefetch_related("alerts")]

    expected = alerts(typed)
    assert any(any(kind == "change" for kind, _, _ in found) for found in expected)  # the case is exercised
    assert alerts(device)[-len(readings) :] == expected[-len(readings) :]


def test_a_refused_message_leaves_the_rest_of_the_batch_stored(world):
    charting = make_session(world, "infusing")
    signed = make_session(world, "signed", chair_index=1)
    now = timezone.now()
    good = [actions.DeviceReading({"heart_rate": 80, "spo2": 97}, now, "G1")]
    before = AuditEvent.objects.count()
    results = actions.record_device_vitals_many(
        [
            actions.DeviceMessage(session=charting, readings=good, device="m1"),
            actions.DeviceMessage(session=charting, readings=[actions.DeviceReading({"spo2": 130}, now, "X")]),
            actions.DeviceMessage(session=signed, readings=good, device="m2"),
            actions.DeviceMessage(session=charting, readings=good, device="m1"),
        ]
    )
    assert [type(r).__name__ for r in results] == ["list", "ValidationError", "ValidationError", "list"]
    refused = results[2]
    assert isinstance(refused, ValidationError)
    assert "signed" in " ".join(refused.messages)
    assert VitalSign.objects.filter(session=signed, source="device").count() == 0
    stored = device_vitals(charting)
    assert len(stored) == 2
    [event] = AuditEvent.objects.order_by("pk")[before:]  # one event per session and device
    assert event.changes["vitals"] == [None, [v.pk for v in stored]]
    assert event.actor_username == "monitor:m1"
    assert event.patient_id == charting.patient_id


def _stored(session: InfusionSession) -> list[tuple[Any, ...]]:
    """Every stored column of the session's device vitals and their alerts, read back."""
    skip = {"id", "session", "recorded_at"}
    names = [f.attname for f in VitalSign._meta.concrete_fields if f.name not in skip]
    rows = VitalSign.objects.filter(session=session, source=VitalSource.DEVICE).order_by("pk")
    return [
        (
            *(getattr(v, name) for name in names),
            sorted((a.kind, a.parameter, a.value, a.message) for a in v.alerts.all()),
        )
        for v in rows.prefetch_related("alerts")
    ]


def test_a_batch_with_alerts_stores_exactly_what_one_message_at_a_time_stores(world):
    single = make_session(world, "infusing")
    batched = make_session(world, "infusing", chair_index=1)
    now = timezone.now()
    messages = [
        [actions.DeviceReading({**BASELINE, "systolic": 190, "diastolic": 112}, now - timedelta(seconds=40), "A1")],
        [
            actions.DeviceReading(
                {"heart_rate": 75, "spo2": 86, "temperature_c": "36.84"}, now - timedelta(seconds=30), "A2"
            )
        ],
        [
            actions.DeviceReading({**BASELINE, "systolic": 146, "etco2": 41}, now - timedelta(seconds=20), "A3"),
            actions.DeviceReading({**BASELINE, "resp_rate": 7}, now - timedelta(seconds=10), "A3"),
        ],
    ]
    for readings in messages:
        actions.record_device_vitals(session=single, readings=readings, device="m1")
    results = actions.record_device_vitals_many(
        [actions.DeviceMessage(session=batched, readings=readings, device="m1") for readings in messages]
    )
    stored = _stored(single)
    assert len(stored) == 4
    assert sum(len(row[-1]) for row in stored) >= 5  # absolute and change alerts are exercised
    assert _stored(batched) == stored
    returned = [v.pk for result in results if isinstance(result, list) for v, _ in result]
    assert returned == list(VitalSign.objects.filter(session=batched).order_by("pk").values_list("pk", flat=True)[1:])
    assert Alert.objects.filter(session=batched).count() == Alert.objects.filter(session=single).count()


def test_the_monitor_log_reads_back_as_written(world):
    session = make_session(world, "infusing")
    received = timezone.now() - timedelta(microseconds=123)
    rows = [
        MonitorMessage(
            received_at=received,
            control_id="L1",
            device="MON^1",
            chair_id=session.chair_id,
            session_id=session.pk,
            ack_code="AA",
            values_recorded=8,
        ),
        MonitorMessage(received_at=received, control_id="L2", device="", ack_code="AR", error="No chair 'x' (PV1-3)."),
    ]
    actions.log_monitor_messages(rows)
    assert all(row.pk is not None and not row._state.adding for row in rows)
    stored = list(MonitorMessage.objects.order_by("pk").values())
    assert [(m["id"], m["received_at"], m["control_id"], m["chair_id"], m["session_id"]) for m in stored] == [
        (rows[0].pk, received, "L1", session.chair_id, session.pk),
        (rows[1].pk, received, "L2", None, None),
    ]
    assert [(m["ack_code"], m["error"], m["values_recorded"], m["device"]) for m in stored] == [
        ("AA", "", 8, "MON^1"),
        ("AR", "No chair 'x' (PV1-3).", 0, ""),
    ]


# --- The real MLLP server over a socket ----------------------------------------------------------


@contextmanager
def running_gateway(batch: int = 32, writer: str = "thread", gateways: list[Gateway] | None = None) -> Iterator[int]:
    """The gateway on a free loopback port, its event loop in a thread (as in production)."""
    loop = asyncio.new_event_loop()
    box: dict[str, int] = {}
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        gateway = Gateway(batch=batch, writer=writer)
        if gateways is not None:
            gateways.append(gateway)
        box["port"] = loop.run_until_complete(gateway.start("127.0.0.1", 0))[1]
        started.set()
        loop.run_forever()
        loop.run_until_complete(gateway.close(grace_s=5))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the gateway did not start"
    try:
        yield box["port"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        assert not thread.is_alive()


def exchange(sock: socket.socket, payload: bytes, *, framed: bool = True) -> bytes:
    sock.sendall(b"\x0b" + payload + b"\x1c\r" if framed else payload)
    data = b""
    while not data.endswith(b"\x1c\r"):
        chunk = sock.recv(65536)
        assert chunk, "the gateway closed the connection"
        data += chunk
    assert data.startswith(b"\x0b")
    return data[1:-2]


def test_messages_over_a_real_mllp_socket_reach_the_session(committed_world):
    w = committed_world
    session = make_session(w, "infusing")
    with running_gateway() as port, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        first = exchange(sock, oru(*vitals_obx(session.checked_in_at), control_id="S1"))
        bad = exchange(sock, oru(*vitals_obx(), bed="Chair 42", control_id="S2"))
        garbage = exchange(sock, b"not hl7 at all")
        unframed = exchange(sock, b"no start block\x1c\r", framed=False)
        alert = exchange(sock, oru(*vitals_obx(systolic=192, diastolic=100), control_id="S3"))
    assert ack_fields(first)[:2] == ("AA", "S1")
    assert ack_fields(bad)[:2] == ("AR", "S2")
    assert ack_fields(garbage)[0] == "AR"
    assert ack_fields(unframed)[0] == "AR"
    assert ack_fields(alert)[:2] == ("AA", "S3")
    vitals = device_vitals(session)
    assert [v.device_message_id for v in vitals] == ["S1", "S3"]
    assert vitals[1].systolic == 192
    assert Alert.objects.filter(vital=vitals[1], parameter="systolic").exists()
    assert list(MonitorMessage.objects.order_by("pk").values_list("ack_code", flat=True)) == [
        "AA",
        "AR",
        "AR",
        "AR",
        "AA",
    ]


def test_concurrent_monitors_are_each_answered_in_order(committed_world):
    session = make_session(committed_world, "infusing")
    start = session.checked_in_at
    errors: list[BaseException] = []
    acks: dict[int, list[str]] = {}

    def monitor(number: int, port: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                acks[number] = []
                for i in range(5):
                    at = start + timedelta(seconds=number * 5 + i)
                    raw = exchange(sock, oru(*vitals_obx(at), control_id=f"M{number}-{i}"))
                    code, control_id, _ = ack_fields(raw)
                    assert code == "AA"
                    acks[number].append(control_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    with running_gateway(batch=8) as port:
        threads = [threading.Thread(target=monitor, args=(n, port)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
    assert acks == {n: [f"M{n}-{i}" for i in range(5)] for n in range(4)}
    assert len(device_vitals(session)) == 20
    assert MonitorMessage.objects.filter(ack_code="AA").count() == 20


@pytest.mark.parametrize("batch", [1, 16])
def test_gateway_shuts_down_cleanly_with_a_connection_open(committed_world, batch):
    make_session(committed_world, "infusing")
    with running_gateway(batch=batch) as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert ack_fields(exchange(sock, oru(*vitals_obx(), control_id="Q1")))[0] == "AA"
    assert sock.recv(10) == b""  # the gateway closed the idle connection on shutdown
    sock.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_shutdown_stores_and_answers_messages_already_received(committed_world, monkeypatch):
    session = make_session(committed_world, "infusing")
    storing = threading.Event()
    real = run_monitor_gateway.record_messages

    def slow(*args, **kwargs):  # the database step is still busy when the gateway is told to stop
        storing.set()
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(run_monitor_gateway, "record_messages", slow)
    answers: list[bytes] = []
    with running_gateway() as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        client = threading.Thread(target=lambda: answers.append(exchange(sock, oru(*vitals_obx(), control_id="Z1"))))
        client.start()
        assert storing.wait(5)
    client.join(10)
    sock.close()
    assert [ack_fields(a)[:2] for a in answers] == [("AA", "Z1")]
    assert [v.device_message_id for v in device_vitals(session)] == ["Z1"]


@pytest.fixture
def shared_database(committed_world):
    """The writer process is forked and opens its own connection, so it needs a database other
    processes can see: PostgreSQL (the SQLite test database lives in this process's memory)."""
    if connection.vendor != "postgresql":
        pytest.skip("the writer process needs a shared test database (make test-postgres)")
    connection.close()  # the forked writer must not inherit an open connection of this thread
    return committed_world


def test_the_writer_process_stores_and_answers(shared_database):
    session = make_session(shared_database, "infusing")
    connection.close()
    with running_gateway(writer="process") as port, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        first = exchange(sock, oru(*vitals_obx(), control_id="P1"))
        unknown = exchange(sock, oru(*vitals_obx(), bed="Chair 42", control_id="P2"))
        alert = exchange(sock, oru(*vitals_obx(systolic=192, diastolic=100), control_id="P3"))
    assert [ack_fields(a)[:2] for a in (first, unknown, alert)] == [("AA", "P1"), ("AR", "P2"), ("AA", "P3")]
    vitals = device_vitals(session)
    assert [v.device_message_id for v in vitals] == ["P1", "P3"]
    assert Alert.objects.filter(vital=vitals[1], parameter="systolic").exists()
    assert MonitorMessage.objects.count() == 3


def test_a_dead_writer_process_is_replaced_and_nothing_is_acknowledged_unstored(shared_database):
    session = make_session(shared_database, "infusing")
    connection.close()
    gateways: list[Gateway] = []
    with (
        running_gateway(writer="process", gateways=gateways) as port,
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        assert ack_fields(exchange(sock, oru(*vitals_obx(), control_id="K1")))[0] == "AA"
        [pid] = gateways[0]._executor._processes  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)  # killed while idle: the next batch finds the pool broken
        lost = ack_fields(exchange(sock, oru(*vitals_obx(), control_id="K2")))
        again = ack_fields(exchange(sock, oru(*vitals_obx(), control_id="K2")))
    assert lost[:2] == ("AE", "K2")  # not stored, so not acknowledged: the monitor sends it again
    assert again[:2] == ("AA", "K2")
    charted = [v.device_message_id for v in device_vitals(session)]
    assert charted == ["K1", "K2"]


def test_on_sqlite_the_writer_leaves_checkpoints_to_a_thread_of_their_own(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's connection stops checkpointing in its commits (wal_autocheckpoint 0) and the
    gateway checkpoints beside it on a timer, and once more when it stops. On PostgreSQL there is
    no such step."""
    checkpoints: list[str] = []
    autocheckpoint: list[int] = []

    def store(items: Any, chairs: Any) -> list[Any]:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint")
                autocheckpoint.append(cursor.fetchone()[0])
        return [run_monitor_gateway.REPEATED] * len(items)

    monkeypatch.setattr(run_monitor_gateway, "record_messages", store)
    monkeypatch.setattr(run_monitor_gateway, "_checkpoint", lambda: checkpoints.append("checkpoint"))
    parsed = parse_message(oru(*vitals_obx()).decode())

    async def scenario() -> Gateway:
        gateway = Gateway(batch=8, checkpoint_every_s=0.01)
        gateway._writer = asyncio.create_task(gateway._write_loop())
        if gateway.checkpoint_every_s:
            gateway._checkpoints = asyncio.create_task(gateway._checkpoint_loop())
        assert ack_fields(await gateway.submit(parsed))[0] == "AA"
        await asyncio.sleep(0.1)
        await gateway.close()
        return gateway

    gateway = asyncio.run(scenario())
    if connection.vendor == "sqlite":
        assert autocheckpoint == [0]
        assert len(checkpoints) >= 2  # on the timer, and the last one at close  # noqa: PLR2004
    else:
        assert gateway.checkpoint_every_s == 0
        assert checkpoints == []


# --- Group commit: gathering the other monitors' messages under load ---------------------------


def _gather_time(*, last_batch: int, arriving: int, gather_ms: float = 300) -> float:
    """Seconds the writer's gather step waits when four monitors are connected, one message has
    been taken for the next batch and ``arriving`` more are submitted 50 ms later."""

    async def scenario() -> float:
        gateway = Gateway(batch=8, gather_ms=gather_ms)
        loop = asyncio.get_running_loop()
        monitors = [loop.create_task(asyncio.sleep(10)) for _ in range(4)]  # four connections
        gateway._clients.update(monitors)
        gateway._last_batch = last_batch
        parsed = parse_message(oru(*vitals_obx(), control_id="G"))
        submitted: list[asyncio.Task[bytes]] = []
        for _ in range(arriving):
            loop.call_later(0.05, lambda: submitted.append(loop.create_task(gateway.submit(parsed))))
        began = loop.time()
        await gateway._gather()
        waited = loop.time() - began
        await asyncio.sleep(0.06)  # let every scheduled submit run, then end them
        for task in [*monitors, *submitted]:
            task.cancel()
        await asyncio.gather(*monitors, *submitted, return_exceptions=True)
        return waited

    return asyncio.run(scenario())


def test_under_light_load_the_writer_never_waits():
    # The last batch held one message: a monitor's message is stored at once.
    assert _gather_time(last_batch=1, arriving=3) < 0.04  # noqa: PLR2004


def test_under_load_the_writer_waits_for_the_other_monitors_and_no_longer():
    waited = _gather_time(last_batch=4, arriving=3)
    assert 0.04 <= waited < 0.25  # noqa: PLR2004 - ends when the third arrives, before the 300 ms cap


def test_a_silent_monitor_delays_a_batch_by_the_cap_at_most():
    waited = _gather_time(last_batch=4, arriving=1)
    assert 0.28 <= waited < 1.0  # noqa: PLR2004
    assert _gather_time(last_batch=4, arriving=1, gather_ms=0) < 0.04  # noqa: PLR2004 - switched off
