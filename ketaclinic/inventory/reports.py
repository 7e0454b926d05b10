"""The DEA records as files: the 21 CFR 1304.22(c) dispensing record for a period and the
periodic inventory (21 CFR 1304.11), each as CSV and as PDF (WeasyPrint)."""

from __future__ import annotations

import csv
import io
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string

from ketaclinic.clinics.models import Location
from ketaclinic.inventory.actions import NO_ADDRESS
from ketaclinic.inventory.choices import KETAMINE_DEA_CODE, KETAMINE_SCHEDULE
from ketaclinic.inventory.models import InventoryCount
from ketaclinic.inventory.queries import ProductRecord, dispensing_record

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


@dataclass(frozen=True)
class Period:
    location: Location
    start_day: date
    end_day: date  # included

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.location.time_zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.start_day, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.end_day + timedelta(days=1), time.min, tzinfo=self.zone)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)


def record_for(period: Period) -> list[ProductRecord]:
    return dispensing_record(period.location.pk, period.start, period.end)


CSV_COLUMNS = [
    "section",
    "entry_id",
    "date_time_local",
    "substance",
    "product",
    "ndc",
    "finished_form",
    "strength_mg_per_ml",
    "lot",
    "container",
    "kind",
    "ml",
    "mg",
    "patient_name",
    "patient_address",
    "session",
    "initials",
    "recorded_by",
    "witness",
    "supplier_name",
    "supplier_address",
    "supplier_dea_number",
    "invoice_number",
    "facts",
    "reason",
]


def dispensing_record_csv(period: Period, records: list[ProductRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    loc = period.location
    writer.writerow(["Dispensing record, 21 CFR 1304.22(c)"])
    writer.writerow(["Registrant", _text(loc.name), _text(loc.address), f"DEA {loc.dea_number or 'not on file'}"])
    writer.writerow(["Substance", "Ketamine", f"Schedule {KETAMINE_SCHEDULE}", f"DEA code {KETAMINE_DEA_CODE}"])
    writer.writerow(["Period", period.start_day.isoformat(), period.end_day.isoformat(), f"times in {loc.time_zone}"])
    writer.writerow([])
    writer.writerow(CSV_COLUMNS)
    for record in records:
        product = record.product
        writer.writerow(
            [
                "opening_balance",
                "",
                period.start_day.isoformat(),
                "Ketamine",
                _text(product.name),
                product.ndc,
                product.get_form_display(),
                product.strength_mg_per_ml,
                "",
                "",
                "",
                record.opening_ml,
            ]
        )
        sections = (
            ("receipt", record.receipts),
            ("dispensed", record.dispenses),
            ("administered", record.administrations),
            ("disposal", record.disposals),
            ("other", record.other),
        )
        for section, entries in sections:
            for e in entries:
                d = e.details
                writer.writerow(
                    [
                        section,
                        e.pk,
                        period.local(e.at).strftime("%Y-%m-%d %H:%M"),
                        "Ketamine",
                        _text(product.name),
                        product.ndc,
                        product.get_form_display(),
                        product.strength_mg_per_ml,
                        _text(e.container.lot.lot_number),
                        _text(e.container.label),
                        e.get_kind_display(),
                        e.ml,
                        e.mg,
                        _text(e.patient_name),
                        _text(e.patient_address),
                        _text(e.session_ref),
                        _text(e.recorded_by_initials),
                        _text(e.recorded_by_name),
                        _text(" and ".join(n for n in (e.witness_name, e.second_witness_name) if n)),
                        _text(d.get("supplier_name", "")),
                        _text(d.get("supplier_address", "")),
                        _text(d.get("supplier_dea_number", "")),
                        _text(d.get("invoice_number", "")),
                        _text(e.facts),
                        _text(e.reason),
                    ]
                )
        writer.writerow(
            [
                "closing_balance",
                "",
                period.end_day.isoformat(),
                "Ketamine",
                _text(product.name),
                product.ndc,
                product.get_form_display(),
                product.strength_mg_per_ml,
                "",
                "",
                "",
                record.closing_ml,
            ]
        )
    return out.getvalue()


def _pdf(template: str, context: dict[str, object]) -> bytes:
    html = render_to_string(template, {"clinic_name": settings.CLINIC_NAME, **context})
    # Imported here: WeasyPrint takes about half a second to load; only report downloads need it.
    from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]  # noqa: PLC0415

    # The report holds only text from the database: fetch nothing (no files, no other hosts).
    fetcher = URLFetcher(allowed_protocols=set(), fail_on_errors=False)
    pdf: bytes = HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
    return pdf


def dispensing_record_pdf(
    period: Period, records: list[ProductRecord], *, generated_by: str, generated_at: datetime
) -> bytes:
    return _pdf(
        "inventory/dispensing_record_pdf.html",
        {
            "period": period,
            "location": period.location,
            "records": records,
            "no_address": NO_ADDRESS,
            "generated_by": generated_by,
            "generated_at": period.local(generated_at),
            "schedule": KETAMINE_SCHEDULE,
            "dea_code": KETAMINE_DEA_CODE,
        },
    )


def inventory_csv(inventory: InventoryCount) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    loc = inventory.location
    zone = zoneinfo.ZoneInfo(loc.time_zone)
    lines = list(inventory.lines.select_related("container__lot__product"))
    writer.writerow([f"{inventory.get_kind_display()}, 21 CFR 1304.11"])
    writer.writerow(["Registrant", _text(loc.name), _text(loc.address), f"DEA {loc.dea_number or 'not on file'}"])
    writer.writerow(["Substance", "Ketamine", f"Schedule {KETAMINE_SCHEDULE}", f"DEA code {KETAMINE_DEA_CODE}"])
    writer.writerow(
        ["Taken", inventory.taken_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), inventory.get_business_time_display()]
    )
    writer.writerow(
        ["Signed by", _text(inventory.taken_by_name), inventory.signed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")]
    )
    writer.writerow(
        ["Containers", len(lines), "Total counted (mL)", sum((line.counted_ml for line in lines), Decimal(0))]
    )
    writer.writerow([])
    writer.writerow(
        [
            "container",
            "product",
            "ndc",
            "finished_form",
            "strength_mg_per_ml",
            "container_volume_ml",
            "lot",
            "expires_on",
            "opened",
            "counted_ml",
            "counted_mg",
            "ledger_ml",
        ]
    )
    for line in lines:
        product = line.container.lot.product
        writer.writerow(
            [
                _text(line.container.label),
                _text(product.name),
                product.ndc,
                product.get_form_display(),
                product.strength_mg_per_ml,
                product.container_volume_ml,
                _text(line.container.lot.lot_number),
                line.container.lot.expires_on.isoformat(),
                "yes" if line.is_opened else "no (sealed)",
                line.counted_ml,
                (line.counted_ml * product.strength_mg_per_ml).quantize(Decimal("0.001")),
                line.expected_ml,
            ]
        )
    return out.getvalue()


def inventory_pdf(inventory: InventoryCount) -> bytes:
    zone = zoneinfo.ZoneInfo(inventory.location.time_zone)
    lines = list(inventory.lines.select_related("container__lot__product"))
    return _pdf(
        "inventory/inventory_pdf.html",
        {
            "inventory": inventory,
            "location": inventory.location,
            "lines": lines,
            "taken_local": inventory.taken_at.astimezone(zone),
            "signed_local": inventory.signed_at.astimezone(zone),
            "total_ml": sum((line.counted_ml for line in lines), Decimal(0)),
        },
    )
