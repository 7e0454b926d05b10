"""Demo patients at every stage from lead to candidacy decision, with demographics, escorts,
payers and weights. All people and answers are invented; everything goes through the actions."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ketaclinic.infusions import demo as infusions_demo
from ketaclinic.infusions.models import Protocol
from ketaclinic.patients import actions
from ketaclinic.patients.choices import Decision, Payer, WeightSource

if TYPE_CHECKING:
    from ketaclinic.accounts.models import User
    from ketaclinic.demo.seed import DemoContext
    from ketaclinic.patients.models import Patient

NO_CONTRAINDICATIONS = {
    rule: False
    for rule in (
        "ketamine_hypersensitivity",
        "aneurysmal_vascular_disease",
        "arteriovenous_malformation",
        "intracerebral_haemorrhage_history",
        "severe_hepatic_impairment",
        "active_substance_use_disorder",
        "pregnancy",
        "active_psychosis",
        "history_of_psychosis",
        "poorly_controlled_cardiovascular_disease",
        "uncontrolled_hypertension",
        "moderate_hepatic_impairment",
        "raised_intracranial_pressure",
        "raised_intraocular_pressure",
    )
}

# A typical candidate: chronic migraine without aura, three preventive classes failed.
BASE_ANSWERS: dict[str, Any] = {
    "age_at_onset": 15,
    "headache_days_per_month": 22,
    "migraine_feature_days_per_month": 14,
    "debilitating_headache_days_per_month": 10,
    "months_at_this_frequency": 24,
    "months_debilitating": 12,
    "lifetime_migraine_attacks": 400,
    "attack_duration_hours_min": 8.0,
    "attack_duration_hours_max": 72.0,
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
    "triptans_failed": 2,
    "acute_medication_days": {"triptan": 9, "simple_analgesic": 8},
    "preventive_trials": [
        {
            "drug_class": "antiepileptic",
            "drug_name": "topiramate",
            "dose": "100 mg daily",
            "duration_weeks": 16,
            "outcome": "not_tolerated",
            "reason_stopped": "word-finding difficulty",
        },
        {
            "drug_class": "beta_blocker",
            "drug_name": "propranolol",
            "dose": "80 mg twice daily",
            "duration_weeks": 12,
            "outcome": "ineffective",
            "reason_stopped": "no change in headache days",
        },
        {
            "drug_class": "antidepressant",
            "drug_name": "amitriptyline",
            "dose": "25 mg at night",
            "duration_weeks": 10,
            "outcome": "not_tolerated",
            "reason_stopped": "daytime drowsiness",
        },
    ],
    "other_diagnoses": "",
    "current_medicines": "Sumatriptan 50 mg as needed; ibuprofen 400 mg as needed",
    "allergies": "None known",
    "contraindications": NO_CONTRAINDICATIONS,
    "midas": {"q1": 8, "q2": 14, "q3": 12, "q4": 10, "q5": 9, "a": 62, "b": 7},
}

STREETS = ["Larimer St", "Blake St", "Pearl St", "Colfax Ave", "Gaylord St", "Vine St", "Elm Pl", "Birch Ct"]
RELATIONS = ["spouse", "partner", "sister", "brother", "mother", "father", "friend", "adult son", "adult daughter"]
ESCORT_NAMES = ["Alex Rivera", "Sam Okoye", "Jamie Lindholm", "Taylor Brandt", "Chris Nakamura", "Pat Delgado"]
INSURERS = ["Front Range Health Plan", "Mountain Mutual", "Summit Care Insurance"]
LANGUAGES = ["English", "English", "English", "Spanish", "English", "Vietnamese"]


def _answers(**changes: Any) -> dict[str, Any]:
    answers = copy.deepcopy(BASE_ANSWERS)
    contraindications = changes.pop("contraindications", {})
    answers.update(changes)
    answers["contraindications"] = {**NO_CONTRAINDICATIONS, **contraindications}
    return answers


def _fill_record(ctx: DemoContext, patient: Patient, index: int) -> None:
    rng = ctx.rng
    escort_is_emergency = index % 3 != 0
    emergency = rng.choice(ESCORT_NAMES)
    escort = emergency if escort_is_emergency else rng.choice([n for n in ESCORT_NAMES if n != emergency])
    insured = index % 3 != 1
    actions.update_demographics(
        acting_user=ctx.users["frontdesk"],
        patient=patient,
        address_line1=f"{rng.randint(100, 4999)} {rng.choice(STREETS)}",
        city="Denver",
        state="CO",
        postal_code=f"802{rng.randint(0, 99):02d}",
        preferred_language=LANGUAGES[index % len(LANGUAGES)],
        sex_at_birth=rng.choice(["female", "female", "male"]),
        payer=Payer.INSURANCE if insured else Payer.SELF_PAY,
        insurer_name=rng.choice(INSURERS) if insured else "",
        insurance_member_id=f"XK{rng.randint(10**7, 10**8 - 1)}" if insured else "",
        insurance_group=f"G{rng.randint(1000, 9999)}" if insured else "",
        emergency_contact_name=emergency,
        emergency_contact_phone=f"+1303555{rng.randint(5000, 5999):04d}",
        emergency_contact_relationship=rng.choice(RELATIONS),
        escort_name=escort,
        escort_phone=f"+1303555{rng.randint(6000, 6999):04d}",
        escort_relationship=rng.choice(RELATIONS),
    )
    weight = Decimal(rng.randint(520, 1050)) / 10
    for weeks_ago in (12, 4, 0)[: 1 + index % 3]:
        actions.record_weight(
            acting_user=ctx.users["nurse"] if weeks_ago == 0 else None,
            patient=patient,
            weight_kg=weight + Decimal(rng.randint(-15, 15)) / 10,
            measured_at=ctx.now - timedelta(weeks=weeks_ago, hours=1),
            source=WeightSource.MEASURED if weeks_ago == 0 else WeightSource.REPORTED,
        )


def _submitter(ctx: DemoContext, patient: Patient) -> User:
    # Patients without a portal account filled in a paper questionnaire the front desk entered.
    return patient.user or ctx.users["frontdesk"]


def _decide(ctx: DemoContext, patient: Patient, password: str, **kwargs: Any) -> None:
    intake = patient.intakes.order_by("-version")[0]
    actions.decide_candidacy(
        acting_user=ctx.users["prescriber"], patient=patient, intake=intake, password=password, **kwargs
    )


def seed(ctx: DemoContext) -> None:
    from ketaclinic.demo.seed import demo_password  # noqa: PLC0415 - demo.seed imports every app's demo

    password = demo_password()
    actions.seed_screening_rules(acting_user=None)
    # Approvals need protocols, which the infusions demo (later in INSTALLED_APPS) defines.
    infusions_demo.seed(ctx)
    induction = Protocol.objects.get(code="migraine-induction-low-dose")
    p = ctx.patients
    for index, patient in enumerate(p):
        _fill_record(ctx, patient, index)

    def submit(patient: Patient, **changes: Any) -> None:
        actions.submit_intake(acting_user=_submitter(ctx, patient), patient=patient, answers=_answers(**changes))

    # Jordan Ellery (the demo "patient" sign-in): submitted and approved.
    submit(p[0])
    _decide(
        ctx,
        p[0],
        password,
        decision=Decision.APPROVED,
        protocol=induction,
        note="Chronic migraine, EHF resistant; screen clear. Start induction series.",
        note_to_patient="Please bring your escort's phone number to the first visit.",
    )
    # Casey: approved after weighing a relative contraindication.
    submit(p[1], contraindications={"uncontrolled_hypertension": True})
    _decide(
        ctx,
        p[1],
        password,
        decision=Decision.APPROVED,
        protocol=induction,
        note="BP 138/86 on amlodipine at GP review last month; acceptable. Pre-infusion BP each visit.",
    )
    # Robin: migraine with aura, approved.
    submit(
        p[2],
        aura=True,
        aura_features=["spreads_gradually", "positive_symptom", "headache_within_60_min"],
        lifetime_aura_attacks=40,
    )
    _decide(
        ctx,
        p[2],
        password,
        decision=Decision.APPROVED,
        protocol=induction,
        note="Chronic migraine with aura; screen clear.",
    )
    # Avery: declined for an absolute contraindication.
    submit(p[3], contraindications={"aneurysmal_vascular_disease": True})
    _decide(
        ctx,
        p[3],
        password,
        decision=Decision.DECLINED,
        note="Known 4 mm intracranial aneurysm under neurosurgical surveillance: ketamine's BP rise is a risk.",
        note_to_patient="Because of the aneurysm you told us about, ketamine's effect on blood pressure makes "
        "it unsafe for you. Your neurologist has our letter with other options.",
    )
    # Morgan: more information needed, now updating answers (a new draft version).
    submit(p[4], preventive_trials=BASE_ANSWERS["preventive_trials"][:1], triptans_failed=1)
    _decide(
        ctx,
        p[4],
        password,
        decision=Decision.MORE_INFO,
        note="Only one preventive class reported; check records from previous neurologist.",
        note_to_patient="Please list every preventive medicine you have tried, with doses and how long you took "
        "each, and how many different triptans you have tried.",
    )
    actions.save_intake_draft(acting_user=_submitter(ctx, p[4]), patient=p[4], answers={"triptans_failed": 2})
    # Riley: episodic pattern, submitted and waiting for review.
    submit(p[5], headache_days_per_month=10, migraine_feature_days_per_month=7, debilitating_headache_days_per_month=5)
    # Harper: a draft with the first step done.
    actions.save_intake_draft(
        acting_user=_submitter(ctx, p[6]),
        patient=p[6],
        answers={
            k: BASE_ANSWERS[k]
            for k in (
                "age_at_onset",
                "headache_days_per_month",
                "migraine_feature_days_per_month",
                "months_at_this_frequency",
            )
        },
    )
    # Quinn: invited to the portal, not yet accepted. Sasha (p[8]): converted lead, not invited.
    actions.invite_to_portal(acting_user=ctx.users["frontdesk"], patient=p[7])
    # Emerson: submitted with "not sure" answers, so the screen needs review.
    submit(p[9], contraindications={"pregnancy": None, "raised_intraocular_pressure": None})
    # Kendall: approved, the fourth.
    submit(p[11], acute_medication_days={"triptan": 12, "combination_analgesic": 6})
    _decide(
        ctx,
        p[11],
        password,
        decision=Decision.APPROVED,
        protocol=induction,
        note="Chronic migraine with medication-overuse risk; triptan limit discussed.",
    )
