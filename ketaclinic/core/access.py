"""View decorators that apply the permission functions. Every view in the project is wrapped
by one of these (or is explicitly public), and the route-walk test proves it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django_otp import user_has_device

from ketaclinic.accounts.models import User

V = TypeVar("V", bound=Callable[..., HttpResponseBase])
UserCheck = Callable[[Any], bool]


def is_second_factor_verified(user: object) -> bool:
    """django-otp's middleware gives the request's user an ``is_verified()`` method."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def _second_factor_redirect(request: HttpRequest) -> HttpResponse | None:
    """Staff must have passed their one-time code before any staff page (HIPAA 164.312(d))."""
    user = cast(User, request.user)
    if user.is_staff_member and not is_second_factor_verified(user):
        target = "accounts:verify" if user_has_device(user) else "accounts:mfa_setup"
        return redirect_to_login(request.get_full_path(), login_url=reverse(target))
    return None


def signed_in(check: UserCheck) -> Callable[[V], V]:
    """Require a signed-in user (with the second factor, for staff) who passes ``check``."""

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            pending = _second_factor_redirect(request)
            if pending is not None:
                return pending
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.access_check = check  # type: ignore[attr-defined]
        return cast(V, wrapper)

    return decorator


def public(view: V) -> V:
    """Mark a view as deliberately open to everyone (the route-walk test looks for this)."""
    view.access_check = "public"  # type: ignore[attr-defined]
    return view
