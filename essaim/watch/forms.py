"""The watch's forms: add a source by its URL, import an OPML file (both carry the labels);
a watchlist and its test box."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.watch.models import Source, Submission, Watchlist
from essaim.watch.services import urls
from essaim.watch.services.sources import Labels
from essaim.watch.services.watchlists import clean_labels
from essaim.watch.services.watchlists.query import MAX_LENGTH, QueryError, parse


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


class WatchlistForm(forms.Form):
    """A watchlist's name, kind, query and labels; the query is parsed here, so that a bad one
    comes back with the parser's message and position."""

    name = forms.CharField(label=gettext_lazy("Nom"), max_length=150)
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=Watchlist.Kind.choices,
        initial=Watchlist.Kind.TOPICS,
        help_text=gettext_lazy(
            "Noms : cherchés mot pour mot (sans tenir compte des accents ni des majuscules). "
            "Thèmes : cherchés par racine (« élections » trouve « élection »)."
        ),
    )
    query = forms.CharField(
        label=gettext_lazy("Requête"),
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=gettext_lazy(
            'Mots, "phrases", AND, OR, NOT, parenthèses, NEAR/5 (à 5 mots au plus, dans un '
            'ordre ou l\'autre), site:lemonde.fr, source:42 ou source:"Le Monde".'
        ),
    )
    labels = forms.CharField(
        label=gettext_lazy("Étiquettes"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Séparées par des virgules : candidat, adversaire, santé…"),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_query(self) -> str:
        query: str = self.cleaned_data["query"].strip()
        try:
            parse(query)
        except QueryError as error:
            raise forms.ValidationError(str(error), code="query") from error
        return query

    def clean_labels(self) -> list[str]:
        return clean_labels(self.cleaned_data.get("labels") or "")


class WatchlistTestForm(forms.Form):
    """The test box: a query not saved, tried over the last days."""

    kind = forms.ChoiceField(choices=Watchlist.Kind.choices, initial=Watchlist.Kind.TOPICS)
    query = forms.CharField(max_length=MAX_LENGTH)


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
