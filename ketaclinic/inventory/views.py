"""The controlled-substance pages: inventory home per location, receiving, a container and its
ledger, witnessed waste, adjustments and losses, shift counts, discrepancies, and the medical
director's DEA reports and inventories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.forms import add_action_errors
from ketaclinic.core.models import AuditEvent
from ketaclinic.inventory import actions, ledger, queries, reports
from ketaclinic.inventory.actions import DestructionFacts, InsufficientStock, LossFacts, WitnessCredential
from ketaclinic.inventory.choices import EntryKind, LossType, expiry_warning_days
from ketaclinic.inventory.forms import (
    AdjustForm,
    CorrectionForm,
    CountForm,
    DestructionForm,
    InventoryForm,
    LocationForm,
    LossForm,
    LowStockForm,
    PeriodForm,
    ProductCreateForm,
    ReceiveForm,
    ResolveForm,
    ReturnForm,
    TransferForm,
    WasteForm,
)
from ketaclinic.inventory.models import Container, Discrepancy, InventoryCount, LedgerEntry, Product
from ketaclinic.inventory.permissions import (
    can_count_stock,
    can_count_stock_at,
    can_manage_ledger,
    can_manage_ledger_at,
    can_receive_stock,
    can_record_entry,
    can_view_dea_reports,
    can_view_dea_reports_at,
    can_view_inventory,
    can_view_inventory_at,
    can_waste_stock,
)

RECENT_ENTRIES = 25


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _my_locations(user: User) -> QuerySet[Location]:
    return Location.objects.filter(pk__in=user.location_ids, is_active=True).order_by("name")


def _chosen_location(request: HttpRequest, user: User) -> Location:
    """The location named by ``?location=`` (or the form's), else the user's first location."""
    raw = request.GET.get("location") or request.POST.get("location")
    locations = _my_locations(user)
    if raw:
        try:
            return get_object_or_404(locations, pk=int(raw))
        except ValueError as exc:
            raise PermissionDenied from exc
    first = locations.first()
    if first is None:
        raise PermissionDenied("You do not work at any location.")
    return first


def _container(request: HttpRequest, pk: int, check: Any, *args: Any) -> tuple[User, Container]:
    user = _user(request)
    container = get_object_or_404(Container.objects.select_related("lot__product", "location"), pk=pk)
    if not check(user, *args, container.location_id):
        raise PermissionDenied
    return user, container


@signed_in(can_view_inventory)
def inventory_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    location = _chosen_location(request, user)
    if not can_view_inventory_at(user, location.pk):
        raise PermissionDenied
    groups = queries.grouped_balances(location.pk)
    today = timezone.localdate(timezone.now(), timezone=ZoneInfo(location.time_zone))
    recent = list(
        LedgerEntry.objects.filter(location=location)
        .select_related("container__lot__product")
        .order_by("-at", "-id")[:RECENT_ENTRIES]
    )
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="inventory.LedgerEntry",
        object_id="recent",
        location_id=location.pk,
        changes={"entry_ids": [e.pk for e in recent]},
    )
    return render(
        request,
        "inventory/home.html",
        {
            "location": location,
            "location_form": LocationForm(initial={"location": location.pk}, locations=_my_locations(user)),
            "groups": groups,
            "warnings": queries.warnings(location.pk, today, groups),
            "expiry_days": expiry_warning_days(),
            "recent": recent,
            "can_receive": can_record_entry(user, EntryKind.RECEIVE, location.pk),
            "can_count": can_count_stock_at(user, location.pk),
            "can_manage": can_manage_ledger_at(user, location.pk),
            "can_report": can_view_dea_reports_at(user, location.pk),
            "can_correct": can_record_entry(user, EntryKind.CORRECTION, location.pk),
        },
    )


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    location = _chosen_location(request, user)
    if not can_manage_ledger_at(user, location.pk):
        raise PermissionDenied
    form = ProductCreateForm(request.POST or None, instance=Product(location=location))
    if request.method == "POST" and form.is_valid():
        try:
            product = actions.create_product(acting_user=user, location=location, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"{product} added to {location.name}.")
            return redirect(f"{reverse('inventory:home')}?location={location.pk}")
    return render(request, "inventory/product_new.html", {"form": form, "location": location})


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    product = get_object_or_404(Product.objects.select_related("location"), pk=pk)
    if not can_manage_ledger_at(user, product.location_id):
        raise PermissionDenied
    form = LowStockForm(request.POST or None, initial={"low_stock_ml": product.low_stock_ml})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                product = actions.set_low_stock_level(
                    acting_user=user, product=product, low_stock_ml=form.cleaned_data["low_stock_ml"]
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
                status = 422
            else:
                messages.success(request, f"Low-stock level of {product.name} is {product.low_stock_ml} mL.")
                return redirect(f"{reverse('inventory:home')}?location={product.location_id}")
        else:
            status = 422
    return render(request, "inventory/product_edit.html", {"form": form, "product": product}, status=status)


@signed_in(can_receive_stock)
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    location = _chosen_location(request, user)
    if not can_record_entry(user, EntryKind.RECEIVE, location.pk):
        raise PermissionDenied
    products = Product.objects.filter(location=location, is_active=True)
    form = ReceiveForm(request.POST or None, products=products)
    if request.method == "POST" and form.is_valid():
        try:
            entries = actions.receive_stock(acting_user=user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            labels = ", ".join(e.container.label for e in entries)
            messages.success(request, f"Received {len(entries)} vial(s): {labels}. Label the vials with these IDs.")
            return redirect(f"{reverse('inventory:home')}?location={location.pk}")
    return render(
        request,
        "inventory/receive.html",
        {
            "form": form,
            "location": location,
            "has_products": products.exists(),
            "can_manage": can_manage_ledger_at(user, location.pk),
        },
    )


@signed_in(can_view_inventory)
def container_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_view_inventory_at)
    entries = list(queries.entries_for(container))
    # Dispense and administration entries carry patient names: reading them is audited.
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        obj=container,
        location_id=container.location_id,
        changes={"patient_ids": sorted({e.patient_id for e in entries if e.patient_id})},
    )
    balance = queries.container_balance_ml(container.pk)
    return render(
        request,
        "inventory/container.html",
        {
            "container": container,
            "product": container.lot.product,
            "entries": entries,
            "balance_ml": balance,
            "balance_mg": balance * container.lot.product.strength_mg_per_ml,
            "can_waste": can_record_entry(user, EntryKind.WASTE, container.location_id),
            "can_manage": can_manage_ledger_at(user, container.location_id),
            "can_return": balance > 0
            and container.opened_at is None
            and can_record_entry(user, EntryKind.RETURN, container.location_id),
            "can_transfer": balance > 0
            and can_record_entry(user, EntryKind.TRANSFER_OUT, container.location_id)
            and _transfer_destinations(user, container).exists(),
            "can_destroy": balance > 0 and can_record_entry(user, EntryKind.DESTRUCTION, container.location_id),
            "can_correct": can_record_entry(user, EntryKind.CORRECTION, container.location_id),
        },
    )


@signed_in(can_waste_stock)
@require_http_methods(["GET", "POST"])
def waste(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_record_entry, EntryKind.WASTE)
    form = WasteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            witness = WitnessCredential(data["witness_username"], data["witness_password"], data["witness_otp"])
            try:
                entry = actions.waste(
                    acting_user=user,
                    container=container,
                    ml=data["ml"],
                    method=data["method"],
                    witness=witness if data["witness_username"] else None,
                    session_ref=data["session_ref"],
                    reason=data["reason"],
                )
            except InsufficientStock as exc:
                form.add_error("ml", exc.messages)
                status = 409
            except ValidationError as exc:
                add_action_errors(form, exc)
                status = 422
            else:
                messages.success(request, f"Waste of {entry.ml} mL recorded, witnessed by {entry.witness_name}.")
                return redirect("inventory:container", pk=container.pk)
        else:
            status = 422
    return render(
        request,
        "inventory/waste.html",
        {"form": form, "container": container, "balance_ml": queries.container_balance_ml(container.pk)},
        status=status,
    )


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_manage_ledger_at)
    form = AdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = actions.adjust_balance(
                acting_user=user, container=container, ml=form.cleaned_data["ml"], reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Adjustment of {entry.ml} mL recorded on {container.label}.")
            return redirect("inventory:container", pk=container.pk)
    return render(
        request,
        "inventory/adjust.html",
        {"form": form, "container": container, "balance_ml": queries.container_balance_ml(container.pk)},
    )


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def loss(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_manage_ledger_at)
    form = LossForm(request.POST or None, initial={"discovered_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        facts = LossFacts(
            loss_type=data["loss_type"],
            discovered_on=data["discovered_on"],
            circumstances=data["circumstances"],
            police_notified=data["police_notified"],
            police_report_number=data["police_report_number"],
        )
        try:
            entry = actions.record_loss(acting_user=user, container=container, ml=data["ml"], facts=facts)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request,
                f"Loss of {entry.ml} mL recorded. File DEA Form 106 within the time DEA requires; the facts are on the entry.",
            )
            return redirect("inventory:container", pk=container.pk)
    return render(
        request,
        "inventory/loss.html",
        {"form": form, "container": container, "balance_ml": queries.container_balance_ml(container.pk)},
    )


@signed_in(can_count_stock)
@require_http_methods(["GET", "POST"])
def count(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    location = _chosen_location(request, user)
    if not can_count_stock_at(user, location.pk):
        raise PermissionDenied
    rows = queries.balance_rows([location.pk])
    form = CountForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            sheet = actions.record_count(
                acting_user=user, location=location, counted=form.counted(), note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            opened = Discrepancy.objects.filter(count_line__sheet=sheet).count()
            if opened:
                messages.warning(
                    request,
                    f"Count saved. {opened} container(s) did not match the ledger: the medical director is asked to resolve them.",
                )
            else:
                messages.success(request, f"Count saved: all {len(rows)} container(s) match the ledger.")
            return redirect(f"{reverse('inventory:home')}?location={location.pk}")
    return render(request, "inventory/count.html", {"form": form, "location": location, "fields": form.count_fields()})


@signed_in(can_manage_ledger)
def discrepancy_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    cases = list(queries.open_discrepancies(sorted(user.location_ids))[:200])
    return render(
        request,
        "inventory/discrepancies.html",
        {"open": [c for c in cases if c.is_open], "resolved": [c for c in cases if not c.is_open]},
    )


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def discrepancy_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = get_object_or_404(Discrepancy.objects.select_related("container__lot__product", "location"), pk=pk)
    if not can_manage_ledger_at(user, case.location_id):
        raise PermissionDenied
    form = ResolveForm(request.POST or None)
    if request.method == "POST" and case.is_open and form.is_valid():
        try:
            actions.resolve_discrepancy(
                acting_user=user,
                discrepancy=case,
                resolution=form.cleaned_data["resolution"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Discrepancy on {case.container.label} resolved.")
            return redirect("inventory:discrepancies")
    return render(
        request,
        "inventory/discrepancy_resolve.html",
        {"case": case, "form": form, "loss_type": LossType.UNEXPLAINED_LOSS.label},
    )


# --- Reports (medical director) ------------------------------------------------------------------


def _period(request: HttpRequest, user: User) -> tuple[PeriodForm, reports.Period]:
    location = _chosen_location(request, user)
    if not can_view_dea_reports_at(user, location.pk):
        raise PermissionDenied
    form = PeriodForm(request.GET if "start" in request.GET else None, initial=PeriodForm.default_initial())
    initial = PeriodForm.default_initial()
    start: date = initial["start"]
    end: date = initial["end"]
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return form, reports.Period(location, start, end)


def _audit_export(user: User, period: reports.Period, what: str) -> None:
    audit.record(
        actor=user,
        action=AuditEvent.Action.EXPORT,
        object_type="inventory.LedgerEntry",
        object_id="dispensing_record",
        location_id=period.location.pk,
        changes={"period": [None, f"{period.start_day}..{period.end_day}"], "format": [None, what]},
    )


@signed_in(can_view_dea_reports)
def reports_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, period = _period(request, user)
    records = reports.record_for(period)
    _audit_export(user, period, "html")
    query = f"location={period.location.pk}&start={period.start_day}&end={period.end_day}"
    return render(
        request,
        "inventory/reports.html",
        {
            "form": form,
            "period": period,
            "location": period.location,
            "location_form": LocationForm(initial={"location": period.location.pk}, locations=_my_locations(user)),
            "records": records,
            "query": query,
            "no_address": actions.NO_ADDRESS,
            "inventories": InventoryCount.objects.filter(location=period.location).select_related("location")[:20],
            "chain": ledger.verify_location(period.location.pk),
        },
    )


@signed_in(can_view_dea_reports)
def dispensing_record_csv(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _, period = _period(request, user)
    _audit_export(user, period, "csv")
    response = HttpResponse(reports.dispensing_record_csv(period, reports.record_for(period)), content_type="text/csv")
    name = f"dispensing-record-{period.location.pk}-{period.start_day}-{period.end_day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@signed_in(can_view_dea_reports)
def dispensing_record_pdf(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _, period = _period(request, user)
    _audit_export(user, period, "pdf")
    pdf = reports.dispensing_record_pdf(
        period,
        reports.record_for(period),
        generated_by=user.get_full_name() or user.username,
        generated_at=timezone.now(),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"dispensing-record-{period.location.pk}-{period.start_day}-{period.end_day}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def inventory_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    location = _chosen_location(request, user)
    if not can_manage_ledger_at(user, location.pk):
        raise PermissionDenied
    rows = queries.balance_rows([location.pk])
    form = InventoryForm(request.POST or None, rows=rows, initial={"kind": queries.next_inventory_kind(location.pk)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inventory = actions.take_inventory(
                acting_user=user,
                location=location,
                kind=data["kind"],
                business_time=data["business_time"],
                counted=form.counted(),
                password=data["password"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"{inventory.get_kind_display()} signed and saved.")
            return redirect("inventory:inventory_detail", pk=inventory.pk)
    return render(
        request, "inventory/inventory_new.html", {"form": form, "location": location, "fields": form.count_fields()}
    )


def _inventory(request: HttpRequest, pk: int) -> tuple[User, InventoryCount]:
    user = _user(request)
    inventory = get_object_or_404(InventoryCount.objects.select_related("location"), pk=pk)
    if not can_view_dea_reports_at(user, inventory.location_id):
        raise PermissionDenied
    return user, inventory


@signed_in(can_view_dea_reports)
def inventory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _, inventory = _inventory(request, pk)
    lines = list(inventory.lines.select_related("container__lot__product"))
    return render(request, "inventory/inventory_detail.html", {"inventory": inventory, "lines": lines})


def _audit_inventory_export(user: User, inventory: InventoryCount, what: str) -> None:
    audit.record(
        actor=user,
        action=AuditEvent.Action.EXPORT,
        obj=inventory,
        location_id=inventory.location_id,
        changes={"format": [None, what]},
    )


@signed_in(can_view_dea_reports)
def inventory_csv(request: HttpRequest, pk: int) -> HttpResponse:
    user, inventory = _inventory(request, pk)
    _audit_inventory_export(user, inventory, "csv")
    response = HttpResponse(reports.inventory_csv(inventory), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{_inventory_filename(inventory)}.csv"'
    return response


@signed_in(can_view_dea_reports)
def inventory_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user, inventory = _inventory(request, pk)
    _audit_inventory_export(user, inventory, "pdf")
    response = HttpResponse(reports.inventory_pdf(inventory), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_inventory_filename(inventory)}.pdf"'
    return response


def _inventory_filename(inventory: InventoryCount) -> str:
    day = timezone.localtime(inventory.taken_at, ZoneInfo(inventory.location.time_zone)).date()
    return f"{inventory.kind}-inventory-{inventory.location_id}-{day}"


# --- Returns, transfers, destruction and corrections (medical director) --------------------------


def _ledger_form_page(
    request: HttpRequest,
    *,
    template: str,
    form: BaseForm,
    context: dict[str, Any],
    record: Callable[[], LedgerEntry],
    success: Callable[[LedgerEntry], HttpResponse],
) -> HttpResponse:
    """The shared POST handling of the ledger forms: validate, call one action, and answer 422
    (bad input) or 409 (stock would go below zero) with the form and its errors, writing nothing."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                entry = record()
            except InsufficientStock as exc:
                form.add_error(None, exc.messages)
                status = 409
            except ValidationError as exc:
                add_action_errors(form, exc)
                status = 422
            else:
                return success(entry)
        else:
            status = 422
    return render(request, template, {"form": form, **context}, status=status)


def _supplier_of(container: Container) -> dict[str, str]:
    """The supplier on the vial's receipt, suggested as the recipient of a return."""
    receipt = container.entries.filter(kind=EntryKind.RECEIVE).order_by("id").first()
    if receipt is None:
        return {}
    d = receipt.details
    return {
        "recipient_name": d.get("supplier_name", ""),
        "recipient_address": d.get("supplier_address", ""),
        "recipient_dea_number": d.get("supplier_dea_number", ""),
    }


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def return_container(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_record_entry, EntryKind.RETURN)
    form = ReturnForm(request.POST or None, initial=_supplier_of(container))
    balance = queries.container_balance_ml(container.pk)

    def record() -> LedgerEntry:
        return actions.return_container(acting_user=user, container=container, **form.cleaned_data)

    def success(entry: LedgerEntry) -> HttpResponse:
        messages.success(
            request, f"Return of {container.label} ({entry.ml} mL) to {entry.details['recipient_name']} recorded."
        )
        return redirect("inventory:container", pk=container.pk)

    return _ledger_form_page(
        request,
        template="inventory/return.html",
        form=form,
        context={
            "container": container,
            "balance_ml": balance,
            "is_returnable": container.opened_at is None and balance > 0,
        },
        record=record,
        success=success,
    )


def _transfer_destinations(user: User, container: Container) -> QuerySet[Location]:
    """Other active locations where the user may receive a transfer (they must work at both)."""
    ids = [
        pk
        for pk in user.location_ids
        if pk != container.location_id and can_record_entry(user, EntryKind.TRANSFER_IN, pk)
    ]
    return Location.objects.filter(pk__in=ids, is_active=True).order_by("name")


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_record_entry, EntryKind.TRANSFER_OUT)
    destinations = _transfer_destinations(user, container)
    form = TransferForm(request.POST or None, locations=destinations)

    def record() -> LedgerEntry:
        return actions.transfer_container(
            acting_user=user,
            container=container,
            to_location=form.cleaned_data["to_location"],
            reason=form.cleaned_data["reason"],
        )

    def success(entry: LedgerEntry) -> HttpResponse:
        messages.success(
            request,
            f"{container.label} ({entry.ml} mL) transferred to {entry.location.name} as vial {entry.container.label}. "
            "Relabel the vial with its new ID.",
        )
        return redirect("inventory:container", pk=entry.container_id)

    return _ledger_form_page(
        request,
        template="inventory/transfer.html",
        form=form,
        context={
            "container": container,
            "balance_ml": queries.container_balance_ml(container.pk),
            "has_destinations": destinations.exists(),
        },
        record=record,
        success=success,
    )


def _credential(data: dict[str, Any], prefix: str) -> WitnessCredential | None:
    username = data[f"{prefix}_username"]
    return WitnessCredential(username, data[f"{prefix}_password"], data[f"{prefix}_otp"]) if username else None


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def destroy(request: HttpRequest, pk: int) -> HttpResponse:
    user, container = _container(request, pk, can_record_entry, EntryKind.DESTRUCTION)
    balance = queries.container_balance_ml(container.pk)
    form = DestructionForm(request.POST or None, initial={"ml": balance})

    def record() -> LedgerEntry:
        data = form.cleaned_data
        facts = DestructionFacts(
            reverse_distributor_name=data["reverse_distributor_name"],
            reverse_distributor_address=data["reverse_distributor_address"],
            reverse_distributor_dea_number=data["reverse_distributor_dea_number"],
            method=data["method"],
            form_41_reference=data["form_41_reference"],
        )
        return actions.record_destruction(
            acting_user=user,
            container=container,
            ml=data["ml"],
            facts=facts,
            witnesses=(_credential(data, "witness"), _credential(data, "second_witness")),
        )

    def success(entry: LedgerEntry) -> HttpResponse:
        messages.success(
            request,
            f"Destruction of {entry.ml} mL from {container.label} recorded, witnessed by "
            f"{entry.witness_name} and {entry.second_witness_name}.",
        )
        return redirect("inventory:container", pk=container.pk)

    return _ledger_form_page(
        request,
        template="inventory/destroy.html",
        form=form,
        context={"container": container, "balance_ml": balance},
        record=record,
        success=success,
    )


@signed_in(can_manage_ledger)
@require_http_methods(["GET", "POST"])
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    entry = get_object_or_404(
        LedgerEntry.objects.select_related("container__lot__product", "location", "corrects"), pk=pk
    )
    if not can_record_entry(user, EntryKind.CORRECTION, entry.location_id):
        raise PermissionDenied
    current = queries.corrected_ml(entry)
    form = CorrectionForm(request.POST or None, current_ml=current, signed=entry.kind == EntryKind.ADJUSTMENT)
    context = {"entry": entry, "current_ml": current, "corrections": list(entry.corrections.order_by("id"))}
    if request.method == "POST" and not entry.is_correctable:
        # The page says why and offers no form; a forged POST gets the same answer, writing nothing.
        return render(request, "inventory/correct.html", {"form": form, **context}, status=422)

    def record() -> LedgerEntry:
        return actions.correct_entry(
            acting_user=user, entry=entry, ml_change=form.ml_change, reason=form.cleaned_data["reason"]
        )

    def success(correction: LedgerEntry) -> HttpResponse:
        messages.success(request, f"Correction #{correction.pk} of entry #{entry.pk} recorded ({correction.ml} mL).")
        return redirect("inventory:container", pk=entry.container_id)

    return _ledger_form_page(
        request, template="inventory/correct.html", form=form, context=context, record=record, success=success
    )
