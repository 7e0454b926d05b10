"""Sign-in with password and one-time code, MFA enrolment, profile, API tokens, staff accounts."""

from __future__ import annotations

from typing import Any, cast

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import user_has_device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts import actions
from ketaclinic.accounts.forms import CodeForm, EnrolForm, SignInForm, StaffForm, TokenForm
from ketaclinic.accounts.models import ApiToken, User
from ketaclinic.accounts.permissions import can_manage_own_account, can_manage_staff
from ketaclinic.core.access import public, signed_in
from ketaclinic.core.roles import Role

RECOVERY_CODES_SESSION_KEY = "fresh_recovery_codes"
NEW_TOKEN_SESSION_KEY = "fresh_api_token"  # noqa: S105 - a session key name


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _after_password(request: HttpRequest, user: User) -> HttpResponse:
    nxt = _next_url(request)
    if user.is_staff_member:
        step = "accounts:verify" if user_has_device(user) else "accounts:mfa_setup"
        return redirect(f"{reverse(step)}?next={nxt}")
    if user.is_patient_user:
        return redirect("portal:home")
    return redirect(nxt)


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return _after_password(request, request.user)
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            actions.sign_in(request, user)
            return _after_password(request, user)
        actions.record_failed_sign_in(request.POST.get("username", ""), reason="wrong username or password")
    return render(request, "accounts/sign_in.html", {"form": form, "next": request.GET.get("next", "")})


def locked_out(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """Shown by django-axes instead of the sign-in result once an account is locked."""
    minutes = int(float(settings.AXES_COOLOFF_TIME) * 60)
    username = request.POST.get("username", "") if request.method == "POST" else ""
    actions.record_failed_sign_in(username, reason="account locked")
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Second step: the one-time code. Only for a signed-in user who has not yet passed it."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    user = request.user
    if user.is_verified():  # type: ignore[attr-defined]
        return redirect(_next_url(request))
    if not user_has_device(user):
        return redirect("accounts:mfa_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = actions.verify_second_factor(user, form.cleaned_data["code"])
        if result.device is not None:
            actions.complete_second_factor(request, user, result.device)
            if isinstance(result.device, StaticDevice):
                left = StaticToken.objects.filter(device__user=user).count()
                messages.warning(
                    request, f"You used a recovery code. {left} remain; make new ones in your profile if few are left."
                )
            return redirect(_next_url(request))
        actions.record_failed_sign_in(user.username, reason="wrong one-time code")
        form.add_error("code", result.message)
    demo_code = _demo_code(user) if settings.DEMO_SHOW_TOTP else None
    return render(request, "accounts/verify.html", {"form": form, "demo_code": demo_code, "next": _next_url(request)})


def _demo_code(user: User) -> str | None:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app by QR code; required before any staff page."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    user = request.user
    if user_has_device(user) and not user.is_verified():  # type: ignore[attr-defined]
        return redirect("accounts:verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or request.method == "GET":
        device = actions.start_totp_enrolment(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = actions.confirm_totp_enrolment(request, user, device, form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            request.session[RECOVERY_CODES_SESSION_KEY] = codes
            return redirect("accounts:recovery_codes")
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#0f2a3d")
    secret = device.config_url.split("secret=")[1].split("&")[0]
    return render(request, "accounts/mfa_setup.html", {"form": form, "qr_svg": qr_svg, "secret": secret})


@signed_in(can_manage_own_account)
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("accounts:profile")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@signed_in(can_manage_own_account)
@require_POST
def regenerate_codes(request: HttpRequest) -> HttpResponse:
    request.session[RECOVERY_CODES_SESSION_KEY] = actions.regenerate_recovery_codes(
        acting_user=cast(User, request.user)
    )
    return redirect("accounts:recovery_codes")


@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        actions.sign_out(request, reason="signed out")
        messages.success(request, "You are signed out.")
        return redirect("accounts:login")
    return render(request, "accounts/sign_out.html")


@require_POST
def keepalive(request: HttpRequest) -> HttpResponse:
    """'Stay signed in' from the inactivity warning: any request resets the idle clock."""
    return JsonResponse(
        {"signed_in": request.user.is_authenticated, "idle_timeout_seconds": settings.IDLE_TIMEOUT_SECONDS}
    )


@signed_in(can_manage_own_account)
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    context = {
        "tokens": ApiToken.objects.filter(user=user),
        "token_form": TokenForm(),
        "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
        "recovery_left": StaticToken.objects.filter(device__user=user).count(),
        "has_totp": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
    }
    return render(request, "accounts/profile.html", context)


@signed_in(can_manage_own_account)
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The token was not created: give it a name and a validity of 1 to 365 days.")
        return redirect("accounts:profile")
    _, raw = actions.create_api_token(
        acting_user=user, user=user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
    )
    request.session[NEW_TOKEN_SESSION_KEY] = raw
    return redirect("accounts:profile")


@signed_in(can_manage_own_account)
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    actions.revoke_api_token(acting_user=user, token=token)
    messages.success(request, f"Token “{token.name}” revoked. Programs using it can no longer connect.")
    return redirect("accounts:profile")


@signed_in(can_manage_staff)
def staff_list(request: HttpRequest) -> HttpResponse:
    users = (
        User.objects.filter(roles__role__in=[r for r in Role if r is not Role.PATIENT])
        .distinct()
        .prefetch_related("roles", "locations")
        .order_by("last_name", "first_name")
    )
    return render(request, "accounts/staff_list.html", {"users": users})


@signed_in(can_manage_staff)
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    acting = cast(User, request.user)
    target = get_object_or_404(User, pk=pk) if pk is not None else None
    initial: dict[str, Any] = {}
    if target is not None:
        initial = {
            "first_name": target.first_name,
            "last_name": target.last_name,
            "email": target.email,
            "credentials": target.credentials,
            "roles": [r.value for r in target.role_set],
            "all_locations": target.all_locations,
            "locations": list(target.locations.all()),
            "is_active": target.is_active,
        }
    form = StaffForm(request.POST or None, initial=initial, editing=target is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "credentials": data["credentials"],
            "roles": [Role(r) for r in data["roles"]],
            "location_ids": [loc.pk for loc in data["locations"]],
            "all_locations": data["all_locations"],
        }
        try:
            if target is None:
                target = actions.create_user(
                    acting_user=acting, username=data["username"], password=data["password"], **common
                )
            else:
                actions.update_staff_user(acting_user=acting, user=target, is_active=data["is_active"], **common)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved {target.get_full_name() or target.username}.")
            return redirect("accounts:staff_list")
    return render(request, "accounts/staff_edit.html", {"form": form, "target": target})


@signed_in(can_manage_staff)
@require_POST
def staff_reset_mfa(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    actions.reset_mfa(acting_user=cast(User, request.user), user=target)
    messages.success(request, f"{target.get_full_name()} will set up a new authenticator at their next sign-in.")
    return redirect("accounts:staff_edit", pk=target.pk)
