"""Benchmark the bedside-monitor gateway: HL7 ORU^R01 over MLLP into the chairside record.

Run from the repository root: ``.venv/bin/python bench/monitor_gateway.py`` (``make bench``).

Builds a throw-away SQLite database (the embedded default, with production's WAL and IMMEDIATE
settings) in a temporary directory, or with ``BENCH_DATABASE_URL=postgres://.../<name>_bench`` a
PostgreSQL database of that name (dropped and created for the run, dropped after), migrates it
and opens one infusing session per chair through the real actions (64 chairs: the first session
via ``make_session``, the others copies of it on their own chairs). It then starts the real ``manage.py run_monitor_gateway`` in a subprocess and
drives it from this process over loopback with asyncio MLLP clients, each a monitor that sends
a message, waits for its ACK, and sends the next (HL7 original mode). Every message is a
one-minute vitals set of 8 OBX (NIBP systolic/diastolic/mean, ECG heart rate, SpO2, respiratory
rate, EtCO2, temperature); every tenth has a systolic pressure that raises alerts.

Rows printed, for one monitor (sequential), 16 and 64 at once:

* ``batch 1``: the baseline, one transaction (one commit) per message, database step on a thread;
* ``batch 128, thread``: messages waiting for the database are stored together in one
  transaction (group commit, bulk inserts, one audit event per session) by a thread of the
  gateway's process, which shares one interpreter lock (one core) with the event loop (the
  command's default); under load the writer waits up to 5 ms (``--gather-ms``) for the other
  connected monitors' messages before it starts a batch;
* ``no gather``: the same with ``--gather-ms 0``: the writer takes whatever is queued the moment
  it is free (64 monitors only);
* ``batch 128, process``: the same in a forked writer process (``--writer process``), so
  parsing/answering and storing can use two cores;
* ``no database``: a ceiling from the same run: the same MLLP server, parser and ACK builder
  answering AA without touching the database.

What is measured: messages/s is messages sent by all monitors divided by the wall time from the
first send to the last ACK. Latency is measured at the monitor, from sending the message to
receiving its ACK; the ACK is sent only after the commit that holds the message, and an alert is
committed in the same transaction as its vitals set, so this bounds "receipt to alert visible"
from above (it also includes the load generator's own scheduling delay). The load generator
runs in this process and competes with the gateway for the same cores; it is light (the
``no database`` rows show the rate it can drive). The database starts empty, so sessions stay
short (a few hundred device sets at most; the repeat check and the baseline lookup read a
session's sets, so a long session costs more). The issue's target is 2,000 messages/s with
p99 ≤ 500 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

CHAIRS = 64
MONITOR_COUNTS = (16, 64)
SEQUENTIAL_MESSAGES = int(os.environ.get("BENCH_MONITOR_SEQUENTIAL", "300"))
PER_MONITOR = int(os.environ.get("BENCH_MONITOR_PER_CHAIR", "40"))
TARGET_MSGS_PER_S = 2000
TARGET_P99_MS = 500
LOCATION = "Bench Site"


def _database_url(db_path: Path) -> str:
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{db_path}"


def _env(db_path: Path) -> dict[str, str]:
    """Production settings (DEBUG off: no query log kept in memory) on the bench database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(db_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=env.get("SECRET_KEY") or "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


@contextmanager
def postgres_database() -> Iterator[str]:
    """Drop and create the PostgreSQL database named in BENCH_DATABASE_URL (its name must end in
    ``_bench``: the bench never touches another database), and drop it afterwards."""
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    url = urlsplit(os.environ["BENCH_DATABASE_URL"])
    name = url.path.lstrip("/")
    if not name.endswith("_bench"):
        raise SystemExit(f"BENCH_DATABASE_URL must name a database ending in _bench, not {name!r}")
    admin = urlunsplit(url._replace(path="/postgres"))

    def run(statement: sql.Composed) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(statement)

    run(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield "PostgreSQL"
    finally:
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def seed(db_path: Path) -> None:
    """Migrate and open one infusing session per chair (runs in this process)."""
    os.environ.update(_env(db_path))
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    from ketaclinic.clinics.models import Chair, Location  # noqa: PLC0415
    from ketaclinic.core.testing import make_world  # noqa: PLC0415
    from ketaclinic.infusions.models import InfusionSession  # noqa: PLC0415
    from ketaclinic.infusions.tests.factories import make_session  # noqa: PLC0415

    world = make_world()
    Location.objects.filter(pk=world.location.pk).update(name=LOCATION)
    first = make_session(world, "infusing")
    for number in range(2, CHAIRS + 1):
        chair, _ = Chair.objects.get_or_create(location_id=first.location_id, name=f"Chair {number}")
        copy = InfusionSession.objects.get(pk=first.pk)
        copy.pk = None
        copy.booking = None
        copy.chair = chair
        copy.save()


def message(chair: int, number: int, *, alert: bool) -> bytes:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    systolic = 186 if alert else 126
    obx = [
        ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", systolic, "266016^MDC_DIM_MMHG^MDC"),
        ("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", 82, "266016^MDC_DIM_MMHG^MDC"),
        ("150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", 97, "266016^MDC_DIM_MMHG^MDC"),
        ("147842^MDC_ECG_HEART_RATE^MDC", 76, "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
        ("150456^MDC_PULS_OXIM_SAT_O2^MDC", 97, "262688^MDC_DIM_PERCENT^MDC"),
        ("151562^MDC_RESP_RATE^MDC", 14, "264928^MDC_DIM_RESP_PER_MIN^MDC"),
        ("151708^MDC_AWAY_CO2_ET^MDC", 37, "266016^MDC_DIM_MMHG^MDC"),
        ("150364^MDC_TEMP_BODY^MDC", "36.7", "268192^MDC_DIM_DEGC^MDC"),
    ]
    segments = [
        f"MSH|^~\\&|BENCHMON^{chair:016X}^EUI-64|WARD|KC|CLINIC|{stamp}||ORU^R01^ORU_R01|B{chair}-{number}|P|2.6",
        f"PV1||O|{LOCATION}^^Chair {chair}",
        "OBR|1|||182777000^monitoring of patient^SCT",
        *(f"OBX|{i}|NM|{code}|1.0.{i}|{value}|{unit}|||||R|||{stamp}" for i, (code, value, unit) in enumerate(obx, 1)),
    ]
    return b"\x0b" + ("\r".join(segments) + "\r").encode() + b"\x1c\r"


async def monitor(port: int, chair: int, count: int, first: int) -> tuple[list[float], int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    accepted = 0
    try:
        for i in range(count):
            payload = message(chair, first + i, alert=(first + i) % 10 == 0)
            sent = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            ack = await reader.readuntil(b"\x1c\r")
            latencies.append(time.perf_counter() - sent)
            accepted += b"MSA|AA|" in ack
    finally:
        writer.close()
        await writer.wait_closed()
    return latencies, accepted


@dataclass
class Result:
    label: str
    monitors: int
    messages: int
    accepted: int
    seconds: float
    latencies: list[float]

    def row(self) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)] * 1000
        rate = self.messages / self.seconds
        return (
            f"| {self.label:<32} | {self.monitors:>8} | {self.messages:>8} | {self.accepted:>8} | "
            f"{rate:>10.0f} | {p50:>8.1f} | {p99:>8.1f} |"
        )


async def drive(port: int, monitors: int, per_monitor: int, first: int) -> tuple[list[float], int, float]:
    start = time.perf_counter()
    results = await asyncio.gather(*(monitor(port, chair, per_monitor, first) for chair in range(1, monitors + 1)))
    seconds = time.perf_counter() - start
    latencies = [x for lat, _ in results for x in lat]
    return latencies, sum(a for _, a in results), seconds


def start_server(db_path: Path, args: list[str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=_env(db_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"gateway did not start: {line!r}")
    port = int(line.split("listening on ", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
    return process, port


def stop_server(process: subprocess.Popen[str]) -> None:
    process.send_signal(2)  # SIGINT: the gateway's graceful shutdown
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit("gateway did not stop on SIGINT") from None


def run_case(db_path: Path, label: str, args: list[str], *, monitors: int, per_monitor: int, first: int) -> Result:
    process, port = start_server(db_path, args)
    try:
        asyncio.run(drive(port, 1, 20, 10_000_000 + first))  # warm-up: connections, caches
        latencies, accepted, seconds = asyncio.run(drive(port, monitors, per_monitor, first))
    finally:
        stop_server(process)
    return Result(label, monitors, monitors * per_monitor, accepted, seconds, latencies)


def echo_server(port: int) -> None:
    """The ceiling: the gateway's MLLP server, parser and ACK, no database (own process)."""
    import django  # noqa: PLC0415

    django.setup()
    from ketaclinic.infusions.hl7_feed import ACCEPT, ParsedMessage  # noqa: PLC0415
    from ketaclinic.infusions.management.commands import run_monitor_gateway as gw  # noqa: PLC0415

    class NoDatabase(gw.Gateway):
        async def submit(self, parsed: ParsedMessage) -> bytes:
            return gw.answer(parsed, gw.Outcome(ACCEPT, "ok"))

    async def main() -> None:
        gateway = NoDatabase()
        host, bound = await gateway.start("127.0.0.1", port)
        print(f"No-database gateway listening on {host}:{bound} (MLLP).", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(2, stop.set)
        await stop.wait()
        await gateway.close()

    asyncio.run(main())


def main() -> int:
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="kc-bench-monitor-"))
        db_path = Path(tmp) / "bench.sqlite3"
        backend = "SQLite (WAL)"
        if os.environ.get("BENCH_DATABASE_URL"):
            backend = stack.enter_context(postgres_database())
        t0 = time.perf_counter()
        seed(db_path)
        print(f"(seeded {CHAIRS} infusing sessions in {time.perf_counter() - t0:.1f} s)", flush=True)
        gateway = ["manage.py", "run_monitor_gateway", "--port", "0"]
        ceiling = [str(Path(__file__).resolve()), "--echo-server", "0"]
        cases = [
            ("sequential, batch 1", [*gateway, "--batch", "1", "--writer", "thread"], 1, SEQUENTIAL_MESSAGES),
            (
                "sequential, batch 128, thread",
                [*gateway, "--batch", "128", "--writer", "thread"],
                1,
                SEQUENTIAL_MESSAGES,
            ),
            ("sequential, no database", ceiling, 1, SEQUENTIAL_MESSAGES),
        ]
        for monitors in MONITOR_COUNTS:
            cases += [
                (
                    f"{monitors} monitors, batch 1",
                    [*gateway, "--batch", "1", "--writer", "thread"],
                    monitors,
                    PER_MONITOR,
                ),
                (
                    f"{monitors} monitors, batch 128, thread",
                    [*gateway, "--batch", "128", "--writer", "thread"],
                    monitors,
                    PER_MONITOR,
                ),
                *(
                    [
                        (
                            f"{monitors} monitors, batch 128, no gather",
                            [*gateway, "--batch", "128", "--writer", "thread", "--gather-ms", "0"],
                            monitors,
                            PER_MONITOR,
                        )
                    ]
                    if monitors == max(MONITOR_COUNTS)
                    else []
                ),
                (
                    f"{monitors} monitors, batch 128, process",
                    [*gateway, "--batch", "128", "--writer", "process"],
                    monitors,
                    PER_MONITOR,
                ),
                (f"{monitors} monitors, no database", ceiling, monitors, PER_MONITOR),
            ]
        results = []
        for n, (label, args, monitors, per_monitor) in enumerate(cases):
            results.append(
                run_case(db_path, label, args, monitors=monitors, per_monitor=per_monitor, first=n * 100_000)
            )
            print(f"  {label}: done", flush=True)

        from ketaclinic.infusions.models import Alert, MonitorMessage, VitalSign  # noqa: PLC0415

        print()
        cores = os.cpu_count()
        print(f"Monitor gateway: ORU^R01 (8 OBX) over MLLP on loopback, {backend}, {cores} cores shared with the load")
        print()
        print(f"| {'case':<32} | monitors | messages |   AA ack | messages/s | p50 (ms) | p99 (ms) |")
        print(f"|{'-' * 34}|---------:|---------:|---------:|-----------:|---------:|---------:|")
        for result in results:
            print(result.row())
        print()
        recorded = VitalSign.objects.filter(source="device").count()
        print(
            f"Stored: {recorded} device vitals sets, {Alert.objects.count()} alerts, "
            f"{MonitorMessage.objects.count()} logged messages."
        )
        print(f"Target (issue 5): ≥ {TARGET_MSGS_PER_S} messages/s, p99 ≤ {TARGET_P99_MS} ms.")
        failed = [r.label for r in results if r.accepted != r.messages]
        if failed:
            print(f"Not every message was accepted in: {', '.join(failed)}")
            return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--echo-server":  # noqa: PLR2004
        echo_server(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
