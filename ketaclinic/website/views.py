"""The clinic's public pages (no sign-in)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketaclinic.clinics.models import Location
from ketaclinic.core.access import public


@public
def home(request: HttpRequest) -> HttpResponse:
    location = Location.objects.filter(is_active=True).order_by("id").first()
    return render(request, "website/home.html", {"location": location})
