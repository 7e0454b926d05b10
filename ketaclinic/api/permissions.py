"""Helpers that let API endpoints apply the apps' permission functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from ketaclinic.accounts.models import User


def require(request: HttpRequest, check: Callable[..., bool], *args: Any, message: str = "") -> User:
    """Return the token's user if ``check(user, *args)`` holds, else raise 403."""
    user = request.auth  # type: ignore[attr-defined]
    if not isinstance(user, User) or not check(user, *args):
        raise PermissionDenied(message or "Your role may not do this.")
    return user
