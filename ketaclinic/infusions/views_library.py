"""Pages around the chairside session: the protocol library (read by clinical staff, versioned by
the medical director), a patient's infusion orders, the printable infusion record and its PDF,
and the log of monitor (HL7) messages with the answer each one got."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.forms import add_action_errors
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions import actions, pdf, queries
from ketaclinic.infusions.forms_library import (
    ORDER_LIMITS,
    OrderForm,
    ProtocolForm,
    VersionForm,
    carried_sources,
    display_value,
    grouped_settings,
    version_changes,
)
from ketaclinic.infusions.models import InfusionOrder, InfusionSession, MonitorMessage, Protocol, ProtocolVersion
from ketaclinic.infusions.permissions import (
    can_manage_protocols,
    can_view_all_monitor_messages,
    can_view_infusions,
    can_view_monitor_log,
    can_view_orders,
    can_view_patient_orders,
    can_view_protocols,
    can_view_record,
    can_write_order_for,
)
from ketaclinic.patients.models import Patient

MONITOR_LOG_ROWS = 200


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- Protocol library --------------------------------------------------------------------------


@signed_in(can_view_protocols)
def library(request: HttpRequest) -> HttpResponse:
    protocols = list(
        Protocol.objects.order_by("-is_active", "name").prefetch_related(
            Prefetch("versions", queryset=ProtocolVersion.objects.order_by("-number"), to_attr="newest_first")
        )
    )
    rows = [(p, p.newest_first[0] if p.newest_first else None) for p in protocols]
    return render(
        request,
        "infusions/library.html",
        {"rows": rows, "can_manage": can_manage_protocols(_user(request))},
    )


@signed_in(can_view_protocols)
def protocol_detail(request: HttpRequest, pk: int) -> HttpResponse:
    protocol = get_object_or_404(Protocol, pk=pk)
    versions = list(protocol.versions.select_related("created_by").order_by("-number"))
    if not versions:
        raise PermissionDenied("This protocol has no version.")
    current = versions[0]
    shown = current
    if "version" in request.GET:
        try:
            number = int(request.GET["version"])
        except ValueError:
            number = current.number
        shown = next((v for v in versions if v.number == number), current)
    history = [
        (v, version_changes(versions[i + 1], v) if i + 1 < len(versions) else None) for i, v in enumerate(versions)
    ]
    return render(
        request,
        "infusions/protocol.html",
        {
            "protocol": protocol,
            "current": current,
            "shown": shown,
            "groups": grouped_settings(shown),
            "history": history,
            "can_manage": can_manage_protocols(_user(request)),
        },
    )


@signed_in(can_manage_protocols)
@require_http_methods(["GET", "POST"])
def protocol_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish the next version: every setting, pre-filled from the current version."""
    protocol = get_object_or_404(Protocol, pk=pk)
    current = protocol.current_version
    if current is None:
        raise PermissionDenied("This protocol has no version to start from.")
    form = VersionForm(request.POST or None, initial=VersionForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        values = form.values()
        values["sources"] = carried_sources(current, values, current.number + 1)
        values["dose_unit"] = current.dose_unit
        try:
            version = actions.publish_protocol_version(
                acting_user=_user(request),
                protocol=protocol,
                values=values,
                change_note=form.cleaned_data["change_note"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Published version {version.number} of {protocol.name}.")
            return redirect("infusions:protocol", pk=protocol.pk)
    return render(request, "infusions/protocol_publish.html", {"protocol": protocol, "current": current, "form": form})


@signed_in(can_manage_protocols)
@require_http_methods(["GET", "POST"])
def protocol_new(request: HttpRequest) -> HttpResponse:
    """A new protocol; its first version takes the cited defaults, changed by publishing."""
    form = ProtocolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            protocol = actions.create_protocol(acting_user=_user(request), **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Created {protocol.name} with version 1 from the cited defaults.")
            return redirect("infusions:protocol", pk=protocol.pk)
    return render(request, "infusions/protocol_new.html", {"form": form})


# --- Orders --------------------------------------------------------------------------------------


def _orderable_versions() -> Any:
    """The current version of each active protocol (older versions are superseded)."""
    newest = {
        p.pk: p.newest_first[0].pk
        for p in Protocol.objects.filter(is_active=True).prefetch_related(
            Prefetch("versions", queryset=ProtocolVersion.objects.order_by("-number"), to_attr="newest_first")
        )
        if p.newest_first
    }
    return ProtocolVersion.objects.filter(pk__in=newest.values()).select_related("protocol").order_by("protocol__name")


@signed_in(can_view_orders)
@require_http_methods(["GET", "POST"])
def patient_orders(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's infusion orders, newest first; a prescriber at the patient's location writes a
    new one here (it replaces the active order)."""
    user = _user(request)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if not can_view_patient_orders(user, patient):
        raise PermissionDenied
    can_write = can_write_order_for(user, patient)
    if request.method == "POST" and not can_write:
        raise PermissionDenied
    form = OrderForm(request.POST or None, versions=_orderable_versions()) if can_write else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = actions.write_order(
                acting_user=user,
                patient=patient,
                protocol_version=data["protocol_version"],
                start_mg_per_kg_h=data["start_mg_per_kg_h"],
                soft_max_mg_per_kg_h=data["soft_max_mg_per_kg_h"],
                hard_max_mg_per_kg_h=data["hard_max_mg_per_kg_h"],
                max_total_mg_per_session=data["max_total_mg_per_session"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Order written: {order.protocol_version}. It replaces any earlier order.")
            return redirect("infusions:orders", pk=patient.pk)
    orders = list(
        InfusionOrder.objects.filter(patient=patient)
        .select_related("protocol_version__protocol", "prescriber")
        .order_by("-created_at", "-pk")
    )
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    rows = [(o, _order_limits(o)) for o in orders]
    return render(
        request,
        "infusions/orders.html",
        {"patient": patient, "rows": rows, "form": form, "can_write": can_write},
    )


def _order_limits(order: InfusionOrder) -> list[tuple[str, str, bool]]:
    """(label, value in force, narrowed?) for each limit of an order."""
    limits = queries.effective_limits(order)
    return [
        (
            label,
            display_value(field, getattr(order, field))
            if getattr(order, field) is not None
            else f"{getattr(limits, field):g} {unit}",
            getattr(order, field) is not None,
        )
        for field, label, unit in ORDER_LIMITS
    ]


# --- Printable record ---------------------------------------------------------------------------


def _session_for(request: HttpRequest, pk: int) -> InfusionSession:
    get_object_or_404(InfusionSession.objects.only("pk"), pk=pk)
    session = pdf.load_session(pk)
    if not can_view_record(_user(request), session):
        raise PermissionDenied
    return session


@signed_in(can_view_infusions)
def record(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole infusion record as one page to print."""
    session = _session_for(request, pk)
    audit.record_read(_user(request), session, patient_id=session.patient_id, location_id=session.location_id)
    return render(request, "infusions/record.html", pdf.record_context(session))


@signed_in(can_view_infusions)
def record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session_for(request, pk)
    audit.record(
        actor=_user(request),
        action=AuditEvent.Action.EXPORT,
        obj=session,
        patient_id=session.patient_id,
        location_id=session.location_id,
        changes={"format": [None, "pdf"]},
    )
    response = HttpResponse(pdf.render_record_pdf(pdf.record_context(session)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="infusion-record-{session.pk}.pdf"'
    return response


# --- Monitor message log ------------------------------------------------------------------------


@signed_in(can_view_monitor_log)
def monitor_log(request: HttpRequest) -> HttpResponse:
    """Recent HL7 messages from bedside monitors with the ACK each got, so a refused message
    (unknown chair, bad message, no open session) is seen by staff, not only by a log file."""
    user = _user(request)
    rows = MonitorMessage.objects.select_related("chair__location", "session").order_by("-received_at", "-pk")
    if not can_view_all_monitor_messages(user):
        mine = list(user.location_ids)
        rows = rows.filter(Q(chair__location_id__in=mine) | Q(session__location_id__in=mine))
    only_refused = request.GET.get("show") == "refused"
    if only_refused:
        rows = rows.exclude(ack_code="AA")
    return render(
        request,
        "infusions/monitor_log.html",
        {
            "rows": list(rows[:MONITOR_LOG_ROWS]),
            "only_refused": only_refused,
            "limit": MONITOR_LOG_ROWS,
            "sees_all": can_view_all_monitor_messages(user),
        },
    )


urlpatterns: list[URLPattern] = [
    path("library/", library, name="library"),
    path("library/new/", protocol_new, name="protocol_new"),
    path("library/<int:pk>/", protocol_detail, name="protocol"),
    path("library/<int:pk>/publish/", protocol_publish, name="protocol_publish"),
    path("patients/<int:pk>/orders/", patient_orders, name="orders"),
    path("records/<int:pk>/", record, name="record"),
    path("records/<int:pk>/pdf/", record_pdf, name="record_pdf"),
    path("monitor/", monitor_log, name="monitor_log"),
]
