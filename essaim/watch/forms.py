"""The watch's forms: add a source by its URL, import an OPML file; both carry the labels."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.watch.models import Source, Submission
from essaim.watch.services import urls
from essaim.watch.services.sources import Labels


class LabelsForm(forms.Form):
    camp = forms.CharField(
        label=gettext_lazy("Camp"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Par exemple : allié, opposant, neutre."),
    )
    party = forms.CharField(label=gettext_lazy("Parti"), max_length=100, required=False)
    media_type = forms.ChoiceField(
        label=gettext_lazy("Type de média"), choices=Source.MediaType.choices, required=False
    )
    zone = forms.CharField(
        label=gettext_lazy("Zone"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Un département (75), une région, « national »…"),
    )

    def labels(self) -> Labels:
        data: dict[str, Any] = self.cleaned_data
        return Labels(
            camp=data.get("camp", ""),
            party=data.get("party", ""),
            media_type=data.get("media_type", ""),
            zone=data.get("zone", ""),
        )


class AddSourceForm(LabelsForm):
    url = forms.CharField(
        label=gettext_lazy("Adresse"),
        max_length=2000,
        help_text=gettext_lazy(
            "Collez l'adresse d'un flux, d'un blog, d'un site ou d'une chaîne vidéo : son flux "
            "est cherché sur la page ; sans flux, la page est surveillée pour ses changements."
        ),
        widget=forms.URLInput(attrs={"autocomplete": "url", "inputmode": "url"}),
    )
    field_order = ["url", "camp", "party", "media_type", "zone"]

    def clean_url(self) -> str:
        try:
            return urls.clean_url(self.cleaned_data["url"])
        except urls.InvalidURL as exc:
            raise forms.ValidationError(str(exc)) from exc


class OpmlImportForm(LabelsForm):
    file = forms.FileField(
        label=gettext_lazy("Fichier OPML"),
        help_text=gettext_lazy(
            "L'export de n'importe quel lecteur de flux. Les étiquettes ci-dessous "
            "s'appliquent aux sources qui n'en portent pas."
        ),
    )
    field_order = ["file", "camp", "party", "media_type", "zone"]

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        limit = settings.WATCH_OPML_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("Le fichier est trop volumineux."))
        data: bytes = upload.read(limit + 1)
        return data


class SubmissionForm(forms.Form):
    """A tracer's report, on a phone: the link first, the rest optional. The service checks
    every value again (the API sends the same)."""

    url = forms.CharField(
        label=gettext_lazy("Lien"),
        max_length=2000,
        widget=forms.URLInput(
            attrs={"inputmode": "url", "autocomplete": "off", "placeholder": "https://"}
        ),
    )
    time_code = forms.CharField(
        label=gettext_lazy("Minutage"),
        required=False,
        max_length=12,
        help_text=gettext_lazy("Pour une vidéo ou un podcast : mm:ss ou hh:mm:ss."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "12:34"}),
    )
    urgency = forms.ChoiceField(
        label=gettext_lazy("Urgence"),
        choices=Submission.Urgency.choices,
        initial=Submission.Urgency.NORMAL,
        required=False,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        help_text=gettext_lazy("Ce qui compte, en une ou deux phrases."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    screenshot = forms.FileField(
        label=gettext_lazy("Capture d'écran"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}
        ),
    )

    def clean_urgency(self) -> str:
        # Not chosen: normal (one tap less on a phone).
        return self.cleaned_data.get("urgency") or Submission.Urgency.NORMAL


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Décision"),
        choices=[("accept", gettext_lazy("Retenir")), ("reject", gettext_lazy("Écarter"))],
    )
    reason = forms.CharField(
        label=gettext_lazy("Raison (pour le traceur)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
