"""Forms for patient records, portal sign-up, the intake questionnaire, screening rules and the
candidacy decision. Intake forms turn answers into the keys of ``candidacy`` (see that module)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib.auth.password_validation import validate_password

from ketaclinic.accounts.models import User
from ketaclinic.infusions.models import Protocol
from ketaclinic.infusions.scores import MIDAS_PERIOD_DAYS
from ketaclinic.patients.choices import (
    MIN_NOTE_CHARS,
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    Decision,
    Payer,
    RuleSeverity,
    WeightSource,
)
from ketaclinic.patients.classification import (
    DAYS_PER_MONTH_MAX,
    AcuteMedicationClass,
    AuraCharacteristic,
    PreventiveClass,
    TrialOutcome,
)
from ketaclinic.patients.models import Patient, ScreeningRule


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Search by name or MRN", required=False, max_length=80)


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need this record?",
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=10,
        max_length=1000,
        help_text="For example: patient arrived at this site for an urgent review. Your reason is recorded and reviewed.",
    )


class DemographicsForm(forms.ModelForm[Patient]):
    class Meta:
        model = Patient
        fields: ClassVar[list[str]] = [
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
        ]
        widgets: ClassVar[dict[str, Any]] = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "payer": forms.RadioSelect,
        }
        help_texts: ClassVar[dict[str, str]] = {
            "escort_name": "The adult who takes the patient home after an infusion; may differ from the emergency contact.",
            "phone": "International form, e.g. +13035550123.",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("payer") == Payer.INSURANCE and not (data.get("insurer_name") and data.get("insurance_member_id")):
            self.add_error("insurer_name", "An insured patient needs the insurer's name and the member ID.")
        return data


class WeightForm(forms.Form):
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        min_value=Decimal(WEIGHT_KG_MIN),
        max_value=Decimal(WEIGHT_KG_MAX),
        max_digits=5,
        decimal_places=1,
        help_text=f"In kilograms, one decimal place ({WEIGHT_KG_MIN}–{WEIGHT_KG_MAX} kg). 1 lb = 0.4536 kg.",
    )
    source = forms.ChoiceField(choices=WeightSource.choices, initial=WeightSource.MEASURED, widget=forms.RadioSelect)


class InvitationAcceptForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="You sign in with this. Your email address works well.")
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 12 characters; not a common password.")
    password_again = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken. Choose another.")
        return username

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ.")
        elif password:
            try:
                validate_password(password, User(username=data.get("username", "")))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


# --- Intake questionnaire --------------------------------------------------------------------

YES_NO_UNSURE = [("yes", "Yes"), ("no", "No"), ("unsure", "Not sure")]
_TO_ANSWER: dict[str, bool | None] = {"yes": True, "no": False, "unsure": None}


def _days(label: str, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=0, max_value=DAYS_PER_MONTH_MAX, help_text=help_text or "Days per month."
    )


class IntakeStepForm(forms.Form):
    """One step of the questionnaire. Every field is optional while saving a draft; the review
    page lists what is still missing before the patient can submit."""

    title: ClassVar[str] = ""

    def __init__(self, *args: Any, answers: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if answers is not None and not self.is_bound:
            self.initial = self.initial_from(answers)

    def initial_from(self, answers: dict[str, Any]) -> dict[str, Any]:
        return {name: answers.get(name) for name in self.fields}

    def to_answers(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class HistoryForm(IntakeStepForm):
    title = "Your headaches over the last 3 months"
    age_at_onset = forms.IntegerField(
        label="Age when your migraines started (years)", required=False, min_value=0, max_value=120
    )
    headache_days_per_month = _days("Headache days per month", "Days per month with any headache, on average.")
    migraine_feature_days_per_month = _days(
        "Migraine days per month",
        "Days per month whose headache had migraine features (e.g. throbbing, worse with activity, "
        "nausea, sensitivity to light and sound), or that a triptan relieved.",
    )
    debilitating_headache_days_per_month = _days(
        "Disabling headache days per month", "Days per month a headache seriously stopped your daily activities."
    )
    months_at_this_frequency = forms.IntegerField(
        label="For how many months have your headaches been this frequent?", required=False, min_value=0, max_value=1200
    )
    months_debilitating = forms.IntegerField(
        label="For how many months in a row have you had that many disabling days?",
        required=False,
        min_value=0,
        max_value=1200,
    )
    lifetime_migraine_attacks = forms.IntegerField(
        label="About how many migraine attacks have you had in your life?",
        required=False,
        min_value=0,
        help_text="A rough count is fine; write 100 if it is more than you can count.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        total = data.get("headache_days_per_month")
        for name in ("migraine_feature_days_per_month", "debilitating_headache_days_per_month"):
            value = data.get(name)
            if total is not None and value is not None and value > total:
                self.add_error(name, "This cannot be more than your headache days per month.")
        return data


ATTACK_FEATURES = {
    "nausea_or_vomiting": "Nausea or vomiting",
    "photophobia": "Light bothers me (sensitivity to light)",
    "phonophobia": "Noise bothers me (sensitivity to sound)",
    "aggravated_by_activity": "Routine activity (walking, stairs) makes it worse",
}


class AttacksForm(IntakeStepForm):
    title = "A typical attack"
    attack_duration_hours_min = forms.DecimalField(
        label="Shortest untreated attack (hours)",
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal(720),
        decimal_places=1,
    )
    attack_duration_hours_max = forms.DecimalField(
        label="Longest untreated attack (hours)",
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal(720),
        decimal_places=1,
    )
    attack_location = forms.ChoiceField(
        label="Where is the pain?",
        required=False,
        widget=forms.RadioSelect,
        choices=[("one_side", "One side of the head"), ("both_sides", "Both sides"), ("varies", "It varies")],
    )
    attack_quality = forms.ChoiceField(
        label="What does the pain feel like?",
        required=False,
        widget=forms.RadioSelect,
        choices=[
            ("throbbing", "Throbbing or pulsing"),
            ("pressing", "Pressing or tight"),
            ("stabbing", "Stabbing"),
            ("other", "Something else"),
        ],
    )
    attack_severity = forms.ChoiceField(
        label="How bad is the pain without treatment?",
        required=False,
        widget=forms.RadioSelect,
        choices=[
            ("mild", "Mild: I can carry on"),
            ("moderate", "Moderate: it gets in the way"),
            ("severe", "Severe: I have to stop"),
        ],
    )
    features = forms.MultipleChoiceField(
        label="During an attack (tick all that apply)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=list(ATTACK_FEATURES.items()),
    )
    aura = forms.ChoiceField(
        label="Do you have aura (e.g. flickering lights, zigzag lines, tingling) before or with attacks?",
        required=False,
        widget=forms.RadioSelect,
        choices=[("yes", "Yes"), ("no", "No")],
    )
    aura_features = forms.MultipleChoiceField(
        label="If you have aura: which of these fit it?",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            (AuraCharacteristic.SPREADS_GRADUALLY, "It spreads gradually over 5 minutes or more"),
            (AuraCharacteristic.SUCCESSIVE_SYMPTOMS, "Two or more symptoms come one after another"),
            (AuraCharacteristic.EACH_SYMPTOM_5_TO_60_MIN, "Each symptom lasts 5–60 minutes"),
            (AuraCharacteristic.UNILATERAL_SYMPTOM, "At least one symptom is on one side only"),
            (AuraCharacteristic.POSITIVE_SYMPTOM, "Something extra appears (flashing lights, pins and needles)"),
            (AuraCharacteristic.HEADACHE_WITHIN_60_MIN, "The headache comes with it or within 60 minutes"),
        ],
    )
    lifetime_aura_attacks = forms.IntegerField(
        label="About how many attacks with aura in your life?", required=False, min_value=0
    )

    def initial_from(self, answers: dict[str, Any]) -> dict[str, Any]:
        initial = super().initial_from(answers)
        initial["features"] = [name for name in ATTACK_FEATURES if answers.get(name)]
        if answers.get("aura") is not None:
            initial["aura"] = "yes" if answers["aura"] else "no"
        initial["aura_features"] = answers.get("aura_features") or []
        return initial

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        low, high = data.get("attack_duration_hours_min"), data.get("attack_duration_hours_max")
        if low is not None and high is not None and high < low:
            self.add_error("attack_duration_hours_max", "The longest attack cannot be shorter than the shortest.")
        if data.get("aura") != "yes" and (data.get("aura_features") or data.get("lifetime_aura_attacks")):
            self.add_error("aura", "You described aura: answer Yes here, or clear the aura answers below.")
        return data

    def to_answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        answers: dict[str, Any] = {}
        for name in ("attack_duration_hours_min", "attack_duration_hours_max"):
            if data.get(name) is not None:
                answers[name] = float(data[name])
        for name in ("attack_location", "attack_quality", "attack_severity"):
            if data.get(name):
                answers[name] = data[name]
        if data.get("attack_location"):
            answers["unilateral"] = data["attack_location"] in {"one_side", "varies"}
        if data.get("attack_quality"):
            answers["pulsating"] = data["attack_quality"] == "throbbing"
        if data.get("attack_severity"):
            answers["moderate_or_severe"] = data["attack_severity"] in {"moderate", "severe"}
        ticked = set(data.get("features") or [])
        for name in ATTACK_FEATURES:
            answers[name] = name in ticked
        if data.get("aura"):
            answers["aura"] = data["aura"] == "yes"
            answers["aura_features"] = sorted(data.get("aura_features") or []) if answers["aura"] else []
            answers["lifetime_aura_attacks"] = data.get("lifetime_aura_attacks") if answers["aura"] else None
        return answers


ACUTE_LABELS = {
    AcuteMedicationClass.TRIPTAN: "Triptans (e.g. sumatriptan, rizatriptan)",
    AcuteMedicationClass.ERGOT: "Ergots (e.g. dihydroergotamine)",
    AcuteMedicationClass.OPIOID: "Opioids (e.g. codeine, tramadol, oxycodone)",
    AcuteMedicationClass.COMBINATION_ANALGESIC: "Combination painkillers (e.g. with caffeine or butalbital)",
    AcuteMedicationClass.SIMPLE_ANALGESIC: "Simple painkillers (paracetamol/acetaminophen, ibuprofen, aspirin)",
    AcuteMedicationClass.GEPANT_DITAN: "Gepants or ditans (e.g. ubrogepant, rimegepant, lasmiditan)",
    AcuteMedicationClass.OTHER: "Other attack medicines",
}
_ACUTE_HELP = "Days per month you take it (0 if never)."


class AcuteMedicationForm(IntakeStepForm):
    title = "Medicines you take during attacks"
    acute_triptan = _days(ACUTE_LABELS[AcuteMedicationClass.TRIPTAN], _ACUTE_HELP)
    acute_ergot = _days(ACUTE_LABELS[AcuteMedicationClass.ERGOT], _ACUTE_HELP)
    acute_opioid = _days(ACUTE_LABELS[AcuteMedicationClass.OPIOID], _ACUTE_HELP)
    acute_combination_analgesic = _days(ACUTE_LABELS[AcuteMedicationClass.COMBINATION_ANALGESIC], _ACUTE_HELP)
    acute_simple_analgesic = _days(ACUTE_LABELS[AcuteMedicationClass.SIMPLE_ANALGESIC], _ACUTE_HELP)
    acute_gepant_ditan = _days(ACUTE_LABELS[AcuteMedicationClass.GEPANT_DITAN], _ACUTE_HELP)
    acute_other = _days(ACUTE_LABELS[AcuteMedicationClass.OTHER], _ACUTE_HELP)
    triptans_failed = forms.IntegerField(
        label="How many different triptans have you tried that did not help (or you could not tolerate)?",
        required=False,
        min_value=0,
        max_value=20,
    )

    def initial_from(self, answers: dict[str, Any]) -> dict[str, Any]:
        days = answers.get("acute_medication_days") or {}
        initial = {f"acute_{key}": days.get(key) for key in AcuteMedicationClass}
        initial["triptans_failed"] = answers.get("triptans_failed")
        return initial

    def to_answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        days = {str(key): data[f"acute_{key}"] for key in AcuteMedicationClass if data.get(f"acute_{key}") is not None}
        answers: dict[str, Any] = {}
        if days:
            answers["acute_medication_days"] = days
        if data.get("triptans_failed") is not None:
            answers["triptans_failed"] = data["triptans_failed"]
        return answers


PREVENTIVE_LABELS = {
    PreventiveClass.ANTIDEPRESSANT: "Antidepressant (amitriptyline, nortriptyline, venlafaxine)",
    PreventiveClass.ANTIEPILEPTIC: "Antiepileptic (topiramate, valproate)",
    PreventiveClass.BETA_BLOCKER: "Beta-blocker (propranolol, metoprolol, atenolol, timolol)",
    PreventiveClass.CALCIUM_CHANNEL_BLOCKER: "Calcium-channel blocker (flunarizine, cinnarizine, verapamil)",
    PreventiveClass.CGRP: "CGRP medicine (erenumab, fremanezumab, galcanezumab, eptinezumab, atogepant, rimegepant)",
    PreventiveClass.ACE_ARB: "Blood-pressure medicine (lisinopril, candesartan)",
    PreventiveClass.ONABOTULINUMTOXINA: "Botox injections (onabotulinumtoxinA)",
    PreventiveClass.OTHER: "Other preventive",
}
OUTCOME_LABELS = {
    TrialOutcome.INEFFECTIVE: "Did not help enough",
    TrialOutcome.NOT_TOLERATED: "Side effects: had to stop",
    TrialOutcome.EFFECTIVE: "Helped",
    TrialOutcome.ONGOING: "Still taking it",
}


class PreventiveTrialForm(forms.Form):
    drug_class = forms.ChoiceField(
        label="Kind of medicine", required=False, choices=[("", "—"), *PREVENTIVE_LABELS.items()]
    )
    drug_name = forms.CharField(label="Name", required=False, max_length=80)
    dose = forms.CharField(label="Dose", required=False, max_length=60, help_text="With units, e.g. 100 mg daily.")
    duration_weeks = forms.IntegerField(label="How long (weeks)", required=False, min_value=0, max_value=1000)
    outcome = forms.ChoiceField(label="How did it go?", required=False, choices=[("", "—"), *OUTCOME_LABELS.items()])
    reason_stopped = forms.CharField(label="Why did you stop?", required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        filled = any(data.get(n) not in (None, "") for n in ("drug_name", "dose", "duration_weeks", "reason_stopped"))
        if (filled or data.get("outcome")) and not data.get("drug_class"):
            self.add_error("drug_class", "Choose the kind of medicine.")
        if (filled or data.get("drug_class")) and not data.get("outcome"):
            self.add_error("outcome", "Say how it went.")
        return data

    def to_trial(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("drug_class"):
            return None
        trial: dict[str, Any] = {
            "drug_class": data["drug_class"],
            "outcome": data["outcome"],
            "drug_name": data.get("drug_name", ""),
            "dose": data.get("dose", ""),
            "reason_stopped": data.get("reason_stopped", ""),
        }
        if data.get("duration_weeks") is not None:
            trial["duration_weeks"] = data["duration_weeks"]
        return trial


# Without JavaScript, each save shows the entered rows plus this many empty ones.
EXTRA_TRIAL_ROWS = 3
PreventiveTrialFormSet = forms.formset_factory(PreventiveTrialForm, extra=EXTRA_TRIAL_ROWS, max_num=40)


class HealthForm(IntakeStepForm):
    title = "Your other health conditions and medicines"
    other_diagnoses = forms.CharField(
        label="Other diagnoses", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    current_medicines = forms.CharField(
        label="Medicines you take now (name, dose, how often)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    allergies = forms.CharField(
        label="Allergies (what, and what happened)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )

    def to_answers(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name, "").strip() for name in self.fields}


class SafetyForm(IntakeStepForm):
    """Yes / no / not sure for each active screening rule. "Not sure" is kept as unanswered so
    the prescriber asks: it is never read as "no"."""

    title = "Safety questions"

    def __init__(self, *args: Any, rules: list[ScreeningRule], **kwargs: Any) -> None:
        self.rules = rules
        super().__init__(*args, **kwargs)
        for rule in rules:
            self.fields[rule.key] = forms.ChoiceField(
                label=rule.question.replace("the patient", "you").replace("Is the patient", "Are you"),
                required=False,
                widget=forms.RadioSelect,
                choices=YES_NO_UNSURE,
            )

    def initial_from(self, answers: dict[str, Any]) -> dict[str, Any]:
        given = answers.get("contraindications") or {}
        initial: dict[str, Any] = {}
        for rule in self.rules:
            if rule.key in given:
                value = given[rule.key]
                initial[rule.key] = "unsure" if value is None else ("yes" if value else "no")
        return initial

    def to_answers(self) -> dict[str, Any]:
        return {
            "contraindications": {
                key: _TO_ANSWER[value] for key, value in self.cleaned_data.items() if value in _TO_ANSWER
            }
        }


class MidasForm(IntakeStepForm):
    title = "MIDAS: how headaches affected you in the last 3 months"
    q1 = forms.IntegerField(
        label="1. On how many days did you miss work or school because of headaches?",
        required=False,
        min_value=0,
        max_value=90,
    )
    q2 = forms.IntegerField(
        label="2. On how many days was your productivity at work or school reduced by half or more? (Do not count the days in question 1.)",
        required=False,
        min_value=0,
        max_value=90,
    )
    q3 = forms.IntegerField(
        label="3. On how many days did you not do household work because of headaches?",
        required=False,
        min_value=0,
        max_value=90,
    )
    q4 = forms.IntegerField(
        label="4. On how many days was your household work productivity reduced by half or more? (Do not count the days in question 3.)",
        required=False,
        min_value=0,
        max_value=90,
    )
    q5 = forms.IntegerField(
        label="5. On how many days did you miss family, social or leisure activities?",
        required=False,
        min_value=0,
        max_value=90,
    )
    a = forms.IntegerField(
        label="A. On how many days did you have a headache?", required=False, min_value=0, max_value=90
    )
    b = forms.IntegerField(
        label="B. On a scale of 0–10, how painful were these headaches on average?",
        required=False,
        min_value=0,
        max_value=10,
    )

    def initial_from(self, answers: dict[str, Any]) -> dict[str, Any]:
        given = answers.get("midas") or {}
        return {name: given.get(name) for name in self.fields}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for first, second in (("q1", "q2"), ("q3", "q4")):
            if (data.get(first) or 0) + (data.get(second) or 0) > MIDAS_PERIOD_DAYS:
                self.add_error(
                    second, f"Questions {first[1]} and {second[1]} together cannot exceed the {MIDAS_PERIOD_DAYS} days."
                )
        return data

    def to_answers(self) -> dict[str, Any]:
        return {"midas": {name: value for name, value in self.cleaned_data.items() if value is not None}}


# --- Staff forms -----------------------------------------------------------------------------


class ScreeningRuleForm(forms.ModelForm[ScreeningRule]):
    change_reason = forms.CharField(
        label="Why are you changing this rule?",
        min_length=MIN_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit trail with the old and new wording.",
    )

    class Meta:
        model = ScreeningRule
        fields: ClassVar[list[str]] = ["question", "severity", "reason", "source", "is_active", "order"]
        widgets: ClassVar[dict[str, Any]] = {
            "severity": forms.RadioSelect(choices=RuleSeverity.choices),
            "reason": forms.Textarea(attrs={"rows": 3}),
            "source": forms.Textarea(attrs={"rows": 2}),
        }
        labels: ClassVar[dict[str, str]] = {"is_active": "Ask this question in the intake"}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    protocol = forms.ModelChoiceField(
        queryset=Protocol.objects.filter(is_active=True),
        required=False,
        help_text="Required when approving.",
        empty_label="— choose a protocol —",
    )
    note = forms.CharField(
        label="Clinical note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when declining or asking for more information. Staff see it; the patient does not.",
    )
    note_to_patient = forms.CharField(
        label="Note to the patient",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown in the patient's portal. Required when asking for more information: say what is needed.",
    )
    override_reason = forms.CharField(
        label="Reason to approve despite an absolute contraindication",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label="Your password (signs the decision)",
        widget=forms.PasswordInput,
        help_text="Re-entering your password signs this decision under your name.",
    )
