from django.forms.renderers import TemplatesSetting


class ClinicFormRenderer(TemplatesSetting):
    """Render every form field with the design system's field component."""

    field_template_name = "components/field.html"
