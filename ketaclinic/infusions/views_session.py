"""The chairside session page: the one screen a nurse works in at the infusion chair.

One page per session shows what the current stage needs first (checklist, bag and pump start,
the running pump and the vitals form, recovery and discharge, signatures) with the flowsheet,
timeline, side effects and medications below. Each action is its own POST endpoint that calls
one action and redirects back with a message; a refused action re-renders the page (200) with
the action's message next to the field it names and nothing written.

Live updates: ``session_state`` answers a small JSON document with a change token (no clinical
values, so polling it every few seconds is not audited); when the token changes,
``static/js/chairside.js`` fetches ``session_live``, the server-rendered regions that change
(alerts, pump status, flowsheet, timeline), and swaps them in. That fetch shows health data and
is audited like the page.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.forms import add_action_errors
from ketaclinic.infusions import actions, charts, queries, vitals
from ketaclinic.infusions.forms import (
    ALDRETE_ITEMS,
    AccountForm,
    AcknowledgeForm,
    AddendumForm,
    AldreteForm,
    BagForm,
    BolusForm,
    ChecklistForm,
    DischargeForm,
    MedicationForm,
    OverrideForm,
    PauseForm,
    ResumeForm,
    SideEffectForm,
    StartForm,
    StopForm,
    TitrateForm,
    VitalsForm,
)
from ketaclinic.infusions.models import (
    Addendum,
    Alert,
    BagPreparation,
    InfusionSession,
    MedicationAdministration,
    RecoveryScore,
    SessionEvent,
    SessionStatus,
    SideEffect,
    VitalPhase,
    VitalSign,
    VitalSource,
)
from ketaclinic.infusions.permissions import (
    can_approve_overrides,
    can_chart_infusions,
    can_chart_session,
    can_cosign_infusions,
    can_cosign_session,
    can_override_session,
    can_view_infusions,
    can_view_session,
)
from ketaclinic.inventory.models import LedgerEntry
from ketaclinic.inventory.queries import BalanceRow, balance_rows, session_balance

# How often the page asks whether anything changed (seconds).
POLL_SECONDS = 5
SIGNED = frozenset({SessionStatus.SIGNED, SessionStatus.LOCKED})
PRE_START = frozenset({SessionStatus.CHECKED_IN, SessionStatus.READY})
PUMPING = frozenset({SessionStatus.INFUSING, SessionStatus.PAUSED})
LOCKED_MESSAGE = "This record is signed and can no longer be changed. Write an addendum for a correction."

# Flowsheet columns after blood pressure (one "systolic/diastolic mmHg" column): field, header, unit.
FLOWSHEET: tuple[tuple[str, str, str], ...] = (
    ("heart_rate", "HR", "/min"),
    ("spo2", "SpO₂", "%"),
    ("resp_rate", "RR", "/min"),
    ("etco2", "EtCO₂", "mmHg"),
    ("temperature_c", "Temp", "°C"),
    ("pain_nrs", "Pain", "/10"),
    ("sedation", "Sedation", ""),
    ("dissociation", "Dissoc.", ""),
)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _sessions() -> QuerySet[InfusionSession]:
    return InfusionSession.objects.select_related(
        "patient",
        "chair",
        "location",
        "order__protocol_version",
        "protocol_version__protocol",
        "baseline_override_by",
        "nurse_signed_by",
        "cosigned_by",
        "discharged_by",
    )


def _load(
    request: HttpRequest, pk: int, check: Callable[[User, InfusionSession], bool]
) -> tuple[User, InfusionSession]:
    user = _user(request)
    session = get_object_or_404(_sessions(), pk=pk)
    if not check(user, session):
        raise PermissionDenied
    return user, session


def _page_url(session: InfusionSession, anchor: str = "") -> str:
    url = reverse("infusions:session", kwargs={"pk": session.pk})
    return f"{url}#{anchor}" if anchor else url


def witness_field_names(*, credential_prefix: str) -> dict[str, str]:
    """``inventory.actions.verify_witness`` names its errors ``witness_username`` and
    ``witness_password``; on this page the same check is the prescriber's or second nurse's."""
    return {"witness_username": f"{credential_prefix}_username", "witness_password": f"{credential_prefix}_password"}


def local_datetime(zone: str, at: time | None, now: datetime | None = None) -> datetime | None:
    """A time typed on the page (clinic time, today) as an aware datetime; None means now."""
    if at is None:
        return None
    tz = ZoneInfo(zone)
    today = timezone.localtime(now or timezone.now(), tz).date()
    return datetime.combine(today, at, tzinfo=tz)


def format_minutes(minutes: float) -> str:
    """'1 h 05 min' or '12 min'."""
    whole = max(int(minutes), 0)
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def elapsed(session: InfusionSession, now: datetime) -> tuple[str, str]:
    """What the clock on the header counts, and how long it has run."""
    if session.status in PUMPING and session.started_at:
        return "Infusing for", format_minutes((now - session.started_at).total_seconds() / 60)
    if session.status == SessionStatus.RECOVERING and session.stopped_at:
        return "In recovery for", format_minutes((now - session.stopped_at).total_seconds() / 60)
    if session.status in PRE_START:
        return "Checked in", format_minutes((now - session.checked_in_at).total_seconds() / 60) + " ago"
    if session.started_at and session.stopped_at:
        return "Infusion lasted", format_minutes((session.stopped_at - session.started_at).total_seconds() / 60)
    return "", ""


# --- The change token --------------------------------------------------------------------------


def _token_sql() -> str:
    """One statement for the change token: the session's status, the newest row of each kind
    the page lists, and the counts of readings to validate and alerts open. Written in SQL
    (portable: MAX, COUNT and subqueries) because the ORM spends about 3 ms composing the
    equivalent ten subqueries on every poll, where the database answers in 0.1 ms. Table and
    column names come from the models' metadata, quoted; values are parameters."""
    q = connection.ops.quote_name

    def newest(model: type[Any]) -> str:
        table, fk = q(model._meta.db_table), q(model._meta.get_field("session").column)
        return f"(SELECT MAX(id) FROM {table} WHERE {fk} = s.id)"  # noqa: S608 - names from the models

    def counted(model: type[Any], where: str) -> str:
        table, fk = q(model._meta.db_table), q(model._meta.get_field("session").column)
        return f"(SELECT COUNT(*) FROM {table} WHERE {fk} = s.id AND {where})"  # noqa: S608 - names from the models

    parts = [
        *(
            newest(m)
            for m in (
                VitalSign,
                Alert,
                SessionEvent,
                BagPreparation,
                SideEffect,
                MedicationAdministration,
                RecoveryScore,
                Addendum,
            )
        ),
        counted(VitalSign, "source = %s AND validated_at IS NULL"),
        counted(Alert, "acknowledged_at IS NULL"),
    ]
    return f"SELECT s.status, {', '.join(parts)} FROM {q(InfusionSession._meta.db_table)} s WHERE s.id = %s"  # noqa: S608


def change_token(session: InfusionSession, now: datetime | None = None, due: queries.VitalsDue | None = None) -> str:
    """A short token that changes whenever anything the live regions show changes (one query
    plus the vitals-due reading)."""
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(), [VitalSource.DEVICE, session.pk])
        row = cursor.fetchone()
    due = due or queries.vitals_due(session, now)
    raw = repr(row) + f"|{due.overdue}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# --- The page ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Cell:
    value: Any
    flag: str  # "" or the alert message the value raises


@dataclass(slots=True)
class FlowRow:
    vital: VitalSign
    systolic: Cell
    diastolic: Cell
    cells: list[Cell]
    flagged: bool


# Vitals sets shown on the session page, newest first (the record has them all).
FLOWSHEET_ROWS_SHOWN = 60


def flowsheet_rows(session: InfusionSession, rows: list[VitalSign], baseline: VitalSign | None) -> list[FlowRow]:
    """Each vitals set with the values outside the protocol's thresholds (or risen too far from
    ``baseline``, the session's baseline set, which need not be among ``rows``) marked, computed
    with the same rules that raise alerts."""
    thresholds = queries.thresholds_for(session)
    reference = {"systolic": baseline.systolic, "diastolic": baseline.diastolic} if baseline else None
    fields = [field for field, _, _ in FLOWSHEET]
    out: list[FlowRow] = []
    for vital in rows:
        values = {field: getattr(vital, field) for field in vitals.VITAL_FIELDS}
        findings = vitals.evaluate(
            values, thresholds, reference if vital.phase != VitalPhase.BASELINE and baseline else None
        )
        flags: dict[str, str] = {}
        for f in findings:
            flags[f.parameter] = (flags[f.parameter] + " " if f.parameter in flags else "") + f.message
        cells = [Cell(values[field], flags.get(field, "")) for field in fields]
        systolic = Cell(values["systolic"], flags.get("systolic", ""))
        diastolic = Cell(values["diastolic"], flags.get("diastolic", ""))
        out.append(FlowRow(vital, systolic, diastolic, cells, bool(flags)))
    return out


@dataclass(frozen=True)
class OpenAlert:
    """An unacknowledged alert with its acknowledge form (bound when a refusal re-renders it)."""

    alert: Alert
    form: AcknowledgeForm


def _rate_or_none(session: InfusionSession, dose: Decimal | float | None) -> Decimal | None:
    if dose is None:
        return None
    try:
        return actions.pump_rate(session, Decimal(str(dose)))
    except ValidationError:
        return None


def _live_context(
    user: User,
    session: InfusionSession,
    now: datetime,
    ack_forms: Mapping[int, AcknowledgeForm] | None = None,
    *,
    due: queries.VitalsDue | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """What the live regions (alerts, pump status, flowsheet, timeline) show: all that
    ``session_live`` renders, and the base of the full page's context."""
    # Every vitals set as plain tuples for the chart and the counts (a 4-hour monitor feed is
    # 240 sets: model instances for all of them cost more than the rest of the page), and full
    # rows only for the sets the table shows and the baseline.
    points = list(
        session.vitals.values_list(
            "pk", "taken_at", "phase", "source", "validated_at", "systolic", "diastolic", "heart_rate", "spo2"
        )
    )
    baseline_pk = next((p[0] for p in reversed(points) if p[2] == VitalPhase.BASELINE), None)
    wanted = {p[0] for p in points[-FLOWSHEET_ROWS_SHOWN:]} | ({baseline_pk} if baseline_pk else set())
    full = {v.pk: v for v in session.vitals.filter(pk__in=wanted)} if wanted else {}
    alerts = list(session.alerts.select_related("acknowledged_by", "vital"))
    events = list(session.events.select_related("recorded_by", "override_by"))
    bags = list(session.bags.select_related("container", "prepared_by", "double_checked_by"))
    status = session.status
    dose = queries.current_dose(session) if status not in PRE_START else None
    label, running = elapsed(session, now)
    due = due or queries.vitals_due(session, now)
    can_chart = can_chart_session(user, session) and status not in SIGNED
    open_alerts = [
        OpenAlert(a, (ack_forms or {}).get(a.pk) or AcknowledgeForm(prefix=f"ack-{a.pk}"))
        for a in alerts
        if a.acknowledged_at is None
    ]
    baseline = full.get(baseline_pk) if baseline_pk else None
    flow_rows = flowsheet_rows(session, [full[p[0]] for p in points[-FLOWSHEET_ROWS_SHOWN:]], baseline)[::-1]
    chart_points = [
        charts.VitalsPoint(
            at=at, systolic=bp_s, diastolic=bp_d, heart_rate=hr, spo2=spo2, from_monitor=source == VitalSource.DEVICE
        )
        for _, at, _, source, _, bp_s, bp_d, hr, spo2 in points
    ]
    return {
        "session": session,
        "version": session.protocol_version,
        "location": session.location,
        "stage": status,
        "pumping": status in PUMPING,
        "can_chart": can_chart,
        "limits": queries.effective_limits(session.order),
        "bags": bags,
        "bag": bags[-1] if bags else None,
        "flowsheet_chart": charts.flowsheet_chart_for(session, points=chart_points, events=events, table=False),
        "flow_columns": FLOWSHEET,
        # The page shows the newest sets (a 4-hour monitor feed is 240 rows); the printable
        # record carries the whole flowsheet.
        "flow_rows": flow_rows,
        "flow_rows_total": len(points),
        "baseline_vital": baseline,
        "unvalidated": sum(1 for p in points if p[3] == VitalSource.DEVICE and p[4] is None),
        "open_alerts": open_alerts,
        "events": events,
        "current_dose": dose,
        "current_rate": _rate_or_none(session, dose) if status in PUMPING else None,
        "totals": queries.session_totals(session),
        "due": due,
        "elapsed_label": label,
        "elapsed": running,
        "token": token or change_token(session, now, due),
    }


def _forms(session: InfusionSession, rows: list[BalanceRow], side_effects: list[SideEffect]) -> dict[str, BaseForm]:
    version = session.protocol_version
    limits = queries.effective_limits(session.order)
    return {
        "checklist": ChecklistForm(
            version=version,
            initial={
                "weight_kg": session.weight_kg,
                "escort_name": session.escort_name,
                "escort_phone": session.escort_phone,
            },
        ),
        "vitals": VitalsForm(version=version),
        "override": OverrideForm(),
        "bag": BagForm(rows=rows),
        "start": StartForm(initial={"dose_mg_per_kg_h": Decimal(str(limits.start_mg_per_kg_h))}),
        "titrate": TitrateForm(),
        "pause": PauseForm(),
        "resume": ResumeForm(),
        "stop": StopForm(),
        "bolus": BolusForm(),
        "side_effect": SideEffectForm(),
        "medication": MedicationForm(side_effects=side_effects),
        "aldrete": AldreteForm(variant=version.aldrete_variant),
        "discharge": DischargeForm(),
        "account": AccountForm(),
        "addendum": AddendumForm(),
    }


def _context(
    user: User,
    session: InfusionSession,
    bound: Mapping[str, BaseForm] | None = None,
    ack_forms: Mapping[int, AcknowledgeForm] | None = None,
    *,
    now: datetime | None = None,
    due: queries.VitalsDue | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    now = now or timezone.now()
    version = session.protocol_version
    status = session.status
    live = _live_context(user, session, now, ack_forms, due=due, token=token)
    can_chart = live["can_chart"]
    bags, bag, limits = live["bags"], live["bag"], live["limits"]
    side_effects = list(session.side_effects.select_related("recorded_by"))
    stock = balance_rows([session.location_id]) if can_chart and status in PRE_START | PUMPING else []
    forms = _forms(session, stock, side_effects)
    forms.update(bound or {})
    baseline = live["baseline_vital"]
    block = ""
    if baseline is not None and status in PRE_START:
        block = vitals.baseline_blocks(
            {"systolic": baseline.systolic, "diastolic": baseline.diastolic},
            version.baseline_systolic_max,
            version.baseline_diastolic_max,
        )
    start_dose = Decimal(str(limits.start_mg_per_kg_h))
    recovery_scores = list(session.recovery_scores.all())
    ledger = session_balance(session.ledger_ref) if bags else None
    autofocus = can_chart and status in PUMPING | {SessionStatus.RECOVERING} and not live["open_alerts"]
    if autofocus and not bound and not ack_forms:
        forms["vitals"].fields["systolic"].widget.attrs["autofocus"] = True
    context: dict[str, Any] = {
        **live,
        "patient": session.patient,
        "forms": forms,
        "is_signed": status in SIGNED,
        "pre_start": status in PRE_START,
        "can_override": can_override_session(user, session) and status not in SIGNED,
        "can_cosign": can_cosign_session(user, session) and status == SessionStatus.SIGNED,
        "can_addendum": can_chart_session(user, session) and status in SIGNED,
        "baseline": baseline,
        "baseline_block": block,
        "has_stock": bool(stock),
        "start_dose": start_dose,
        "start_rate": _rate_or_none(session, start_dose) if status == SessionStatus.READY else None,
        "side_effects": side_effects,
        "medications": list(session.medications.select_related("side_effect", "given_by")),
        "recovery_scores": recovery_scores,
        "latest_score": recovery_scores[-1] if recovery_scores else None,
        "aldrete_items": ALDRETE_ITEMS,
        "discharge_blockers": actions.discharge_blockers(session, now) if status == SessionStatus.RECOVERING else [],
        "sign_blockers": actions.sign_blockers(session) if status == SessionStatus.DISCHARGED else [],
        "ledger": ledger,
        "can_account": can_chart
        and status in {SessionStatus.RECOVERING, SessionStatus.DISCHARGED}
        and ledger is not None
        and not ledger.balanced,
        "addenda": list(session.addenda.select_related("author")) if status in SIGNED else [],
        "poll_seconds": POLL_SECONDS,
        "pump_weight": session.weight_kg,
        "pump_concentration": bag.concentration_mg_per_ml if bag else None,
    }
    return context


# The page's content is cached for this long at most (seconds); each entry is keyed by
# everything the content shows (see ``_body_key``), so a change makes a new key, not a stale page.
BODY_CACHE_SECONDS = 120
# Stands in for the CSRF token in a cached body; each response puts its own request's token there.
CSRF_PLACEHOLDER = "csrf-placeholder-for-this-request"
# When a change makes a new key, the views arriving together would all render the same content;
# one of them renders while the others (in this process) wait for it. Striped: a fixed set of
# locks, a key takes the one its hash picks.
_RENDER_LOCKS = tuple(threading.Lock() for _ in range(32))


def _fingerprint(*instances: Any) -> tuple[Any, ...]:
    """Every stored value of these rows (already loaded: no query)."""
    return tuple(
        (type(i).__name__, tuple(getattr(i, f.attname) for f in i._meta.concrete_fields))
        for i in instances
        if i is not None
    )


def _body_key(user: User, session: InfusionSession, now: datetime, token: str) -> str:
    """The cache key of the page's content: the change token (every row the page lists, the
    status and whether vitals are overdue), the session's, order's, patient's and chair's own
    values (checklist, override, signatures, limits), the newest ledger entry at the location
    (the bag form's stock and the session's drug balance), the user's permissions on this
    session, and the minute (elapsed times, minimum-recovery countdowns, the predicted
    concentration up to now)."""
    ledger = LedgerEntry.objects.filter(location_id=session.location_id).order_by("-pk").values_list("pk", flat=True)
    parts = (
        session.pk,
        token,
        now.replace(second=0, microsecond=0).isoformat(),
        ledger.first(),
        can_chart_session(user, session),
        can_override_session(user, session),
        can_cosign_session(user, session),
        _fingerprint(session, session.order, session.patient, session.chair),
    )
    return "infusions:session-body:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def session_body(
    request: HttpRequest,
    user: User,
    session: InfusionSession,
    bound: Mapping[str, BaseForm] | None = None,
    ack_forms: Mapping[int, AcknowledgeForm] | None = None,
) -> SafeString:
    """The page's content. A page with a refused form (bound forms with their errors) is always
    rendered afresh; otherwise the content is shared by every view of the same state of the
    session by users with the same permissions on it, for at most a minute (nurses and board
    screens reopen the same session many times between changes). The content is rendered
    without the request: the CSRF token is filled in per response."""
    now = timezone.now()
    due = queries.vitals_due(session, now)
    token = change_token(session, now, due)
    cacheable = not bound and not ack_forms
    key = _body_key(user, session, now, token) if cacheable else ""
    if not cacheable:
        body = _render_body(user, session, bound, ack_forms, now=now, due=due, token=token)
    else:
        body = cache.get(key)
        if body is None:
            with _RENDER_LOCKS[hash(key) % len(_RENDER_LOCKS)]:
                body = cache.get(key)
                if body is None:
                    body = _render_body(user, session, now=now, due=due, token=token)
                    cache.set(key, body, BODY_CACHE_SECONDS)
    return mark_safe(body.replace(CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 - rendered by the template engine


def _render_body(
    user: User,
    session: InfusionSession,
    bound: Mapping[str, BaseForm] | None = None,
    ack_forms: Mapping[int, AcknowledgeForm] | None = None,
    *,
    now: datetime,
    due: queries.VitalsDue,
    token: str,
) -> str:
    context = _context(user, session, bound, ack_forms, now=now, due=due, token=token)
    return render_to_string("infusions/_session_body.html", {**context, "csrf_token": CSRF_PLACEHOLDER})


def _render(
    request: HttpRequest,
    user: User,
    session: InfusionSession,
    bound: Mapping[str, BaseForm] | None = None,
    ack_forms: Mapping[int, AcknowledgeForm] | None = None,
) -> HttpResponse:
    audit.record_read(user, session, patient_id=session.patient_id, location_id=session.location_id)
    body = session_body(request, user, session, bound, ack_forms)
    return render(request, "infusions/session.html", {"patient": session.patient, "session": session, "body": body})


@signed_in(can_view_infusions)
@require_GET
def session_page(request: HttpRequest, pk: int) -> HttpResponse:
    user, session = _load(request, pk, can_view_session)
    return _render(request, user, session)


@signed_in(can_view_infusions)
@require_GET
def session_state(request: HttpRequest, pk: int) -> JsonResponse:
    """The change token and the header's clock; no clinical values (polled, not audited)."""
    _, session = _load(request, pk, can_view_session)
    now = timezone.now()
    label, running = elapsed(session, now)
    due = queries.vitals_due(session, now)
    return JsonResponse(
        {
            "token": change_token(session, now, due),
            "status": session.status,
            "status_label": session.get_status_display(),
            "elapsed_label": label,
            "elapsed": running,
            "vitals_overdue": due.overdue,
            "poll_seconds": POLL_SECONDS,
        },
        headers={"Cache-Control": "no-store"},
    )


@signed_in(can_view_infusions)
@require_GET
def session_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The regions that change while the page is open, rendered as on the page."""
    user, session = _load(request, pk, can_view_session)
    audit.record_read(user, session, patient_id=session.patient_id, location_id=session.location_id)
    response = render(request, "infusions/_session_live.html", _live_context(user, session, timezone.now()))
    response["Cache-Control"] = "no-store"
    return response


# --- Charting: one POST per action ----------------------------------------------------------------

# A charting step: calls one action and returns the confirmation (and, optionally, the section
# to land on when it differs from the form's own).
Run = Callable[[dict[str, Any]], str | tuple[str, str]]


def _charting(
    request: HttpRequest, pk: int, check: Callable[[User, InfusionSession], bool] = can_chart_session
) -> tuple[User, InfusionSession, HttpResponse | None]:
    """Load the session for a charting POST; a signed record answers with the lock message."""
    user, session = _load(request, pk, check)
    if session.status in SIGNED:
        messages.error(request, LOCKED_MESSAGE)
        return user, session, redirect(_page_url(session))
    return user, session, None


def _submit(  # noqa: PLR0913, PLR0917 - the parts of one charting round trip
    request: HttpRequest,
    user: User,
    session: InfusionSession,
    key: str,
    form: BaseForm,
    run: Run,
    anchor: str,
    rename: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Validate the form, call the action, redirect with its message, or re-render the page
    with the errors beside their fields (nothing written)."""
    if form.is_valid():
        try:
            outcome = run(form.cleaned_data)
        except ValidationError as exc:
            form.limit_level = getattr(exc, "level", "")  # type: ignore[attr-defined]
            add_action_errors(form, exc, rename)
        else:
            message, anchor = outcome if isinstance(outcome, tuple) else (outcome, anchor)
            messages.success(request, message)
            return redirect(_page_url(session, anchor))
    _not_saved(request, form)
    fresh = get_object_or_404(_sessions(), pk=session.pk)
    return _render(request, user, fresh, {key: form})


def _not_saved(request: HttpRequest, form: BaseForm) -> None:
    """A summary at the top of the page: the form with the errors may be far down (the
    page's script then moves focus to its first field with an error)."""
    first = next((str(e) for errors in form.errors.values() for e in errors), "check the form.")
    messages.error(request, f"Not saved: {first}")


def _credential(data: Mapping[str, Any], prefix: str) -> actions.WitnessCredential | None:
    username = (data.get(f"{prefix}_username") or "").strip()
    if not username:
        return None
    return actions.WitnessCredential(username=username, password=data.get(f"{prefix}_password") or "")


def _when(session: InfusionSession, at: time | None) -> datetime | None:
    return local_datetime(session.location.time_zone, at)


@signed_in(can_chart_infusions)
@require_POST
def checklist(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    form = ChecklistForm(request.POST, version=session.protocol_version)

    def run(data: dict[str, Any]) -> str:
        actions.complete_checklist(
            acting_user=user,
            session=session,
            weight_kg=data["weight_kg"],
            escort_name=data.get("escort_name", ""),
            escort_phone=data.get("escort_phone", ""),
            fasting_confirmed=bool(data.get("fasting_confirmed")),
            pregnancy=data.get("pregnancy") or "",
            items=form.items(),
        )
        return f"Checklist complete. Weight {data['weight_kg']} kg recorded. Chart baseline vitals next."

    return _submit(request, user, session, "checklist", form, run, "baseline")


@signed_in(can_chart_infusions)
@require_POST
def record_vitals(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    form = VitalsForm(request.POST, version=session.protocol_version)

    def run(data: dict[str, Any]) -> str | tuple[str, str]:
        _vital, raised = actions.record_vitals(
            acting_user=user, session=session, values=form.values(), taken_at=_when(session, data.get("taken_at"))
        )
        if raised:
            return (
                f"Vitals saved. {len(raised)} alert(s) raised: acknowledge each with the action taken.",
                "region-alerts",
            )
        return "Vitals saved."

    anchor = "baseline" if session.status in PRE_START else "vitals"
    return _submit(request, user, session, "vitals", form, run, anchor, {"at": "taken_at"})


@signed_in(can_chart_infusions)
@require_POST
def validate_vitals(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    try:
        count = actions.validate_device_vitals(acting_user=user, session=session)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{count} monitor reading(s) validated under your name." if count else "No monitor readings to validate.",
        )
    return redirect(_page_url(session, "flowsheet"))


@signed_in(can_chart_infusions)
@require_POST
def acknowledge(request: HttpRequest, pk: int, alert_pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    alert = get_object_or_404(Alert.objects.select_related("session"), pk=alert_pk, session=session)
    form = AcknowledgeForm(request.POST, prefix=f"ack-{alert.pk}")
    if form.is_valid():
        try:
            actions.acknowledge_alert(acting_user=user, alert=alert, action_taken=form.cleaned_data["action_taken"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Alert acknowledged: {alert.message}")
            return redirect(_page_url(session))
    _not_saved(request, form)
    return _render(request, user, session, ack_forms={alert.pk: form})


@signed_in(can_approve_overrides)
@require_POST
def override_baseline(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk, can_override_session)
    if locked:
        return locked
    form = OverrideForm(request.POST)

    def run(data: dict[str, Any]) -> str:
        actions.override_baseline(acting_user=user, session=session, reason=data["reason"])
        return "Baseline block overridden: the infusion may start. Your reason is on the record."

    return _submit(request, user, session, "override", form, run, "pump")


@signed_in(can_chart_infusions)
@require_POST
def prepare_bag(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    rows = balance_rows([session.location_id])
    form = BagForm(request.POST, rows=rows)

    def run(data: dict[str, Any]) -> str:
        row = form.rows[data["container"]]
        bag = actions.prepare_bag(
            acting_user=user,
            session=session,
            container=row.container,
            vial_ml_drawn=data["vial_ml_drawn"],
            final_volume_ml=data["final_volume_ml"],
            diluent=data["diluent"],
        )
        return (
            f"Bag prepared: {bag.drug_mg} mg in {bag.final_volume_ml} mL = {bag.concentration_mg_per_ml.normalize()} "
            f"mg/mL, dispensed from {row.container.label} on the ledger."
        )

    return _submit(request, user, session, "bag", form, run, "pump")


@signed_in(can_chart_infusions)
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    form = StartForm(request.POST)
    data_raw = request.POST
    # The prescriber's check runs first and only with an override reason from a nurse.
    prescriber_first = bool(data_raw.get("override_reason", "").strip()) and not can_approve_overrides(user)
    rename = witness_field_names(credential_prefix="prescriber" if prescriber_first else "checker")

    def run(data: dict[str, Any]) -> str:
        event = actions.start_infusion(
            acting_user=user,
            session=session,
            dose_mg_per_kg_h=data["dose_mg_per_kg_h"],
            pump_rate_ml_per_h=data["pump_rate_ml_per_h"],
            override_reason=data.get("override_reason") or "",
            prescriber=_credential(data, "prescriber"),
            double_checker=_credential(data, "checker"),
        )
        return f"Infusion started at {event.dose_mg_per_kg_h} mg/kg/h = {event.pump_rate_ml_per_h} mL/h."

    return _submit(request, user, session, "start", form, run, "pump", rename)


@signed_in(can_chart_infusions)
@require_POST
def titrate(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    form = TitrateForm(request.POST)

    def run(data: dict[str, Any]) -> str:
        event = actions.set_rate(
            acting_user=user,
            session=session,
            dose_mg_per_kg_h=data["dose_mg_per_kg_h"],
            reason=data["reason"],
            override_reason=data.get("override_reason") or "",
            prescriber=_credential(data, "prescriber"),
            pump_rate_ml_per_h=data.get("pump_rate_ml_per_h"),
        )
        approved = f" Soft-limit override by {event.override_by.get_full_name()}." if event.override_by else ""
        return (
            f"Rate changed to {event.dose_mg_per_kg_h} mg/kg/h: programme the pump to "
            f"{event.pump_rate_ml_per_h} mL/h.{approved}"
        )

    return _submit(
        request, user, session, "titrate", form, run, "pump", witness_field_names(credential_prefix="prescriber")
    )


@signed_in(can_chart_infusions)
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        actions.pause_infusion(acting_user=user, session=session, reason=data["reason"])
        return "Infusion paused: stop the pump now. Nothing is given until you resume."

    return _submit(request, user, session, "pause", PauseForm(request.POST), run, "pump")


@signed_in(can_chart_infusions)
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        actions.resume_infusion(acting_user=user, session=session, reason=data.get("reason") or "")
        dose = queries.current_dose(session)
        rate = _rate_or_none(session, dose)
        return f"Infusion resumed at {dose} mg/kg/h = {rate} mL/h." if rate else "Infusion resumed."

    return _submit(request, user, session, "resume", ResumeForm(request.POST), run, "pump")


@signed_in(can_chart_infusions)
@require_POST
def stop(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        actions.stop_infusion(acting_user=user, session=session, reason=data["reason"])
        minutes = session.protocol_version.recovery_min_minutes
        return f"Infusion stopped. Recovery has started: at least {minutes} min before discharge."

    return _submit(request, user, session, "stop", StopForm(request.POST), run, "recovery")


@signed_in(can_chart_infusions)
@require_POST
def bolus(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        event = actions.give_bolus(acting_user=user, session=session, bolus_mg=data["bolus_mg"], reason=data["reason"])
        return f"Bolus of {event.bolus_mg} mg recorded."

    return _submit(request, user, session, "bolus", BolusForm(request.POST), run, "pump")


@signed_in(can_chart_infusions)
@require_POST
def side_effect(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        effect = actions.record_side_effect(
            acting_user=user,
            session=session,
            kind=data["kind"],
            severity=data["severity"],
            outcome=data["outcome"],
            intervention=data["intervention"],
            other_text=data["other_text"],
            onset_at=_when(session, data.get("onset_at")),
        )
        return f"Side effect recorded: {effect.label} ({effect.get_severity_display().lower()})."

    form = SideEffectForm(request.POST)
    return _submit(request, user, session, "side_effect", form, run, "side-effects", {"at": "onset_at"})


@signed_in(can_chart_infusions)
@require_POST
def medication(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    form = MedicationForm(request.POST, side_effects=session.side_effects.all())

    def run(data: dict[str, Any]) -> str:
        med = actions.record_medication(
            acting_user=user,
            session=session,
            drug=data["drug"],
            dose=data["dose"],
            dose_unit=data["dose_unit"],
            route=data["route"],
            given_at=_when(session, data.get("given_at")),
            side_effect=form.chosen_side_effect(),
        )
        return f"Medication recorded: {med.drug} {med.dose.normalize()} {med.dose_unit} {med.get_route_display()}."

    return _submit(request, user, session, "medication", form, run, "side-effects", {"at": "given_at"})


@signed_in(can_chart_infusions)
@require_POST
def recovery_score(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    form = AldreteForm(request.POST, variant=session.protocol_version.aldrete_variant)

    def run(data: dict[str, Any]) -> str:
        score = actions.record_recovery_score(acting_user=user, session=session, **data)
        verdict = "meets" if score.discharge_eligible else "is below"
        return f"Aldrete {score.total}/10 recorded; it {verdict} the discharge threshold of {score.threshold}."

    return _submit(request, user, session, "aldrete", form, run, "recovery")


@signed_in(can_chart_infusions)
@require_POST
def discharge(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        done = actions.discharge(acting_user=user, session=session, escort_name=data["escort_name"], note=data["note"])
        return f"Discharged home with {done.discharged_to}. Account for the drug, then sign the record."

    return _submit(request, user, session, "discharge", DischargeForm(request.POST), run, "accountability")


@signed_in(can_chart_infusions)
@require_POST
def account(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked

    def run(data: dict[str, Any]) -> str:
        witness = actions.WitnessCredential(
            username=data["witness_username"], password=data["witness_password"], otp=data["witness_otp"]
        )
        actions.account_for_drug(
            acting_user=user,
            session=session,
            waste_method=data["waste_method"],
            witness=witness if data["witness_username"] else None,
        )
        balance = session_balance(session.ledger_ref)
        return (
            f"Ketamine accounted for: {balance.administered_ml} mL administered, "
            f"{balance.wasted_ml} mL wasted with a witness."
        )

    return _submit(request, user, session, "account", AccountForm(request.POST), run, "signatures")


@signed_in(can_chart_infusions)
@require_POST
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    user, session, locked = _charting(request, pk)
    if locked:
        return locked
    try:
        actions.nurse_sign(acting_user=user, session=session)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, "Signed. A prescriber co-signs next; the record then locks.")
    return redirect(_page_url(session, "signatures"))


@signed_in(can_cosign_infusions)
@require_POST
def cosign(request: HttpRequest, pk: int) -> HttpResponse:
    user, session = _load(request, pk, can_cosign_session)
    try:
        actions.cosign(acting_user=user, session=session)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, "Co-signed. The record is locked; corrections are addenda.")
    return redirect(_page_url(session, "signatures"))


@signed_in(can_chart_infusions)
@require_POST
def addendum(request: HttpRequest, pk: int) -> HttpResponse:
    user, session = _load(request, pk, can_chart_session)
    form = AddendumForm(request.POST)

    def run(data: dict[str, Any]) -> str:
        actions.add_addendum(acting_user=user, session=session, text=data["text"])
        return "Addendum added to the record."

    return _submit(request, user, session, "addendum", form, run, "addenda")


def _p(suffix: str, view: Callable[..., HttpResponse], name: str) -> Any:
    return path(f"sessions/<int:pk>/{suffix}", view, name=name)


urlpatterns = [
    _p("", session_page, "session"),
    _p("state.json", session_state, "session_state"),
    _p("live/", session_live, "session_live"),
    _p("checklist/", checklist, "session_checklist"),
    _p("vitals/", record_vitals, "session_vitals"),
    _p("vitals/validate/", validate_vitals, "session_validate_vitals"),
    _p("alerts/<int:alert_pk>/acknowledge/", acknowledge, "session_acknowledge"),
    _p("override/", override_baseline, "session_override"),
    _p("bag/", prepare_bag, "session_bag"),
    _p("start/", start, "session_start"),
    _p("rate/", titrate, "session_titrate"),
    _p("pause/", pause, "session_pause"),
    _p("resume/", resume, "session_resume"),
    _p("stop/", stop, "session_stop"),
    _p("bolus/", bolus, "session_bolus"),
    _p("side-effects/", side_effect, "session_side_effect"),
    _p("medications/", medication, "session_medication"),
    _p("recovery-score/", recovery_score, "session_recovery_score"),
    _p("discharge/", discharge, "session_discharge"),
    _p("account/", account, "session_account"),
    _p("sign/", sign, "session_sign"),
    _p("cosign/", cosign, "session_cosign"),
    _p("addendum/", addendum, "session_addendum"),
]
