"""Patient records for staff (chart, demographics, weights, invitation, candidacy review,
screening rules), the portal invitation page, and the patient's own portal (home, intake)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.forms import BaseFormSet, Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.actions import sign_in
from ketaclinic.accounts.models import User
from ketaclinic.consents.queries import documents_awaiting_signature, signatures_for
from ketaclinic.core import audit
from ketaclinic.core.access import public, signed_in
from ketaclinic.core.forms import add_action_errors
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions.permissions import can_view_patient_orders
from ketaclinic.outcomes.permissions import can_view_patient_outcomes
from ketaclinic.patients import actions, queries
from ketaclinic.patients.choices import Decision
from ketaclinic.patients.forms import (
    ACUTE_LABELS,
    OUTCOME_LABELS,
    PREVENTIVE_LABELS,
    AcuteMedicationForm,
    AttacksForm,
    BreakGlassForm,
    DecisionForm,
    DemographicsForm,
    HealthForm,
    HistoryForm,
    IntakeStepForm,
    InvitationAcceptForm,
    MidasForm,
    PatientSearchForm,
    PreventiveTrialFormSet,
    SafetyForm,
    ScreeningRuleForm,
    WeightForm,
)
from ketaclinic.patients.models import Patient, PortalInvitation, ScreeningRule
from ketaclinic.patients.permissions import (
    can_break_glass,
    can_edit_patient,
    can_edit_patients,
    can_manage_screening_rules,
    can_review_candidacy,
    can_review_patient_candidacy,
    can_use_portal,
    can_view_patient,
    can_view_patients,
    visible_to,
)
from ketaclinic.scheduling.permissions import can_view_patient_schedule

PAGE_SIZE = 50


@signed_in(can_view_patients)
def patient_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = PatientSearchForm(request.GET or None)
    patients = visible_to(Patient.objects.select_related("location"), user)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if query:
        patients = patients.filter(
            Q(last_name__icontains=query) | Q(first_name__icontains=query) | Q(mrn__iexact=query)
        )
    shown = list(patients[:PAGE_SIZE])
    # A list of names is health data too: audit who saw which list.
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="patients.Patient",
        object_id="list",
        changes={"query": query, "patient_ids": [p.pk for p in shown]},
    )
    return render(request, "patients/list.html", {"form": form, "patients": shown, "query": query})


def _staff_patient(request: HttpRequest, pk: int, check: Any) -> tuple[User, Patient]:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location", "user"), pk=pk)
    if not check(user, patient):
        raise PermissionDenied
    return user, patient


@signed_in(can_view_patients)
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location", "user"), pk=pk)
    if not can_view_patient(user, patient):
        if can_break_glass(user, patient):
            return redirect("patients:break_glass", pk=patient.pk)
        raise PermissionDenied
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    state = queries.intake_state(patient)
    submitted = state.intake if state.intake and state.intake.is_submitted else queries.latest_submitted_intake(patient)
    return render(
        request,
        "patients/detail.html",
        {
            "patient": patient,
            "is_break_glass": not user.works_at(patient.location_id),
            "weights": list(patient.weights.select_related("recorded_by")[: queries.CHART_WEIGHTS]),
            "invitation_status": queries.invitation_status(patient),
            "state": state,
            "submitted": submitted,
            "can_edit": can_edit_patient(user, patient),
            "can_review": can_review_patient_candidacy(user, patient),
            "invitation_hours": settings.PORTAL_INVITATION_HOURS,
            "can_see_schedule": can_view_patient_schedule(user, patient),
            "can_see_orders": can_view_patient_orders(user, patient),
            "can_see_outcomes": can_view_patient_outcomes(user, patient),
            "signatures": signatures_for(patient),
            "awaiting": documents_awaiting_signature(patient),
        },
    )


@signed_in(can_edit_patients)
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user, patient = _staff_patient(request, pk, can_edit_patient)
    form = DemographicsForm(request.POST or None, instance=Patient.objects.get(pk=patient.pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_demographics(acting_user=user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:detail", pk=patient.pk)
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    return render(request, "patients/edit.html", {"form": form, "patient": patient})


@signed_in(can_edit_patients)
@require_http_methods(["GET", "POST"])
def patient_weight(request: HttpRequest, pk: int) -> HttpResponse:
    user, patient = _staff_patient(request, pk, can_edit_patient)
    form = WeightForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.record_weight(
                acting_user=user,
                patient=patient,
                weight_kg=form.cleaned_data["weight_kg"],
                source=form.cleaned_data["source"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Weight {form.cleaned_data['weight_kg']} kg recorded.")
            return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/weight.html", {"form": form, "patient": patient})


@signed_in(can_edit_patients)
@require_POST
def patient_invite(request: HttpRequest, pk: int) -> HttpResponse:
    user, patient = _staff_patient(request, pk, can_edit_patient)
    try:
        invitation = actions.invite_to_portal(acting_user=user, patient=patient)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Portal invitation emailed to {invitation.email}; the link expires on {invitation.expires_at:%Y-%m-%d %H:%M}.",
        )
    return redirect("patients:detail", pk=patient.pk)


def _answer_rows(answers: dict[str, Any]) -> dict[str, Any]:
    """Intake answers laid out for the review page, with labels and units."""
    days = answers.get("acute_medication_days") or {}
    return {
        "acute": [(label, days.get(str(key))) for key, label in ACUTE_LABELS.items()],
        "trials": [
            {
                **trial,
                "class_label": PREVENTIVE_LABELS.get(trial.get("drug_class", ""), trial.get("drug_class")),
                "outcome_label": OUTCOME_LABELS.get(trial.get("outcome", ""), trial.get("outcome")),
            }
            for trial in answers.get("preventive_trials") or []
        ],
    }


@signed_in(can_review_candidacy)
@require_http_methods(["GET", "POST"])
def candidacy_review(request: HttpRequest, pk: int) -> HttpResponse:
    user, patient = _staff_patient(request, pk, can_review_patient_candidacy)
    intake = queries.latest_submitted_intake(patient)
    current = queries.current_intake(patient)
    reviewable = intake is not None and current is not None and current.pk == intake.pk
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if intake is None or not reviewable:
            raise PermissionDenied("There is no submitted intake to decide on.")
        if form.is_valid():
            try:
                actions.decide_candidacy(
                    acting_user=user,
                    patient=patient,
                    intake=intake,
                    decision=form.cleaned_data["decision"],
                    password=form.cleaned_data["password"],
                    protocol=form.cleaned_data["protocol"],
                    note=form.cleaned_data["note"],
                    note_to_patient=form.cleaned_data["note_to_patient"],
                    override_reason=form.cleaned_data["override_reason"],
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, "Decision signed and recorded.")
                return redirect("patients:detail", pk=patient.pk)
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    result = intake.result if intake else {}
    decisions = list(patient.candidacy_decisions.select_related("protocol", "decided_by", "intake"))
    return render(
        request,
        "patients/review.html",
        {
            "patient": patient,
            "intake": intake,
            "draft": current if current is not None and not current.is_submitted else None,
            "reviewable": reviewable,
            "answers": intake.answers if intake else {},
            "rows": _answer_rows(intake.answers) if intake else {},
            "attack_labels": _choice_labels(AttacksForm, intake.answers) if intake else {},
            "result": result,
            "findings": queries.findings_by_severity(result),
            "decisions": decisions,
            "form": form,
        },
    )


@signed_in(can_manage_screening_rules)
def screening_rules(request: HttpRequest) -> HttpResponse:
    rules = list(ScreeningRule.objects.all())
    return render(request, "patients/screening_rules.html", {"rules": rules})


@signed_in(can_manage_screening_rules)
@require_http_methods(["GET", "POST"])
def screening_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    rule = get_object_or_404(ScreeningRule, pk=pk)
    form = ScreeningRuleForm(request.POST or None, instance=ScreeningRule.objects.get(pk=rule.pk))
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in actions.RULE_FIELDS}
        try:
            actions.update_screening_rule(
                acting_user=user, rule=rule, change_reason=form.cleaned_data["change_reason"], **values
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Rule “{rule.key}” saved. Intakes submitted from now on use it.")
            return redirect("patients:screening_rules")
    return render(request, "patients/screening_rule_edit.html", {"form": form, "rule": rule})


@signed_in(can_view_patients)
@require_http_methods(["GET", "POST"])
def patient_break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
    if can_view_patient(user, patient):
        return redirect("patients:detail", pk=patient.pk)
    if not can_break_glass(user, patient):
        raise PermissionDenied
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.break_glass(acting_user=user, patient=patient, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.warning(
                request,
                "Emergency access granted for 60 minutes. This access is flagged for review.",
            )
            return redirect("patients:detail", pk=patient.pk)
    # Only the location is shown before access: not the patient's name or any health data.
    return render(
        request,
        "patients/break_glass.html",
        {"form": form, "patient_id": patient.pk, "location": patient.location},
    )


@public
@require_http_methods(["GET", "POST"])
def portal_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Accept a portal invitation: choose a username and password, then land in the portal."""
    invitation = (
        PortalInvitation.objects.select_related("patient__location")
        .filter(token_hash=actions.hash_invitation_token(token))
        .first()
    )
    if invitation is None or invitation.state != "valid" or invitation.patient.user_id is not None:
        state = "unknown" if invitation is None else invitation.state
        return render(
            request,
            "patients/invitation_invalid.html",
            {"state": state, "location": invitation.patient.location if invitation else None},
            status=404 if invitation is None else 410,
        )
    form = InvitationAcceptForm(request.POST or None, initial={"username": invitation.email})
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.accept_portal_invitation(
                acting_user=None,
                raw_token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            sign_in(request, user)
            messages.success(request, "Your account is ready. Welcome to your portal.")
            return redirect("portal:home")
    return render(request, "patients/invitation_accept.html", {"form": form, "invitation": invitation})


def _portal_patient(request: HttpRequest) -> tuple[User, Patient]:
    user = cast(User, request.user)
    return user, Patient.objects.select_related("location").get(user=user)


@signed_in(can_use_portal)
def portal_home(request: HttpRequest) -> HttpResponse:
    user, patient = _portal_patient(request)
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    state = queries.intake_state(patient)
    return render(
        request,
        "patients/portal_home.html",
        {
            "patient": patient,
            "state": state,
            "consents_awaiting": documents_awaiting_signature(patient),
        },
    )


@dataclass(frozen=True)
class Step:
    slug: str
    title: str


STEPS = (
    Step("history", HistoryForm.title),
    Step("attacks", AttacksForm.title),
    Step("medication", AcuteMedicationForm.title),
    Step("preventives", "Preventive treatments you have tried"),
    Step("health", HealthForm.title),
    Step("safety", "Safety questions"),
    Step("midas", MidasForm.title),
)
_STEP_FORMS: dict[str, type[IntakeStepForm]] = {
    "history": HistoryForm,
    "attacks": AttacksForm,
    "medication": AcuteMedicationForm,
    "health": HealthForm,
    "midas": MidasForm,
}


def _is_editable(state: queries.IntakeState) -> bool:
    """The patient may change answers while there is no intake, a draft, or a request for more."""
    return state.code in {"none", "draft", Decision.MORE_INFO}


def _choice_labels(form_class: type[IntakeStepForm], answers: dict[str, Any]) -> dict[str, str]:
    """The patient's words for coded answers (e.g. "one_side" → "One side of the head")."""
    labels: dict[str, str] = {}
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.MultipleChoiceField) or not isinstance(field, forms.ChoiceField):
            continue
        if isinstance(answers.get(name), str):
            # The intake's choice fields are flat (value, label) lists, never grouped.
            words = dict(cast(list[tuple[str, str]], field.choices))
            labels[name] = words.get(answers[name], answers[name])
    return labels


def _step_form(slug: str, data: Any, answers: dict[str, Any]) -> Form | BaseFormSet[Any]:
    if slug == "preventives":
        initial = [
            {k: t.get(k) for k in ("drug_class", "drug_name", "dose", "duration_weeks", "outcome", "reason_stopped")}
            for t in answers.get("preventive_trials") or []
        ]
        return PreventiveTrialFormSet(data, initial=None if data is not None else initial, prefix="trial")
    if slug == "safety":
        rules = list(ScreeningRule.objects.filter(is_active=True))
        return SafetyForm(data, rules=rules, answers=answers)
    return _STEP_FORMS[slug](data, answers=answers)


def _step_answers(slug: str, form: Form | BaseFormSet[Any]) -> dict[str, Any]:
    if isinstance(form, BaseFormSet):
        trials = [trial for f in form.forms if (trial := f.to_trial()) is not None]
        return {"preventive_trials": trials}
    return cast(IntakeStepForm, form).to_answers()


@signed_in(can_use_portal)
@require_http_methods(["GET", "POST"])
def portal_intake_step(request: HttpRequest, step: str) -> HttpResponse:
    user, patient = _portal_patient(request)
    slugs = [s.slug for s in STEPS]
    if step not in slugs:
        raise Http404("No such step")
    index = slugs.index(step)
    state = queries.intake_state(patient)
    answers: dict[str, Any] = dict(state.intake.answers) if state.intake else {}
    editable = _is_editable(state)
    form = _step_form(step, request.POST if request.method == "POST" else None, answers)
    if not editable:
        # Submitted answers are shown read-only, so nobody types changes that cannot be saved.
        for each in form.forms if isinstance(form, BaseFormSet) else [form]:
            for field in each.fields.values():
                field.disabled = True
    if request.method == "POST" and editable and form.is_valid():
        try:
            actions.save_intake_draft(acting_user=user, patient=patient, answers=_step_answers(step, form))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if request.POST.get("then") == "later":
                messages.success(request, "Your answers are saved. Come back any time to continue.")
                return redirect("portal:home")
            following = slugs[index + 1] if index + 1 < len(slugs) else None
            if following:
                return redirect("portal:intake_step", step=following)
            return redirect("portal:intake")
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    return render(
        request,
        "patients/intake_step.html",
        {
            "patient": patient,
            "step": STEPS[index],
            "number": index + 1,
            "total": len(STEPS),
            "previous": slugs[index - 1] if index else None,
            "form": form,
            "is_formset": step == "preventives",
            "editable": editable,
            "state": state,
        },
    )


@signed_in(can_use_portal)
@require_http_methods(["GET", "POST"])
def portal_intake(request: HttpRequest) -> HttpResponse:
    """The questionnaire's overview: each step, what is still missing, and the submit button."""
    user, patient = _portal_patient(request)
    state = queries.intake_state(patient)
    editable = _is_editable(state)
    answers: dict[str, Any] = dict(state.intake.answers) if state.intake else {}
    if request.method == "POST":
        if not editable or state.intake is None or state.intake.is_submitted:
            messages.error(request, "There is nothing to submit: answer the questions first.")
            return redirect("portal:intake")
        try:
            actions.submit_intake(acting_user=user, patient=patient)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Thank you. Your answers are with your prescriber, who will review them.")
            return redirect("portal:home")
    audit.record_read(user, patient, patient_id=patient.pk, location_id=patient.location_id)
    missing = actions.missing_for_submission(answers)
    return render(
        request,
        "patients/intake_overview.html",
        {
            "patient": patient,
            "state": state,
            "editable": editable,
            "steps": [(s, _missing_in_step(s.slug, missing)) for s in STEPS],
            "missing": missing,
            "has_draft": state.intake is not None and not state.intake.is_submitted,
        },
    )


_STEP_OF_KEY = {
    "age_at_onset": "history",
    "headache_days_per_month": "history",
    "migraine_feature_days_per_month": "history",
    "debilitating_headache_days_per_month": "history",
    "months_at_this_frequency": "history",
    "lifetime_migraine_attacks": "history",
    "acute_medication_days": "medication",
    "triptans_failed": "medication",
    "preventive_trials": "preventives",
}


def _missing_in_step(slug: str, missing: list[str]) -> int:
    def step_of(key: str) -> str:
        if key.startswith("contraindications."):
            return "safety"
        if key.startswith("midas."):
            return "midas"
        return _STEP_OF_KEY.get(key, "attacks")

    return sum(1 for key in missing if step_of(key) == slug)
