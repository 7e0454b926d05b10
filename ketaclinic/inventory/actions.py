"""Every change to the controlled-substance ledger. Each action locks the location (its chain)
and the containers it touches, checks the balance under those locks, appends its entries with
the location's hash chain, and writes its own audit event with old and new values.

Locks: ``select_for_update`` on the Location row serialises the location's chain, then on each
Container row (in id order) for the balance check-then-insert. On SQLite the IMMEDIATE
transaction already holds the database's only write lock, so the same code is safe there too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location, dea_validator
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.inventory import ledger
from ketaclinic.inventory.choices import (
    MG_PLACES,
    MIN_REASON_CHARS,
    ML_PLACES,
    BusinessTime,
    DiscrepancyStatus,
    EntryKind,
    InventoryKind,
    LossType,
    ProductForm,
    WasteMethod,
    WitnessMethod,
    low_stock_default_ml,
)
from ketaclinic.inventory.models import (
    Container,
    CountLine,
    CountSheet,
    Discrepancy,
    InventoryCount,
    InventoryLine,
    LedgerEntry,
    Lot,
    Product,
)
from ketaclinic.inventory.permissions import (
    can_count_stock_at,
    can_manage_ledger_at,
    can_record_entry,
    can_witness_at,
)
from ketaclinic.inventory.queries import (
    container_balance_ml,
    containers_with_balance,
    corrected_ml,
    session_outstanding_mg,
    session_outstanding_ml,
)
from ketaclinic.patients.models import Patient

# Failed witness re-authentications allowed per witness within the window before further tries
# are refused: the witness fields must not become a way to guess a colleague's password.
WITNESS_FAILURE_LIMIT = 5
WITNESS_FAILURE_WINDOW = timedelta(minutes=15)
WITNESS_FAILURE_REASON = "witness re-authentication failed"
TOTP_DIGITS = 6
MAX_CONTAINERS_PER_RECEIPT = 500


class InsufficientStock(ValidationError):  # noqa: N818 - reads as the condition it reports
    """Recording this would drive a container (or a session's drawn drug) below zero."""


class WitnessError(ValidationError):  # noqa: N818
    """The witness is missing, the same person, not allowed here, or did not re-authenticate."""


@dataclass(frozen=True)
class WitnessCredential:
    """A second person's username and, typed at that moment, their own password or current
    authenticator code."""

    username: str
    password: str = ""
    otp: str = ""


def _ml(value: Decimal | int | str) -> Decimal:
    try:
        return Decimal(value).quantize(ML_PLACES)
    except (InvalidOperation, TypeError) as exc:
        raise ValidationError({"ml": "Enter a quantity in mL, e.g. 2.5."}) from exc


def _positive_ml(value: Decimal | int | str) -> Decimal:
    ml = _ml(value)
    if ml <= 0:
        raise ValidationError({"ml": "The quantity must be more than 0 mL."})
    return ml


def _mg(ml: Decimal, product: Product) -> Decimal:
    return (ml * product.strength_mg_per_ml).quantize(MG_PLACES)


def _reason(reason: str, *, required: bool) -> str:
    text = reason.strip()
    if required and len(text) < MIN_REASON_CHARS:
        raise ValidationError({"reason": f"Give a reason of at least {MIN_REASON_CHARS} characters."})
    return text


def _dea_number(value: str, field: str, errors: dict[str, str]) -> str:
    """The DEA number upper-cased, or an error for ``field`` when it is not two letters and
    seven digits."""
    dea = value.strip().upper()
    try:
        dea_validator(dea)
    except ValidationError:
        errors[field] = "A DEA number is two letters and seven digits."
    return dea


def _require(user: User, kind: str, location_id: int) -> None:
    # Views and the API check first; the action checks again because the DEA record must hold
    # whichever code calls it (the chairside module, a command, a future import).
    if not can_record_entry(user, kind, location_id):
        raise PermissionDenied(f"Your role may not record “{EntryKind(kind).label}” entries at this location.")


def _lock(location_ids: Sequence[int], container_ids: Sequence[int] = ()) -> None:
    for location_id in sorted(set(location_ids)):
        Location.objects.select_for_update().get(pk=location_id)
    for container_id in sorted(set(container_ids)):
        Container.objects.select_for_update().get(pk=container_id)


def _local_date(location: Location, at: datetime) -> date:
    return timezone.localtime(at, ZoneInfo(location.time_zone)).date()


def patient_address(patient: Patient) -> str:
    """The patient's postal address for the 1304.22(c) record, from whichever address fields the
    patient record has; a clear marker when none is on file (the report then flags it)."""
    parts = [getattr(patient, name, "") or "" for name in ("address_line1", "address_line2")]
    city = ", ".join(p for p in (getattr(patient, "city", "") or "", getattr(patient, "state", "") or "") if p)
    postal = getattr(patient, "postal_code", "") or ""
    tail = f"{city} {postal}".strip()
    text = ", ".join(p for p in [*parts, tail] if p)
    return text or NO_ADDRESS


NO_ADDRESS = "No address on file"


def _append(
    *,
    acting_user: User,
    kind: str,
    container: Container,
    ml: Decimal,
    mg: Decimal | None = None,
    at: datetime | None = None,
    reason: str = "",
    session_ref: str = "",
    patient: Patient | None = None,
    details: Mapping[str, Any] | None = None,
    witness: tuple[User, str] | None = None,
    second_witness: User | None = None,
    corrects: LedgerEntry | None = None,
    container_delta_ml: Decimal | None = None,
    allow_negative_session: bool = False,
) -> LedgerEntry:
    """Append one entry to the location's chain. The caller holds the locks (``_lock``)."""
    product = container.lot.product
    delta = (
        container_delta_ml
        if container_delta_ml is not None
        else LedgerEntry.container_effect(kind, ml, session_ref=session_ref)
    ).quantize(ML_PLACES)
    before = container_balance_ml(container.pk)
    if before + delta < 0:
        raise InsufficientStock(
            f"{container.label} holds {before} mL; recording this ({abs(delta)} mL out) would leave it below 0 mL."
        )
    entry = LedgerEntry(
        location_id=container.location_id,
        kind=kind,
        container=container,
        ml=ml,
        mg=mg if mg is not None else _mg(ml, product),
        container_delta_ml=delta,
        at=at or timezone.now(),
        recorded_by=acting_user,
        recorded_by_name=acting_user.get_full_name() or acting_user.username,
        recorded_by_initials=acting_user.initials(),
        reason=reason,
        session_ref=session_ref,
        patient=patient,
        patient_name=patient.full_name if patient else "",
        patient_address=patient_address(patient) if patient else "",
        details=dict(details or {}),
        witness=witness[0] if witness else None,
        witness_name=(witness[0].get_full_name() or witness[0].username) if witness else "",
        witness_method=witness[1] if witness else "",
        second_witness=second_witness,
        second_witness_name=(second_witness.get_full_name() or second_witness.username) if second_witness else "",
        corrects=corrects,
    )
    entry.details = ledger._canonical("details", entry.details)
    entry.prev_hash = ledger.last_hash(container.location_id)
    entry.hash = ledger.compute_hash(entry, entry.prev_hash)
    entry.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=entry,
        patient_id=patient.pk if patient else None,
        location_id=container.location_id,
        changes={
            "kind": [None, kind],
            "container": [None, container.label],
            "ml": [None, str(ml)],
            "mg": [None, str(entry.mg)],
            "container_balance_ml": [str(before), str(before + delta)],
            **({"session_ref": [None, session_ref]} if session_ref else {}),
            **({"witness": [None, entry.witness_name]} if witness else {}),
            **({"corrects": [None, corrects.pk]} if corrects else {}),
        },
        reason=reason,
    )
    return entry


# --- Witnesses ---------------------------------------------------------------------------------


def _recent_witness_failures(username: str) -> int:
    since = timezone.now() - WITNESS_FAILURE_WINDOW
    return AuditEvent.objects.filter(
        action=AuditEvent.Action.SIGN_IN_FAILED, actor_username=username, reason=WITNESS_FAILURE_REASON, at__gte=since
    ).count()


def verify_witness(
    *,
    acting_user: User,
    location_id: int,
    credential: WitnessCredential | None,
    purpose: str,
    field_prefix: str = "witness",
) -> tuple[User, str]:
    """Check that a second licensed person at this location re-authenticated just now. Returns
    the witness and how they proved it. Runs outside the ledger's transaction on purpose: a
    failed attempt stays on the audit trail (and in the authenticator's throttle) although the
    entry it was for is refused. Errors name ``<field_prefix>_username`` or
    ``<field_prefix>_password``, so a form with two witnesses shows each error at its witness."""
    user_field, password_field = f"{field_prefix}_username", f"{field_prefix}_password"
    if credential is None or not credential.username.strip():
        raise WitnessError(
            {user_field: f"{purpose.capitalize()} needs a second licensed person as witness: enter their username."}
        )
    username = credential.username.strip()
    witness = User.objects.filter(username__iexact=username).first()
    if witness is not None and witness.pk == acting_user.pk:
        raise WitnessError({user_field: "The witness must be a second person, not the one recording."})
    if witness is None or not can_witness_at(witness, location_id):
        raise WitnessError({user_field: f"{username!r} is not a licensed colleague who may witness here."})
    if _recent_witness_failures(witness.username) >= WITNESS_FAILURE_LIMIT:
        raise WitnessError(
            {password_field: "Too many failed witness attempts for this person; wait 15 minutes and try again."}
        )
    if credential.password:
        ok, method = witness.check_password(credential.password), WitnessMethod.PASSWORD
    elif credential.otp:
        code = credential.otp.strip().replace(" ", "")
        device = TOTPDevice.objects.devices_for_user(witness, confirmed=True).first()
        allowed = device is not None and device.verify_is_allowed()[0]
        ok = bool(allowed and code.isdigit() and len(code) == TOTP_DIGITS and device and device.verify_token(code))
        method = WitnessMethod.OTP
    else:
        raise WitnessError(
            {password_field: "The witness must type their own password or current authenticator code now."}
        )
    if not ok:
        audit.record(
            actor=None,
            action=AuditEvent.Action.SIGN_IN_FAILED,
            object_type="accounts.User",
            object_id=witness.pk,
            username=witness.username,
            location_id=location_id,
            reason=WITNESS_FAILURE_REASON,
            changes={"purpose": purpose, "recorded_by": acting_user.username},
        )
        raise WitnessError({password_field: "The witness's password or authenticator code did not match."})
    return witness, method


# --- Products ----------------------------------------------------------------------------------


@transaction.atomic
def create_product(
    *,
    acting_user: User,
    location: Location,
    name: str,
    ndc: str,
    strength_mg_per_ml: Decimal,
    container_volume_ml: Decimal,
    form: str = ProductForm.VIAL,
    low_stock_ml: Decimal | None = None,
) -> Product:
    """Add a finished form of ketamine to a location's formulary."""
    if not can_manage_ledger_at(acting_user, location.pk):
        raise PermissionDenied("Only the medical director adds products.")
    if Product.objects.filter(location=location, ndc=ndc.strip()).exists():
        raise ValidationError({"ndc": "This location already has a product with that NDC."})
    product = Product(
        location=location,
        name=name.strip(),
        ndc=ndc.strip(),
        strength_mg_per_ml=strength_mg_per_ml,
        container_volume_ml=container_volume_ml,
        form=form,
        low_stock_ml=low_stock_default_ml() if low_stock_ml is None else low_stock_ml,
    )
    product.full_clean()
    product.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=product,
        location_id=location.pk,
        changes={
            "name": [None, product.name],
            "ndc": [None, product.ndc],
            "strength_mg_per_ml": [None, str(strength_mg_per_ml)],
            "container_volume_ml": [None, str(container_volume_ml)],
        },
    )
    return product


@transaction.atomic
def set_low_stock_level(*, acting_user: User, product: Product, low_stock_ml: Decimal | int | str) -> Product:
    """Change the level below which the inventory home warns that a product runs low."""
    if not can_manage_ledger_at(acting_user, product.location_id):
        raise PermissionDenied("Only the medical director changes the low-stock level.")
    level = _ml(low_stock_ml)
    if level < 0:
        raise ValidationError({"low_stock_ml": "The low-stock level cannot be below 0 mL."})
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = product.low_stock_ml
    if level == before:
        return product
    Product.objects.filter(pk=product.pk).update(low_stock_ml=level)
    product.refresh_from_db()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=product,
        location_id=product.location_id,
        changes={"low_stock_ml": [str(before), str(level)]},
    )
    return product


# --- Receive -----------------------------------------------------------------------------------


def _next_label(location: Location) -> str:
    count = Container.objects.filter(location=location).count()
    label = f"V-{count + 1:04d}"
    while Container.objects.filter(location=location, label=label).exists():
        count += 1
        label = f"V-{count + 1:04d}"
    return label


@transaction.atomic
def receive_stock(
    *,
    acting_user: User,
    product: Product,
    lot_number: str,
    expires_on: date,
    containers: int,
    supplier_name: str,
    supplier_address: str,
    supplier_dea_number: str,
    invoice_number: str,
    received_at: datetime | None = None,
) -> list[LedgerEntry]:
    """Record a shipment: one new container per vial received, each with a receive entry for its
    full volume. 21 CFR 1304.22(c) asks for the date received and the supplier's name, address
    and DEA registration number."""
    location = product.location
    _require(acting_user, EntryKind.RECEIVE, location.pk)
    errors: dict[str, str] = {}
    if not 1 <= containers <= MAX_CONTAINERS_PER_RECEIPT:
        errors["containers"] = f"Enter between 1 and {MAX_CONTAINERS_PER_RECEIPT} containers."
    if not lot_number.strip():
        errors["lot_number"] = "Enter the lot number printed on the vials."
    for name, value in (
        ("supplier_name", supplier_name),
        ("supplier_address", supplier_address),
        ("invoice_number", invoice_number),
    ):
        if not value.strip():
            errors[name] = "Required for the DEA receiving record."
    dea = _dea_number(supplier_dea_number, "supplier_dea_number", errors)
    at = received_at or timezone.now()
    if at > timezone.now() + timedelta(minutes=5):
        errors["received_at"] = "A shipment cannot be received in the future."
    if errors:
        raise ValidationError(errors)
    _lock([location.pk])
    lot, created = Lot.objects.get_or_create(
        product=product, lot_number=lot_number.strip(), defaults={"expires_on": expires_on}
    )
    if not created and lot.expires_on != expires_on:
        raise ValidationError(
            {"expires_on": f"Lot {lot.lot_number} is on record with expiry {lot.expires_on:%Y-%m-%d}; check the label."}
        )
    details = {
        "supplier_name": supplier_name.strip(),
        "supplier_address": supplier_address.strip(),
        "supplier_dea_number": dea,
        "invoice_number": invoice_number.strip(),
        "containers_in_shipment": containers,
        "lot_number": lot.lot_number,
        "expires_on": lot.expires_on.isoformat(),
    }
    entries = []
    for _ in range(containers):
        container = Container.objects.create(lot=lot, location=location, label=_next_label(location), created_at=at)
        entries.append(
            _append(
                acting_user=acting_user,
                kind=EntryKind.RECEIVE,
                container=container,
                ml=product.container_volume_ml.quantize(ML_PLACES),
                at=at,
                details=details,
            )
        )
    return entries


# --- Session seam: dispense, administer, waste ---------------------------------------------------


def _mark_opened(container: Container, at: datetime) -> None:
    if container.opened_at is None:
        Container.objects.filter(pk=container.pk, opened_at__isnull=True).update(opened_at=at)
        container.opened_at = at


@transaction.atomic
def dispense(
    *,
    acting_user: User,
    container: Container,
    ml: Decimal | int | str,
    session_ref: str,
    patient: Patient,
    at: datetime | None = None,
) -> LedgerEntry:
    """Draw ``ml`` from a container for one infusion session (bag or syringe preparation)."""
    _require(acting_user, EntryKind.DISPENSE, container.location_id)
    quantity = _positive_ml(ml)
    if not session_ref.strip():
        raise ValidationError({"session_ref": "Name the infusion session this drug is drawn for."})
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product", "location").get(pk=container.pk)
    when = at or timezone.now()
    if container.lot.is_expired_on(_local_date(container.location, when)):
        raise ValidationError(
            {"container_id": f"Lot {container.lot.lot_number} expired on {container.lot.expires_on:%Y-%m-%d}."}
        )
    entry = _append(
        acting_user=acting_user,
        kind=EntryKind.DISPENSE,
        container=container,
        ml=quantity,
        at=when,
        session_ref=session_ref.strip(),
        patient=patient,
    )
    _mark_opened(container, when)
    return entry


def _session_patient(container: Container, session_ref: str) -> Patient | None:
    first = (
        LedgerEntry.objects.filter(container=container, session_ref=session_ref, kind=EntryKind.DISPENSE)
        .select_related("patient")
        .order_by("id")
        .first()
    )
    return first.patient if first else None


@transaction.atomic
def administer(
    *,
    acting_user: User,
    container: Container,
    session_ref: str,
    mg: Decimal | int | str,
    at: datetime | None = None,
) -> LedgerEntry:
    """Record what the patient received from drug dispensed to this session. ``mg`` is the
    session's computed total (from the pump record), passed by the chairside module, never a
    number typed into a form."""
    _require(acting_user, EntryKind.ADMINISTER, container.location_id)
    try:
        dose_mg = Decimal(mg).quantize(MG_PLACES)
    except (InvalidOperation, TypeError) as exc:
        raise ValidationError({"mg": "The administered amount must be a number of mg."}) from exc
    if dose_mg <= 0:
        raise ValidationError({"mg": "The administered amount must be more than 0 mg."})
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    quantity = (dose_mg / container.lot.product.strength_mg_per_ml).quantize(ML_PLACES)
    outstanding = session_outstanding_ml(container.pk, session_ref)
    if quantity > outstanding:
        raise InsufficientStock(
            f"Session {session_ref} has {outstanding} mL from {container.label} not yet accounted for; "
            f"{dose_mg} mg is {quantity} mL."
        )
    return _append(
        acting_user=acting_user,
        kind=EntryKind.ADMINISTER,
        container=container,
        ml=quantity,
        mg=dose_mg,
        at=at,
        session_ref=session_ref,
        patient=_session_patient(container, session_ref),
    )


def waste(
    *,
    acting_user: User,
    container: Container,
    ml: Decimal | int | str,
    method: str,
    witness: WitnessCredential | None,
    session_ref: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> LedgerEntry:
    """Record drug wasted, witnessed by a second licensed person who re-authenticates now. With
    ``session_ref`` it is the remainder of drug dispensed to that session (the vial is not
    touched); without, it is drug wasted straight from the container (a broken or contaminated
    vial). Waste need not go on DEA Form 41 but must be recorded (clinical-reference §6).

    The witness is checked first, outside the ledger transaction (see ``verify_witness``)."""
    _require(acting_user, EntryKind.WASTE, container.location_id)
    quantity = _positive_ml(ml)
    if method not in WasteMethod.values:
        raise ValidationError({"method": "Choose how the drug was wasted."})
    if method == WasteMethod.OTHER and len(reason.strip()) < MIN_REASON_CHARS:
        raise ValidationError({"reason": "Describe the method in the reason."})
    proof = verify_witness(
        acting_user=acting_user, location_id=container.location_id, credential=witness, purpose="waste"
    )
    return _record_waste(
        acting_user=acting_user,
        container=container,
        ml=quantity,
        method=method,
        witness=proof,
        session_ref=session_ref.strip(),
        reason=reason.strip(),
        at=at,
    )


@transaction.atomic
def _record_waste(
    *,
    acting_user: User,
    container: Container,
    ml: Decimal,
    method: str,
    witness: tuple[User, str],
    session_ref: str,
    reason: str,
    at: datetime | None,
) -> LedgerEntry:
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    mg = None
    if session_ref:
        outstanding = session_outstanding_ml(container.pk, session_ref)
        if ml > outstanding:
            raise InsufficientStock(
                f"Session {session_ref} has {outstanding} mL from {container.label} left to account for, not {ml} mL."
            )
        if ml == outstanding:
            # The whole remainder: its mg is what is left of the mg dispensed, so a session's
            # dispensed mg = administered + wasted mg exactly (mL are rounded to 0.001 mL).
            mg = session_outstanding_mg(container.pk, session_ref).quantize(MG_PLACES)
    when = at or timezone.now()
    entry = _append(
        acting_user=acting_user,
        kind=EntryKind.WASTE,
        container=container,
        ml=ml,
        mg=mg,
        at=when,
        reason=reason,
        session_ref=session_ref,
        patient=_session_patient(container, session_ref) if session_ref else None,
        details={"method": method, "method_label": str(WasteMethod(method).label)},
        witness=witness,
    )
    if not session_ref:
        _mark_opened(container, when)
    return entry


# --- Medical director's entries ------------------------------------------------------------------


@transaction.atomic
def return_container(
    *,
    acting_user: User,
    container: Container,
    recipient_name: str,
    recipient_address: str,
    recipient_dea_number: str,
    reason: str,
    at: datetime | None = None,
) -> LedgerEntry:
    """Send an unopened container back to the supplier (or a reverse distributor). The whole
    balance leaves stock; the record keeps the recipient's name, address and DEA number, which
    21 CFR 1304.22 asks for on every distribution to another registrant."""
    _require(acting_user, EntryKind.RETURN, container.location_id)
    text = _reason(reason, required=True)
    errors: dict[str, str] = {}
    for name, value in (("recipient_name", recipient_name), ("recipient_address", recipient_address)):
        if not value.strip():
            errors[name] = "Required for the DEA record of the return."
    dea = _dea_number(recipient_dea_number, "recipient_dea_number", errors)
    if errors:
        raise ValidationError(errors)
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    if container.opened_at is not None:
        raise ValidationError({"container_id": f"{container.label} was opened; only unopened containers are returned."})
    balance = container_balance_ml(container.pk)
    if balance <= 0:
        raise InsufficientStock(f"{container.label} is empty; there is nothing to return.")
    return _append(
        acting_user=acting_user,
        kind=EntryKind.RETURN,
        container=container,
        ml=balance,
        at=at,
        reason=text,
        details={
            "recipient_name": recipient_name.strip(),
            "recipient_address": recipient_address.strip(),
            "recipient_dea_number": dea,
            "ndc": container.lot.product.ndc,
            "lot_number": container.lot.lot_number,
        },
    )


@transaction.atomic
def transfer_container(
    *, acting_user: User, container: Container, to_location: Location, reason: str, at: datetime | None = None
) -> LedgerEntry:
    """Move a container's whole balance to another location (another DEA registration): a
    transfer-out entry here and a transfer-in entry on a new container there. Returns the
    transfer-in entry."""
    _require(acting_user, EntryKind.TRANSFER_OUT, container.location_id)
    _require(acting_user, EntryKind.TRANSFER_IN, to_location.pk)
    text = _reason(reason, required=True)
    if to_location.pk == container.location_id:
        raise ValidationError({"to_location": "Choose a different location."})
    _lock([container.location_id, to_location.pk], [container.pk])
    container = Container.objects.select_related("lot__product", "location").get(pk=container.pk)
    balance = container_balance_ml(container.pk)
    if balance <= 0:
        raise InsufficientStock(f"{container.label} is empty; there is nothing to transfer.")
    source = container.lot.product
    product, _ = Product.objects.get_or_create(
        location=to_location,
        ndc=source.ndc,
        defaults={
            "name": source.name,
            "strength_mg_per_ml": source.strength_mg_per_ml,
            "container_volume_ml": source.container_volume_ml,
            "form": source.form,
            "low_stock_ml": source.low_stock_ml,
        },
    )
    lot, _ = Lot.objects.get_or_create(
        product=product, lot_number=container.lot.lot_number, defaults={"expires_on": container.lot.expires_on}
    )
    out = _append(
        acting_user=acting_user,
        kind=EntryKind.TRANSFER_OUT,
        container=container,
        ml=balance,
        at=at,
        reason=text,
        details={"to_location": to_location.name, "to_dea_number": to_location.dea_number},
    )
    arrived = Container.objects.create(
        lot=lot,
        location=to_location,
        label=_next_label(to_location),
        opened_at=container.opened_at,
        created_at=out.at,
    )
    return _append(
        acting_user=acting_user,
        kind=EntryKind.TRANSFER_IN,
        container=arrived,
        ml=balance,
        at=out.at,
        reason=text,
        details={
            "from_location": container.location.name,
            "from_dea_number": container.location.dea_number,
            "from_container": container.label,
            "transfer_out_entry": out.pk,
        },
    )


@dataclass(frozen=True)
class LossFacts:
    """What DEA Form 106 asks about a theft or significant loss."""

    loss_type: str
    discovered_on: date
    circumstances: str
    police_notified: bool = False
    police_report_number: str = ""


@transaction.atomic
def record_loss(*, acting_user: User, container: Container, ml: Decimal | int | str, facts: LossFacts) -> LedgerEntry:
    """Record drug lost or stolen, with the facts DEA Form 106 needs."""
    _require(acting_user, EntryKind.LOSS, container.location_id)
    quantity = _positive_ml(ml)
    if facts.loss_type not in LossType.values:
        raise ValidationError({"loss_type": "Choose the kind of loss DEA Form 106 asks for."})
    text = _reason(facts.circumstances, required=True)
    if facts.discovered_on > timezone.localdate():
        raise ValidationError({"discovered_on": "The discovery date cannot be in the future."})
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    return _append(
        acting_user=acting_user,
        kind=EntryKind.LOSS,
        container=container,
        ml=quantity,
        reason=text,
        details={
            "loss_type": facts.loss_type,
            "loss_type_label": str(LossType(facts.loss_type).label),
            "discovered_on": facts.discovered_on.isoformat(),
            "police_notified": facts.police_notified,
            "police_report_number": facts.police_report_number.strip(),
            "ndc": container.lot.product.ndc,
            "lot_number": container.lot.lot_number,
        },
    )


@dataclass(frozen=True)
class DestructionFacts:
    """What DEA Form 41 records for destruction through a reverse distributor (21 CFR 1317.95)."""

    reverse_distributor_name: str
    reverse_distributor_address: str
    reverse_distributor_dea_number: str
    method: str
    form_41_reference: str = ""


def record_destruction(
    *,
    acting_user: User,
    container: Container,
    ml: Decimal | int | str,
    facts: DestructionFacts,
    witnesses: tuple[WitnessCredential | None, WitnessCredential | None],
    at: datetime | None = None,
) -> LedgerEntry:
    """Record drug handed over for destruction, witnessed by two authorised people who each
    re-authenticate now (21 CFR 1317.95). Witnesses are checked before the ledger transaction."""
    _require(acting_user, EntryKind.DESTRUCTION, container.location_id)
    quantity = _positive_ml(ml)
    errors: dict[str, str] = {
        name: "Required for the DEA Form 41 record."
        for name, value in (
            ("reverse_distributor_name", facts.reverse_distributor_name),
            ("reverse_distributor_address", facts.reverse_distributor_address),
            ("method", facts.method),
        )
        if not value.strip()
    }
    _dea_number(facts.reverse_distributor_dea_number, "reverse_distributor_dea_number", errors)
    if errors:
        raise ValidationError(errors)
    first = verify_witness(
        acting_user=acting_user, location_id=container.location_id, credential=witnesses[0], purpose="destruction"
    )
    second = verify_witness(
        acting_user=acting_user,
        location_id=container.location_id,
        credential=witnesses[1],
        purpose="destruction",
        field_prefix="second_witness",
    )
    if first[0].pk == second[0].pk:
        raise WitnessError({"second_witness_username": "Destruction needs two different witnesses."})
    return _record_destruction(
        acting_user=acting_user, container=container, ml=quantity, facts=facts, first=first, second=second[0], at=at
    )


@transaction.atomic
def _record_destruction(
    *,
    acting_user: User,
    container: Container,
    ml: Decimal,
    facts: DestructionFacts,
    first: tuple[User, str],
    second: User,
    at: datetime | None,
) -> LedgerEntry:
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    return _append(
        acting_user=acting_user,
        kind=EntryKind.DESTRUCTION,
        container=container,
        ml=ml,
        at=at,
        reason=facts.method.strip(),
        details={
            "reverse_distributor_name": facts.reverse_distributor_name.strip(),
            "reverse_distributor_address": facts.reverse_distributor_address.strip(),
            "reverse_distributor_dea_number": facts.reverse_distributor_dea_number.strip().upper(),
            "method": facts.method.strip(),
            "form_41_reference": facts.form_41_reference.strip(),
            "ndc": container.lot.product.ndc,
            "lot_number": container.lot.lot_number,
        },
        witness=first,
        second_witness=second,
    )


@transaction.atomic
def adjust_balance(
    *, acting_user: User, container: Container, ml: Decimal | int | str, reason: str, at: datetime | None = None
) -> LedgerEntry:
    """The medical director's adjustment of a container's balance (positive or negative), with
    the reason. The only entry whose quantity is signed."""
    _require(acting_user, EntryKind.ADJUSTMENT, container.location_id)
    quantity = _ml(ml)
    if quantity == 0:
        raise ValidationError({"ml": "An adjustment of 0 mL changes nothing."})
    text = _reason(reason, required=True)
    _lock([container.location_id], [container.pk])
    container = Container.objects.select_related("lot__product").get(pk=container.pk)
    return _append(
        acting_user=acting_user, kind=EntryKind.ADJUSTMENT, container=container, ml=quantity, reason=text, at=at
    )


@transaction.atomic
def correct_entry(*, acting_user: User, entry: LedgerEntry, ml_change: Decimal | int | str, reason: str) -> LedgerEntry:
    """Correct the quantity of an earlier entry by a new entry that points at it: ``ml_change``
    is what the earlier quantity should have been minus what was recorded (with any earlier
    corrections). The original entry stays exactly as written."""
    _require(acting_user, EntryKind.CORRECTION, entry.location_id)
    refusal = entry.correction_refusal
    if refusal:
        raise ValidationError({"corrects": refusal})
    change = _ml(ml_change)
    if change == 0:
        raise ValidationError({"ml": "A correction of 0 mL changes nothing."})
    text = _reason(reason, required=True)
    _lock([entry.location_id], [entry.container_id])
    container = Container.objects.select_related("lot__product").get(pk=entry.container_id)
    if entry.kind != EntryKind.ADJUSTMENT and corrected_ml(entry) + change < 0:
        raise ValidationError(
            {"ml": f"Entry #{entry.pk} now stands at {corrected_ml(entry)} mL; it cannot be corrected below 0 mL."}
        )
    per_ml = (entry.container_delta_ml / entry.ml) if entry.ml else Decimal(0)
    if entry.session_ref and entry.kind in {EntryKind.ADMINISTER, EntryKind.WASTE}:
        if change > session_outstanding_ml(container.pk, entry.session_ref):
            raise InsufficientStock("The session has less drug left to account for than this correction adds.")
    elif (
        entry.session_ref
        and entry.kind == EntryKind.DISPENSE
        and -change > session_outstanding_ml(container.pk, entry.session_ref)
    ):
        raise InsufficientStock("The session has already accounted for more than the corrected dispense.")
    mg = (entry.mg / entry.ml * change).quantize(MG_PLACES) if entry.ml else _mg(change, container.lot.product)
    return _append(
        acting_user=acting_user,
        kind=EntryKind.CORRECTION,
        container=container,
        ml=change,
        mg=mg,
        reason=text,
        session_ref=entry.session_ref,
        patient=entry.patient,
        corrects=entry,
        container_delta_ml=change * per_ml,
    )


# --- Counts, discrepancies and inventories ---------------------------------------------------------


def _counted(
    location: Location, counted: Mapping[int, Decimal | int | str]
) -> list[tuple[Container, Decimal, Decimal]]:
    """(container, expected, counted) for every container with drug on the ledger; each must be counted."""
    rows = []
    on_hand = {c.pk: c for c in containers_with_balance([location.pk]) if c.ml_remaining > 0}  # type: ignore[attr-defined]
    missing = [c.label for pk, c in on_hand.items() if pk not in counted]
    if missing:
        raise ValidationError({"counted": f"Count every container on hand; missing: {', '.join(missing)}."})
    for pk, value in counted.items():
        container = on_hand.get(pk)
        if container is None:
            container = Container.objects.filter(pk=pk, location=location).select_related("lot__product").first()
            if container is None:
                raise ValidationError({"counted": f"Container {pk} is not at {location.name}."})
        quantity = _ml(value)
        if quantity < 0:
            raise ValidationError({"counted": f"{container.label}: a count cannot be below 0 mL."})
        rows.append((container, Decimal(str(getattr(container, "ml_remaining", 0) or 0)).quantize(ML_PLACES), quantity))
    return rows


@transaction.atomic
def record_count(
    *,
    acting_user: User,
    location: Location,
    counted: Mapping[int, Decimal | int | str],
    note: str = "",
    counted_at: datetime | None = None,
) -> CountSheet:
    """A shift count: the mL counted in each container on hand. Each difference from the ledger
    opens a discrepancy for the medical director."""
    if not can_count_stock_at(acting_user, location.pk):
        raise PermissionDenied("Your role may not count stock at this location.")
    _lock([location.pk])
    rows = _counted(location, counted)
    sheet = CountSheet.objects.create(
        location=location, counted_by=acting_user, note=note.strip(), counted_at=counted_at or timezone.now()
    )
    discrepancies = 0
    for container, expected, counted_ml in rows:
        line = CountLine.objects.create(sheet=sheet, container=container, expected_ml=expected, counted_ml=counted_ml)
        if counted_ml != expected:
            discrepancies += 1
            Discrepancy.objects.create(
                location=location,
                container=container,
                count_line=line,
                expected_ml=expected,
                counted_ml=counted_ml,
                opened_at=sheet.counted_at,
            )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=sheet,
        location_id=location.pk,
        changes={"containers": [None, len(rows)], "discrepancies": [None, discrepancies]},
    )
    return sheet


@transaction.atomic
def resolve_discrepancy(
    *,
    acting_user: User,
    discrepancy: Discrepancy,
    resolution: str,
    note: str,
    loss_facts: LossFacts | None = None,
    resolved_at: datetime | None = None,
) -> Discrepancy:
    """The medical director closes a discrepancy: explained (no stock change), adjusted (an
    adjustment entry for the difference) or reported as loss (a loss entry for the shortfall)."""
    if not can_manage_ledger_at(acting_user, discrepancy.location_id):
        raise PermissionDenied("Only the medical director resolves discrepancies.")
    text = _reason(note, required=True)
    discrepancy = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    if not discrepancy.is_open:
        raise ValidationError("This discrepancy is already resolved.")
    before = discrepancy.status
    entry: LedgerEntry | None = None
    if resolution == DiscrepancyStatus.ADJUSTED:
        entry = adjust_balance(
            acting_user=acting_user,
            container=discrepancy.container,
            ml=discrepancy.difference_ml,
            reason=text,
            at=resolved_at,
        )
    elif resolution == DiscrepancyStatus.REPORTED_LOSS:
        if discrepancy.difference_ml >= 0:
            raise ValidationError({"resolution": "Only a shortfall (less counted than expected) can be a loss."})
        facts = loss_facts or LossFacts(
            loss_type=LossType.UNEXPLAINED_LOSS,
            discovered_on=timezone.localdate(discrepancy.opened_at),
            circumstances=text,
        )
        entry = record_loss(
            acting_user=acting_user, container=discrepancy.container, ml=-discrepancy.difference_ml, facts=facts
        )
    elif resolution != DiscrepancyStatus.EXPLAINED:
        raise ValidationError({"resolution": "Choose explained, adjusted or reported as loss."})
    Discrepancy.objects.filter(pk=discrepancy.pk).update(
        status=resolution,
        resolved_at=resolved_at or timezone.now(),
        resolved_by=acting_user,
        resolution_note=text,
        entry=entry,
    )
    discrepancy.refresh_from_db()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=discrepancy,
        location_id=discrepancy.location_id,
        changes={"status": [before, resolution], "entry": [None, entry.pk if entry else None]},
        reason=text,
    )
    return discrepancy


@transaction.atomic
def take_inventory(
    *,
    acting_user: User,
    location: Location,
    kind: str,
    business_time: str,
    counted: Mapping[int, Decimal | int | str],
    password: str,
    note: str = "",
    taken_at: datetime | None = None,
) -> InventoryCount:
    """The initial, biennial or annual inventory (21 CFR 1304.11): the exact mL in every
    container on hand, at opening or close of business, signed by re-entering the password.
    Differences from the ledger open discrepancies, like a shift count."""
    if not can_manage_ledger_at(acting_user, location.pk):
        raise PermissionDenied("Only the medical director takes the DEA inventory.")
    if kind not in InventoryKind.values:
        raise ValidationError({"kind": "Choose initial, biennial or annual."})
    if business_time not in BusinessTime.values:
        raise ValidationError({"business_time": "Say whether it was taken at opening or close of business."})
    if not acting_user.check_password(password):
        raise ValidationError({"password": "Your password did not match; the inventory was not signed."})
    _lock([location.pk])
    rows = _counted(location, counted)
    now = timezone.now()
    inventory = InventoryCount.objects.create(
        location=location,
        kind=kind,
        business_time=business_time,
        taken_at=taken_at or now,
        taken_by=acting_user,
        taken_by_name=acting_user.get_full_name() or acting_user.username,
        signed_at=now,
        note=note.strip(),
    )
    for container, expected, counted_ml in rows:
        line = InventoryLine.objects.create(
            inventory=inventory,
            container=container,
            is_opened=container.opened_at is not None,
            expected_ml=expected,
            counted_ml=counted_ml,
        )
        if counted_ml != expected:
            Discrepancy.objects.create(
                location=location, container=container, inventory_line=line, expected_ml=expected, counted_ml=counted_ml
            )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=inventory,
        location_id=location.pk,
        changes={"kind": [None, kind], "business_time": [None, business_time], "containers": [None, len(rows)]},
    )
    return inventory
