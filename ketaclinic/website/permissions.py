"""Who may edit the public website. The public pages themselves are open to everyone."""

from __future__ import annotations

from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.core.permissions import has_grant


def can_edit_website(user: AnyUser) -> bool:
    return has_grant(user, "edit_website")
