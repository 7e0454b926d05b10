"""Staff home page, the audit trail viewer and error pages."""

from __future__ import annotations

import csv
from typing import Any, cast

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import can_use_staff_pages, can_view_audit
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.forms import AuditSearchForm
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.queries import search_audit


@signed_in(can_use_staff_pages)
def home(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if user.is_patient_user and not user.is_staff_member:
        return redirect("portal:home")
    return render(request, "core/home.html", {"roles": sorted(r.label for r in user.role_set)})


def _audit_filters(request: HttpRequest) -> tuple[AuditSearchForm, dict[str, Any]]:
    form = AuditSearchForm(request.GET or None)
    return form, (form.cleaned_data if form.is_valid() else {})


@signed_in(can_view_audit)
def audit_list(request: HttpRequest) -> HttpResponse:
    form, filters = _audit_filters(request)
    page = Paginator(search_audit(filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit_list.html", {"form": form, "page": page, "query": query.urlencode()})


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = [
    "id",
    "at",
    "actor_username",
    "actor_roles",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "location_id",
    "ip_address",
    "path",
    "is_break_glass",
    "reason",
    "changes",
    "hash",
]


@signed_in(can_view_audit)
def audit_export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    form, filters = _audit_filters(request)
    if request.GET and not form.is_valid():
        return render(request, "core/audit_list.html", {"form": form, "page": None, "query": ""}, status=400)
    events = search_audit(filters)
    audit.record(
        actor=cast(User, request.user),
        action=AuditEvent.Action.EXPORT,
        object_type="core.AuditEvent",
        object_id="csv",
        changes={"filters": {k: str(v) for k, v in filters.items() if v}},
    )
    writer = csv.writer(_Echo())

    def rows() -> Any:
        yield writer.writerow(CSV_COLUMNS)
        for e in events.iterator(chunk_size=2000):
            yield writer.writerow([getattr(e, c) for c in CSV_COLUMNS])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
