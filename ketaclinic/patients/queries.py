"""Read helpers for patient records, intake and candidacy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ketaclinic.patients.classification import ContraindicationRule, Severity
from ketaclinic.patients.models import CandidacyDecision, Intake, Patient, ScreeningRule

# How many weights the chart header shows; the full history is append-only and kept.
CHART_WEIGHTS = 10


def active_contraindication_rules() -> list[ContraindicationRule]:
    """The screen as the medical director has set it, in display order."""
    return [
        ContraindicationRule(
            key=rule.key,
            question=rule.question,
            severity=Severity(rule.severity),
            reason=rule.reason,
            source=rule.source,
        )
        for rule in ScreeningRule.objects.filter(is_active=True).order_by("order", "key")
    ]


def current_intake(patient: Patient) -> Intake | None:
    """The newest intake version (draft or submitted)."""
    return Intake.objects.filter(patient=patient).order_by("-version").first()


def latest_submitted_intake(patient: Patient) -> Intake | None:
    return Intake.objects.filter(patient=patient, status="submitted").order_by("-version").first()


def latest_decision(patient: Patient) -> CandidacyDecision | None:
    """The decision in force: the newest one supersedes all before it."""
    return (
        CandidacyDecision.objects.filter(patient=patient)
        .select_related("protocol", "decided_by")
        .order_by("-decided_at", "-id")
        .first()
    )


def invitation_status(patient: Patient) -> str:
    """ "account" (has a portal account), "invited", "expired" or "not_invited"."""
    if patient.user_id is not None:
        return "account"
    latest = patient.portal_invitations.order_by("-created_at").first()
    if latest is None:
        return "not_invited"
    return "invited" if latest.state == "valid" else "expired"


@dataclass(frozen=True)
class IntakeState:
    """Where a patient stands between intake and decision, in words for the portal and chart."""

    intake: Intake | None
    decision: CandidacyDecision | None

    @property
    def code(self) -> str:
        """ "none", "draft", "awaiting_review", or the decision ("approved", "declined", "more_info")."""
        if self.intake is None:
            return "none"
        if self.decision is not None and self.decision.intake_id == self.intake.pk:
            return self.decision.decision
        if not self.intake.is_submitted:
            return "draft"
        return "awaiting_review"


def intake_state(patient: Patient) -> IntakeState:
    return IntakeState(current_intake(patient), latest_decision(patient))


def findings_by_severity(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {"absolute": [], "relative": [], "unanswered": []}
    for finding in result.get("screen", {}).get("findings", []):
        grouped.setdefault(finding["severity"], []).append(finding)
    return grouped
