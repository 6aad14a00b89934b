"""Forms of teams: a request to join one, and a new team (HQ)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.accounts.models import Team


class JoinForm(forms.Form):
    message = forms.CharField(
        label=gettext_lazy("Un mot pour les coordinateurs (facultatif)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "kind", "departement", "description", "accepts_requests"]

    def clean_departement(self) -> str:
        from essaim.people.services.zones import zones

        code = self.cleaned_data["departement"].strip().upper()
        if code and code not in zones().departements:
            raise forms.ValidationError(_("Ce département n'existe pas."), code="unknown")
        if not code and self.cleaned_data.get("kind") == Team.Kind.LOCAL:
            raise forms.ValidationError(_("Une équipe locale a un département."), code="required")
        return code
