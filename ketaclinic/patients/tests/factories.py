"""Intake bodies and helpers shared by the patients tests, built through the real actions."""

from __future__ import annotations

import copy
from typing import Any

from ketaclinic.accounts.models import User
from ketaclinic.core.testing import World
from ketaclinic.patients.actions import submit_intake
from ketaclinic.patients.models import Intake, Patient
from ketaclinic.patients.queries import latest_submitted_intake

# Exactly the keys the API documents as required.
MINIMAL_INTAKE: dict[str, Any] = {
    "headache_days_per_month": 20,
    "migraine_feature_days_per_month": 12,
    "months_at_this_frequency": 6,
    "lifetime_migraine_attacks": 200,
    "debilitating_headache_days_per_month": 10,
    "preventive_trials": [
        {"drug_class": "antiepileptic", "outcome": "not_tolerated"},
        {"drug_class": "beta_blocker", "outcome": "ineffective"},
    ],
    "contraindications": {"pregnancy": False},
}

ALL_NO = {
    "ketamine_hypersensitivity": False,
    "aneurysmal_vascular_disease": False,
    "arteriovenous_malformation": False,
    "intracerebral_haemorrhage_history": False,
    "severe_hepatic_impairment": False,
    "active_substance_use_disorder": False,
    "pregnancy": False,
    "active_psychosis": False,
    "history_of_psychosis": False,
    "poorly_controlled_cardiovascular_disease": False,
    "uncontrolled_hypertension": False,
    "moderate_hepatic_impairment": False,
    "raised_intracranial_pressure": False,
    "raised_intraocular_pressure": False,
}

# A complete questionnaire as the portal stores it: chronic migraine without aura, resistant.
FULL_INTAKE: dict[str, Any] = {
    "age_at_onset": 16,
    "headache_days_per_month": 22,
    "migraine_feature_days_per_month": 14,
    "debilitating_headache_days_per_month": 10,
    "months_at_this_frequency": 18,
    "months_debilitating": 12,
    "lifetime_migraine_attacks": 500,
    "attack_duration_hours_min": 6.0,
    "attack_duration_hours_max": 48.0,
    "attack_location": "one_side",
    "attack_quality": "throbbing",
    "attack_severity": "severe",
    "unilateral": True,
    "pulsating": True,
    "moderate_or_severe": True,
    "aggravated_by_activity": True,
    "nausea_or_vomiting": True,
    "photophobia": True,
    "phonophobia": True,
    "aura": False,
    "aura_features": [],
    "triptans_failed": 3,
    "acute_medication_days": {"triptan": 8, "simple_analgesic": 6},
    "preventive_trials": [
        {"drug_class": "antiepileptic", "outcome": "not_tolerated", "drug_name": "topiramate", "dose": "100 mg daily"},
        {"drug_class": "beta_blocker", "outcome": "ineffective", "drug_name": "propranolol", "dose": "160 mg daily"},
        {"drug_class": "cgrp", "outcome": "ineffective", "drug_name": "erenumab", "dose": "140 mg monthly"},
    ],
    "other_diagnoses": "Mild asthma",
    "current_medicines": "Salbutamol inhaler as needed",
    "allergies": "None known",
    "contraindications": dict(ALL_NO),
    "midas": {"q1": 10, "q2": 12, "q3": 15, "q4": 10, "q5": 8, "a": 60, "b": 7},
}


def full_intake(**changes: Any) -> dict[str, Any]:
    answers = copy.deepcopy(FULL_INTAKE)
    answers.update(changes)
    return answers


def submit_full(patient: Patient, user: User | None = None, **changes: Any) -> Intake:
    """Submit a complete intake as the patient (or ``user``) through the real action."""
    actor = user or patient.user
    assert actor is not None
    return submit_intake(acting_user=actor, patient=patient, answers=full_intake(**changes))


def submit_api_intake(w: World, body: dict[str, Any]) -> Intake:
    """Make sure the world's patient has a submitted intake (for routes that need one)."""
    existing = latest_submitted_intake(w.patient)
    if existing is not None:
        return existing
    return submit_intake(acting_user=w["prescriber"], patient=w.patient, answers=body, require_complete=False)
