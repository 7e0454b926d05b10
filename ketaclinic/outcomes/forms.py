"""Forms: the one-screen diary day, the daily text settings, questionnaires, definitions and
the dashboard filters."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms

from ketaclinic.clinics.models import Location
from ketaclinic.infusions import scores
from ketaclinic.infusions.models import Protocol
from ketaclinic.outcomes.choices import DrugClass, PgicVersion
from ketaclinic.outcomes.models import OutcomeDefinition

# Length bands a person can pick in one tap; stored as minutes. "Under 30 minutes" is stored as
# 15 (the band's middle); the others as the band's lower edge, so a band never claims more time
# than was reported. The day-classification thresholds (30 and 60 min) fall on band edges.
DURATION_CHOICES = [
    ("", "Not sure"),
    ("15", "Under 30 minutes"),
    ("30", "30 minutes to 1 hour"),
    ("60", "1 to 4 hours"),
    ("240", "4 to 12 hours"),
    ("720", "12 hours or more"),
]
SEVERITY_CHOICES = [("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")]
FEATURES = [
    ("unilateral", "On one side of the head"),
    ("pulsating", "Throbbing or pulsing"),
    ("aggravated_by_activity", "Worse with routine activity (walking, stairs)"),
    ("nausea", "Nausea"),
    ("vomiting", "Vomiting"),
    ("photophobia", "Bothered by light"),
    ("phonophobia", "Bothered by noise"),
    ("aura", "Aura (visual or other warning signs before the headache)"),
]


class DiaryDayForm(forms.Form):
    """Only used when the person says they had a headache; "no headache" is one button."""

    peak_severity = forms.ChoiceField(
        label="How bad was it at its worst?", choices=SEVERITY_CHOICES, widget=forms.RadioSelect
    )
    pain_nrs = forms.IntegerField(
        label="Pain score at its worst (0 = none, 10 = worst imaginable)", required=False, min_value=0, max_value=10
    )
    duration_min = forms.TypedChoiceField(
        label="How long did it last?", choices=DURATION_CHOICES, required=False, coerce=int, empty_value=None
    )
    features = forms.MultipleChoiceField(
        label="Which of these did you have?", choices=FEATURES, required=False, widget=forms.CheckboxSelectMultiple
    )
    medications = forms.MultipleChoiceField(
        label="What did you take for it?",
        choices=DrugClass.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    helped_within_2h = forms.BooleanField(label="It helped within 2 hours", required=False)

    def entry(self, day: date) -> dict[str, Any]:
        data = self.cleaned_data
        chosen = set(data["features"])
        entry: dict[str, Any] = {
            "date": day,
            "headache": True,
            "peak_severity": data["peak_severity"],
            "pain_nrs": data["pain_nrs"],
            "duration_min": data["duration_min"],
            "acute_medications": [
                {"drug_class": m, "helped_within_2h": data["helped_within_2h"]} for m in data["medications"]
            ],
        }
        entry.update({name: name in chosen for name, _ in FEATURES})
        return entry


class PromptPreferenceForm(forms.Form):
    is_enabled = forms.BooleanField(label="Send me a daily check-in text", required=False)
    local_time = forms.TimeField(
        label="At what time?", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), required=True
    )
    agree_care_texts = forms.BooleanField(
        label="I agree to care texts from the clinic to my phone number (reminders and the daily check-in). "
        "Reply STOP at any time to stop them.",
        required=False,
    )


def _days(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=scores.MIDAS_PERIOD_DAYS)


class MidasForm(forms.Form):
    """MIDAS (Stewart et al., Neurology 2001): days in the last 3 months."""

    q1 = _days("1. Days you missed work or school because of headaches")
    q2 = _days("2. Days your productivity at work or school was halved or worse (not counting question 1's days)")
    q3 = _days("3. Days you did no household work because of headaches")
    q4 = _days("4. Days your household productivity was halved or worse (not counting question 3's days)")
    q5 = _days("5. Days you missed family, social or leisure activities")
    a = _days("A. Days you had a headache (if it lasted more than 1 day, count each day)")
    b = forms.IntegerField(
        label="B. On a scale of 0 to 10, how painful were these headaches on average?", min_value=0, max_value=10
    )


class PgicForm(forms.Form):
    value = forms.TypedChoiceField(
        label="Since you started treatment, how would you describe the change in your headaches?",
        coerce=int,
        widget=forms.RadioSelect,
        choices=[],
    )

    def __init__(self, *args: Any, version: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = scores.PGIC_NINDS_LABELS
        if version == PgicVersion.REVERSED:
            choices = [
                (v, f"{v}: {labels[scores.PGIC_SCALE_MAX + 1 - v]}") for v in range(1, scores.PGIC_SCALE_MAX + 1)
            ]
        else:
            choices = [(v, f"{v}: {labels[v]}") for v in range(1, scores.PGIC_SCALE_MAX + 1)]
        cast(forms.ChoiceField, self.fields["value"]).choices = [(str(v), label.capitalize()) for v, label in choices]


HIT6_CHOICES = [(k, k.replace("_", " ").capitalize()) for k in scores.HIT6_POINTS]


class Hit6Form(forms.Form):
    """Six items whose wording the clinic entered under its licence."""

    def __init__(self, *args: Any, items: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for number, text in enumerate(items, start=1):
            self.fields[f"item{number}"] = forms.ChoiceField(label=text, choices=HIT6_CHOICES, widget=forms.RadioSelect)

    def answers(self) -> list[str]:
        return [self.cleaned_data[f"item{n}"] for n in range(1, scores.HIT6_ITEM_COUNT + 1)]


def staff_hit6_items(licensed: list[str] | None) -> list[str]:
    """Labels for staff transcribing a paper HIT-6: the licensed wording when the clinic
    entered it, else the item numbers as printed on the licensed form (scoring needs no text)."""
    if licensed:
        return [f"{n}. {text}" for n, text in enumerate(licensed, start=1)]
    return [f"Item {n} (as numbered on the licensed form)" for n in range(1, scores.HIT6_ITEM_COUNT + 1)]


class PgicVersionForm(forms.Form):
    """Which PGIC scale the patient's form used: the two versions run in opposite directions."""

    version = forms.ChoiceField(label="Scale printed on the patient's form", choices=PgicVersion.choices)


class AnsweredOnForm(forms.Form):
    """The day the patient answered, at the patient's location; never in the future."""

    answered_on = forms.DateField(
        label="Day the patient answered", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["answered_on"].help_text = f"Today at the patient's location is {today:%Y-%m-%d}."

    def clean_answered_on(self) -> date:
        day: date = self.cleaned_data["answered_on"]
        if day > self.today:
            raise forms.ValidationError(f"{day:%Y-%m-%d} has not happened yet at the patient's location.")
        return day


class InstrumentTextForm(forms.Form):
    items = forms.CharField(
        label="HIT-6 items, one per line, exactly as licensed",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Six lines. The wording is copyright QualityMetric and GlaxoSmithKline; enter it only under licence.",
    )
    licence_note = forms.CharField(label="Licence (who granted it, reference, expiry)", max_length=200)


class OutcomeDefinitionForm(forms.ModelForm[OutcomeDefinition]):
    class Meta:
        model = OutcomeDefinition
        exclude = ("location", "updated_at", "updated_by")  # noqa: DJ006 - every other field is a definition


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label="Induction from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Induction until", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    protocol = forms.ModelChoiceField(
        label="Protocol", queryset=Protocol.objects.all(), required=False, empty_label="All protocols"
    )
    location = forms.ModelChoiceField(
        label="Location", queryset=Location.objects.all(), required=False, empty_label="All my locations"
    )


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label="What was decided", max_length=500, required=False)
