"""The form of a call for volunteers (HQ): its page, the segment called and its message."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy

from essaim.army.models import VolunteerRole
from essaim.army.services import calls as svc
from essaim.mailing.services.campaigns import from_identities, identity_label
from essaim.people.models import Purpose, Segment


class CallForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre de la page"), max_length=200)
    text_markdown = forms.CharField(
        label=gettext_lazy("Texte de la page (Markdown)"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    roles = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Rôles recherchés"),
        queryset=VolunteerRole.objects.filter(is_open=True),
        widget=forms.CheckboxSelectMultiple,
    )
    segment = forms.ModelChoiceField(
        label=gettext_lazy("Segment appelé"), queryset=Segment.objects.all()
    )
    purpose = forms.ChoiceField(
        label=gettext_lazy("Consentement requis"),
        choices=Purpose.choices,
        initial=Purpose.MOBILIZATION,
    )
    from_address = forms.ChoiceField(label=gettext_lazy("Expéditeur"))
    subject = forms.CharField(label=gettext_lazy("Objet du message"), max_length=250)
    body_markdown = forms.CharField(
        label=gettext_lazy("Message (Markdown)"),
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy(
            "{{ call_url }} est le lien personnel vers la page de l'appel ; il est ajouté à la "
            "fin s'il manque."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["from_address"]).choices = [
            (address, identity_label(name, address)) for name, address in from_identities()
        ]
        self.fields["body_markdown"].initial = svc.default_mail_body()
