"""Consent pages: the staff document list, publishing a new version, a patient's consents, and
the patient's own portal pages for reading, signing and downloading signed copies."""

from __future__ import annotations

import logging
import uuid
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ketaclinic.accounts.models import User
from ketaclinic.consents import actions
from ketaclinic.consents.forms import PublishForm, SignForm
from ketaclinic.consents.markup import render_consent_markdown
from ketaclinic.consents.models import ConsentDocument, ConsentSignature, sha256_hex
from ketaclinic.consents.permissions import (
    can_download_signature,
    can_manage_consent_documents,
    can_view_consent_documents,
    can_view_patient_consents,
)
from ketaclinic.consents.queries import (
    current_document,
    document_summaries,
    documents_awaiting_signature,
    is_current,
    signatures_for,
)
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.models import AuditEvent
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import can_break_glass, can_use_portal

logger = logging.getLogger(__name__)


def _pdf_response(user: User, signature: ConsentSignature) -> FileResponse:
    """The signed copy as a download, audited as a read of the patient's record."""
    path = signature.pdf_file
    if not path.is_file():
        logger.error("Signed consent PDF missing for signature %s at %s", signature.pk, path)
        raise Http404("The PDF copy of this signature is missing. Tell the clinic's administrator.")
    patient = signature.patient
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        obj=signature,
        patient_id=patient.pk,
        location_id=patient.location_id,
        reason="signed consent PDF downloaded",
        is_break_glass=user.is_staff_member and not user.works_at(patient.location_id),
    )
    signed_day = timezone.localtime(signature.signed_at).date().isoformat()
    filename = f"{signature.document.kind.replace('_', '-')}-v{signature.document.version}-signed-{signed_day}.pdf"
    response = FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf")
    # A copy of a health record: not to be kept by shared caches or the browser's cache.
    response["Cache-Control"] = "no-store"
    return response


# --- Staff ---------------------------------------------------------------------------------


@signed_in(can_view_consent_documents)
def document_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    return render(
        request,
        "consents/documents.html",
        {"summaries": document_summaries(), "can_publish": can_manage_consent_documents(user)},
    )


@signed_in(can_view_consent_documents)
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    document = get_object_or_404(ConsentDocument.objects.select_related("published_by"), pk=pk)
    return render(
        request,
        "consents/document_detail.html",
        {
            "document": document,
            "body_html": render_consent_markdown(document.body_markdown),
            "is_current": is_current(document),
            "signed_count": document.signatures.count(),
            "can_publish": can_manage_consent_documents(user),
        },
    )


@signed_in(can_manage_consent_documents)
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest) -> HttpResponse:
    """Write the next version, preview it exactly as patients will see it, then publish."""
    user = cast(User, request.user)
    preview_html = None
    previewed_sha256 = ""
    if request.method == "POST":
        form = PublishForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            body = data["body_markdown"]
            text_sha256 = sha256_hex(body.encode())
            if "publish" in request.POST and data["previewed_sha256"] != text_sha256:
                form.add_error(None, "The text changed after your preview. Check the new preview, then publish.")
            elif "publish" in request.POST:
                try:
                    document = actions.publish_document(
                        acting_user=user,
                        kind=data["kind"],
                        title=data["title"],
                        body_markdown=body,
                        requires_signature=data["requires_signature"],
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    messages.success(
                        request,
                        f"Published {document.title}, version {document.version}. "
                        "Patients are asked to sign it the next time they open the portal.",
                    )
                    return redirect("consents:document", pk=document.pk)
            preview_html = render_consent_markdown(body)
            previewed_sha256 = text_sha256
    else:
        kind = request.GET.get("kind", "")
        current = current_document(kind) if kind else None
        initial = {"kind": kind, "requires_signature": True}
        if current is not None:
            initial |= {
                "title": current.title,
                "body_markdown": current.body_markdown,
                "requires_signature": current.requires_signature,
            }
        form = PublishForm(initial=initial)
    return render(
        request,
        "consents/publish.html",
        {"form": form, "preview_html": preview_html, "previewed_sha256": previewed_sha256},
    )


@signed_in(can_view_consent_documents)
def patient_consents(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if not can_view_patient_consents(user, patient):
        if can_break_glass(user, patient):
            return redirect("patients:break_glass", pk=patient.pk)
        raise PermissionDenied
    signatures = signatures_for(patient)
    awaiting = documents_awaiting_signature(patient)
    is_break_glass = not user.works_at(patient.location_id)
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        obj=patient,
        patient_id=patient.pk,
        location_id=patient.location_id,
        reason="consent signatures viewed",
        changes={"signature_ids": [str(s.pk) for s in signatures]},
        is_break_glass=is_break_glass,
    )
    return render(
        request,
        "consents/patient.html",
        {"patient": patient, "signatures": signatures, "awaiting": awaiting, "is_break_glass": is_break_glass},
    )


@signed_in(can_view_consent_documents)
def staff_download(request: HttpRequest, pk: uuid.UUID) -> FileResponse:
    user = cast(User, request.user)
    signature = get_object_or_404(ConsentSignature.objects.select_related("patient", "document"), pk=pk)
    if not can_download_signature(user, signature):
        raise PermissionDenied
    return _pdf_response(user, signature)


# --- Patient portal ------------------------------------------------------------------------


@signed_in(can_use_portal)
def portal_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    patient = user.patient_record
    signatures = signatures_for(patient)
    awaiting = documents_awaiting_signature(patient)
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        obj=patient,
        patient_id=patient.pk,
        location_id=patient.location_id,
        reason="own consent signatures viewed",
    )
    return render(request, "consents/portal_list.html", {"signatures": signatures, "awaiting": awaiting})


@signed_in(can_use_portal)
@require_http_methods(["GET", "POST"])
def portal_sign(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    patient = user.patient_record
    document = get_object_or_404(ConsentDocument, pk=pk)
    if request.method == "GET" and not is_current(document):
        newer = current_document(document.kind)
        messages.info(request, f"{document.title} has been updated. This is the current version.")
        return redirect("consents_portal:sign", pk=cast(ConsentDocument, newer).pk)
    existing = ConsentSignature.objects.filter(patient=patient, document=document).first()
    form = SignForm(request.POST or None)
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            actions.sign_document(
                acting_user=user,
                patient=patient,
                document=document,
                typed_name=form.cleaned_data["typed_name"],
                drawn_signature_png=form.cleaned_data["drawn_signature"],
                agreed=form.cleaned_data["agreed"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Thank you. You signed {document.title}. A PDF copy is ready to download.")
            return redirect("consents_portal:list")
    return render(
        request,
        "consents/portal_sign.html",
        {
            "document": document,
            "body_html": render_consent_markdown(document.body_markdown),
            "form": form,
            "existing": existing,
            "patient": patient,
        },
    )


@signed_in(can_use_portal)
def portal_download(request: HttpRequest, pk: uuid.UUID) -> FileResponse:
    user = cast(User, request.user)
    # Filtered by the signed-in patient: someone else's signature is simply not found.
    signature = get_object_or_404(
        ConsentSignature.objects.select_related("patient", "document"), pk=pk, patient=user.patient_record
    )
    return _pdf_response(user, signature)
