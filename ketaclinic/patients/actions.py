"""Changes to patient records, weights, portal invitations, intake, the screening rules,
candidacy decisions and emergency access. Each writes its own audit event."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from ketaclinic.accounts.actions import create_user
from ketaclinic.accounts.models import User
from ketaclinic.clinics.models import Location
from ketaclinic.core import audit
from ketaclinic.core.models import AuditEvent
from ketaclinic.core.roles import Role
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients import candidacy
from ketaclinic.patients.choices import MIN_NOTE_CHARS, Decision, IntakeStatus, WeightSource
from ketaclinic.patients.classification import DEFAULT_CONTRAINDICATION_RULES, Severity, Verdict
from ketaclinic.patients.models import (
    BreakGlassGrant,
    CandidacyDecision,
    Intake,
    Patient,
    PortalInvitation,
    ScreeningRule,
    WeightMeasurement,
)
from ketaclinic.patients.permissions import can_break_glass
from ketaclinic.patients.queries import active_contraindication_rules, current_intake, latest_decision

# A reason short enough to be "x" or "urgent" tells a reviewer nothing.
MIN_REASON_CHARS = 10


def _new_mrn() -> str:
    # Random rather than sequential, so an MRN does not reveal how many patients a clinic has.
    while True:
        mrn = f"K{secrets.randbelow(10**7):07d}"
        if not Patient.objects.filter(mrn=mrn).exists():
            return mrn


@transaction.atomic
def register_patient(
    *,
    acting_user: User | None,
    location: Location,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    email: str = "",
    phone: str = "",
    preferred_name: str = "",
    user: User | None = None,
) -> Patient:
    """Create a patient record at ``location``."""
    patient = Patient(
        mrn=_new_mrn(),
        location=location,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        preferred_name=preferred_name.strip(),
        date_of_birth=date_of_birth,
        email=email,
        phone=phone,
        user=user,
    )
    patient.full_clean()
    if date_of_birth > timezone.localdate():
        raise ValidationError({"date_of_birth": "The date of birth is in the future."})
    patient.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=patient,
        patient_id=patient.pk,
        location_id=location.pk,
        changes=audit.changes_between(
            {},
            {
                "mrn": patient.mrn,
                "first_name": patient.first_name,
                "last_name": patient.last_name,
                "date_of_birth": date_of_birth,
            },
        ),
    )
    return patient


@transaction.atomic
def break_glass(*, acting_user: User, patient: Patient, reason: str) -> BreakGlassGrant:
    """Open a record outside the user's locations for a short time, with a stated reason that is
    flagged in the audit trail (HIPAA 164.312(a)(2)(ii) emergency access)."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationError({"reason": "Say why you need this record (at least a short sentence)."})
    if not can_break_glass(acting_user, patient):
        raise ValidationError("Break-glass is only for records outside your own locations.")
    now = timezone.now()
    grant = BreakGlassGrant.objects.create(
        user=acting_user,
        patient=patient,
        reason=reason,
        granted_at=now,
        expires_at=now + BreakGlassGrant.default_expiry(),
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.BREAK_GLASS,
        obj=patient,
        patient_id=patient.pk,
        location_id=patient.location_id,
        reason=reason,
        is_break_glass=True,
    )
    return grant


# --- Demographics and weights --------------------------------------------------------------

DEMOGRAPHIC_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex_at_birth",
    "pronouns",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "preferred_language",
    "payer",
    "insurer_name",
    "insurance_member_id",
    "insurance_group",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "escort_name",
    "escort_phone",
    "escort_relationship",
)


@transaction.atomic
def update_demographics(*, acting_user: User, patient: Patient, **values: Any) -> Patient:
    """Change demographics, contacts, escort and payer; the audit event holds old and new values."""
    unknown = set(values) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise TypeError(f"update_demographics: unknown field(s) {sorted(unknown)}")
    before = model_to_dict(patient, fields=DEMOGRAPHIC_FIELDS)
    for name, value in values.items():
        setattr(patient, name, value.strip() if isinstance(value, str) else value)
    patient.full_clean()
    if patient.date_of_birth > timezone.localdate():
        raise ValidationError({"date_of_birth": "The date of birth is in the future."})
    patient.save()
    changes = audit.changes_between(before, model_to_dict(patient, fields=DEMOGRAPHIC_FIELDS))
    if changes:
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.UPDATE,
            obj=patient,
            patient_id=patient.pk,
            location_id=patient.location_id,
            changes=changes,
        )
    return patient


@transaction.atomic
def record_weight(
    *,
    acting_user: User | None,
    patient: Patient,
    weight_kg: Decimal,
    measured_at: datetime | None = None,
    source: str = WeightSource.MEASURED,
) -> WeightMeasurement:
    """Append a weight (kg). Corrections are new measurements; none is ever edited."""
    measured = measured_at or timezone.now()
    if measured > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"measured_at": "The measurement time is in the future."})
    weight = WeightMeasurement(
        patient=patient, weight_kg=weight_kg, measured_at=measured, recorded_by=acting_user, source=source
    )
    weight.full_clean()
    weight.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=weight,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={"weight_kg": [None, weight.weight_kg], "measured_at": [None, measured], "source": [None, source]},
    )
    return weight


# --- Portal invitations --------------------------------------------------------------------


def hash_invitation_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def invitation_url(raw: str) -> str:
    return f"{settings.SITE_URL}/portal/invitation/{raw}/"


@transaction.atomic
def invite_to_portal(*, acting_user: User | None, patient: Patient) -> PortalInvitation:
    """Email the patient a single-use link to create their portal account. Older unused
    invitations stop working. The email names the clinic only: no health information."""
    from ketaclinic.messaging.actions import Purpose, queue_email  # noqa: PLC0415 - messaging -> leads -> patients.actions would be an import cycle

    if not patient.email:
        raise ValidationError({"email": "Add the patient's email address before sending a portal invitation."})
    if patient.user_id is not None:
        raise ValidationError("This patient already has a portal account.")
    now = timezone.now()
    revoked = PortalInvitation.objects.filter(patient=patient, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    raw = secrets.token_urlsafe(32)
    invitation = PortalInvitation.objects.create(
        patient=patient,
        email=patient.email,
        token_hash=hash_invitation_token(raw),
        created_by=acting_user,
        created_at=now,
        expires_at=now + timedelta(hours=settings.PORTAL_INVITATION_HOURS),
    )
    hours = settings.PORTAL_INVITATION_HOURS
    location = patient.location
    queue_email(
        acting_user=acting_user,
        to=patient.email,
        subject=f"Your {settings.CLINIC_NAME} patient portal invitation",
        body=(
            f"Hello {patient.preferred_name or patient.first_name},\n\n"
            f"{location.name} has invited you to the patient portal, where you can fill in your "
            "questionnaire and see messages from your care team.\n\n"
            f"Create your account here (the link works once and expires in {hours} hours):\n"
            f"{invitation_url(raw)}\n\n"
            f"If the link has expired, call us on {location.phone} and we will send a new one.\n"
        ),
        purpose=Purpose.ACCOUNT,
        patient=patient,
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=invitation,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={"email": [None, invitation.email], "expires_at": [None, invitation.expires_at]},
        reason=f"portal invitation sent; {revoked} older invitation(s) revoked",
    )
    return invitation


class InvitationUnusable(ValidationError):
    """The invitation link is unknown, expired, already used or replaced by a newer one."""


@transaction.atomic
def accept_portal_invitation(*, acting_user: User | None, raw_token: str, username: str, password: str) -> User:
    """Create the patient's portal account from an invitation and link it to their record.
    Single use even under concurrency: the row is locked, and marking it used is a
    conditional update that only one request can win."""
    invitation = (
        PortalInvitation.objects.select_for_update()
        .select_related("patient")
        .filter(token_hash=hash_invitation_token(raw_token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("This invitation link is not valid.")
    if invitation.state != "valid":
        raise InvitationUnusable(f"This invitation link is {invitation.state}.")
    patient = Patient.objects.select_for_update().get(pk=invitation.patient_id)
    if patient.user_id is not None:
        raise InvitationUnusable("This patient already has a portal account.")
    now = timezone.now()
    won = PortalInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True).update(
        used_at=now
    )
    if won != 1:
        raise InvitationUnusable("This invitation link is used.")
    user = create_user(
        acting_user=acting_user,
        username=username.strip(),
        password=password,
        roles=[Role.PATIENT],
        first_name=patient.first_name,
        last_name=patient.last_name,
        email=invitation.email,
    )
    patient.user = user
    patient.save(update_fields=["user"])
    audit.record(
        actor=user,
        action=AuditEvent.Action.UPDATE,
        obj=patient,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={"user": [None, user.username]},
        reason=f"portal invitation {invitation.pk} accepted",
    )
    return user


# --- Intake --------------------------------------------------------------------------------


def _validate_partial(answers: Mapping[str, Any]) -> None:
    """Check the values given so far (a draft may be incomplete, never out of range)."""
    keys = [r.key for r in active_contraindication_rules()]
    candidacy.check_contraindication_answers(answers.get("contraindications") or {}, keys)
    midas_answers = answers.get("midas")
    if isinstance(midas_answers, Mapping):
        candidacy.check_midas(midas_answers)


@transaction.atomic
def save_intake_draft(*, acting_user: User, patient: Patient, answers: Mapping[str, Any]) -> Intake:
    """Merge one step's answers into the patient's draft, starting one if needed. After a
    "more information needed" decision the draft is a new version copied from the last one."""
    try:
        _validate_partial(answers)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    intake = current_intake(patient)
    created = False
    if intake is None:
        intake = Intake(patient=patient, version=1, answers={})
        created = True
    elif intake.is_submitted:
        decision = latest_decision(patient)
        if decision is None or decision.intake_id != intake.pk or decision.decision != Decision.MORE_INFO:
            raise ValidationError(
                "These answers were submitted and are with the prescriber; they cannot be changed now."
            )
        intake = Intake(patient=patient, version=intake.version + 1, answers=copy.deepcopy(intake.answers))
        created = True
    before = copy.deepcopy(intake.answers)
    merged = {**intake.answers, **answers}
    if "contraindications" in answers:
        merged["contraindications"] = {**intake.answers.get("contraindications", {}), **answers["contraindications"]}
    intake.answers = merged
    intake.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        obj=intake,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes=audit.changes_between(before, merged),
        reason=f"intake v{intake.version} draft saved",
    )
    return intake


def missing_for_submission(answers: Mapping[str, Any]) -> list[str]:
    """Answers the portal asks for before a patient may submit (the API needs fewer)."""
    missing = candidacy.missing_required(answers)
    missing += [key for key in candidacy.OPTIONAL_DEFAULTS if answers.get(key) is None]
    rule_keys = [r.key for r in active_contraindication_rules()]
    given = answers.get("contraindications") or {}
    missing += [f"contraindications.{key}" for key in rule_keys if key not in given]
    midas_answers = answers.get("midas") or {}
    missing += [f"midas.{key}" for key in candidacy.MIDAS_KEYS if midas_answers.get(key) is None]
    return missing


@transaction.atomic
def submit_intake(
    *, acting_user: User, patient: Patient, answers: Mapping[str, Any] | None = None, require_complete: bool = True
) -> Intake:
    """Freeze the intake with its classification, screen and MIDAS under today's rules.

    ``answers`` replaces the draft's answers (the API sends the whole questionnaire); without it
    the current draft is submitted. The portal requires every question (``require_complete``);
    the API accepts the documented minimum and classifies the rest as "not answered"."""
    intake = current_intake(patient)
    if intake is None or intake.is_submitted:
        if answers is None:
            raise ValidationError("There is no draft questionnaire to submit.")
        intake = Intake(patient=patient, version=(intake.version + 1) if intake else 1)
    final = dict(answers) if answers is not None else dict(intake.answers)
    if require_complete:
        missing = missing_for_submission(final)
        if missing:
            raise ValidationError(f"Some questions are not answered yet: {', '.join(missing)}.")
    rules = active_contraindication_rules()
    try:
        result = candidacy.evaluate(final, rules)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    created = intake.pk is None
    before = {"status": None if created else intake.status}
    now = timezone.now()
    intake.answers = final
    intake.status = IntakeStatus.SUBMITTED
    intake.submitted_at = now
    intake.submitted_by = acting_user
    intake.result = result
    intake.rules_version = candidacy.rules_version(rules)
    intake.save()
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        obj=intake,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes={
            "status": [before["status"], IntakeStatus.SUBMITTED],
            "version": [None, intake.version],
            "rules_version": [None, intake.rules_version],
            "screen_verdict": [None, result["screen"]["verdict"]],
            "summary": [None, result["summary"]],
        },
        reason=f"intake v{intake.version} submitted",
    )
    return intake


# --- Screening rules -----------------------------------------------------------------------

RULE_FIELDS = ("question", "severity", "reason", "source", "is_active", "order")


@transaction.atomic
def seed_screening_rules(*, acting_user: User | None) -> int:
    """Add the default rules (classification.DEFAULT_CONTRAINDICATION_RULES) that are missing;
    rules already present, edited or not, are left alone. Returns how many were added."""
    existing = set(ScreeningRule.objects.values_list("key", flat=True))
    added = 0
    for order, rule in enumerate(DEFAULT_CONTRAINDICATION_RULES):
        if rule.key in existing:
            continue
        created = ScreeningRule.objects.create(
            key=rule.key,
            question=rule.question,
            severity=str(rule.severity),
            reason=rule.reason,
            source=rule.source,
            order=(order + 1) * 10,
        )
        audit.record(
            actor=acting_user,
            action=AuditEvent.Action.CREATE,
            obj=created,
            changes=audit.changes_between({}, model_to_dict(created, fields=["key", *RULE_FIELDS])),
            reason="default screening rule",
        )
        added += 1
    return added


@transaction.atomic
def update_screening_rule(
    *, acting_user: User, rule: ScreeningRule, change_reason: str, **values: Any
) -> ScreeningRule:
    """Change a rule's wording, severity, source, order or whether it is asked. The key never
    changes: stored answers refer to it. Intakes already submitted keep the rules they used."""
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"update_screening_rule: unknown field(s) {sorted(unknown)}")
    if len(change_reason.strip()) < MIN_NOTE_CHARS:
        raise ValidationError({"change_reason": "Say why the rule changes (at least a short sentence)."})
    if values.get("severity", rule.severity) not in (Severity.ABSOLUTE, Severity.RELATIVE):
        raise ValidationError({"severity": "A rule is absolute or relative."})
    before = model_to_dict(rule, fields=RULE_FIELDS)
    for name, value in values.items():
        setattr(rule, name, value.strip() if isinstance(value, str) else value)
    rule.full_clean()
    rule.save()
    changes = audit.changes_between(before, model_to_dict(rule, fields=RULE_FIELDS))
    audit.record(
        actor=acting_user, action=AuditEvent.Action.UPDATE, obj=rule, changes=changes, reason=change_reason.strip()
    )
    return rule


# --- Candidacy decision --------------------------------------------------------------------


def _decision_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def decide_candidacy(
    *,
    acting_user: User,
    patient: Patient,
    intake: Intake,
    decision: str,
    password: str,
    protocol: Protocol | None = None,
    note: str = "",
    note_to_patient: str = "",
    override_reason: str = "",
) -> CandidacyDecision:
    """Record and sign the prescriber's decision on a submitted intake.

    Signing is re-entering the password. Approval needs an active protocol, and an absolute
    contraindication in the screen needs a stated override reason. Declining or asking for more
    information needs a note; "more information" also needs a note to the patient saying what is
    needed. A new decision supersedes the last; none is edited."""
    errors: dict[str, str] = {}
    note, note_to_patient, override_reason = note.strip(), note_to_patient.strip(), override_reason.strip()
    if not password or not acting_user.check_password(password):
        errors["password"] = "Your password did not match. Re-enter it to sign the decision."  # noqa: S105
    if intake.patient_id != patient.pk or not intake.is_submitted:
        raise ValidationError("Only a submitted intake of this patient can be decided.")
    newest = current_intake(patient)
    if newest is None or newest.pk != intake.pk:
        raise ValidationError("A newer intake exists; review that one.")
    if decision not in Decision.values:
        errors["decision"] = "Choose approved, declined or more information needed."
    if decision == Decision.APPROVED:
        if protocol is None or not protocol.is_active:
            errors["protocol"] = "Choose the protocol you approve the patient for."
        if intake.result.get("screen", {}).get("verdict") == Verdict.CONTRAINDICATED and (
            len(override_reason) < MIN_NOTE_CHARS
        ):
            errors["override_reason"] = (
                "The screen found an absolute contraindication: state why you approve despite it."
            )
    else:
        protocol = None
        if len(note) < MIN_NOTE_CHARS:
            errors["note"] = "Write a note saying why (at least a short sentence)."
    if decision == Decision.MORE_INFO and len(note_to_patient) < MIN_NOTE_CHARS:
        errors["note_to_patient"] = "Tell the patient what information is needed."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    content = {
        "patient": patient.mrn,
        "intake_id": intake.pk,
        "intake_version": intake.version,
        "intake_result_sha256": _decision_hash(intake.result),
        "intake_answers_sha256": _decision_hash(intake.answers),
        "decision": decision,
        "protocol": protocol.code if protocol else None,
        "note": note,
        "note_to_patient": note_to_patient,
        "override_reason": override_reason,
        "decided_by": acting_user.username,
        "decided_at": now,
    }
    record = CandidacyDecision.objects.create(
        patient=patient,
        intake=intake,
        decision=decision,
        protocol=protocol,
        note=note,
        note_to_patient=note_to_patient,
        override_reason=override_reason,
        decided_by=acting_user,
        decided_at=now,
        content_sha256=_decision_hash(content),
    )
    audit.record(
        actor=acting_user,
        action=AuditEvent.Action.CREATE,
        obj=record,
        patient_id=patient.pk,
        location_id=patient.location_id,
        changes=audit.changes_between({}, {**content, "content_sha256": record.content_sha256}),
        reason="candidacy decision signed" + (f"; override: {override_reason}" if override_reason else ""),
    )
    return record
