"""Screening rules edited by the medical director, and the prescriber's signed decision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.core.models import AuditEvent
from ketaclinic.core.testing import PASSWORD, World, signed_in_client
from ketaclinic.infusions.actions import create_protocol
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients.actions import decide_candidacy, record_weight, update_demographics
from ketaclinic.patients.choices import Decision
from ketaclinic.patients.models import CandidacyDecision, Patient, ScreeningRule, WeightMeasurement
from ketaclinic.patients.tests.factories import ALL_NO, full_intake, submit_full


@pytest.fixture
def protocol(db: None) -> Protocol:
    return create_protocol(acting_user=None, code="induction", name="Induction, 6 infusions")


# --- Screening rules ---------------------------------------------------------------------------


def test_default_rules_are_installed_by_the_migrations(db: None) -> None:
    assert ScreeningRule.objects.filter(key="aneurysmal_vascular_disease", severity="absolute").exists()
    assert ScreeningRule.objects.count() == len(ALL_NO)


def _rule_post(rule: ScreeningRule, **changes: str) -> dict[str, str]:
    data = {
        "question": rule.question,
        "severity": rule.severity,
        "reason": rule.reason,
        "source": rule.source,
        "is_active": "on",
        "order": str(rule.order),
        "change_reason": "Board decision of the clinic's medical committee.",
    }
    data.update(changes)
    return data


def test_director_edits_a_rule_and_the_change_is_audited_old_and_new(world: World) -> None:
    rule = ScreeningRule.objects.get(key="history_of_psychosis")
    response = signed_in_client(world["director"]).post(
        f"/patients/screening-rules/{rule.pk}/", _rule_post(rule, severity="absolute")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.severity == "absolute"
    event = AuditEvent.objects.filter(object_type="patients.ScreeningRule", object_id=str(rule.pk)).latest("id")
    assert event.changes == {"severity": ["relative", "absolute"]}
    assert event.actor == world["director"]


def test_a_rule_change_without_a_reason_is_refused_and_changes_nothing(world: World) -> None:
    rule = ScreeningRule.objects.get(key="history_of_psychosis")
    response = signed_in_client(world["director"]).post(
        f"/patients/screening-rules/{rule.pk}/", _rule_post(rule, severity="absolute", change_reason="")
    )
    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.severity == "relative"


def test_nurse_and_prescriber_cannot_edit_rules(world: World) -> None:
    rule = ScreeningRule.objects.get(key="history_of_psychosis")
    for persona in ("nurse", "prescriber"):
        response = signed_in_client(world[persona]).post(
            f"/patients/screening-rules/{rule.pk}/", _rule_post(rule, severity="absolute")
        )
        assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.severity == "relative"


def test_the_screen_uses_the_edited_rules_and_old_intakes_keep_theirs(world: World) -> None:
    before = submit_full(world.patient, contraindications={**ALL_NO, "history_of_psychosis": True})
    assert before.result["screen"]["verdict"] == "needs_review"
    rule = ScreeningRule.objects.get(key="history_of_psychosis")
    signed_in_client(world["director"]).post(
        f"/patients/screening-rules/{rule.pk}/", _rule_post(rule, severity="absolute")
    )
    after = submit_full(
        world.other_patient, user=world["director"], contraindications={**ALL_NO, "history_of_psychosis": True}
    )
    assert after.result["screen"]["verdict"] == "contraindicated"
    before.refresh_from_db()
    assert before.result["screen"]["verdict"] == "needs_review"
    assert before.rules_version != after.rules_version


# --- Decisions ---------------------------------------------------------------------------------


def _decide(world: World, **kwargs: object) -> CandidacyDecision:
    intake = kwargs.pop("intake", None) or world.patient.intakes.order_by("-version")[0]
    values: dict[str, object] = {"password": PASSWORD, "note": "", "note_to_patient": "", "override_reason": ""}
    values.update(kwargs)
    return decide_candidacy(acting_user=world["prescriber"], patient=world.patient, intake=intake, **values)  # type: ignore[arg-type]


def test_approval_is_signed_hashed_and_audited(world: World, protocol: Protocol) -> None:
    submit_full(world.patient)
    decision = _decide(world, decision=Decision.APPROVED, protocol=protocol)
    assert len(decision.content_sha256) == 64
    event = AuditEvent.objects.filter(object_type="patients.CandidacyDecision").latest("id")
    assert event.changes["decision"] == [None, "approved"]
    assert event.changes["content_sha256"] == [None, decision.content_sha256]


def test_a_wrong_password_does_not_sign(world: World, protocol: Protocol) -> None:
    submit_full(world.patient)
    with pytest.raises(ValidationError) as error:
        _decide(world, decision=Decision.APPROVED, protocol=protocol, password="not-my-password")
    assert "password" in error.value.message_dict
    assert not CandidacyDecision.objects.exists()


def test_approval_needs_a_protocol(world: World) -> None:
    submit_full(world.patient)
    with pytest.raises(ValidationError) as error:
        _decide(world, decision=Decision.APPROVED, protocol=None)
    assert "protocol" in error.value.message_dict
    assert not CandidacyDecision.objects.exists()


def test_declining_needs_a_note(world: World) -> None:
    submit_full(world.patient)
    with pytest.raises(ValidationError) as error:
        _decide(world, decision=Decision.DECLINED)
    assert "note" in error.value.message_dict
    assert not CandidacyDecision.objects.exists()


def test_an_absolute_contraindication_needs_an_override_reason_to_approve(world: World, protocol: Protocol) -> None:
    submit_full(world.patient, contraindications={**ALL_NO, "arteriovenous_malformation": True})
    with pytest.raises(ValidationError) as error:
        _decide(world, decision=Decision.APPROVED, protocol=protocol)
    assert "override_reason" in error.value.message_dict
    assert not CandidacyDecision.objects.exists()
    decision = _decide(
        world,
        decision=Decision.APPROVED,
        protocol=protocol,
        override_reason="AVM fully resected in 2019; neurosurgery letter on file.",
    )
    assert decision.override_reason.startswith("AVM")


def test_a_new_decision_supersedes_and_the_old_one_cannot_be_edited(world: World, protocol: Protocol) -> None:
    submit_full(world.patient)
    first = _decide(world, decision=Decision.DECLINED, note="Wait for cardiology review first.")
    _decide(world, decision=Decision.APPROVED, protocol=protocol)
    assert CandidacyDecision.objects.filter(patient=world.patient).count() == 2
    first.note = "changed"
    with pytest.raises(Exception, match="never changed"):
        first.save()


def test_review_page_form_requires_the_password_and_records_the_decision(world: World, protocol: Protocol) -> None:
    submit_full(world.patient)
    client = signed_in_client(world["prescriber"])
    url = f"/patients/{world.patient.pk}/review/"
    refused = client.post(url, {"decision": "approved", "protocol": protocol.pk, "password": ""})
    assert refused.status_code == 200
    assert not CandidacyDecision.objects.exists()
    accepted = client.post(url, {"decision": "approved", "protocol": protocol.pk, "password": PASSWORD})
    assert accepted.status_code == 302
    assert CandidacyDecision.objects.get().decided_by == world["prescriber"]


def test_nurse_cannot_open_the_review(world: World) -> None:
    assert signed_in_client(world["nurse"]).get(f"/patients/{world.patient.pk}/review/").status_code == 403


# --- Demographics and weights ------------------------------------------------------------------


def test_demographic_edit_is_audited_with_old_and_new_values(world: World) -> None:
    update_demographics(acting_user=world["frontdesk"], patient=world.patient, escort_name="Robin Escort")
    event = AuditEvent.objects.filter(object_type="patients.Patient", action="update").latest("id")
    assert event.changes == {"escort_name": ["", "Robin Escort"]}


def test_insured_patient_needs_insurer_and_member_id(world: World) -> None:
    client = signed_in_client(world["frontdesk"])
    response = client.post(
        f"/patients/{world.patient.pk}/edit/",
        {
            "first_name": "Pat",
            "last_name": "Example",
            "date_of_birth": "1980-05-17",
            "payer": "insurance",
            "preferred_language": "English",
        },
    )
    assert response.status_code == 200
    assert Patient.objects.get(pk=world.patient.pk).payer == "self_pay"


def test_a_weight_outside_plausible_limits_is_refused(world: World) -> None:
    response = signed_in_client(world["nurse"]).post(f"/patients/{world.patient.pk}/weight/", {"weight_kg": "70"})
    assert response.status_code == 403  # nurses chart weights at the chair, not here
    client = signed_in_client(world["frontdesk"])
    response = client.post(f"/patients/{world.patient.pk}/weight/", {"weight_kg": "700", "source": "measured"})
    assert response.status_code == 200
    assert not WeightMeasurement.objects.exists()
    assert (
        client.post(f"/patients/{world.patient.pk}/weight/", {"weight_kg": "71.4", "source": "measured"}).status_code
        == 302
    )
    assert WeightMeasurement.objects.get().weight_kg == Decimal("71.4")


# --- Query counts ------------------------------------------------------------------------------


def _count_queries(client: object, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)  # type: ignore[attr-defined]
        assert response.status_code == 200
    return len(captured)


def test_chart_and_review_use_a_constant_number_of_queries(world: World, protocol: Protocol) -> None:
    client = signed_in_client(world["prescriber"])
    record_weight(acting_user=world["frontdesk"], patient=world.patient, weight_kg=Decimal("70.0"))
    submit_full(world.patient, preventive_trials=full_intake()["preventive_trials"][:1])
    _decide(world, decision=Decision.APPROVED, protocol=protocol)
    client.get(reverse("core:home"))  # the first request of a sign-in stores its activity
    chart_few = _count_queries(client, f"/patients/{world.patient.pk}/")
    review_few = _count_queries(client, f"/patients/{world.patient.pk}/review/")

    for kg in range(71, 80):
        record_weight(acting_user=world["frontdesk"], patient=world.patient, weight_kg=Decimal(kg))
    many_trials = full_intake()["preventive_trials"] * 8
    submit_full(world.patient, preventive_trials=many_trials)
    _decide(world, decision=Decision.APPROVED, protocol=protocol)
    _decide(world, decision=Decision.APPROVED, protocol=protocol)
    assert _count_queries(client, f"/patients/{world.patient.pk}/") == chart_few
    assert _count_queries(client, f"/patients/{world.patient.pk}/review/") == review_few
