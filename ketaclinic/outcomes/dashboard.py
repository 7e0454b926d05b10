"""The clinic outcomes dashboard, computed in the database.

One aggregate query per location (each location has its own time zone and may have its own
definitions): the induction series' first and last day per patient come from the bookings, the
baseline and first follow-up window are joined to the diary by date range, migraine days are
classified by a SQL expression equal to :func:`ketaclinic.outcomes.endpoints.classify_day`
(a test holds the two together), and patients are summed per protocol. No Python loop runs over
patients. The SQL is built for PostgreSQL, SQLite and DuckDB (the benchmark's reference)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from scipy import stats

from ketaclinic.clinics.models import Location
from ketaclinic.infusions.models import Protocol
from ketaclinic.outcomes import endpoints
from ketaclinic.outcomes.queries import adverse_event_rates, definition_row

Dialect = Literal["postgresql", "sqlite", "duckdb"]
INFUSION_STATUSES_LIVE_EXCLUDED = ("cancelled", "no_show")
PENDING_STATUSES = ("booked", "checked_in", "infusing", "recovering")


def _local_date(column: str, dialect: Dialect) -> str:
    """The calendar date of a UTC timestamp at the location (time-zone name is parameter 1)."""
    if dialect == "postgresql":
        return f"CAST(({column} AT TIME ZONE %(tz)s) AS DATE)"
    if dialect == "duckdb":
        return f"CAST(timezone($tz, {column}) AS DATE)"
    # Django registers this function on every SQLite connection (TruncDate uses it).
    return f"django_datetime_cast_date({column}, %(tz)s, 'UTC')"


def _add_days(expr: str, days: int, dialect: Dialect) -> str:
    if dialect == "sqlite":
        return f"date({expr}, '{days:+d} days')"
    return (
        f"CAST({expr} + {days} AS DATE)" if dialect == "postgresql" else f"CAST({expr} + INTERVAL ({days}) DAY AS DATE)"
    )


def _param(name: str, dialect: Dialect, *, is_date: bool = False) -> str:
    """A named parameter: Django's cursors take ``%(name)s`` on PostgreSQL and SQLite."""
    if dialect == "duckdb":
        return f"CAST(${name} AS DATE)" if is_date else f"${name}"
    return f"CAST(%({name})s AS DATE)" if is_date and dialect == "postgresql" else f"%({name})s"


def _flag(column: str) -> str:
    return f"CASE WHEN COALESCE(d.{column}, FALSE) THEN 1 ELSE 0 END"


def migraine_day_sql(defs: endpoints.Definitions) -> str:
    """The migraine-day rule of :func:`endpoints.classify_day` as a SQL boolean over alias ``d``."""
    moderate = "(d.peak_severity IN ('moderate', 'severe') OR (d.peak_severity = '' AND COALESCE(d.pain_nrs, 0) >= 4))"
    features_c = (
        f"(COALESCE(d.migraine_features, FALSE) OR ({_flag('unilateral')} + {_flag('pulsating')} + "
        f"CASE WHEN {moderate} THEN 1 ELSE 0 END + {_flag('aggravated_by_activity')}) >= 2)"
    )
    features_d = (
        "(COALESCE(d.migraine_features, FALSE) OR COALESCE(d.nausea, FALSE) OR COALESCE(d.vomiting, FALSE) "
        "OR (COALESCE(d.photophobia, FALSE) AND COALESCE(d.phonophobia, FALSE)))"
    )
    long_enough = f"(d.duration_min IS NULL OR d.duration_min >= {int(defs.migraine_min_duration_min)})"
    met = f"(CASE WHEN {features_c} THEN 1 ELSE 0 END + CASE WHEN {features_d} THEN 1 ELSE 0 END + CASE WHEN {long_enough} THEN 1 ELSE 0 END)"
    need = 2 if defs.count_probable_migraine else 3
    if defs.triptan_rule == "any_use":
        specific = "(d.med_triptan OR d.med_ergot OR d.med_gepant_ditan)"
    else:
        specific = "d.specific_med_helped_2h"
    return f"((d.headache AND {met} >= {need}) OR COALESCE(d.aura, FALSE) OR {specific})"


def _per_patient_sql(mig: str, dialect: Dialect, *, today: str, recent_start: str) -> str:
    """CTE ``p``: per patient of ``w``, diary days recorded and migraine days in the baseline
    (``b_``) and the first follow-up window (``f_``), and days recorded in the last month
    (``recent``).

    PostgreSQL and DuckDB aggregate each patient in a ``LATERAL`` subquery: one index range
    scan per patient feeding a plain aggregate, with the migraine rule evaluated once per
    diary row. That is about a quarter faster on PostgreSQL than joining every diary row to
    its patient and hashing the rows by patient (bench/outcomes.py). SQLite has no
    ``LATERAL``, so it joins and groups; both shapes return the same numbers."""
    window_match = "d.date >= w.b_start AND d.date <= w.f_end AND (d.date < w.first_day OR d.date >= w.f_start)"
    sums = """SUM(CASE WHEN d.date < w.first_day THEN 1 ELSE 0 END) AS b_rec,
           SUM(CASE WHEN d.date < w.first_day THEN d.is_mig ELSE 0 END) AS b_mig,
           SUM(CASE WHEN d.date >= w.f_start THEN 1 ELSE 0 END) AS f_rec,
           SUM(CASE WHEN d.date >= w.f_start THEN d.is_mig ELSE 0 END) AS f_mig"""
    recent = f"""SELECT COUNT(*) FROM outcomes_diaryentry r
            WHERE r.patient_id = w.patient_id AND r.date >= {recent_start} AND r.date <= {today}"""  # noqa: S608 - placeholders only
    if dialect == "sqlite":
        return f"""p AS (
    SELECT w.patient_id, w.protocol_id, w.pending, w.maintenance, w.f_end, {sums},
           ({recent}) AS recent
    FROM w LEFT JOIN (
        SELECT d.patient_id, d.date, CASE WHEN {mig} THEN 1 ELSE 0 END AS is_mig FROM outcomes_diaryentry d
    ) d ON d.patient_id = w.patient_id AND {window_match}
    GROUP BY w.patient_id, w.protocol_id, w.pending, w.maintenance, w.f_end
)"""  # noqa: S608 - fixed names, placeholders and the definitions' numbers only
    return f"""p AS (
    SELECT w.patient_id, w.protocol_id, w.pending, w.maintenance, w.f_end,
           COALESCE(x.b_rec, 0) AS b_rec, COALESCE(x.b_mig, 0) AS b_mig,
           COALESCE(x.f_rec, 0) AS f_rec, COALESCE(x.f_mig, 0) AS f_mig,
           ({recent}) AS recent
    FROM w CROSS JOIN LATERAL (
        SELECT {sums}
        FROM (
            SELECT d.date, CASE WHEN {mig} THEN 1 ELSE 0 END AS is_mig FROM outcomes_diaryentry d
            WHERE d.patient_id = w.patient_id AND {window_match}
        ) d
    ) x
)"""  # noqa: S608 - fixed names, placeholders and the definitions' numbers only


def dashboard_sql(
    defs: endpoints.Definitions, dialect: Dialect, *, has_protocol: bool, has_start: bool, has_end: bool
) -> str:
    """One location's aggregate: per protocol, patients, phase, responders, Σ and Σ² of the
    change in monthly migraine days, and diary days recorded in the last 28 days."""
    first = _local_date("i.first_start", dialect)
    last = _local_date("i.last_start", dialect)
    share = float(defs.min_recorded_share)
    mig = migraine_day_sql(defs)
    live = ", ".join(f"'{s}'" for s in INFUSION_STATUSES_LIVE_EXCLUDED)
    pending = ", ".join(f"'{s}'" for s in PENDING_STATUSES)
    filters = []
    if has_protocol:
        filters.append(f"a.protocol_id = {_param('protocol', dialect)}")
    if has_start:
        filters.append(f"a.first_day >= {_param('start', dialect, is_date=True)}")
    if has_end:
        filters.append(f"a.first_day <= {_param('end', dialect, is_date=True)}")
    where = ("WHERE " + " AND ".join(filters)) if filters else ""
    responders = ",\n".join(
        f"SUM(CASE WHEN evaluable = 1 AND f_mmd - b_mmd <= -{t / 100:.4f} * b_mmd THEN 1 ELSE 0 END) AS r{t}"
        for t in defs.responder_thresholds_pct
    )
    now = _param("now", dialect)
    today = _param("today", dialect, is_date=True)
    recent_start = _param("recent_start", dialect, is_date=True)
    per_patient = _per_patient_sql(mig, dialect, today=today, recent_start=recent_start)
    # PostgreSQL would otherwise inline ``w`` into the per-patient scans and convert the
    # booking times to local dates once per diary row instead of once per patient.
    materialized = "" if dialect == "sqlite" else "MATERIALIZED "
    # Built only from fixed names and numbers in the definitions; values go as parameters.
    return f"""
WITH i AS (
    SELECT b.patient_id,
           MIN(CASE WHEN t.kind = 'induction' THEN b.start END) AS first_start,
           MAX(CASE WHEN t.kind = 'induction' THEN b.start END) AS last_start,
           MAX(CASE WHEN t.kind = 'induction' THEN sr.protocol_id END) AS protocol_id,
           SUM(CASE WHEN t.kind = 'induction' AND b.status IN ({pending}) THEN 1 ELSE 0 END) AS pending,
           SUM(CASE WHEN t.kind = 'maintenance' AND b.start <= {now} THEN 1 ELSE 0 END) AS maintenance
    FROM scheduling_booking b
    JOIN scheduling_appointmenttype t ON t.id = b.appointment_type_id
    LEFT JOIN scheduling_seriesrequest sr ON sr.id = b.series_request_id
    WHERE b.location_id = {_param("location", dialect)} AND b.status NOT IN ({live})
      AND t.kind IN ('induction', 'maintenance')
    GROUP BY b.patient_id
),
a AS (
    SELECT i.patient_id, i.protocol_id, i.pending, i.maintenance, {first} AS first_day, {last} AS last_day
    FROM i WHERE i.first_start IS NOT NULL
),
w AS {materialized}(
    SELECT a.patient_id, a.protocol_id, a.pending, a.maintenance, a.first_day,
           {_add_days("a.first_day", -defs.baseline_days, dialect)} AS b_start,
           {_add_days("a.last_day", 1, dialect)} AS f_start,
           {_add_days("a.last_day", defs.window_days, dialect)} AS f_end
    FROM a {where}
),
{per_patient},
s AS (
    SELECT p.*,
           CASE WHEN p.b_rec >= {share * defs.baseline_days:.4f} AND p.f_rec >= {share * defs.window_days:.4f}
                 AND p.b_mig > 0 AND p.f_end < {today} THEN 1 ELSE 0 END AS evaluable,
           p.b_mig * {endpoints.DAYS_PER_MONTH}.0 / CASE WHEN p.b_rec = 0 THEN NULL ELSE p.b_rec END AS b_mmd,
           p.f_mig * {endpoints.DAYS_PER_MONTH}.0 / CASE WHEN p.f_rec = 0 THEN NULL ELSE p.f_rec END AS f_mmd
    FROM p
)
SELECT s.protocol_id,
       COUNT(*) AS patients,
       SUM(CASE WHEN s.pending > 0 THEN 1 ELSE 0 END) AS in_induction,
       SUM(CASE WHEN s.pending = 0 AND s.maintenance > 0 THEN 1 ELSE 0 END) AS in_maintenance,
       SUM(CASE WHEN s.pending = 0 THEN 1 ELSE 0 END) AS after_induction,
       SUM(s.evaluable) AS evaluable,
       {responders},
       SUM(CASE WHEN s.evaluable = 1 THEN s.f_mmd - s.b_mmd ELSE 0 END) AS sum_change,
       SUM(CASE WHEN s.evaluable = 1 THEN (s.f_mmd - s.b_mmd) * (s.f_mmd - s.b_mmd) ELSE 0 END) AS sumsq_change,
       SUM(s.recent) AS recent_recorded
FROM s
GROUP BY s.protocol_id
ORDER BY s.protocol_id
"""  # noqa: S608


@dataclass
class Row:
    """Results for one location and protocol (or totals)."""

    location: str
    protocol: str
    patients: int
    in_induction: int
    in_maintenance: int
    after_induction: int
    evaluable: int
    responders: dict[int, int]
    mean_change: float | None
    ci_low: float | None
    ci_high: float | None
    recent_recorded: int
    compliance_days: int
    sum_change: float = 0.0
    sumsq_change: float = 0.0
    # The dashboard's columns: every threshold of every location shown (locations may differ).
    shown_thresholds: tuple[int, ...] = ()

    def rate(self, threshold: int) -> float | None:
        """Responder rate in percent; ``None`` without evaluable patients or where the
        location's definitions do not use this threshold."""
        if not self.evaluable or threshold not in self.responders:
            return None
        return round(self.responders[threshold] / self.evaluable * 100, 1)

    @property
    def rate_50(self) -> float | None:
        """The headline ≥50% responder rate (IHS guidelines' common threshold)."""
        return self.rate(50)

    @property
    def compliance_pct(self) -> float | None:
        expected = self.patients * self.compliance_days
        return round(self.recent_recorded / expected * 100, 1) if expected else None

    @property
    def rates(self) -> list[tuple[int, float | None]]:
        return [(t, self.rate(t)) for t in (self.shown_thresholds or tuple(sorted(self.responders)))]


def t_quantile(n: int) -> float | None:
    """Two-sided 95% quantile of Student's t with n − 1 degrees of freedom."""
    return float(stats.t.ppf(0.975, n - 1)) if n >= 2 else None  # noqa: PLR2004 - a spread needs two values


def params_for(
    dialect: Dialect,
    *,
    location_id: int,
    tz: str,
    today: date,
    now: Any,
    defs: endpoints.Definitions,
    protocol_id: int | None,
    start: date | None,
    end: date | None,
) -> dict[str, Any]:
    recent_start = today - timedelta(days=defs.window_days - 1)
    values: dict[str, Any] = {
        "location": location_id,
        "tz": tz,
        "today": today.isoformat(),
        "recent_start": recent_start.isoformat(),
        "now": now if dialect != "sqlite" else now.strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    if protocol_id is not None:
        values["protocol"] = protocol_id
    if start is not None:
        values["start"] = start.isoformat()
    if end is not None:
        values["end"] = end.isoformat()
    return values


def rows_from(
    raw: Sequence[Sequence[Any]], *, location: str, protocols: dict[int, str], defs: endpoints.Definitions
) -> list[Row]:
    thresholds = defs.responder_thresholds_pct
    out = []
    for record in raw:
        protocol_id, patients, in_ind, in_maint, after, evaluable = (
            int(v or 0) if i else v for i, v in enumerate(record[:6])
        )
        counts = {t: int(record[6 + k] or 0) for k, t in enumerate(thresholds)}
        sum_change, sumsq, recent = record[6 + len(thresholds) :]
        n = int(evaluable)
        mean, low, high = endpoints.ci_from_sums(n, float(sum_change or 0), float(sumsq or 0), t_quantile(n))
        out.append(
            Row(
                location=location,
                protocol=protocols.get(protocol_id, "No protocol recorded")
                if protocol_id is not None
                else "No protocol recorded",
                patients=int(patients),
                in_induction=int(in_ind),
                in_maintenance=int(in_maint),
                after_induction=int(after),
                evaluable=n,
                responders=counts,
                mean_change=mean,
                ci_low=low,
                ci_high=high,
                recent_recorded=int(recent or 0),
                compliance_days=defs.window_days,
                sum_change=float(sum_change or 0),
                sumsq_change=float(sumsq or 0),
            )
        )
    return out


def total(rows: Sequence[Row], thresholds: Sequence[int], window_days: int) -> Row:
    """All rows together; the CI is recomputed from the summed Σ and Σ². A responder total is
    given only for thresholds every row counts (locations may define different ones)."""
    n = sum(r.evaluable for r in rows)
    sum_change = sum(r.sum_change for r in rows)
    sumsq = sum(r.sumsq_change for r in rows)
    mean, low, high = endpoints.ci_from_sums(n, sum_change, sumsq, t_quantile(n))
    return Row(
        location="All",
        protocol="All",
        patients=sum(r.patients for r in rows),
        in_induction=sum(r.in_induction for r in rows),
        in_maintenance=sum(r.in_maintenance for r in rows),
        after_induction=sum(r.after_induction for r in rows),
        evaluable=n,
        responders={t: sum(r.responders[t] for r in rows) for t in thresholds if all(t in r.responders for r in rows)},
        mean_change=mean,
        ci_low=low,
        ci_high=high,
        recent_recorded=sum(r.recent_recorded for r in rows),
        compliance_days=window_days,
        sum_change=sum_change,
        sumsq_change=sumsq,
    )


@dataclass
class Dashboard:
    """``definitions`` are the ones every location shown uses, or empty when they differ; then
    ``definitions_by_location`` names each location's, so every number is printed beside the
    definitions of its patients' location."""

    rows: list[Row]
    totals: Row
    definitions: dict[str, str]
    thresholds: tuple[int, ...]
    today: date
    adverse_events: list[tuple[str, int, int]] | None = field(default=None)
    definitions_by_location: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def clinic_dashboard(
    locations: Sequence[Location],
    *,
    protocol_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard over ``locations``: one aggregate query per location, under that
    location's definitions and time zone."""
    moment = now or timezone.now()
    dialect: Dialect = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    protocols = dict(Protocol.objects.values_list("id", "name"))
    rows: list[Row] = []
    by_location: list[tuple[str, dict[str, str]]] = []
    thresholds: set[int] = set()
    today = moment.date()
    for location in locations:
        defs = definition_row(location).to_definitions()
        by_location.append((location.name, defs.describe()))
        thresholds.update(defs.responder_thresholds_pct)
        today = moment.astimezone(ZoneInfo(location.time_zone)).date()
        sql = dashboard_sql(
            defs, dialect, has_protocol=protocol_id is not None, has_start=start is not None, has_end=end is not None
        )
        values = params_for(
            dialect,
            location_id=location.pk,
            tz=location.time_zone,
            today=today,
            now=moment,
            defs=defs,
            protocol_id=protocol_id,
            start=start,
            end=end,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            if dialect == "postgresql":
                # JIT compilation costs more than it saves on this short aggregate.
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, values)
            rows.extend(rows_from(cursor.fetchall(), location=location.name, protocols=protocols, defs=defs))
    shown = tuple(sorted(thresholds or endpoints.Definitions().responder_thresholds_pct))
    totals = total(rows, shown, endpoints.Definitions().window_days)
    for row in [*rows, totals]:
        row.shown_thresholds = shown
    distinct = {tuple(words.items()) for _, words in by_location}
    common = by_location[0][1] if len(distinct) == 1 else ({} if by_location else endpoints.Definitions().describe())
    zone = ZoneInfo(locations[0].time_zone) if locations else UTC
    adverse = adverse_event_rates(
        [location.pk for location in locations],
        protocol_id,
        datetime.combine(start, time.min, tzinfo=zone) if start else None,
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone) if end else None,
    )
    return Dashboard(rows, totals, common, shown, today, adverse, by_location if len(distinct) > 1 else [])
