"""Locations and chairs."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.clinics import actions
from ketaclinic.clinics.forms import ChairForm, LocationForm
from ketaclinic.clinics.models import Chair, Location
from ketaclinic.clinics.permissions import can_manage_locations, can_view_locations, visible_to
from ketaclinic.core.access import signed_in


@signed_in(can_view_locations)
def location_list(request: HttpRequest) -> HttpResponse:
    locations = visible_to(Location.objects.prefetch_related("chairs"), request.user)
    return render(
        request,
        "clinics/location_list.html",
        {"locations": locations, "can_manage": can_manage_locations(request.user)},
    )


@signed_in(can_manage_locations)
@require_http_methods(["GET", "POST"])
def location_edit(request: HttpRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    form = LocationForm(request.POST or None, instance=Location.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in actions.LOCATION_FIELDS}
        try:
            actions.update_location(acting_user=cast(User, request.user), location=location, **fields)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved {location.name}.")
            return redirect("clinics:list")
    return render(
        request, "clinics/location_edit.html", {"form": form, "location": location, "chair_form": ChairForm()}
    )


@signed_in(can_manage_locations)
@require_POST
def chair_add(request: HttpRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    form = ChairForm(request.POST)
    if form.is_valid():
        try:
            actions.add_chair(acting_user=cast(User, request.user), location=location, name=form.cleaned_data["name"])
        except ValidationError:
            messages.error(request, "A chair with that name already exists here. Choose another name.")
        else:
            messages.success(request, f"Added {form.cleaned_data['name']}.")
    else:
        messages.error(request, "Give the chair a name.")
    return redirect("clinics:edit", pk=location.pk)


@signed_in(can_manage_locations)
@require_POST
def chair_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    chair = get_object_or_404(Chair, pk=pk)
    actions.set_chair_active(acting_user=cast(User, request.user), chair=chair, is_active=not chair.is_active)
    messages.success(request, f"{chair.name} is now {'in service' if chair.is_active else 'out of service'}.")
    return redirect("clinics:edit", pk=chair.location_id)
