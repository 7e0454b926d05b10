"""Inventory API: balances, recording ledger entries, a session's balance, and chain
verification. Contract relied on by outside checks: see issue 6 and docs/architecture.md."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.responses import Status

from ketaclinic.accounts.models import User
from ketaclinic.api.permissions import require
from ketaclinic.inventory import actions, ledger, queries
from ketaclinic.inventory.actions import DestructionFacts, InsufficientStock, LossFacts, WitnessCredential
from ketaclinic.inventory.choices import EntryKind, LossType
from ketaclinic.inventory.models import Container, LedgerEntry
from ketaclinic.inventory.permissions import (
    can_record_any_entry,
    can_record_entry,
    can_view_dea_reports,
    can_view_inventory,
)
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import can_view_patient

router = Router(tags=["inventory"])

# Entries this endpoint records. Receipts create containers and transfers span two locations:
# both have their own pages; corrections point at an entry and are made from its container page.
API_KINDS = (
    EntryKind.DISPENSE,
    EntryKind.ADMINISTER,
    EntryKind.WASTE,
    EntryKind.RETURN,
    EntryKind.LOSS,
    EntryKind.DESTRUCTION,
    EntryKind.ADJUSTMENT,
)


def _locations(user: User, location: int | None, check_grant: str) -> list[int]:
    if location is None:
        return sorted(user.location_ids)
    if not user.works_at(location):
        raise PermissionDenied(f"You do not work at location {location}; {check_grant} is per location.")
    return [location]


class BalanceOut(Schema):
    container_id: int
    product: str
    lot: str
    ml_remaining: float
    mg_remaining: float
    location_id: int
    expires_on: date


@router.get(
    "/inventory/balances",
    response=list[BalanceOut],
    summary="mL and mg on hand per container (computed from the ledger), at one or all of your locations",
)
def inventory_balances(request: HttpRequest, location: int | None = None) -> list[BalanceOut]:
    user = require(request, can_view_inventory)
    rows = queries.balance_rows(_locations(user, location, "inventory"))
    return [
        BalanceOut(
            container_id=r.container.pk,
            product=str(r.container.lot.product),
            lot=r.container.lot.lot_number,
            ml_remaining=float(r.ml_remaining),
            mg_remaining=float(r.mg_remaining),
            location_id=r.container.location_id,
            expires_on=r.container.lot.expires_on,
        )
        for r in rows
    ]


class EntryIn(Schema):
    kind: str = Field(description="dispense, administer, waste, return, loss, destruction or adjustment")
    container_id: int
    ml: Decimal | None = Field(default=None, description="mL; signed for an adjustment")
    mg: Decimal | None = Field(default=None, description="administer only: the session's computed total in mg")
    session_ref: str = Field(default="", max_length=64)
    patient_id: int | None = None
    method: str = Field(default="", description="waste: denaturing, solidifier or other; destruction: free text")
    reason: str = ""
    witness_username: str = ""
    witness_password: str = ""
    witness_otp: str = ""
    second_witness_username: str = ""
    second_witness_password: str = ""
    second_witness_otp: str = ""
    loss_type: str = Field(default=LossType.UNEXPLAINED_LOSS.value, description="loss: a DEA Form 106 category")
    discovered_on: date | None = None
    police_notified: bool = False
    police_report_number: str = ""
    counterparty_name: str = Field(default="", description="return/destruction: supplier or reverse distributor")
    counterparty_address: str = ""
    counterparty_dea_number: str = ""
    form_41_reference: str = ""


class EntryOut(Schema):
    id: int
    kind: str
    container_id: int
    location_id: int
    ml: float
    mg: float
    at: datetime
    session_ref: str
    container_ml_remaining: float
    hash: str


class Problem(Schema):
    detail: str


def _witness(username: str, password: str, otp: str) -> WitnessCredential | None:
    return WitnessCredential(username, password, otp) if username.strip() else None


def _required_ml(payload: EntryIn) -> Decimal:
    if payload.ml is None:
        raise ValidationError({"ml": "Give the quantity in mL."})
    return payload.ml


def _record(user: User, payload: EntryIn, container: Container) -> LedgerEntry:
    kind = payload.kind
    if kind == EntryKind.DISPENSE:
        patient = Patient.objects.filter(pk=payload.patient_id).first() if payload.patient_id else None
        if patient is None:
            raise ValidationError({"patient_id": "Name the patient the drug is dispensed for."})
        if not can_view_patient(user, patient):
            raise PermissionDenied("This patient belongs to a location you do not work at.")
        return actions.dispense(
            acting_user=user,
            container=container,
            ml=_required_ml(payload),
            session_ref=payload.session_ref,
            patient=patient,
        )
    if kind == EntryKind.ADMINISTER:
        mg = payload.mg if payload.mg is not None else _required_ml(payload) * container.lot.product.strength_mg_per_ml
        return actions.administer(acting_user=user, container=container, session_ref=payload.session_ref, mg=mg)
    if kind == EntryKind.WASTE:
        return actions.waste(
            acting_user=user,
            container=container,
            ml=_required_ml(payload),
            method=payload.method,
            witness=_witness(payload.witness_username, payload.witness_password, payload.witness_otp),
            session_ref=payload.session_ref,
            reason=payload.reason,
        )
    if kind == EntryKind.RETURN:
        return actions.return_container(
            acting_user=user,
            container=container,
            recipient_name=payload.counterparty_name,
            recipient_address=payload.counterparty_address,
            recipient_dea_number=payload.counterparty_dea_number,
            reason=payload.reason,
        )
    if kind == EntryKind.LOSS:
        if payload.discovered_on is None:
            raise ValidationError({"discovered_on": "Give the date the loss was discovered (DEA Form 106)."})
        facts = LossFacts(
            loss_type=payload.loss_type,
            discovered_on=payload.discovered_on,
            circumstances=payload.reason,
            police_notified=payload.police_notified,
            police_report_number=payload.police_report_number,
        )
        return actions.record_loss(acting_user=user, container=container, ml=_required_ml(payload), facts=facts)
    if kind == EntryKind.DESTRUCTION:
        facts_41 = DestructionFacts(
            reverse_distributor_name=payload.counterparty_name,
            reverse_distributor_address=payload.counterparty_address,
            reverse_distributor_dea_number=payload.counterparty_dea_number,
            method=payload.method,
            form_41_reference=payload.form_41_reference,
        )
        witnesses = (
            _witness(payload.witness_username, payload.witness_password, payload.witness_otp),
            _witness(payload.second_witness_username, payload.second_witness_password, payload.second_witness_otp),
        )
        return actions.record_destruction(
            acting_user=user, container=container, ml=_required_ml(payload), facts=facts_41, witnesses=witnesses
        )
    return actions.adjust_balance(
        acting_user=user, container=container, ml=_required_ml(payload), reason=payload.reason
    )


@router.post(
    "/inventory/entries",
    response={201: EntryOut, 409: Problem},
    summary="Record a ledger entry: 409 if a balance would go below zero, 422 if the witness is missing or the same person",
)
def create_inventory_entry(request: HttpRequest, payload: EntryIn) -> Status[EntryOut] | Status[Problem]:
    if payload.kind not in API_KINDS:
        raise ValidationError({"kind": f"Record one of: {', '.join(API_KINDS)}."})
    user = require(request, can_record_any_entry, payload.kind)
    container = get_object_or_404(Container.objects.select_related("lot__product", "location"), pk=payload.container_id)
    require(request, can_record_entry, payload.kind, container.location_id, message="You do not work at this location.")
    try:
        entry = _record(user, payload, container)
    except InsufficientStock as exc:
        return Status(409, Problem(detail=" ".join(exc.messages)))
    return Status(
        201,
        EntryOut(
            id=entry.pk,
            kind=entry.kind,
            container_id=entry.container_id,
            location_id=entry.location_id,
            ml=float(entry.ml),
            mg=float(entry.mg),
            at=entry.at,
            session_ref=entry.session_ref,
            container_ml_remaining=float(queries.container_balance_ml(entry.container_id)),
            hash=entry.hash,
        ),
    )


class SessionBalanceOut(Schema):
    session_ref: str
    dispensed_ml: float
    administered_ml: float
    wasted_ml: float
    balanced: bool


@router.get(
    "/inventory/sessions/{session_ref}/balance",
    response=SessionBalanceOut,
    summary="Dispensed = administered + wasted? (a session can be signed off only when balanced)",
)
def inventory_session_balance(request: HttpRequest, session_ref: str) -> SessionBalanceOut:
    user = require(request, can_view_inventory)
    first = LedgerEntry.objects.filter(session_ref=session_ref).order_by("id").first()
    if first is not None and not user.works_at(first.location_id):
        raise PermissionDenied("This session is at a location you do not work at.")
    balance = queries.session_balance(session_ref)
    return SessionBalanceOut(
        session_ref=session_ref,
        dispensed_ml=float(balance.dispensed_ml),
        administered_ml=float(balance.administered_ml),
        wasted_ml=float(balance.wasted_ml),
        balanced=balance.balanced,
    )


class VerifyOut(Schema):
    ok: bool
    entries: int
    first_broken: int | None
    problem: str


@router.get("/inventory/verify", response=VerifyOut, summary="Recompute the ledger's hash chain per location")
def inventory_verify(request: HttpRequest, location: int | None = None) -> VerifyOut:
    user = require(request, can_view_dea_reports)
    report = ledger.verify_locations(_locations(user, location, "verification"))
    return VerifyOut(ok=report.ok, entries=report.entries, first_broken=report.first_broken_id, problem=report.problem)
