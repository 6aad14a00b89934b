"""Forms of the talking points library: a new entry and a new version of one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from essaim.army.rules import missions as rules
from essaim.army.services import talking_points as tp


def split_tags(text: str) -> list[str]:
    return [t for t in text.replace(";", ",").split(",") if t.strip()]


class PointForm(forms.Form):
    team = forms.ChoiceField(label=gettext_lazy("Portée"), required=False)
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=tp.MAX_TITLE)
    tags = forms.CharField(
        label=gettext_lazy("Étiquettes (séparées par des virgules)"),
        required=False,
        max_length=tp.MAX_TAGS * (tp.MAX_TAG_LENGTH + 2),
    )
    body = forms.CharField(
        label=gettext_lazy("Texte"),
        max_length=tp.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "De la matière pour les propres mots de chacun : des faits, des chiffres, des "
            "angles. Jamais un texte à coller tel quel."
        ),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = rules.team_choices(user)
        self.fields["team"].choices = choices  # type: ignore[attr-defined]
        # Only HQ is offered the national scope (the empty choice): anyone else must pick a
        # team, else the empty value would pass the form and meet a 403.
        self.fields["team"].required = all(value for value, _label in choices)


class VersionForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Nouveau texte"),
        max_length=tp.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    tags = forms.CharField(
        label=gettext_lazy("Étiquettes (séparées par des virgules)"),
        required=False,
        max_length=tp.MAX_TAGS * (tp.MAX_TAG_LENGTH + 2),
    )
