"""Outcome pages: the patient's diary and questionnaires in the portal, the clinician's view of
one patient (calendar, monthly migraine days, scores, relapse), staff diary entry on the
patient's behalf, the clinic dashboard with its CSV export, and the outcome definitions."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.access import signed_in
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions import scores
from ketaclinic.messaging.actions import record_sms_consent
from ketaclinic.messaging.choices import Purpose
from ketaclinic.messaging.queries import has_sms_consent
from ketaclinic.outcomes import actions, charts, queries, sms
from ketaclinic.outcomes.choices import DiarySource, Instrument, PgicVersion
from ketaclinic.outcomes.dashboard import clinic_dashboard
from ketaclinic.outcomes.forms import (
    AcknowledgeForm,
    AnsweredOnForm,
    DashboardFilterForm,
    DiaryDayForm,
    Hit6Form,
    InstrumentTextForm,
    MidasForm,
    OutcomeDefinitionForm,
    PgicForm,
    PgicVersionForm,
    PromptPreferenceForm,
    staff_hit6_items,
)
from ketaclinic.outcomes.models import (
    DiaryEntry,
    DiaryPromptPreference,
    OutcomeDefinition,
    PromInstrumentText,
    RelapseFlag,
)
from ketaclinic.outcomes.permissions import (
    can_acknowledge_relapse,
    can_enter_diary,
    can_enter_patient_diary,
    can_manage_clinic_definitions,
    can_manage_location_definitions,
    can_manage_outcome_definitions,
    can_view_clinic_outcomes,
    can_view_outcomes,
    can_view_patient_outcomes,
)
from ketaclinic.patients.models import Patient
from ketaclinic.patients.permissions import can_use_portal

# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Http404("No such day") from None


def _entry_initial(entry: DiaryEntry | None) -> dict[str, Any]:
    if entry is None or not entry.headache:
        return {}
    features = [
        name
        for name in (
            "unilateral",
            "pulsating",
            "aggravated_by_activity",
            "nausea",
            "vomiting",
            "photophobia",
            "phonophobia",
            "aura",
        )
        if getattr(entry, name)
    ]
    meds = [m["drug_class"] for m in entry.acute_medications]
    return {
        "peak_severity": entry.peak_severity,
        "pain_nrs": entry.pain_nrs,
        "duration_min": "" if entry.duration_min is None else str(entry.duration_min),
        "features": features,
        "medications": meds,
        "helped_within_2h": any(m.get("helped_within_2h") for m in entry.acute_medications),
    }


def _maintenance_url(patient: Patient) -> str:
    try:
        return reverse("scheduling:patient_series", kwargs={"pk": patient.pk})
    except NoReverseMatch:
        return ""


def _plain_words(report: queries.PatientReport, *, patient_voice: bool) -> list[str]:
    """Sentences under the monthly migraine days chart."""
    you = "you" if patient_voice else "the patient"
    lines = []
    base, first = report.baseline, report.comparison
    if base is None:
        lines.append(
            "There is no baseline yet: it is the 28 days before the first induction infusion, once one is booked."
        )
    elif base.migraine_days_per_28 is None:
        lines.append("Nothing was recorded in the baseline period, so there is nothing to compare with.")
    else:
        lines.append(
            f"Before treatment {you} had {base.migraine_days_per_28:g} migraine days per 28 days "
            f"({base.days_recorded} of {base.length_days} days recorded"
            f"{'' if base.sufficient else ', too few to be sure'})."
        )
    if first is not None and first.migraine_days_per_28 is not None and report.change is not None:
        change = report.change
        pct = f" ({change.percent_change:+g}%)" if change.percent_change is not None else ""
        lines.append(
            f"In the first {first.length_days} days after the induction series: {first.migraine_days_per_28:g} "
            f"migraine days per 28 days, a change of {change.change_migraine_days:+g}{pct}"
            f"{'' if first.sufficient else ', but too few days were recorded to call it a response'}."
        )
        reached = [t for t, ok in sorted(change.responders.items()) if ok]
        if reached:
            lines.append(f"That is a reduction of at least {reached[-1]}% (a responder at that level).")
    elif report.induction.last is not None:
        lines.append("The first follow-up window has not started or has nothing recorded yet.")
    return lines


def _report_context(patient: Patient, *, patient_voice: bool) -> dict[str, Any]:
    report = queries.patient_report(patient)
    heat = charts.heatmap(report.days, report.as_of)
    window_chart = charts.window_chart(report.baseline, report.windows, report.induction.infusion_dates)
    history = queries.prom_history(patient)
    zone = queries.zone_of(patient)
    midas_chart = charts.line_chart(
        [
            (r.completed_at.astimezone(zone).date(), r.score, f"MIDAS {r.score} (grade {r.grade})")
            for r in history["midas"]
        ],
        0,
        max([40] + [r.score for r in history["midas"]]),
    )
    hit6_chart = charts.line_chart(
        [
            (r.completed_at.astimezone(zone).date(), r.score, f"HIT-6 {r.score} ({r.grade.replace('_', ' ')})")
            for r in history["hit6"]
        ],
        scores.HIT6_TOTAL_MIN,
        scores.HIT6_TOTAL_MAX,
    )
    return {
        "patient": patient,
        "report": report,
        "definitions": report.definitions.describe(),
        "heat": heat,
        "window_chart": window_chart,
        "plain_words": _plain_words(report, patient_voice=patient_voice),
        "history": history,
        "midas_chart": midas_chart,
        "hit6_chart": hit6_chart,
        "latest_entries": list(DiaryEntry.objects.filter(patient=patient).select_related("entered_by")[:14]),
    }


# ---------------------------------------------------------------------------------------------
# Portal (the patient)
# ---------------------------------------------------------------------------------------------


def _portal_patient(request: HttpRequest) -> tuple[User, Patient]:
    user = cast(User, request.user)
    return user, Patient.objects.select_related("location").get(user=user)


@signed_in(can_use_portal)
def portal_home(request: HttpRequest) -> HttpResponse:
    user, patient = _portal_patient(request)
    context = _report_context(patient, patient_voice=True)
    today = queries.local_today(patient)
    pref = DiaryPromptPreference.objects.filter(patient=patient).first()
    context.update(
        today=today,
        today_entry=DiaryEntry.objects.filter(patient=patient, date=today).first(),
        due=queries.due_questionnaires(patient),
        prompt_form=PromptPreferenceForm(
            initial={
                "is_enabled": pref.is_enabled if pref else False,
                "local_time": pref.local_time if pref else "20:00",
            }
        ),
        has_care_consent=bool(patient.phone) and has_sms_consent(patient.phone, Purpose.CARE),
        edit_days=queries.definition_row(patient.location).diary_edit_days,
        recent_days=[today - timedelta(days=i) for i in range(1, 4)],
    )
    return render(request, "outcomes/portal_home.html", context)


def _diary_day(
    request: HttpRequest, *, user: User, patient: Patient, day: date, source: DiarySource, template: str, done_url: str
) -> HttpResponse:
    entry = DiaryEntry.objects.filter(patient=patient, date=day).first()
    form = DiaryDayForm(initial=_entry_initial(entry))
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("headache") == "no":
                actions.save_diary_entries(
                    acting_user=user, patient=patient, entries=[{"date": day, "headache": False}], source=source
                )
                messages.success(request, f"Saved: no headache on {day:%A %d %B}.")
                return redirect(done_url)
            form = DiaryDayForm(request.POST)
            if form.is_valid():
                actions.save_diary_entries(acting_user=user, patient=patient, entries=[form.entry(day)], source=source)
                messages.success(request, f"Saved: headache day on {day:%A %d %B}.")
                return redirect(done_url)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    return render(
        request,
        template,
        {
            "patient": patient,
            "day": day,
            "entry": entry,
            "form": form,
            "error": error,
            "open_details": request.method == "POST" or bool(entry and entry.headache),
        },
    )


@signed_in(can_use_portal)
@require_http_methods(["GET", "POST"])
def portal_day(request: HttpRequest, day: str) -> HttpResponse:
    user, patient = _portal_patient(request)
    which = queries.local_today(patient) if day == "today" else _parse_day(day)
    return _diary_day(
        request,
        user=user,
        patient=patient,
        day=which,
        source=DiarySource.WEB,
        template="outcomes/diary_day.html",
        done_url=reverse("outcomes_portal:home"),
    )


@signed_in(can_use_portal)
def portal_codes(request: HttpRequest) -> HttpResponse:
    _, patient = _portal_patient(request)
    return render(
        request,
        "outcomes/codes.html",
        {"patient": patient, "medication_codes": [(k, v) for k, v in sms.MEDICATION_CODES.items()]},
    )


@signed_in(can_use_portal)
@require_POST
def portal_texts(request: HttpRequest) -> HttpResponse:
    user, patient = _portal_patient(request)
    form = PromptPreferenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a time for the daily text, e.g. 20:00.")
        return redirect("outcomes_portal:home")
    data = form.cleaned_data
    if data["is_enabled"] and not patient.phone:
        messages.error(request, "The clinic has no mobile number for you; call us to add one.")
        return redirect("outcomes_portal:home")
    if data["agree_care_texts"] and patient.phone:
        record_sms_consent(
            acting_user=user, phone=patient.phone, purpose=Purpose.CARE, source="portal", patient=patient
        )
    actions.set_diary_prompt(
        acting_user=user, patient=patient, is_enabled=data["is_enabled"], local_time=data["local_time"]
    )
    if data["is_enabled"] and not has_sms_consent(patient.phone, Purpose.CARE):
        messages.warning(request, "Saved, but texts will only start once you agree to care texts.")
    else:
        messages.success(request, "Your daily text settings are saved.")
    return redirect("outcomes_portal:home")


@signed_in(can_use_portal)
@require_http_methods(["GET", "POST"])
def portal_questionnaire(request: HttpRequest, instrument: str) -> HttpResponse:
    user, patient = _portal_patient(request)
    if instrument not in Instrument.values:
        raise Http404("No such questionnaire")
    text = PromInstrumentText.objects.filter(instrument=instrument).first()
    version = queries.definition_row(patient.location).pgic_version
    form: MidasForm | PgicForm | Hit6Form | None
    data = request.POST if request.method == "POST" else None
    if instrument == Instrument.MIDAS:
        form = MidasForm(data)
    elif instrument == Instrument.PGIC:
        form = PgicForm(data, version=version)
    else:
        form = Hit6Form(data, items=text.items) if text else None
    if request.method == "POST" and form is not None and form.is_valid():
        answers: dict[str, Any] = {"answers": form.answers()} if isinstance(form, Hit6Form) else dict(form.cleaned_data)
        try:
            response = actions.record_prom(
                acting_user=user, patient=patient, instrument=instrument, answers=answers, version=version
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Thank you: your {response.get_instrument_display()} answers are saved.")
            return redirect("outcomes_portal:home")
    return render(
        request,
        "outcomes/questionnaire.html",
        {"patient": patient, "instrument": Instrument(instrument), "form": form},
    )


# ---------------------------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------------------------


def _staff_patient(request: HttpRequest, pk: int, check: Any) -> tuple[User, Patient]:
    user = cast(User, request.user)
    patient = get_object_or_404(Patient.objects.select_related("location", "user"), pk=pk)
    if not check(user, patient):
        raise PermissionDenied
    return user, patient


@signed_in(can_view_outcomes)
def patient_outcomes(request: HttpRequest, pk: int) -> HttpResponse:
    user, patient = _staff_patient(request, pk, can_view_patient_outcomes)
    audit.record(
        actor=user,
        action=AuditEvent.Action.READ,
        object_type="outcomes.PatientOutcomes",
        object_id=patient.pk,
        patient_id=patient.pk,
        location_id=patient.location_id,
    )
    context = _report_context(patient, patient_voice=False)
    context.update(
        flags=list(RelapseFlag.objects.filter(patient=patient)[:5]),
        can_acknowledge=can_acknowledge_relapse(user, patient),
        can_enter=can_enter_patient_diary(user, patient),
        maintenance_url=_maintenance_url(patient),
        acknowledge_form=AcknowledgeForm(),
        today=queries.local_today(patient),
    )
    return render(request, "outcomes/patient.html", context)


@signed_in(can_enter_diary)
@require_http_methods(["GET", "POST"])
def staff_diary_day(request: HttpRequest, pk: int, day: str) -> HttpResponse:
    user, patient = _staff_patient(request, pk, can_enter_patient_diary)
    which = queries.local_today(patient) if day == "today" else _parse_day(day)
    done = _staff_done_url(user, patient)
    return _diary_day(
        request,
        user=user,
        patient=patient,
        day=which,
        source=DiarySource.STAFF,
        template="outcomes/staff_diary_day.html",
        done_url=done,
    )


def _staff_done_url(user: User, patient: Patient) -> str:
    """Back to the clinician outcomes page, or the patient record for staff who may enter but
    not view outcomes (the front desk)."""
    if can_view_patient_outcomes(user, patient):
        return reverse("outcomes:patient", kwargs={"pk": patient.pk})
    return reverse("patients:detail", kwargs={"pk": patient.pk})


def _answered_at(patient: Patient, day: date) -> datetime:
    """Now for today's answers; midday at the patient's location for an earlier paper form."""
    if day == queries.local_today(patient):
        return timezone.now()
    return datetime.combine(day, time(12), tzinfo=queries.zone_of(patient))


@signed_in(can_enter_diary)
@require_http_methods(["GET", "POST"])
def staff_questionnaire(request: HttpRequest, pk: int, instrument: str) -> HttpResponse:
    """Staff enter a questionnaire the patient answered on paper or by phone. Scored by
    :mod:`ketaclinic.infusions.scores` through ``actions.record_prom``, which records that it
    was entered by staff on the patient's behalf."""
    user, patient = _staff_patient(request, pk, can_enter_patient_diary)
    if instrument not in Instrument.values:
        raise Http404("No such questionnaire")
    data = request.POST if request.method == "POST" else None
    today = queries.local_today(patient)
    when = AnsweredOnForm(data, initial={"answered_on": today}, today=today)
    # The PGIC scale comes from the page's scale chooser (query string) or the posted form;
    # the location's default otherwise. An unknown scale saves nothing.
    chosen = (data if data is not None else request.GET).get("version")
    version_form = PgicVersionForm(
        {"version": chosen} if chosen is not None else None,
        initial={"version": queries.definition_row(patient.location).pgic_version},
    )
    version_ok = not version_form.is_bound or version_form.is_valid()
    version = (
        version_form.cleaned_data["version"]
        if version_form.is_bound and version_ok
        else version_form.initial["version"]
    )
    form: MidasForm | PgicForm | Hit6Form
    if instrument == Instrument.MIDAS:
        form = MidasForm(data)
    elif instrument == Instrument.PGIC:
        form = PgicForm(data, version=version)
    else:
        text = PromInstrumentText.objects.filter(instrument=Instrument.HIT6).first()
        form = Hit6Form(data, items=staff_hit6_items(text.items if text else None))
    # Each form validates (and shows its errors) before anything is saved.
    valid = [f.is_valid() for f in (form, when)]
    if data is not None and all(valid) and version_ok:
        answers: dict[str, Any] = {"answers": form.answers()} if isinstance(form, Hit6Form) else dict(form.cleaned_data)
        try:
            response = actions.record_prom(
                acting_user=user,
                patient=patient,
                instrument=instrument,
                answers=answers,
                version=version,
                completed_at=_answered_at(patient, when.cleaned_data["answered_on"]),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{response.get_instrument_display()} saved for {patient.full_name}: score {response.score} "
                f"({response.grade.replace('_', ' ')}), recorded as entered by you on the patient's behalf.",
            )
            return redirect(_staff_done_url(user, patient))
    return render(
        request,
        "outcomes/staff_questionnaire.html",
        {
            "patient": patient,
            "instrument": Instrument(instrument),
            "form": form,
            "when": when,
            "version": version,
            "version_label": PgicVersion(version).label,
            "version_form": version_form,
            "done_url": _staff_done_url(user, patient),
        },
    )


@signed_in(can_view_outcomes)
@require_POST
def acknowledge_relapse(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(RelapseFlag.objects.select_related("patient__location"), pk=pk)
    user = cast(User, request.user)
    if not can_acknowledge_relapse(user, flag.patient):
        raise PermissionDenied
    form = AcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        actions.acknowledge_relapse_flag(acting_user=user, flag=flag, note=note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Relapse flag acknowledged.")
    return redirect("outcomes:patient", pk=flag.patient_id)


def _dashboard_for(request: HttpRequest) -> tuple[DashboardFilterForm, Any]:
    user = cast(User, request.user)
    form = DashboardFilterForm(request.GET or None)
    form.fields["location"].queryset = Location.objects.filter(pk__in=user.location_ids)  # type: ignore[attr-defined]
    data = form.cleaned_data if form.is_valid() else {}
    locations = [data["location"]] if data.get("location") else list(Location.objects.filter(pk__in=user.location_ids))
    protocol = data.get("protocol")
    result = clinic_dashboard(
        locations, protocol_id=protocol.pk if protocol else None, start=data.get("start"), end=data.get("end")
    )
    return form, result


@signed_in(can_view_clinic_outcomes)
def dashboard(request: HttpRequest) -> HttpResponse:
    form, result = _dashboard_for(request)
    audit.record(
        actor=request.user,
        action=AuditEvent.Action.READ,
        object_type="outcomes.Dashboard",
        object_id="clinic",
        changes={"filters": request.GET.dict()},
    )
    return render(request, "outcomes/dashboard.html", {"form": form, "dash": result, "query": request.GET.urlencode()})


@signed_in(can_view_clinic_outcomes)
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    _, result = _dashboard_for(request)
    audit.record(
        actor=request.user,
        action=AuditEvent.Action.EXPORT,
        object_type="outcomes.Dashboard",
        object_id="clinic.csv",
        changes={"filters": request.GET.dict()},
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="outcomes-{result.today}.csv"'
    writer = csv.writer(response)
    thresholds = list(result.thresholds)
    writer.writerow(
        [
            "location",
            "protocol",
            "patients",
            "in_induction",
            "in_maintenance",
            "after_induction",
            "evaluable",
            *[f"responder_{t}_pct" for t in thresholds],
            "mean_change_mmd",
            "ci95_low",
            "ci95_high",
            "diary_compliance_last_28_days_pct",
        ]
    )
    for row in [*result.rows, result.totals]:
        writer.writerow(
            [
                row.location,
                row.protocol,
                row.patients,
                row.in_induction,
                row.in_maintenance,
                row.after_induction,
                row.evaluable,
                *[row.rate(t) for t in thresholds],
                row.mean_change,
                row.ci_low,
                row.ci_high,
                row.compliance_pct,
            ]
        )
    writer.writerow([])
    for key, words in result.definitions.items():
        writer.writerow([f"definition: {key}", words])
    for location, described in result.definitions_by_location:
        for key, words in described.items():
            writer.writerow([f"definition at {location}: {key}", words])
    return response


def _definition_fields(form: OutcomeDefinitionForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in actions.DEFINITION_FIELDS if name in form.cleaned_data}


@signed_in(can_manage_outcome_definitions)
@require_http_methods(["GET", "POST"])
def definitions(request: HttpRequest) -> HttpResponse:
    """The clinic-wide definitions (used wherever a location has none of its own), the list of
    the user's locations with the definitions each uses, and the licensed HIT-6 wording."""
    user = cast(User, request.user)
    row = queries.definition_row(None)
    may_edit_clinic = can_manage_clinic_definitions(user)
    if request.method == "POST" and not may_edit_clinic:
        raise PermissionDenied
    form = OutcomeDefinitionForm(request.POST or None, instance=row)
    text = PromInstrumentText.objects.filter(instrument=Instrument.HIT6).first()
    text_form = InstrumentTextForm(
        initial={"items": "\n".join(text.items), "licence_note": text.licence_note} if text else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_outcome_definition(acting_user=user, location=None, fields=_definition_fields(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, "Clinic-wide definitions saved. Locations without their own definitions now use them."
            )
            return redirect("outcomes:definitions")
    locations = list(Location.objects.filter(pk__in=user.location_ids).order_by("name"))
    own = set(OutcomeDefinition.objects.filter(location__in=locations).values_list("location_id", flat=True))
    return render(
        request,
        "outcomes/definitions.html",
        {
            "form": form,
            "may_edit_clinic": may_edit_clinic,
            "text_form": text_form,
            "text": text,
            "described": row.to_definitions().describe(),
            "locations": [(loc, loc.pk in own) for loc in locations],
        },
    )


@signed_in(can_manage_outcome_definitions)
@require_http_methods(["GET", "POST"])
def location_definitions(request: HttpRequest, pk: int) -> HttpResponse:
    """One location's own definitions. Until saved, the form starts from the clinic-wide
    values the location uses now; every outcome number for its patients then uses these."""
    user = cast(User, request.user)
    location = get_object_or_404(Location, pk=pk)
    if not can_manage_location_definitions(user, location):
        raise PermissionDenied
    own = OutcomeDefinition.objects.filter(location=location).first()
    in_force = own or queries.definition_row(None)
    if own is None:
        initial = {name: getattr(in_force, name) for name in actions.DEFINITION_FIELDS}
        form = OutcomeDefinitionForm(request.POST or None, initial=initial)
    else:
        form = OutcomeDefinitionForm(request.POST or None, instance=own)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_outcome_definition(acting_user=user, location=location, fields=_definition_fields(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Definitions for {location.name} saved. Its patients' outcomes now use them.")
            return redirect("outcomes:location_definitions", pk=location.pk)
    return render(
        request,
        "outcomes/location_definitions.html",
        {
            "location": location,
            "form": form,
            "has_own": own is not None,
            "described": in_force.to_definitions().describe(),
        },
    )


@signed_in(can_manage_outcome_definitions)
@require_POST
def instrument_text(request: HttpRequest) -> HttpResponse:
    form = InstrumentTextForm(request.POST)
    if form.is_valid():
        try:
            actions.save_instrument_text(
                acting_user=cast(User, request.user),
                instrument=Instrument.HIT6,
                items=form.cleaned_data["items"].splitlines(),
                licence_note=form.cleaned_data["licence_note"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "HIT-6 wording saved; patients can now answer it in the portal.")
    else:
        messages.error(request, "Enter the six items and the licence.")
    return redirect("outcomes:definitions")
