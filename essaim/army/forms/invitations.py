"""The form of "Mes invitations": addresses pasted or an address book, and a personal note."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from essaim.army.services import invitations as svc


class InvitationForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Adresses à inviter"),
        help_text=gettext_lazy("Une par ligne, ou séparées par des virgules."),
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}),
        required=False,
    )
    book = forms.FileField(
        label=gettext_lazy("Ou un carnet d'adresses (vCard .vcf ou CSV)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".vcf,.vcard,.csv,text/vcard,text/csv"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Un mot de votre part (facultatif)"),
        help_text=gettext_lazy(
            "Avec vos propres mots, en quelques lignes et sans lien ni adresse de site : il "
            "accompagne le message de la campagne, signé de votre prénom."
        ),
        max_length=svc.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": svc.MAX_NOTE}),
        required=False,
    )
