"""Forms for the scheduling pages."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django import forms

from ketaclinic.infusions.models import Protocol
from ketaclinic.scheduling.choices import BookingStatus
from ketaclinic.scheduling.models import WEEKDAY_NAMES


class DayForm(forms.Form):
    location = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date = forms.DateField(required=False, label="Day", widget=forms.DateInput(attrs={"type": "date"}))


class SeriesRequestForm(forms.Form):
    protocol = forms.ModelChoiceField(queryset=Protocol.objects.filter(is_active=True), empty_label=None)
    earliest_start = forms.DateField(label="Earliest first infusion", widget=forms.DateInput(attrs={"type": "date"}))
    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAY_NAMES)),
        coerce=int,
        initial=[0, 1, 2, 3, 4],
        widget=forms.CheckboxSelectMultiple,
        label="Days the patient can come",
    )
    from_time = forms.TimeField(
        label="Can arrive from", initial=time(8, 0), widget=forms.TimeInput(attrs={"type": "time"})
    )
    until_time = forms.TimeField(
        label="Must leave by", initial=time(17, 0), widget=forms.TimeInput(attrs={"type": "time"})
    )
    blackout_dates = forms.CharField(
        required=False,
        label="Dates the patient cannot come",
        help_text="Dates as YYYY-MM-DD, separated by commas.",
    )

    def clean_blackout_dates(self) -> list[date]:
        raw = self.cleaned_data["blackout_dates"]
        try:
            return [date.fromisoformat(part.strip()) for part in raw.split(",") if part.strip()]
        except ValueError as exc:
            raise forms.ValidationError("Write dates as YYYY-MM-DD, separated by commas.") from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("from_time") and data.get("until_time") and data["until_time"] <= data["from_time"]:
            self.add_error("until_time", "The patient must be able to stay after they arrive.")
        return data


class MoveForm(forms.Form):
    """Move one proposed session; the rest of the series is re-solved around it."""

    pin_date = forms.DateField(label="New day", widget=forms.DateInput(attrs={"type": "date"}))
    pin_time = forms.TimeField(label="New start time", widget=forms.TimeInput(attrs={"type": "time"}))
    pin_chair = forms.TypedChoiceField(coerce=int, label="Chair")

    def __init__(self, *args: Any, chairs: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pin_chair"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type for mypy
        field.choices = chairs


class ConfirmForm(forms.Form):
    """The proposal being confirmed, as shown: start, end and chair of each session."""

    starts = forms.CharField(widget=forms.HiddenInput)
    ends = forms.CharField(widget=forms.HiddenInput)
    chairs = forms.CharField(widget=forms.HiddenInput)

    def sessions(self) -> list[tuple[datetime, datetime, int]]:
        starts = [datetime.fromisoformat(v) for v in self.cleaned_data["starts"].split(",")]
        ends = [datetime.fromisoformat(v) for v in self.cleaned_data["ends"].split(",")]
        chairs = [int(v) for v in self.cleaned_data["chairs"].split(",")]
        if not (len(starts) == len(ends) == len(chairs)):
            raise forms.ValidationError("The proposal was incomplete; solve it again.")
        return list(zip(starts, ends, chairs, strict=True))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in BookingStatus.choices if c[0] != BookingStatus.CANCELLED])


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=200, label="Why is it cancelled?")


class ReplanForm(forms.Form):
    first_day = forms.DateField(label="Plan from", widget=forms.DateInput(attrs={"type": "date"}))
