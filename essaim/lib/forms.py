"""The site's form renderer (every field group is drawn by one template of the design system),
and the widgets of our own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _


class FormRenderer(TemplatesSetting):
    """Django's own templates for widgets, ours for a field's label, help and errors.

    TemplatesSetting renders with the project's template engine, so the field template lives
    beside the other includes (essaim/templates/includes/forms/) and the style guide shows it.
    """

    field_template_name = "includes/forms/field.html"


class SearchableSelectMultiple(forms.SelectMultiple):
    """A multiple choice the script turns into a searchable field of chips (Tom Select, npm);
    without the script it stays the plain list, tall enough to read. `create` lets the person
    type a new value (a new tag) as well as pick one."""

    def __init__(
        self, attrs: dict[str, Any] | None = None, *, create: bool = False, size: int = 6
    ) -> None:
        merged: dict[str, Any] = {
            "data-searchable": "",
            "size": size,
            # The script's words, in the page's language.
            "data-no-results": _("Aucun résultat"),
            "data-remove-label": _("Retirer"),
            **(attrs or {}),
        }
        if create:
            merged |= {"data-create": "", "data-add-label": _("Ajouter :")}
        super().__init__(merged)
