"""Forms for the scheduling pages."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, ClassVar

from django import forms

from ketaclinic.infusions.models import Protocol
from ketaclinic.scheduling.choices import BookingStatus, ShiftPresence, ShiftRole
from ketaclinic.scheduling.models import WEEKDAY_NAMES, SchedulingPolicy, SeriesRule


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


# --- Calendar management ---------------------------------------------------------------------------


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"})


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class OpeningHoursForm(forms.Form):
    """One weekday's hours; leaving both times empty closes the location that weekday."""

    weekday = forms.TypedChoiceField(choices=list(enumerate(WEEKDAY_NAMES)), coerce=int, label="Weekday")
    opens = forms.TimeField(required=False, label="Opens at", widget=_time_input())
    closes = forms.TimeField(required=False, label="Closes at", widget=_time_input())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes = data.get("opens"), data.get("closes")
        if (opens is None) != (closes is None) and not self.errors:
            self.add_error("closes", "Give both times, or leave both empty to close that weekday.")
        elif opens is not None and closes is not None and closes <= opens:
            self.add_error("closes", "The location closes after it opens.")
        return data


class ClosureForm(forms.Form):
    starts_on = forms.DateField(label="First day closed", widget=_date_input())
    ends_on = forms.DateField(label="Last day closed", widget=_date_input())
    reason = forms.CharField(max_length=120, label="Reason", help_text="For example: Thanksgiving, staff training.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The last day closed is on or after the first.")
        return data


class LocalPeriodForm(forms.Form):
    """A period typed in the location's local time; ``clean`` makes both ends aware."""

    starts_at = forms.DateTimeField(label="From", widget=_datetime_input())
    ends_at = forms.DateTimeField(label="Until", widget=_datetime_input())

    def __init__(self, *args: Any, zone: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("starts_at", "ends_at"):
            if data.get(name) is not None:
                data[name] = data[name].replace(tzinfo=None).replace(tzinfo=self.zone)
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The period ends after it starts.")
        return data


class ChairOutageForm(LocalPeriodForm):
    chair = forms.TypedChoiceField(coerce=int, label="Chair")
    reason = forms.CharField(max_length=120, label="Reason", help_text="For example: pump under repair.")
    field_order = ("chair", "starts_at", "ends_at", "reason")

    def __init__(self, *args: Any, chairs: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["chair"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type for mypy
        field.choices = chairs


class ShiftForm(LocalPeriodForm):
    user = forms.TypedChoiceField(coerce=int, label="Staff member")
    role = forms.ChoiceField(choices=ShiftRole.choices, label="Works as")
    presence = forms.ChoiceField(choices=ShiftPresence.choices, label="Presence", initial=ShiftPresence.ON_SITE)
    field_order = ("user", "role", "presence", "starts_at", "ends_at")

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type for mypy
        field.choices = staff


class PolicyForm(forms.ModelForm[SchedulingPolicy]):
    """Validated by the model's own validators; saved only through ``actions.save_policy``."""

    class Meta:
        model = SchedulingPolicy
        fields = ("nurse_ratio", "require_prescriber_cover", "slot_min", "offer_hold_min", "reminder_offsets_h")
        labels: ClassVar[dict[str, str]] = {
            "nurse_ratio": "Concurrent infusions per nurse on site",
            "require_prescriber_cover": "A prescriber must be on site or on call for every infusion",
            "slot_min": "Booking grid (minutes)",
            "offer_hold_min": "Hold a waitlist offer for (minutes)",
            "reminder_offsets_h": "Reminders (hours before)",
        }


class SeriesRuleForm(forms.ModelForm[SeriesRule]):
    """Validated by the model's own validators; saved only through ``actions.save_series_rule``."""

    class Meta:
        model = SeriesRule
        fields = ("infusion_duration_min", "recovery_min", "turnover_min", "min_gap_days", "max_per_week")
        labels: ClassVar[dict[str, str]] = {
            "infusion_duration_min": "Infusion (minutes)",
            "recovery_min": "Recovery in the chair (minutes)",
            "turnover_min": "Chair turnover (minutes)",
            "min_gap_days": "At least this many days apart",
            "max_per_week": "At most this many per calendar week",
        }


class MaintenanceIntervalForm(forms.Form):
    interval_days = forms.IntegerField(
        required=False,
        min_value=7,
        max_value=365,
        label="Maintenance due after (days)",
        help_text="Days after the last infusion; leave empty to offer maintenance only on relapse.",
    )
