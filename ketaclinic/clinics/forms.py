from django import forms

from ketaclinic.clinics.actions import LOCATION_FIELDS
from ketaclinic.clinics.models import Location


class LocationForm(forms.ModelForm[Location]):
    class Meta:
        model = Location
        fields = LOCATION_FIELDS


class ChairForm(forms.Form):
    name = forms.CharField(max_length=60, label="New chair name", help_text="e.g. Chair 5")
