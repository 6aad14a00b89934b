"""Forms of the API token pages (HQ)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from essaim.api.models import Scope
from essaim.api.services import MAX_NETWORKS, clean_networks


class TokenSettingsForm(forms.Form):
    """What a token may do and from where. The per-token rate and budget are an HQ admin's to
    set (`limits=True`): a token's owner must not raise the ceiling on their own reads."""

    scopes = forms.MultipleChoiceField(
        label=_("Portées"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "« Lecture des contacts » permet de lire la base : ne la donnez qu'à bon escient."
        ),
    )
    networks = forms.CharField(
        label=_("Réseaux autorisés"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "192.0.2.0/24\n2001:db8::/32"}),
        help_text=_("Un réseau par ligne (CIDR, IPv4 ou IPv6). Vide : depuis n'importe où."),
    )
    rate_per_minute = forms.IntegerField(
        label=_("Requêtes par minute"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Vide : la limite par défaut."),
    )
    daily_people_budget = forms.IntegerField(
        label=_("Personnes lues par jour"),
        required=False,
        min_value=0,
        max_value=10_000_000,
        help_text=_("Vide : le budget par défaut."),
    )

    def __init__(self, *args: Any, limits: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not limits:
            del self.fields["rate_per_minute"]
            del self.fields["daily_people_budget"]

    def clean_networks(self) -> list[str]:
        lines = self.cleaned_data["networks"].replace(",", "\n").splitlines()
        try:
            return clean_networks(lines)
        except ValueError as exc:
            if " is not " in str(exc):
                bad = str(exc).split(" is not ")[0].strip("'\"")
                raise forms.ValidationError(
                    _("%(value)s n'est pas un réseau IPv4 ou IPv6 (CIDR)."),
                    params={"value": bad},
                    code="invalid",
                ) from exc
            raise forms.ValidationError(
                _("Au plus %(n)d réseaux par jeton."), params={"n": MAX_NETWORKS}, code="max"
            ) from exc


class TokenCreateForm(TokenSettingsForm):
    name = forms.CharField(
        label=_("Nom"), max_length=100, help_text=_("À quoi sert ce jeton (l'intégration).")
    )
    field_order = ["name", "scopes", "networks", "rate_per_minute", "daily_people_budget"]
