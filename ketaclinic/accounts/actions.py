"""Every change to accounts, sign-in state, MFA devices and API tokens. Each writes its own
audit event."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.models import ApiToken, StaffRole, User, hash_token
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.roles import STAFF_ROLES, Role

if TYPE_CHECKING:
    from django_otp.models import Device


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "credentials": user.credentials,
        "is_active": user.is_active,
        "all_locations": user.all_locations,
        "roles": sorted(StaffRole.objects.filter(user=user).values_list("role", flat=True)),
        "locations": sorted(user.locations.values_list("id", flat=True)),
    }


def _forget_cached(user: User) -> None:
    for attr in ("role_set", "location_ids", "display_time_zone"):
        user.__dict__.pop(attr, None)


@transaction.atomic
def create_user(
    *,
    acting_user: User | None,
    username: str,
    password: str | None,
    roles: Iterable[Role],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    credentials: str = "",
    location_ids: Iterable[int] = (),
    all_locations: bool = False,
) -> User:
    """Create a personal account with its roles and locations. ``password=None`` leaves the
    account without a usable password (a patient who will set one from an invitation)."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken."})
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        credentials=credentials,
        all_locations=all_locations,
    )
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    StaffRole.objects.bulk_create(StaffRole(user=user, role=r) for r in set(roles))
    user.locations.set(list(location_ids))
    _forget_cached(user)
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=user,
        changes=audit.changes_between({}, _user_snapshot(user)),
    )
    return user


@transaction.atomic
def update_staff_user(
    *,
    acting_user: User,
    user: User,
    first_name: str,
    last_name: str,
    email: str,
    credentials: str,
    roles: Iterable[Role],
    location_ids: Iterable[int],
    all_locations: bool,
    is_active: bool,
) -> User:
    """Change a staff account's details, roles and locations."""
    new_roles = set(roles)
    if user.pk == acting_user.pk and Role.ADMINISTRATOR not in new_roles:
        raise ValidationError({"roles": "You cannot remove your own administrator role."})
    if user.pk == acting_user.pk and not is_active:
        raise ValidationError({"is_active": "You cannot deactivate your own account."})
    if not new_roles & STAFF_ROLES:
        raise ValidationError({"roles": "A staff account needs at least one staff role."})
    before = _user_snapshot(user)
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.credentials, user.all_locations, user.is_active = credentials, all_locations, is_active
    user.full_clean(exclude=["password"])
    user.save()
    StaffRole.objects.filter(user=user).exclude(role__in=new_roles).delete()
    existing = set(StaffRole.objects.filter(user=user).values_list("role", flat=True))
    StaffRole.objects.bulk_create(StaffRole(user=user, role=r) for r in new_roles if r not in existing)
    user.locations.set(list(location_ids))
    _forget_cached(user)
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=user,
        changes=audit.changes_between(before, _user_snapshot(user)),
    )
    return user


# --- Sign-in -------------------------------------------------------------------------------


def sign_in(request: HttpRequest, user: User) -> None:
    """Password accepted: start the session. Staff still need their one-time code."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    audit.record(actor=user, action=AuditEvent.Action.SIGN_IN, obj=user, reason="password")


def record_failed_sign_in(username: str, *, reason: str) -> None:
    audit.record(
        actor=None,
        action=AuditEvent.Action.SIGN_IN_FAILED,
        object_type="accounts.User",
        username=username[:150],
        reason=reason,
    )


def complete_second_factor(request: HttpRequest, user: User, device: Device) -> None:
    otp_login(request, device)
    audit.record(
        actor=user, action=AuditEvent.Action.SIGN_IN, obj=user, reason=f"second factor ({device.__class__.__name__})"
    )


def sign_out(request: HttpRequest, *, reason: str = "") -> None:
    user = request.user
    if user.is_authenticated:
        audit.record(actor=user, action=AuditEvent.Action.SIGN_OUT, obj=user, reason=reason)
    logout(request)


@dataclass(frozen=True)
class SecondFactorResult:
    device: Device | None
    message: str


TOTP_DIGITS = 6


def verify_second_factor(user: User, code: str) -> SecondFactorResult:
    """Check a six-digit TOTP code or a recovery code. Both device kinds throttle repeated
    failures themselves (django-otp's ThrottlingMixin), so guessing gets slower each time."""
    code = code.strip().replace(" ", "")
    if not code:
        return SecondFactorResult(None, "Enter the code from your authenticator app.")
    # Six digits is an authenticator code, anything else a recovery code: trying only the matching
    # kind keeps a recovery-code attempt from counting as a wrong authenticator code (throttling).
    device_model = TOTPDevice if code.isdigit() and len(code) == TOTP_DIGITS else StaticDevice
    devices: list[Device] = list(device_model.objects.devices_for_user(user, confirmed=True))
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if not allowed:
            wait = (info or {}).get("locked_until")
            when = f" Try again after {timezone.localtime(wait):%H:%M:%S}." if wait else ""
            return SecondFactorResult(None, f"Too many wrong codes in a row.{when}")
        if device.verify_token(code):
            return SecondFactorResult(device, "")
    return SecondFactorResult(
        None,
        "That code did not match. Codes change every 30 seconds: enter the one your app shows now, or a recovery code.",
    )


# --- MFA enrolment -------------------------------------------------------------------------


def start_totp_enrolment(user: User) -> TOTPDevice:
    """An unconfirmed authenticator for the user to scan; replaced if one is already pending."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def confirm_totp_enrolment(request: HttpRequest, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the pending authenticator with its first code; returns fresh recovery codes."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError("This enrolment is no longer pending. Start again.")
    if not device.verify_token(code.strip().replace(" ", "")):
        raise ValidationError("That code did not match. Check the time on your phone and enter the current code.")
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _replace_recovery_codes(user)
    audit.record(actor=user, action=AuditEvent.Action.MFA, obj=user, reason="authenticator enrolled")
    complete_second_factor(request, user, device)
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(settings.RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


@transaction.atomic
def regenerate_recovery_codes(*, acting_user: User) -> list[str]:
    codes = _replace_recovery_codes(acting_user)
    audit.record(actor=acting_user, action=AuditEvent.Action.MFA, obj=acting_user, reason="recovery codes regenerated")
    return codes


@transaction.atomic
def reset_mfa(*, acting_user: User, user: User) -> None:
    """Remove a user's authenticator and recovery codes: they enrol again at next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(actor=acting_user, action=AuditEvent.Action.MFA, obj=user, reason="MFA reset by administrator")


# --- API tokens ----------------------------------------------------------------------------

TOKEN_PREFIX = "kc_"  # noqa: S105 - a marker, not a secret
MAX_TOKEN_DAYS = 365


@transaction.atomic
def create_api_token(*, acting_user: User, user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored and never shown again."""
    if acting_user.pk != user.pk:
        raise ValidationError("Tokens are personal: create them for your own account.")
    lifetime = days if days is not None else settings.API_TOKEN_DAYS
    if not 1 <= lifetime <= MAX_TOKEN_DAYS:
        raise ValidationError(f"A token lasts between 1 and {MAX_TOKEN_DAYS} days.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        prefix=raw[:10],
        digest=hash_token(raw),
        expires_at=timezone.now() + timedelta(days=lifetime),
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.TOKEN,
        obj=token,
        reason="created",
        changes={"expires_at": [None, token.expires_at]},
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, acting_user: User, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor=acting_user, action=AuditEvent.Action.TOKEN, obj=token, reason="revoked")
