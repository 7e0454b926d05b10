"""Every change in outcomes: diary days, questionnaires, definitions, the daily diary text,
relapse flags and licensed questionnaire wording. Each writes its own audit event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.infusions import scores
from ketaclinic.outcomes import endpoints, queries
from ketaclinic.outcomes.choices import DiarySource, Instrument, PgicVersion, RelapseStatus, Severity
from ketaclinic.outcomes.models import (
    DiaryEntry,
    DiaryPromptPreference,
    OutcomeDefinition,
    PromInstrumentText,
    PromResponse,
    RelapseFlag,
)
from ketaclinic.patients.models import Patient

FEATURE_FIELDS = (
    "unilateral",
    "pulsating",
    "aggravated_by_activity",
    "nausea",
    "vomiting",
    "photophobia",
    "phonophobia",
    "aura",
    "migraine_features",
)
ENTRY_FIELDS = ("headache", "duration_min", "peak_severity", "pain_nrs", *FEATURE_FIELDS, "acute_medications")
MAX_DURATION_MIN = 24 * 60


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{value!r} is not a date; write it as YYYY-MM-DD.") from None


def _optional_bool(raw: Mapping[str, Any], name: str, day: date) -> bool | None:
    value = raw.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(f"{day}: {name.replace('_', ' ')} must be true, false or left out.")


def _medications(raw: Any, day: date) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError(f"{day}: acute medications must be a list.")
    meds = []
    for item in raw:
        drug_class = item.get("drug_class") if isinstance(item, Mapping) else None
        if drug_class not in endpoints.DRUG_CLASSES:
            raise ValidationError(
                f"{day}: medication class {drug_class!r} is not one of {', '.join(endpoints.DRUG_CLASSES)}."
            )
        helped = item.get("helped_within_2h")
        if helped is not None and not isinstance(helped, bool):
            raise ValidationError(f"{day}: helped within 2 h must be true, false or left out.")
        med: dict[str, Any] = {"drug_class": drug_class, "helped_within_2h": helped}
        # A texted "M" says something was taken without saying what (outcomes.sms).
        if item.get("class_not_given") is True:
            med["class_not_given"] = True
        meds.append(med)
    return meds


def _optional_int(raw: Mapping[str, Any], name: str, *, low: int, high: int, day: date, unit: str) -> int | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{day}: {name.replace('_', ' ')} must be a whole number of {unit}.")
    if not low <= value <= high:
        raise ValidationError(f"{day}: {name.replace('_', ' ')} must be between {low} and {high} {unit}.")
    return int(value)


def clean_entry(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check one diary day and return its fields, or raise ``ValidationError`` naming the day
    and the field. On a headache-free day the headache fields may be left out and must not
    claim a headache."""
    day = _parse_date(raw.get("date"))
    headache = raw.get("headache")
    if not isinstance(headache, bool):
        raise ValidationError(f"{day}: say whether there was a headache (true or false).")
    severity = raw.get("peak_severity") or ""
    if severity and severity not in Severity.values:
        raise ValidationError(f"{day}: peak severity must be one of {', '.join(Severity.values)}.")
    data: dict[str, Any] = {
        "date": day,
        "headache": headache,
        "duration_min": _optional_int(raw, "duration_min", low=0, high=MAX_DURATION_MIN, day=day, unit="minutes"),
        "peak_severity": severity,
        "pain_nrs": _optional_int(raw, "pain_nrs", low=0, high=10, day=day, unit="points (0–10)"),
        "acute_medications": _medications(raw.get("acute_medications"), day),
    }
    for name in FEATURE_FIELDS:
        data[name] = _optional_bool(raw, name, day)
    if not headache:
        if data["duration_min"] or data["pain_nrs"] or severity not in {"", Severity.NONE}:
            raise ValidationError(
                f"{day}: a day with no headache cannot have a duration, pain score or severity; "
                "set headache to true or leave them out."
            )
        if any(data[name] for name in FEATURE_FIELDS if name != "aura"):
            raise ValidationError(f"{day}: a day with no headache cannot have headache features.")
    return data


def _med_columns(meds: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    classes = {m["drug_class"] for m in meds}
    columns = {f"med_{cls}": cls in classes for cls in endpoints.DRUG_CLASSES}
    columns["specific_med_helped_2h"] = any(
        m["drug_class"] in endpoints.MIGRAINE_SPECIFIC_CLASSES and m.get("helped_within_2h") for m in meds
    )
    return columns


def _entry_snapshot(entry: DiaryEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ("date", *ENTRY_FIELDS, "source", "is_late")}


def _is_patient_writer(acting_user: User | None, patient: Patient) -> bool:
    """The patient writes (portal, own API token, or by text with no signed-in user)."""
    return acting_user is None or acting_user.pk == patient.user_id


@transaction.atomic
def save_diary_entries(
    *,
    acting_user: User | None,
    patient: Patient,
    entries: Sequence[Mapping[str, Any]],
    source: DiarySource,
    now: datetime | None = None,
) -> list[DiaryEntry]:
    """Write diary days, one row per calendar day (a day already there is updated). Every day is
    checked before anything is written, so one bad day writes nothing. A patient may fill in
    the last ``diary_edit_days`` days; staff may enter older days on the patient's behalf (the
    audit event says so). A day written more than ``diary_late_after_days`` after it ended is
    marked late. No day may be in the future at the patient's location."""
    if not entries:
        raise ValidationError("Send at least one diary day.")
    moment = now or timezone.now()
    today = queries.local_today(patient, moment)
    row = queries.definition_row(patient.location)
    on_behalf = not _is_patient_writer(acting_user, patient)
    cleaned = [clean_entry(raw) for raw in entries]
    seen: set[date] = set()
    for data in cleaned:
        day = data["date"]
        if day in seen:
            raise ValidationError(f"{day} appears twice; send each day once.")
        seen.add(day)
        if day > today:
            raise ValidationError(f"{day} has not happened yet at {patient.location.name} (today is {today}).")
        if not on_behalf and (today - day).days > row.diary_edit_days:
            raise ValidationError(
                f"{day} is more than {row.diary_edit_days} days ago; ask the clinic to enter it for you."
            )
    existing = {e.date: e for e in DiaryEntry.objects.select_for_update().filter(patient=patient, date__in=seen)}
    saved = []
    for data in cleaned:
        entry = existing.get(data["date"])
        before = _entry_snapshot(entry) if entry else {}
        if entry is None:
            entry = DiaryEntry(patient=patient, date=data["date"], created_at=moment)
        else:
            entry.revision += 1
        for name in ENTRY_FIELDS:
            setattr(entry, name, data[name])
        for name, value in _med_columns(data["acute_medications"]).items():
            setattr(entry, name, value)
        entry.source = source
        entry.entered_by = acting_user
        entry.is_on_behalf = on_behalf
        entry.updated_at = moment
        entry.is_late = (today - entry.date).days > row.diary_late_after_days
        entry.save()
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
            obj=entry,
            patient_id=patient.pk,
            location_id=patient.location_id,
            changes=audit.changes_between(before, _entry_snapshot(entry)),
            reason=f"entered by staff on the patient's behalf ({source})"
            if on_behalf
            else f"entered by the patient ({source})",
            username="" if acting_user else "patient by text",
        )
        saved.append(entry)
    check_relapse(patient=patient, as_of=today)
    return saved


@transaction.atomic
def check_relapse(*, patient: Patient, as_of: date | None = None) -> RelapseFlag | None:
    """Raise a relapse flag for the prescriber when the diary shows one and none is open.
    Returns the new flag, or ``None``."""
    report = queries.patient_report(patient, as_of=as_of)
    if report.relapse is None or not report.relapse.is_relapse or queries.open_relapse_flag(patient):
        return None
    rolling = report.relapse.rolling
    flag = RelapseFlag.objects.create(
        patient=patient,
        window_start=rolling.start,
        window_end=rolling.end,
        rolling_migraine_days_per_28=rolling.migraine_days_per_28 or 0.0,
        baseline_migraine_days_per_28=report.relapse.baseline_per_28,
        threshold_per_28=report.relapse.threshold_per_28,
        definitions=report.definitions.describe(),
    )
    audit.record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=flag,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes=audit.changes_between(
            {},
            {
                "window": f"{rolling.start}..{rolling.end}",
                "rolling_migraine_days_per_28": flag.rolling_migraine_days_per_28,
                "baseline_migraine_days_per_28": flag.baseline_migraine_days_per_28,
                "threshold_per_28": flag.threshold_per_28,
            },
        ),
        reason="relapse detected in the headache diary",
        username="system",
    )
    return flag


@transaction.atomic
def acknowledge_relapse_flag(*, acting_user: User, flag: RelapseFlag, note: str = "") -> RelapseFlag:
    if flag.status != RelapseStatus.OPEN:
        raise ValidationError("This relapse flag has already been acknowledged.")
    flag.status = RelapseStatus.ACKNOWLEDGED
    flag.acknowledged_by = acting_user
    flag.acknowledged_at = timezone.now()
    flag.note = note.strip()
    flag.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE,
        obj=flag,
        patient_id=flag.patient_id,
        location_id=flag.patient.location_id,
        changes={"status": [RelapseStatus.OPEN, RelapseStatus.ACKNOWLEDGED], "note": ["", flag.note]},
    )
    return flag


def score_prom(instrument: str, answers: Mapping[str, Any], version: str = "") -> tuple[int, str, dict[str, Any]]:
    """Score with :mod:`ketaclinic.infusions.scores`; returns (score, grade/band/direction,
    answers as stored). Raises ``ValidationError`` with the scorer's message."""
    try:
        if instrument == Instrument.MIDAS:
            keys = ("q1", "q2", "q3", "q4", "q5", "a", "b")
            values = {k: answers.get(k) for k in keys}
            m = scores.midas(**values)  # type: ignore[arg-type]
            return m.score, m.grade, values
        if instrument == Instrument.HIT6:
            items = list(answers.get("answers") or [])
            h = scores.hit6(items)
            return h.score, h.band, {"answers": items}
        if instrument == Instrument.PGIC:
            p = scores.pgic(answers.get("value"), version)  # type: ignore[arg-type]
            return p.value, p.direction, {"value": p.value}
    except scores.ScoreInputError as exc:
        raise ValidationError(str(exc)) from None
    raise ValidationError(f"{instrument!r} is not a questionnaire this clinic scores.")


@transaction.atomic
def record_prom(
    *,
    acting_user: User | None,
    patient: Patient,
    instrument: str,
    answers: Mapping[str, Any],
    version: str = "",
    completed_at: datetime | None = None,
) -> PromResponse:
    """Score and store one completed questionnaire. PGIC stores its scale version (the
    clinic's default when none is given), because versions run in opposite directions."""
    if instrument == Instrument.PGIC:
        version = version or queries.definition_row(patient.location).pgic_version
        if version not in PgicVersion.values:
            raise ValidationError(f"PGIC version {version!r} is not one of {', '.join(PgicVersion.values)}.")
    else:
        version = ""
    score, grade, stored = score_prom(instrument, answers, version)
    response = PromResponse.objects.create(
        patient=patient,
        instrument=instrument,
        answers=stored,
        score=score,
        grade=grade,
        version=version,
        completed_at=completed_at or timezone.now(),
        entered_by=acting_user,
        is_on_behalf=not _is_patient_writer(acting_user, patient),
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=response,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes=audit.changes_between(
            {}, {"instrument": instrument, "answers": stored, "score": score, "grade": grade, "version": version}
        ),
        reason="entered by staff on the patient's behalf" if response.is_on_behalf else "",
    )
    return response


DEFINITION_FIELDS = [
    f.name for f in OutcomeDefinition._meta.get_fields() if f.name not in {"id", "location", "updated_at", "updated_by"}
]


@transaction.atomic
def save_outcome_definition(
    *, acting_user: User, location: Location | None, fields: Mapping[str, Any]
) -> OutcomeDefinition:
    """Create or change the clinic-wide definitions (``location=None``) or one location's."""
    row = OutcomeDefinition.objects.filter(location=location).first()
    before = model_to_dict(row, fields=DEFINITION_FIELDS) if row else {}
    row = row or OutcomeDefinition(location=location)
    for name, value in fields.items():
        if name not in DEFINITION_FIELDS:
            raise ValidationError(f"{name!r} is not an outcome definition.")
        setattr(row, name, value)
    try:
        thresholds = row.thresholds()
    except ValueError:
        raise ValidationError({"responder_thresholds_pct": "Write whole percentages separated by commas."}) from None
    if not thresholds or any(not 0 < t < 100 for t in thresholds):  # noqa: PLR2004 - a percentage
        raise ValidationError({"responder_thresholds_pct": "Give one or more percentages between 1 and 99."})
    row.updated_at, row.updated_by = timezone.now(), acting_user
    row.full_clean(exclude=["location"])
    row.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
        obj=row,
        location_id=location.pk if location else None,
        changes=audit.changes_between(before, model_to_dict(row, fields=DEFINITION_FIELDS)),
    )
    return row


@transaction.atomic
def set_diary_prompt(
    *, acting_user: User | None, patient: Patient, is_enabled: bool, local_time: time
) -> DiaryPromptPreference:
    """Turn the daily diary text on or off and set its local time. Texts also need care-message
    consent for the patient's number, recorded in messaging."""
    pref = DiaryPromptPreference.objects.filter(patient=patient).first()
    before = {"is_enabled": pref.is_enabled, "local_time": pref.local_time} if pref else {}
    pref = pref or DiaryPromptPreference(patient=patient)
    pref.is_enabled, pref.local_time, pref.updated_at = is_enabled, local_time, timezone.now()
    pref.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
        obj=pref,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes=audit.changes_between(before, {"is_enabled": is_enabled, "local_time": local_time}),
    )
    return pref


@transaction.atomic
def save_instrument_text(
    *, acting_user: User, instrument: str, items: Sequence[str], licence_note: str
) -> PromInstrumentText:
    """Store the item wording of a licensed questionnaire (HIT-6 needs six items)."""
    cleaned = [item.strip() for item in items if item.strip()]
    if instrument == Instrument.HIT6 and len(cleaned) != scores.HIT6_ITEM_COUNT:
        raise ValidationError(f"HIT-6 has exactly {scores.HIT6_ITEM_COUNT} items; {len(cleaned)} were given.")
    if not licence_note.strip():
        raise ValidationError("Say which licence lets the clinic use this wording.")
    row = PromInstrumentText.objects.filter(instrument=instrument).first()
    before = {"items": row.items, "licence_note": row.licence_note} if row else {}
    row = row or PromInstrumentText(instrument=instrument)
    row.items, row.licence_note = cleaned, licence_note.strip()
    row.updated_at, row.updated_by = timezone.now(), acting_user
    row.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.UPDATE if before else AuditEvent.Action.CREATE,
        obj=row,
        changes=audit.changes_between(before, {"items": row.items, "licence_note": row.licence_note}),
    )
    return row
