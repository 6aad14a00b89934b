"""The site's form renderer: every field group is drawn by one template of the design system."""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Django's own templates for widgets, ours for a field's label, help and errors.

    TemplatesSetting renders with the project's template engine, so the field template lives
    beside the other includes (essaim/templates/includes/forms/) and the style guide shows it.
    """

    field_template_name = "includes/forms/field.html"
