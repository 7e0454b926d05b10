"""The printable infusion record: everything charted for one session, read in a fixed number of
queries, shown as a print page and rendered to PDF with WeasyPrint.

The renderer fetches nothing (no files, no other hosts): the record holds only text from the
database and an inline SVG chart, and a PDF renderer that follows links is a server-side request
forgery and file-disclosure hole (as in consents.pdf and inventory.reports)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from ketaclinic.infusions import actions, charts, queries
from ketaclinic.infusions.forms_library import ORDER_LIMITS, display_value
from ketaclinic.infusions.models import InfusionSession, SessionEvent
from ketaclinic.inventory.models import LedgerEntry

# WeasyPrint reports each rendering step at INFO; one line per step per record is noise.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@dataclass(frozen=True)
class TimelineRow:
    event: SessionEvent
    text: str


def load_session(pk: int) -> InfusionSession:
    return InfusionSession.objects.select_related(
        "patient",
        "location",
        "chair",
        "order__prescriber",
        "order__protocol_version__protocol",
        "protocol_version__protocol",
        "checked_in_by",
        "checklist_completed_by",
        "baseline_override_by",
        "discharged_by",
        "nurse_signed_by",
        "cosigned_by",
        "booking",
    ).get(pk=pk)


def limit_rows(session: InfusionSession) -> list[tuple[str, str, str, str]]:
    """(setting, protocol's value, order's value, value in force) for each dose limit."""
    limits = queries.effective_limits(session.order)
    rows = []
    for field, label, unit in ORDER_LIMITS:
        own = getattr(session.order, field)
        rows.append(
            (
                label,
                display_value(field, getattr(session.protocol_version, field)),
                display_value(field, own) if own is not None else "as protocol",
                f"{getattr(limits, field):g} {unit}",
            )
        )
    return rows


def record_context(session: InfusionSession, *, now: datetime | None = None) -> dict[str, Any]:
    """Every part of the record for the templates (record_body.html)."""
    version = session.protocol_version
    vitals = list(session.vitals.select_related("recorded_by", "validated_by"))
    events = list(session.events.select_related("recorded_by", "override_by"))
    totals = queries.session_totals(session)
    pain = queries.pain_before_after(session)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "session": session,
        "patient": session.patient,
        "version": version,
        "order": session.order,
        "limit_rows": limit_rows(session),
        "checklist": [(item, bool(session.checklist.get(item))) for item in version.checklist_items],
        "bags": list(session.bags.select_related("prepared_by", "pump_confirmed_by", "double_checked_by", "container")),
        "timeline": [TimelineRow(e, charts.event_text(e)) for e in events],
        "totals": totals,
        "vitals": vitals,
        "alerts": list(session.alerts.select_related("acknowledged_by", "vital")),
        "side_effects": list(session.side_effects.select_related("recorded_by").prefetch_related("medications")),
        "medications": list(session.medications.select_related("given_by", "side_effect")),
        "recovery_scores": list(session.recovery_scores.select_related("scored_by")),
        "addenda": list(session.addenda.select_related("author")),
        "ledger": list(LedgerEntry.objects.filter(session_ref=session.ledger_ref).order_by("at", "pk")),
        "pain": pain,
        "sign_blockers": actions.sign_blockers(session) if session.status == "discharged" else [],
        "flowsheet_chart": charts.flowsheet_chart_for(session, vitals=vitals, events=events, table=False),
        "time_zone": session.location.time_zone,
        "generated_at": (now or timezone.now()).astimezone(ZoneInfo(session.location.time_zone)),
    }


def render_record_pdf(context: dict[str, Any]) -> bytes:
    html = render_to_string("infusions/record_pdf.html", context)
    # Imported here: WeasyPrint takes about half a second to load; only record downloads need it.
    from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]  # noqa: PLC0415

    fetcher = URLFetcher(allowed_protocols=set(), fail_on_errors=False)
    pdf: bytes = HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
    return pdf
