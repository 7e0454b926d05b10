from django import forms


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
