"""Benchmark the chairside session page and the day board under 20 concurrent users.

Run from the repository root: ``.venv/bin/python bench/chairside.py`` (``make bench``);
``--profile`` adds a cProfile of session-page renders. ``DATABASE_URL=postgres://...`` runs on
that (empty, throw-away) PostgreSQL database instead of the default SQLite file.

Builds a throw-away database (SQLite in a temporary directory, with production's WAL and
IMMEDIATE settings), migrates it and seeds the demo clinic (``ketaclinic.demo.seed.seed``, the
code behind ``manage.py seed_demo``). Every chair of the demo location then gets one infusing
session on the board's day through the real actions (the demo's own open session on a chair is
taken through checklist, bag and start; a free chair gets a booking and a check-in first), and
each session gets 4 hours of 1-minute vitals (240 complete sets, bulk-inserted: bench data, not
the charting path).

The app is served by gunicorn (``gthread``) on 127.0.0.1 with production settings (DEBUG off,
WhiteNoise serving the collected static files, TLS assumed terminated by a proxy that sets
``X-Forwarded-Proto``), through ``bench/chairside_site``: the project's settings and URLs plus
``/bench/bare/``, a view that does nothing behind the same middleware, as the ceiling. Each
virtual user has its own signed-in session (password and second factor already passed: the
session is made through the session engine, as ``core.testing.signed_in_client`` does) and
keeps one HTTP connection open.

Two runs per page, each with 20 users:

* ``saturated``: every user sends its next request as soon as the previous one answers (no
  think time), so latency includes queueing behind the other 19 and requests/s is the
  server's capacity on this machine;
* ``paced``: every user sends one request a second (offsets spread over the second), a busy
  clinic's nurses and board screens, so latency is mostly the page's own time;
* ``charting``: paced, while a writer in this process charts a vitals set on every session every
  5 s (``BENCH_CHAIRSIDE_CHARTING_EVERY_S``) through ``actions.record_vitals``. The session page
  keeps its rendered content per state of the session (``views_session.session_body``), so in
  the paced run nearly every view reuses it; here each new set makes the next views render
  afresh, five times as often as a monitor's one set a minute would.

Printed: p50/p95/p99 latency and requests/s per page and run, the ratio of each page's p50 to
the bare view's in the same run, the response size, and the issue's target (p95 ≤ 50 ms) with
PASS/FAIL for both runs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

if TYPE_CHECKING:
    from ketaclinic.accounts.models import User
    from ketaclinic.clinics.models import Chair, Location
    from ketaclinic.infusions.models import InfusionSession
    from ketaclinic.scheduling.models import Booking

USERS = int(os.environ.get("BENCH_CHAIRSIDE_USERS", "20"))
SATURATED_PER_USER = int(os.environ.get("BENCH_CHAIRSIDE_REQUESTS", "20"))
PACED_SECONDS = int(os.environ.get("BENCH_CHAIRSIDE_PACED_SECONDS", "15"))
WORKERS = int(os.environ.get("BENCH_CHAIRSIDE_WORKERS", str(os.cpu_count() or 2)))
THREADS = int(os.environ.get("BENCH_CHAIRSIDE_THREADS", "8"))
VITALS_MINUTES = 240  # 4 hours of 1-minute vitals per chair (issue 5, Performance)
TARGET_P95_MS = 50.0
# The third run charts a vitals set on every session this often (a monitor sends one a minute).
CHARTING_EVERY_S = float(os.environ.get("BENCH_CHAIRSIDE_CHARTING_EVERY_S", "5"))
RUNS = ("saturated", "paced", "charting")
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-chairside"  # noqa: S105


def _env(db_url: str, static_root: Path) -> dict[str, str]:
    """Production settings on the bench database, behind an assumed TLS proxy."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="bench.chairside_site.settings",
        BENCH_STATIC_ROOT=str(static_root),
        DEBUG="false",
        SECRET_KEY=env.get("SECRET_KEY") or SECRET,
        ALLOWED_HOSTS="127.0.0.1",
        TRUST_X_FORWARDED_PROTO="true",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


# --- The data ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    day: date
    sessions: list[int]
    cookies: list[str]
    vitals_rows: int
    seconds: float


def _nurse_for(chair_index: int, users: dict[str, User]) -> User:
    return users["nurse"] if chair_index < 2 else users["nurse2"]  # noqa: PLR2004 - two chairs per nurse


def _patients_with_orders(location: Location, prescriber: User) -> list[Any]:
    """The demo's patients, each with an active order for the induction protocol."""
    from ketaclinic.infusions import actions  # noqa: PLC0415
    from ketaclinic.infusions.demo import INDUCTION  # noqa: PLC0415
    from ketaclinic.infusions.models import InfusionOrder, Protocol  # noqa: PLC0415
    from ketaclinic.patients.models import Patient  # noqa: PLC0415

    version = Protocol.objects.get(code=INDUCTION).current_version
    patients = list(Patient.objects.filter(location=location).order_by("pk"))
    for patient in patients:
        if version is not None and not InfusionOrder.objects.filter(patient=patient, is_active=True).exists():
            actions.write_order(acting_user=prescriber, patient=patient, protocol_version=version)
    return patients


def _booking_for(chair: Chair, day: date, users: dict[str, User], patients: list[Any]) -> Booking:
    """A bookable infusion on ``chair`` on ``day``: the demo's if it has one not yet charted,
    else a new one-hour booking in the first free slot."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from django.core.exceptions import ValidationError  # noqa: PLC0415

    from ketaclinic.scheduling.actions import BookingConflict, book_appointment  # noqa: PLC0415
    from ketaclinic.scheduling.choices import INFUSION_KINDS, BookingStatus  # noqa: PLC0415
    from ketaclinic.scheduling.models import Booking  # noqa: PLC0415

    zone = ZoneInfo(chair.location.time_zone)
    opens = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    existing = (
        Booking.objects.filter(
            chair=chair,
            start__gte=opens,
            start__lt=opens + timedelta(days=1),
            status__in=[BookingStatus.BOOKED, BookingStatus.CHECKED_IN],
            appointment_type__kind__in=INFUSION_KINDS,
            infusion_session__isnull=True,
        )
        .order_by("start")
        .first()
    )
    if existing is not None:
        return existing
    for minutes in range(8 * 60, 16 * 60, 15):
        start = opens + timedelta(minutes=minutes)
        for patient in patients:
            try:
                return book_appointment(
                    acting_user=users["frontdesk"],
                    patient=patient,
                    kind="induction",
                    start=start,
                    end=start + timedelta(minutes=60),
                    chair=chair,
                )
            except (BookingConflict, ValidationError):
                continue
    raise SystemExit(f"No free slot for {chair.name} on {day}: the demo's calendar changed?")


def _containers(location: Location, director: User, count: int) -> list[Any]:
    """Fresh ketamine containers at the location (received through the ledger action)."""
    from django.utils import timezone  # noqa: PLC0415

    from ketaclinic.inventory.actions import receive_stock  # noqa: PLC0415
    from ketaclinic.inventory.models import Product  # noqa: PLC0415
    from ketaclinic.inventory.tests.factories import SUPPLIER, make_product  # noqa: PLC0415

    product = Product.objects.filter(location=location).order_by("pk").first() or make_product(location, director)
    entries = receive_stock(
        acting_user=director,
        product=product,
        lot_number="BENCH-LOT-1",
        expires_on=timezone.localdate() + timedelta(days=365),
        containers=count,
        invoice_number="BENCH-INV-1",
        supplier_name=SUPPLIER["supplier_name"],
        supplier_address=SUPPLIER["supplier_address"],
        supplier_dea_number=SUPPLIER["supplier_dea_number"],
    )
    return [e.container for e in entries]


def _to_infusing(session: InfusionSession, nurse: User, container: Any, start_at: datetime) -> InfusionSession:
    """Checklist, baseline vitals, bag and start, through the real actions."""
    from ketaclinic.infusions import actions  # noqa: PLC0415
    from ketaclinic.infusions.models import InfusionSession, SessionStatus  # noqa: PLC0415
    from ketaclinic.infusions.tests.factories import BASELINE  # noqa: PLC0415

    if session.status == SessionStatus.CHECKED_IN:
        session = actions.complete_checklist(
            acting_user=nurse,
            session=session,
            weight_kg="72.0",
            escort_name="Alex Rivera",
            escort_phone="+13035556000",
            fasting_confirmed=True,
            pregnancy="no",
            items=dict.fromkeys(session.protocol_version.checklist_items, True),
        )
        actions.record_vitals(
            acting_user=nurse, session=session, values=BASELINE, taken_at=start_at - timedelta(minutes=5)
        )
    session = InfusionSession.objects.get(pk=session.pk)
    if session.status == SessionStatus.READY:
        if not session.bags.exists():
            strength = container.lot.product.strength_mg_per_ml
            actions.prepare_bag(
                acting_user=nurse,
                session=session,
                container=container,
                vial_ml_drawn=(Decimal(250) / strength).quantize(Decimal("0.01")),
                final_volume_ml="250",
            )
        actions.start_infusion(acting_user=nurse, session=session, at=start_at)
    return InfusionSession.objects.get(pk=session.pk)


def _bulk_vitals(session: InfusionSession, nurse: User, now: datetime, rng: random.Random) -> int:
    """Four hours of complete 1-minute vitals sets up to now, in one bulk insert."""
    from ketaclinic.infusions.models import VitalPhase, VitalSign  # noqa: PLC0415

    rows = [
        VitalSign(
            session=session,
            taken_at=now - timedelta(minutes=VITALS_MINUTES - i),
            phase=VitalPhase.INFUSION,
            systolic=rng.randint(112, 138),
            diastolic=rng.randint(68, 86),
            heart_rate=rng.randint(62, 92),
            spo2=rng.randint(95, 99),
            resp_rate=rng.randint(12, 18),
            etco2=rng.randint(33, 42),
            temperature_c=Decimal(rng.randint(362, 372)) / 10,
            pain_nrs=rng.randint(2, 7),
            sedation=rng.choice([0, 0, -1]),
            dissociation=rng.randint(0, 3),
            recorded_by=nurse,
            recorded_at=now,
        )
        for i in range(VITALS_MINUTES)
    ]
    VitalSign.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def seed(db_url: str, static_root: Path) -> Seeded:
    """Migrate, seed the demo, open one infusing session with 4 h of vitals per chair, and
    sign in the virtual users (runs in this process)."""
    began = time.perf_counter()
    os.environ.update(_env(db_url, static_root))
    import django  # noqa: PLC0415

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from ketaclinic.accounts.models import User  # noqa: PLC0415
    from ketaclinic.clinics.models import Chair  # noqa: PLC0415
    from ketaclinic.core.testing import signed_in_client  # noqa: PLC0415
    from ketaclinic.demo import seed as demo  # noqa: PLC0415
    from ketaclinic.infusions import actions  # noqa: PLC0415
    from ketaclinic.infusions.demo import board_day_and_moment  # noqa: PLC0415
    from ketaclinic.infusions.queries import active_session_for_chair  # noqa: PLC0415

    location = demo.seed()
    users = {u.username: u for u in User.objects.all()}
    now = timezone.now()
    ctx = demo.DemoContext(location=location, users=users, patients=[], rng=random.Random(1), now=now)
    day, _ = board_day_and_moment(ctx)
    patients = _patients_with_orders(location, users["prescriber"])
    chairs = list(Chair.objects.filter(location=location, is_active=True).select_related("location").order_by("name"))
    containers = _containers(location, users["director"], len(chairs))
    start_at = now - timedelta(minutes=VITALS_MINUTES + 1)
    rng = random.Random(20261206)
    sessions: list[int] = []
    rows = 0
    for index, chair in enumerate(chairs):
        nurse = _nurse_for(index, users)
        session = active_session_for_chair(chair.pk)
        if session is None:
            booking = _booking_for(chair, day, users, patients)
            session = actions.check_in(acting_user=nurse, booking=booking, at=start_at - timedelta(minutes=20))
        session = _to_infusing(session, nurse, containers[index], max(start_at, session.checked_in_at))
        rows += _bulk_vitals(session, nurse, now, rng)
        sessions.append(session.pk)
    cookies = []
    for n in range(USERS):
        client = signed_in_client(users["nurse" if n % 2 == 0 else "nurse2"])
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
    return Seeded(day, sessions, cookies, rows, time.perf_counter() - began)


# --- The server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = fetch(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/bench/bare/", "")
            if status == 200:  # noqa: PLR2004
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()  # SIGTERM: gunicorn's graceful shutdown
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


# --- The load ------------------------------------------------------------------------------------


def fetch(conn: http.client.HTTPConnection, path: str, cookie: str) -> tuple[int, int]:
    headers = {"X-Forwarded-Proto": "https", "Cookie": cookie, "Accept": "text/html"}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    return response.status, len(body)


@dataclass
class Result:
    page: str
    run: str
    latencies: list[float]
    seconds: float
    failures: int
    size: int

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, round(q * len(ordered)) - 1)] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def drive(  # noqa: PLR0913 - the shape of one run
    port: int,
    paths: list[str],
    cookies: list[str],
    *,
    per_user: int,
    paced_s: float,
    charting: Callable[[], None] | None = None,
    run: str = "",
) -> Result:
    """``len(cookies)`` users at once; user n requests ``paths[n % len(paths)]``. Saturated when
    ``paced_s`` is 0 (``per_user`` requests each), else one request a second for ``paced_s``.
    ``charting``, when given, is called every CHARTING_EVERY_S seconds while the users run."""
    latencies: list[float] = []
    failures = 0
    size = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(cookies) + 1)

    def user(n: int) -> None:
        nonlocal failures, size
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        path, cookie = paths[n % len(paths)], cookies[n]
        fetch(conn, path, cookie)  # warm: connection, worker caches
        mine: list[float] = []
        bad = 0
        barrier.wait()
        if paced_s:
            begin = time.perf_counter() + n / len(cookies)
            count = int(paced_s)
        else:
            begin, count = time.perf_counter(), per_user
        for i in range(count):
            if paced_s:
                time.sleep(max(0.0, begin + i - time.perf_counter()))
            sent = time.perf_counter()
            status, length = fetch(conn, path, cookie)
            mine.append(time.perf_counter() - sent)
            bad += status != 200  # noqa: PLR2004
        conn.close()
        with lock:
            latencies.extend(mine)
            failures += bad
            size = length

    done = threading.Event()

    def chart() -> None:
        assert charting is not None  # noqa: S101
        while not done.wait(CHARTING_EVERY_S):
            charting()

    threads = [threading.Thread(target=user, args=(n,)) for n in range(len(cookies))]
    for t in threads:
        t.start()
    writer = threading.Thread(target=chart) if charting else None
    barrier.wait()
    began = time.perf_counter()
    if writer:
        writer.start()
    for t in threads:
        t.join()
    done.set()
    if writer:
        writer.join()
    label = run or ("paced" if paced_s else "saturated")
    return Result(paths[0], label, latencies, time.perf_counter() - began, failures, size)


def charting_for(session_ids: list[int]) -> Callable[[], None]:
    """A new vitals set on every session, typed by its nurse through the real action: each one
    changes what the session page shows, so its cached content cannot be reused."""
    from django.db import close_old_connections  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from ketaclinic.infusions import actions  # noqa: PLC0415
    from ketaclinic.infusions.models import InfusionSession  # noqa: PLC0415

    rng = random.Random(7)

    def chart() -> None:
        close_old_connections()
        for session in InfusionSession.objects.filter(pk__in=session_ids):
            actions.record_vitals(
                acting_user=None,
                session=session,
                values={
                    "systolic": rng.randint(112, 138),
                    "diastolic": rng.randint(68, 86),
                    "heart_rate": rng.randint(62, 92),
                    "spo2": rng.randint(95, 99),
                    "resp_rate": rng.randint(12, 18),
                },
                taken_at=timezone.now(),
            )

    return chart


# --- The profile ---------------------------------------------------------------------------------


def profile(session_pk: int, renders: int = 20) -> None:
    """cProfile over ``renders`` session-page renders in this process (test client, DEBUG off)."""
    import cProfile  # noqa: PLC0415
    import pstats  # noqa: PLC0415

    from django.test import Client  # noqa: PLC0415
    from django.urls import reverse  # noqa: PLC0415

    from ketaclinic.accounts.models import User  # noqa: PLC0415
    from ketaclinic.core.testing import signed_in_client  # noqa: PLC0415

    client: Client = signed_in_client(User.objects.get(username="nurse"))
    url = reverse("infusions:session", kwargs={"pk": session_pk})
    host = {"host": "127.0.0.1"}
    assert client.get(url, secure=True, headers=host).status_code == 200  # noqa: PLR2004, S101
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for _ in range(renders):
        client.get(url, secure=True, headers=host)
    profiler.disable()
    print(
        f"\nProfile: {renders} renders of the session page in-process, {(time.perf_counter() - began) / renders * 1000:.1f} ms each (profiler on)"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


# --- Main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profile", action="store_true", help="also cProfile session-page renders")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kc-bench-chairside-") as tmp:
        db_url = os.environ.get("DATABASE_URL", "")
        if not db_url.startswith("postgres"):
            db_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        static_root = Path(tmp) / "static"
        seeded = seed(db_url, static_root)
        engine = "PostgreSQL" if db_url.startswith("postgres") else "SQLite (WAL)"
        print(
            f"(seeded the demo, {len(seeded.sessions)} infusing sessions with {seeded.vitals_rows} vitals rows "
            f"in {seeded.seconds:.0f} s; board day {seeded.day})",
            flush=True,
        )
        from django.urls import reverse  # noqa: PLC0415

        pages = {
            "bare view (ceiling)": ["/bench/bare/"],
            "session page": [reverse("infusions:session", kwargs={"pk": pk}) for pk in seeded.sessions],
            "day board": [f"{reverse('scheduling:board')}?date={seeded.day.isoformat()}"],
        }
        process, port = start_server(_env(db_url, static_root))
        results: list[Result] = []
        try:
            for run in RUNS:
                for label, paths in pages.items():
                    result = drive(
                        port,
                        paths,
                        seeded.cookies,
                        per_user=SATURATED_PER_USER,
                        paced_s=0 if run == "saturated" else PACED_SECONDS,
                        charting=charting_for(seeded.sessions) if run == "charting" else None,
                        run=run,
                    )
                    result.page = label
                    results.append(result)
                    print(f"  {run}, {label}: done", flush=True)
        finally:
            stop_server(process)
        report(results, engine)
        if args.profile:
            profile(seeded.sessions[0])
        if any(r.failures for r in results):
            print("Some requests did not answer 200: see the failures column.")
            return 1
    return 0


def report(results: list[Result], engine: str) -> None:
    print()
    print(
        f"Chairside pages: {USERS} concurrent users, gunicorn gthread {WORKERS} workers x {THREADS} threads, "
        f"{engine}, DEBUG off, {os.cpu_count()} cores shared with the load generator"
    )
    print(f"Each session has {VITALS_MINUTES} vitals rows (4 h at 1 min); the board shows every chair.")
    print()
    print(
        "| run       | page                |  requests | req/s | p50 (ms) | p95 (ms) | p99 (ms) | p50 / bare | KB | fail | p95 ≤ 50 ms |"
    )
    print(
        "|-----------|---------------------|----------:|------:|---------:|---------:|---------:|-----------:|---:|-----:|:-----------:|"
    )
    for run in RUNS:
        rows = [r for r in results if r.run == run]
        bare = statistics.median(rows[0].latencies)
        for r in rows:
            p95 = r.percentile(0.95)
            print(
                f"| {run:<9} | {r.page:<19} | {len(r.latencies):>9} | {r.rate:>5.0f} | {r.percentile(0.50):>8.1f} | "
                f"{p95:>8.1f} | {r.percentile(0.99):>8.1f} | {statistics.median(r.latencies) / bare:>9.1f}x | "
                f"{r.size // 1024:>2} | {r.failures:>4} | {'PASS' if p95 <= TARGET_P95_MS else 'FAIL':^11} |"
            )
    print()
    print(
        f"Target (issue 5): p95 ≤ {TARGET_P95_MS:.0f} ms at {USERS} concurrent users. Saturated: no think time, so "
        "latency includes waiting behind the other users and req/s is this machine's capacity; paced: one request "
        f"per user per second; charting: paced, while every session gets a new vitals set every {CHARTING_EVERY_S:g} s "
        "(each one makes the session page render its content afresh)."
    )


if __name__ == "__main__":
    sys.exit(main())
