"""Who may use staff pages, the API, manage accounts and read the audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from ketaclinic.accounts.models import User
from ketaclinic.core.permissions import has_grant

AnyUser = User | AnonymousUser


def can_use_staff_pages(user: AnyUser) -> bool:
    return has_grant(user, "use_staff_pages")


def can_use_api(user: AnyUser) -> bool:
    return has_grant(user, "use_api")


def can_manage_staff(user: AnyUser) -> bool:
    return has_grant(user, "manage_staff")


def can_view_audit(user: AnyUser) -> bool:
    return has_grant(user, "view_audit")


def can_manage_own_account(user: AnyUser) -> bool:
    """Anyone signed in may see their own profile, MFA and tokens."""
    return user.is_authenticated and user.is_active
