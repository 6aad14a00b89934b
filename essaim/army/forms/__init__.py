"""Forms of the army: the "Je m'engage" sign-up and the volunteer's own profile."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from essaim.army.models import DAYS, PARTS_OF_DAY, Language, VolunteerRole, window_bit
from essaim.lib.text import InvalidValue, clean_name, clean_postcode
from essaim.people.forms import SignupForm
from essaim.people.services.zones import zone_of

MAX_SKILLS = 12
MAX_SKILL_LENGTH = 40
MAX_WEEKLY_HOURS = 80

WINDOW_CHOICES = [
    (str(day * len(PARTS_OF_DAY) + part), f"{DAYS[day]} {PARTS_OF_DAY[part]}")
    for day in range(len(DAYS))
    for part in range(len(PARTS_OF_DAY))
]


def clean_skills(raw: str) -> list[str]:
    """ "Vidéo, anglais ; Wikipédia" → ["Vidéo", "anglais", "Wikipédia"]: commas or semicolons,
    duplicates (whatever their case) dropped, each skill short. Raises ValidationError."""
    skills: list[str] = []
    seen: set[str] = set()
    for part in re.split(r"[,;\n]", raw or ""):
        skill = clean_name(part, max_length=1000)
        if not skill:
            continue
        if len(skill) > MAX_SKILL_LENGTH:
            raise forms.ValidationError(
                _("Une compétence tient en %(max)d caractères : « %(skill)s… » est trop longue."),
                code="too_long",
                params={"max": MAX_SKILL_LENGTH, "skill": skill[:MAX_SKILL_LENGTH]},
            )
        if skill.casefold() not in seen:
            seen.add(skill.casefold())
            skills.append(skill)
    if len(skills) > MAX_SKILLS:
        raise forms.ValidationError(
            _("Indiquez au plus %(max)d compétences."), code="too_many", params={"max": MAX_SKILLS}
        )
    return skills


class AvailabilityFields(forms.Form):
    """What a volunteer offers: hours, time windows, skills, languages. Shared by the sign-up and
    the profile."""

    weekly_hours = forms.IntegerField(
        label=_("Heures disponibles par semaine"),
        min_value=1,
        max_value=MAX_WEEKLY_HOURS,
        initial=2,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    windows = forms.MultipleChoiceField(
        label=_("Quand êtes-vous disponible ?"),
        choices=WINDOW_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    skills = forms.CharField(
        label=_("Compétences (facultatif, séparées par des virgules)"),
        required=False,
        max_length=600,
        widget=forms.TextInput(attrs={"placeholder": _("vidéo, graphisme, Wikipédia…")}),
    )
    languages = forms.MultipleChoiceField(
        label=_("Langues dans lesquelles vous écrivez"),
        choices=Language.choices,
        initial=[Language.FR],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Cochez au moins une langue.")},
    )

    def clean_windows(self) -> int:
        mask = 0
        for value in self.cleaned_data["windows"]:
            day, part = divmod(int(value), len(PARTS_OF_DAY))  # the choices admit digits only
            mask |= window_bit(day, part)
        return mask

    def clean_skills(self) -> list[str]:
        return clean_skills(self.cleaned_data["skills"])

    def clean_languages(self) -> list[str]:
        chosen = set(self.cleaned_data["languages"])
        return [code for code in Language.values if code in chosen]

    def window_grid(self) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        """Rows of the availability grid: (day, [(value, label, checked) per part of the day])."""
        if self.is_bound:
            checked = set(self.data.getlist("windows")) if hasattr(self.data, "getlist") else set()
        else:
            checked = {str(v) for v in self.initial.get("windows") or ()}
        rows = []
        for day in range(len(DAYS)):
            cells = []
            for part in range(len(PARTS_OF_DAY)):
                value = str(day * len(PARTS_OF_DAY) + part)
                cells.append((value, f"{DAYS[day]} {PARTS_OF_DAY[part]}", value in checked))
            rows.append((str(DAYS[day]), cells))
        return rows

    parts_of_day = PARTS_OF_DAY


def role_choices() -> list[tuple[str, str]]:
    return [(r.slug, r.label) for r in VolunteerRole.objects.filter(is_open=True)]


class ProfileForm(AvailabilityFields):
    """The volunteer's own profile. Roles are only added here (at stage applied); moving them is
    the coordinators' work."""

    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    postcode = forms.CharField(
        label=_("Code postal"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    add_roles = forms.MultipleChoiceField(
        label=_("Ajouter un rôle"), required=False, widget=forms.CheckboxSelectMultiple
    )
    field_order = ["first_name", "postcode", "weekly_hours"]

    def __init__(self, *args: Any, held: set[str] = frozenset(), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["add_roles"].choices = [  # type: ignore[attr-defined]
            (slug, label) for slug, label in role_choices() if slug not in held
        ]

    def clean_first_name(self) -> str:
        value = clean_name(self.cleaned_data["first_name"], max_length=100)
        if not value:
            raise forms.ValidationError(self.fields["first_name"].error_messages["required"])
        return value

    def clean_postcode(self) -> str:
        return clean_zone_postcode(self.cleaned_data["postcode"])


def clean_zone_postcode(raw: str) -> str:
    """A French postcode that exists, or a ValidationError that says what is wrong."""
    try:
        postcode = clean_postcode(raw)
    except InvalidValue as exc:
        raise forms.ValidationError(
            _("Un code postal s'écrit avec cinq chiffres."), code="invalid"
        ) from exc
    if not postcode:
        raise forms.ValidationError(_("Ce champ est obligatoire."), code="required")
    if zone_of(postcode) is None:
        raise forms.ValidationError(
            _("Le code postal %(postcode)s n'existe pas."),
            code="unknown",
            params={"postcode": postcode},
        )
    return postcode


class VolunteerSignupForm(AvailabilityFields, SignupForm):
    """ "Je m'engage": who you are (the public sign-up's fields), what you want to do, when."""

    purposes = None  # type: ignore[assignment]  # one purpose here: volunteering
    roles = forms.MultipleChoiceField(
        label=_("Ce que vous voulez faire"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choisissez au moins un rôle.")},
    )
    field_order = ["email", "first_name", "last_name", "postcode", "phone", "roles"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices()  # type: ignore[attr-defined]
        postcode = self.fields["postcode"]
        postcode.required = True
        postcode.label = _("Code postal")

    def clean_postcode(self) -> str:
        return clean_zone_postcode(self.cleaned_data["postcode"])
