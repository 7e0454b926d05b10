"""Staff pages: text conversations (list, thread, reply, consent) and the message log."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.models import AuditEvent
from ketaclinic.messaging import actions
from ketaclinic.messaging.choices import Direction, Purpose
from ketaclinic.messaging.forms import ConsentForm, MessageLogFilterForm, OptOutForm, ReplyForm
from ketaclinic.messaging.models import Conversation, Message, SmsConsent, SmsOptOut
from ketaclinic.messaging.permissions import (
    can_message_patients,
    can_reply_to_conversation,
    can_view_conversation,
    can_view_message_log,
)
from ketaclinic.messaging.queries import conversations_for, messages_visible_to, opted_out_numbers

LIST_SIZE = 100
LOG_PAGE_SIZE = 50


@signed_in(can_message_patients)
def conversation_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    conversations = list(conversations_for(user)[:LIST_SIZE])
    # Who texted the clinic is health data too (they are or may be patients): audit the list.
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="messaging.Conversation",
        object_id="list",
        changes={"conversation_ids": [c.pk for c in conversations]},
    )
    opted_out = opted_out_numbers([c.phone for c in conversations])
    return render(
        request,
        "messaging/conversation_list.html",
        {"conversations": conversations, "opted_out": opted_out, "can_view_log": can_view_message_log(user)},
    )


def _conversation(request: HttpRequest, pk: int) -> tuple[User, Conversation]:
    user = cast(User, request.user)
    conversation = get_object_or_404(Conversation.objects.select_related("location", "patient", "lead"), pk=pk)
    if not can_view_conversation(user, conversation):
        raise PermissionDenied("This conversation belongs to a location you do not work at.")
    return user, conversation


def _thread_context(user: User, conversation: Conversation, **forms: Any) -> dict[str, Any]:
    actions.mark_conversation_read(acting_user=user, conversation=conversation)
    return {
        "conversation": conversation,
        "thread": list(conversation.messages.order_by("created_at", "id")),
        "consents": list(SmsConsent.objects.filter(phone=conversation.phone).order_by("-granted_at")),
        "opt_out": SmsOptOut.objects.filter(phone=conversation.phone, ended_at__isnull=True).first(),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "consent_form": forms.get("consent_form") or ConsentForm(),
        "opt_out_form": forms.get("opt_out_form") or OptOutForm(),
        "inbound": Direction.INBOUND,
    }


@signed_in(can_message_patients)
@require_http_methods(["GET", "POST"])
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user, conversation = _conversation(request, pk)
    form = ReplyForm(request.POST or None)
    if request.method == "POST":
        if not can_reply_to_conversation(user, conversation):
            raise PermissionDenied
        if form.is_valid():
            try:
                actions.queue_sms(
                    acting_user=user,
                    to_number=conversation.phone,
                    body=form.cleaned_data["body"],
                    purpose=Purpose(form.cleaned_data["purpose"]),
                    patient=conversation.patient,
                    lead=conversation.lead,
                    location=conversation.location,
                )
            except (actions.ConsentRequired, actions.OutgoingPhiRefused, ValidationError) as exc:
                # The typed text stays in the form, so nothing is lost while it is fixed.
                form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
            else:
                messages.success(request, "Text queued. Its delivery status shows below within a minute.")
                return redirect("messaging:conversation", pk=conversation.pk)
    return render(request, "messaging/conversation.html", _thread_context(user, conversation, reply_form=form))


@signed_in(can_message_patients)
@require_POST
def record_consent(request: HttpRequest, pk: int) -> HttpResponse:
    user, conversation = _conversation(request, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            actions.record_sms_consent(
                acting_user=user,
                phone=conversation.phone,
                purpose=Purpose(form.cleaned_data["purpose"]),
                source=form.cleaned_data["source"],
                patient=conversation.patient,
                lead=conversation.lead,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Consent recorded.")
            return redirect("messaging:conversation", pk=conversation.pk)
    context = _thread_context(user, conversation, consent_form=form)
    return render(request, "messaging/conversation.html", context, status=400)


@signed_in(can_message_patients)
@require_POST
def record_opt_out(request: HttpRequest, pk: int) -> HttpResponse:
    user, conversation = _conversation(request, pk)
    form = OptOutForm(request.POST)
    if form.is_valid():
        withdrawn = actions.revoke_sms_consent(
            acting_user=user, phone=conversation.phone, source=f"staff: {form.cleaned_data['source']}"
        )
        messages.success(
            request, f"Opt-out recorded: {withdrawn} consent(s) withdrawn. No texts will go to {conversation.phone}."
        )
        return redirect("messaging:conversation", pk=conversation.pk)
    context = _thread_context(user, conversation, opt_out_form=form)
    return render(request, "messaging/conversation.html", context, status=400)


def _filtered_log(user: User, filters: dict[str, Any]) -> Any:
    log = messages_visible_to(user).filter(direction=Direction.OUTBOUND)
    if "status" in filters:
        log = log.filter(status=filters["status"])
    if "channel" in filters:
        log = log.filter(channel=filters["channel"])
    if "purpose" in filters:
        log = log.filter(purpose=filters["purpose"])
    if "to" in filters:
        log = log.filter(to_address__icontains=filters["to"])
    if "since" in filters:
        log = log.filter(created_at__date__gte=filters["since"])
    return log.order_by("-created_at", "-id")


@signed_in(can_view_message_log)
def message_log(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = MessageLogFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(_filtered_log(user, filters), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    shown: list[Message] = list(page.object_list)
    # The log names recipients (who is a patient here), not bodies: still audited as a read.
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="messaging.Message",
        object_id="log",
        changes={"filters": {k: str(v) for k, v in filters.items()}, "message_ids": [m.pk for m in shown]},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "messaging/log.html",
        {"form": form, "page": page, "rows": shown, "query": query.urlencode(), "is_filtered": bool(filters)},
    )
