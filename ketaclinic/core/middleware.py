"""Request-wide concerns: who is asking from where, inactivity logoff, the location's time zone."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone

from ketaclinic.accounts.actions import sign_out
from ketaclinic.core.audit import RequestInfo, request_context

LAST_SEEN_KEY = "last_seen_at"
# The last activity is stored at most this often (seconds): each store is a write of the session
# row, and a page opened every few seconds would otherwise write on every request. The
# inactivity logoff is then exact to within this many seconds of its 15 minutes.
LAST_SEEN_RESOLUTION_SECONDS = 15


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is the proxy in production; the proxy must set X-Real-IP (docs/deployment.md).
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_REAL_IP")
        if forwarded:
            return str(forwarded)
    addr = request.META.get("REMOTE_ADDR")
    return str(addr) if addr else None


class RequestContextMiddleware:
    """Make the request's address and browser available to audit writes deeper down."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_context.set(
            RequestInfo(
                ip_address=client_ip(request),
                user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
                path=request.path,
            )
        )
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)


class IdleTimeoutMiddleware:
    """Sign a person out after IDLE_TIMEOUT_SECONDS without a request (45 CFR 164.312(a)(2)(iii)).

    The browser also counts down (static/js/app.js) and leaves the page when the time is up, so
    health data does not stay on an unattended screen; this middleware is the server's guarantee.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_SEEN_KEY)
            if last is not None and now - float(last) > settings.IDLE_TIMEOUT_SECONDS:
                sign_out(request, reason="inactivity")
                messages.info(request, "You were signed out after a period of inactivity. Sign in again to continue.")
                if request.path.startswith("/api/"):
                    return HttpResponse(status=401)
                return redirect(f"{resolve_url(settings.LOGIN_URL)}?next={request.path}")
            # The countdown's own status poll, and pages' background refreshes (the chairside
            # page and the day board send X-Background-Poll), must not count as activity.
            background = request.headers.get("X-Background-Poll") == "1"
            stale = last is None or now - float(last) >= LAST_SEEN_RESOLUTION_SECONDS
            if request.path != "/accounts/session/" and not background and stale:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class LocationTimezoneMiddleware:
    """Show times in the zone of the signed-in user's first location (stored times are UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = request.user.display_time_zone if request.user.is_authenticated else None
        # override() restores the previous zone afterwards, so it never leaks into the next
        # request served by the same thread (or into test code after a test-client request).
        with timezone.override(zoneinfo.ZoneInfo(zone) if zone else None):
            return self.get_response(request)
