"""Bearer-token authentication for the JSON API."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from ketaclinic.accounts.models import ApiToken, User, hash_token

# Record last use at most this often, so a busy client does not write on every request.
LAST_USED_RESOLUTION_SECONDS = 60


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``: a personal token from the profile page or
    ``manage.py create_api_token``. Expired, revoked or unknown tokens get 401 with the reason."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = ApiToken.objects.select_related("user").filter(digest=hash_token(token)).first()
        if found is None:
            raise HttpError(401, "Unknown API token. Check that the whole token was copied.")
        if found.revoked_at is not None:
            raise HttpError(401, "This API token was revoked. Create a new one in your profile.")
        if found.is_expired:
            raise HttpError(
                401, f"This API token expired on {found.expires_at:%Y-%m-%d}. Create a new one in your profile."
            )
        if not found.user.is_active:
            raise HttpError(401, "The account this token belongs to is switched off.")
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        user = found.user
        # Pages see the user on request.user; give API code and audit writes the same.
        request.user = user
        return user

    def __call__(self, request: HttpRequest) -> Any:
        return super().__call__(request)
