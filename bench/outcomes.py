"""Benchmark the clinic outcomes dashboard: 10,000 patients × 1 year of diary (3.65 M rows).

Run from the repository root: ``python bench/outcomes.py`` (PostgreSQL at
``BENCH_POSTGRES_URL``, default ``postgres://postgres@127.0.0.1:5432/``).

Creates its own database ``kc_bench_outcomes`` (dropped at the end), migrates it, and generates
the data with set-based SQL (``generate_series``): one location, a protocol, 10,000 patients,
six induction bookings each (first infusions spread over 180 days), and 365 diary days per
patient whose migraine days follow a deterministic hash (about 12 per 28 at baseline, then 4 to
13 by responder group). It times ``ketaclinic.outcomes.dashboard.clinic_dashboard`` (the
same code the page runs: one aggregate query per location, no per-patient Python) and prints
p50/p95 against the 1 s target. The reference is the same SQL (built by the same function
for the DuckDB dialect) over identical data generated inside DuckDB, in-process and columnar:
the ratio says how far PostgreSQL's row store is from a column store on this aggregation, and
both engines must return the same numbers.
"""

# Every SQL string here is built from the benchmark's own constants, never from input.
# ruff: noqa: S608
from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/").rstrip("/")
DB_NAME = "kc_bench_outcomes"
PATIENTS = 10_000
DAYS = 365
RUNS = 15
TARGET_P95_S = 1.0
# The fixed "now" of the run, so windows and the 28-day compliance period are reproducible.
NOW = datetime(2026, 6, 1, 18, tzinfo=UTC)
DIARY_START = date(2025, 6, 1)
FIRST_INFUSION = date(2025, 9, 1)

os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")


def _admin(sql: str) -> None:
    import psycopg  # noqa: PLC0415 - only the benchmark needs a raw connection

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


# Deterministic "random" numbers both engines compute identically (integer arithmetic only).
HASH = "((p % 1000) * 7919 + d * 104729 + (p % 97) * d) % 1000"
# Migraine threshold per mille: baseline 430 (≈12 per 28); after induction by patient group.
RATE = f"""CASE WHEN d < {(FIRST_INFUSION - DIARY_START).days} + (p % 180) THEN 430
    WHEN p % 4 = 0 THEN 150 WHEN p % 4 = 1 THEN 250 WHEN p % 4 = 2 THEN 380 ELSE 460 END"""


def _diary_select(source: str) -> str:
    """Diary rows from ``source`` (columns p = patient id, d = day offset)."""
    return f"""
SELECT p, d, h, rate,
       h < rate + 210 AS headache,
       h < rate AS migraine
FROM (SELECT p, d, {HASH} AS h, {RATE} AS rate FROM {source}) x"""


def _columns(model: Any, given: dict[str, str]) -> tuple[list[str], list[str]]:
    """Every column of ``model``'s table: the ``given`` SQL expressions, else the field's plain
    default, NULL or a blank. Read from the model so the benchmark keeps working when other
    apps add fields."""
    from django.db import models  # noqa: PLC0415

    columns, values = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection_quote(f.column))
        if f.column in given:
            values.append(given[f.column])
        elif f.has_default() and not callable(f.default):
            values.append(f"'{f.default}'" if isinstance(f.default, str) else str(f.default).upper())
        elif f.has_default() and f.default in (list, dict):
            values.append("'[]'" if f.default is list else "'{}'")
        elif f.null:
            values.append("NULL")
        elif isinstance(f, models.BooleanField):
            values.append("FALSE")
        elif isinstance(f, models.DateTimeField):
            values.append("now()")
        else:
            values.append("''")
    return columns, values


def connection_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def generate_postgres() -> None:
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from ketaclinic.clinics.actions import create_location  # noqa: PLC0415
    from ketaclinic.infusions.actions import create_protocol  # noqa: PLC0415
    from ketaclinic.patients.models import Patient  # noqa: PLC0415
    from ketaclinic.scheduling.actions import appointment_type  # noqa: PLC0415
    from ketaclinic.scheduling.models import Booking, SeriesRequest  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    location = create_location(
        acting_user=None,
        name="Bench Site",
        address_line1="1 Bench Way",
        city="Denver",
        state="CO",
        postal_code="80202",
        phone="+13035550100",
        time_zone="America/Denver",
        chair_names=["Chair 1"],
    )
    protocol = create_protocol(acting_user=None, code="bench", name="Bench induction")
    induction = appointment_type("induction")
    with connection.cursor() as cur:
        columns, values = _columns(
            Patient,
            {
                "mrn": "'B' || g",
                "location_id": str(location.pk),
                "first_name": "'Bench'",
                "last_name": "'Patient ' || g",
                "date_of_birth": "DATE '1980-01-01'",
            },
        )
        cur.execute(
            f"INSERT INTO patients_patient ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM generate_series(1, {PATIENTS}) g"
        )
        columns, values = _columns(
            SeriesRequest,
            {
                "patient_id": "id",
                "location_id": str(location.pk),
                "protocol_id": str(protocol.pk),
                "earliest_start": f"DATE '{FIRST_INFUSION}'",
                "status": "'booked'",
            },
        )
        cur.execute(
            f"INSERT INTO scheduling_seriesrequest ({', '.join(columns)}) SELECT {', '.join(values)} FROM patients_patient"
        )
        columns, values = _columns(
            Booking,
            {
                "patient_id": "s.patient_id",
                "location_id": str(location.pk),
                "chair_id": "NULL",
                "appointment_type_id": str(induction.pk),
                "start": f"TIMESTAMPTZ '{FIRST_INFUSION} 16:00:00+00' + ((s.patient_id % 180) + 2 * k) * INTERVAL '1 day'",
                "end": f"TIMESTAMPTZ '{FIRST_INFUSION} 19:00:00+00' + ((s.patient_id % 180) + 2 * k) * INTERVAL '1 day'",
                "series_request_id": "s.id",
                "series_number": "k + 1",
                "series_total": "6",
                "status": "'done'",
            },
        )
        cur.execute(
            f"INSERT INTO scheduling_booking ({', '.join(columns)}) SELECT {', '.join(values)} "
            "FROM scheduling_seriesrequest s CROSS JOIN generate_series(0, 5) k"
        )
        # Bulk load without the secondary indexes, then rebuild them (far faster than
        # maintaining them row by row), and vacuum so index-only scans work at once.
        cur.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'outcomes_diaryentry' AND indexname NOT LIKE '%%pkey'"
        )
        index_defs = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'outcomes_diaryentry'::regclass AND contype = 'u'"
        )
        uniques = cur.fetchall()
        for name, _ in uniques:
            cur.execute(f'ALTER TABLE outcomes_diaryentry DROP CONSTRAINT "{name}"')
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'outcomes_diaryentry' AND indexname NOT LIKE '%%pkey'"
        )
        for (name,) in cur.fetchall():
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(
            f"""INSERT INTO outcomes_diaryentry (patient_id, date, headache, duration_min, peak_severity, pain_nrs,
                unilateral, pulsating, aggravated_by_activity, nausea, vomiting, photophobia, phonophobia, aura,
                migraine_features, acute_medications, med_triptan, med_gepant_ditan, med_ergot, med_simple_analgesic,
                med_combination_analgesic, med_opioid, med_other, specific_med_helped_2h, source, is_on_behalf,
                created_at, updated_at, is_late, revision)
            SELECT p, DATE '{DIARY_START}' + d, headache,
                   CASE WHEN migraine THEN 360 WHEN headache THEN 120 END,
                   CASE WHEN migraine THEN 'severe' WHEN headache THEN 'mild' ELSE '' END,
                   CASE WHEN migraine THEN 8 WHEN headache THEN 3 END,
                   CASE WHEN headache THEN migraine END, CASE WHEN headache THEN migraine END, NULL,
                   CASE WHEN headache THEN migraine END, NULL,
                   CASE WHEN headache THEN migraine END, CASE WHEN headache THEN migraine END, NULL, NULL, '[]',
                   migraine AND h % 2 = 0, FALSE, FALSE, headache AND NOT migraine, FALSE, FALSE, FALSE,
                   migraine AND h % 4 = 0, 'web', FALSE, now(), now(), FALSE, 1
            FROM ({_diary_select(f"(SELECT id AS p, d FROM patients_patient CROSS JOIN generate_series(0, {DAYS - 1}) d) s")}) y"""
        )
        for name, definition in uniques:
            cur.execute(f'ALTER TABLE outcomes_diaryentry ADD CONSTRAINT "{name}" {definition}')
        for definition in index_defs:
            if not any(f'"{name}"' in definition or f" {name} " in definition for name, _ in uniques):
                cur.execute(definition)
    connection.set_autocommit(True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


def generate_duckdb() -> Any:
    import duckdb  # noqa: PLC0415

    con = duckdb.connect()
    con.execute("CREATE TABLE scheduling_appointmenttype AS SELECT 1 AS id, 'induction' AS kind")
    con.execute(
        f"CREATE TABLE scheduling_seriesrequest AS SELECT i AS id, i AS patient_id, 1 AS protocol_id FROM range(1, {PATIENTS + 1}) t(i)"
    )
    con.execute(
        f"""CREATE TABLE scheduling_booking AS
        SELECT s.patient_id, 1 AS location_id, 1 AS appointment_type_id, s.id AS series_request_id, 'done' AS status,
               TIMESTAMPTZ '{FIRST_INFUSION} 16:00:00+00' + INTERVAL (CAST((s.patient_id % 180) + 2 * k AS INTEGER)) DAY AS start
        FROM scheduling_seriesrequest s CROSS JOIN range(0, 6) r(k)"""
    )
    con.execute(
        f"""CREATE TABLE outcomes_diaryentry AS
        SELECT row_number() OVER () AS id, p AS patient_id, CAST(DATE '{DIARY_START}' + CAST(d AS INTEGER) AS DATE) AS date,
               headache,
               CASE WHEN migraine THEN 360 WHEN headache THEN 120 END AS duration_min,
               CASE WHEN migraine THEN 'severe' WHEN headache THEN 'mild' ELSE '' END AS peak_severity,
               CASE WHEN migraine THEN 8 WHEN headache THEN 3 END AS pain_nrs,
               CASE WHEN headache THEN migraine END AS unilateral, CASE WHEN headache THEN migraine END AS pulsating,
               CAST(NULL AS BOOLEAN) AS aggravated_by_activity, CASE WHEN headache THEN migraine END AS nausea,
               CAST(NULL AS BOOLEAN) AS vomiting, CASE WHEN headache THEN migraine END AS photophobia,
               CASE WHEN headache THEN migraine END AS phonophobia, CAST(NULL AS BOOLEAN) AS aura,
               CAST(NULL AS BOOLEAN) AS migraine_features, migraine AND h % 2 = 0 AS med_triptan,
               FALSE AS med_gepant_ditan, FALSE AS med_ergot, migraine AND h % 4 = 0 AS specific_med_helped_2h
        FROM ({_diary_select(f"(SELECT i AS p, d FROM range(1, {PATIENTS + 1}) a(i) CROSS JOIN range(0, {DAYS}) b(d)) s")}) y"""
    )
    return con


def timed(fn: Any, runs: int) -> tuple[list[float], Any]:
    fn()  # warm-up (plans, caches)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> int:
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME}")
    _admin(f"CREATE DATABASE {DB_NAME}")
    try:
        import django  # noqa: PLC0415

        django.setup()
        from django.db import connection  # noqa: PLC0415

        from ketaclinic.clinics.models import Location  # noqa: PLC0415
        from ketaclinic.outcomes import dashboard, endpoints  # noqa: PLC0415

        t0 = time.perf_counter()
        generate_postgres()
        print(f"(generated PostgreSQL data in {time.perf_counter() - t0:.1f} s)", flush=True)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM outcomes_diaryentry")
            row = cur.fetchone()
            rows = row[0] if row else 0
        gen_pg = time.perf_counter() - t0
        location = Location.objects.get(name="Bench Site")
        pg_times, pg_result = timed(lambda: dashboard.clinic_dashboard([location], now=NOW), RUNS)

        t0 = time.perf_counter()
        duck = generate_duckdb()
        gen_duck = time.perf_counter() - t0
        defs = endpoints.Definitions()
        sql = dashboard.dashboard_sql(defs, "duckdb", has_protocol=False, has_start=False, has_end=False)
        today = NOW.astimezone(__import__("zoneinfo").ZoneInfo("America/Denver")).date()
        params = dashboard.params_for(
            "duckdb",
            location_id=1,
            tz="America/Denver",
            today=today,
            now=NOW,
            defs=defs,
            protocol_id=None,
            start=None,
            end=None,
        )
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        duck_times, duck_raw = timed(lambda: duck.execute(sql, used).fetchall(), RUNS)
        duck_rows = dashboard.rows_from(duck_raw, location="Bench Site", protocols={1: "Bench induction"}, defs=defs)
        duck_total = dashboard.total(duck_rows, defs.responder_thresholds_pct, defs.window_days)
    finally:
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        if not os.environ.get("BENCH_KEEP"):
            _admin(f"DROP DATABASE IF EXISTS {DB_NAME}")

    pg_total = pg_result.totals
    same = (
        pg_total.patients,
        pg_total.evaluable,
        pg_total.responders,
        pg_total.mean_change,
        pg_total.recent_recorded,
    ) == (
        duck_total.patients,
        duck_total.evaluable,
        duck_total.responders,
        duck_total.mean_change,
        duck_total.recent_recorded,
    )
    pg95, dk95 = p95(pg_times), p95(duck_times)
    print(f"Outcomes dashboard: {PATIENTS:,} patients × {DAYS} diary days = {rows:,} rows, {RUNS} timed runs each")
    print(f"Data generated in {gen_pg:.1f} s (PostgreSQL, generate_series + migrate) and {gen_duck:.1f} s (DuckDB)")
    print()
    print(f"{'engine':<34} {'p50 ms':>8} {'p95 ms':>8} {'vs DuckDB':>10}")
    print(
        f"{'PostgreSQL (clinic_dashboard)':<34} {statistics.median(pg_times) * 1000:>8.0f} {pg95 * 1000:>8.0f} {pg95 / dk95:>9.1f}x"
    )
    print(
        f"{'DuckDB reference (same SQL)':<34} {statistics.median(duck_times) * 1000:>8.0f} {dk95 * 1000:>8.0f} {1:>9.1f}x"
    )
    print()
    print(
        f"Result: {pg_total.patients:,} patients, {pg_total.evaluable:,} evaluable, responders "
        + ", ".join(f"≥{t}% {pg_total.rate(t)}%" for t in defs.responder_thresholds_pct)
        + f", mean change {pg_total.mean_change} days/28 (95% CI {pg_total.ci_low} to {pg_total.ci_high}),"
        f" compliance {pg_total.compliance_pct}%"
    )
    print(f"Same numbers in both engines: {'yes' if same else 'NO'}")
    verdict = "PASS" if pg95 <= TARGET_P95_S and same else "FAIL"
    print(f"Target p95 ≤ {TARGET_P95_S * 1000:.0f} ms on PostgreSQL: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
