"""Forms of the public pages (sign-up, unsubscribe)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from essaim.lib.text import (
    InvalidValue,
    clean_name,
    clean_postcode,
    normalize_email,
    normalize_phone,
)
from essaim.people.models import Purpose
from essaim.people.services.contacts import ContactData, clean_contact_data
from essaim.people.services.zones import zone_of

# What each purpose means to the person ticking it.
PURPOSE_CHOICES = [
    (Purpose.NEWS.value, _("Les actualités de la campagne")),
    (
        Purpose.MOBILIZATION.value,
        _("Les appels à la mobilisation (rassemblements, votes, actions)"),
    ),
    (Purpose.VOLUNTEERING.value, _("Les propositions de bénévolat")),
]

HONEYPOT_FIELD = "website"


class SignupForm(forms.Form):
    email = forms.CharField(
        label=_("Adresse e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        label=_("Prénom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Nom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    postcode = forms.CharField(
        label=_("Code postal (facultatif)"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    phone = forms.CharField(
        label=_("Téléphone (facultatif)"),
        required=False,
        max_length=30,
        widget=forms.TelInput(attrs={"autocomplete": "tel"}),
    )
    purposes = forms.MultipleChoiceField(
        label=_("Je souhaite recevoir :"),
        choices=PURPOSE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _(
                "Cochez au moins un sujet : c'est ainsi que vous nous donnez votre accord."
            )
        },
    )

    contact_data: ContactData

    def clean_email(self) -> str:
        try:
            email, _key = normalize_email(self.cleaned_data["email"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                _("Cette adresse e-mail n'est pas valide."), code="invalid"
            ) from exc
        return email

    def _clean_name(self, field: str) -> str:
        value = clean_name(self.cleaned_data[field])
        if not value:
            raise forms.ValidationError(self.fields[field].error_messages["required"])
        return value

    def clean_first_name(self) -> str:
        return self._clean_name("first_name")

    def clean_last_name(self) -> str:
        return self._clean_name("last_name")

    def clean_postcode(self) -> str:
        try:
            postcode = clean_postcode(self.cleaned_data["postcode"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                _("Un code postal s'écrit avec cinq chiffres."), code="invalid"
            ) from exc
        if postcode and zone_of(postcode) is None:
            raise forms.ValidationError(
                _("Le code postal %(postcode)s n'existe pas."),
                code="unknown",
                params={"postcode": postcode},
            )
        return postcode

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                _("Ce numéro de téléphone n'est pas valide."), code="invalid"
            ) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                self.contact_data = clean_contact_data(
                    email=cleaned["email"],
                    first_name=cleaned["first_name"],
                    last_name=cleaned["last_name"],
                    phone=cleaned["phone"],
                    postcode=cleaned["postcode"],
                )
            except InvalidValue as exc:  # the fields above already check each rule
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


class UnsubscribeForm(forms.Form):
    ALL = "all"

    choice = forms.ChoiceField(
        label=_("Ne plus recevoir :"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez ce que vous ne voulez plus recevoir.")},
    )

    def __init__(self, *args: Any, purposes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer(purposes)
        self.fields["choice"].initial = self.ALL

    def offer(self, purposes: list[str]) -> None:
        """Offer these purposes (and "everything") as the choices."""
        labels = dict(PURPOSE_CHOICES)
        choices = [(p, labels[p]) for p in purposes]
        choices.append((self.ALL, _("Plus rien du tout : retirez mon adresse de vos listes")))
        self.fields["choice"].choices = choices  # type: ignore[attr-defined]
