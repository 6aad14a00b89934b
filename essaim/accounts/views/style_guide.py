"""The living style guide: every component of the design system, drawn by the templates and
includes the pages use, each beside its markup (HQ only: it shows no data, but it is a tool for
the people who build the interface, not for volunteers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from essaim.accounts import rules
from essaim.lib.charts import Chart, Series
from essaim.lib.forms import SearchableSelectMultiple
from essaim.lib.sorting import SortColumn, Sorting, sorting_from
from essaim.lib.text import french_sort_key

# (anchor, title, example template under guide/examples/)
SECTIONS: tuple[tuple[str, Any, str], ...] = (
    ("couleurs", _("Couleurs et typographie"), "guide/examples/tokens.html"),
    ("en-tete", _("En-tête de page"), "guide/examples/page_header.html"),
    ("boutons", _("Boutons"), "guide/examples/buttons.html"),
    ("formulaires", _("Formulaires"), "guide/examples/forms.html"),
    ("recherche", _("Choix multiple avec recherche"), "guide/examples/searchable.html"),
    ("cartes", _("Cartes et chiffres"), "guide/examples/cards.html"),
    ("tableaux", _("Tableaux"), "guide/examples/tables.html"),
    ("badges", _("Badges et états"), "guide/examples/badges.html"),
    ("confirmation", _("Confirmation"), "guide/examples/confirm.html"),
    ("messages", _("Messages"), "guide/examples/messages.html"),
    ("vide", _("États vides"), "guide/examples/empty.html"),
    ("pagination", _("Pagination"), "guide/examples/pagination.html"),
    ("onglets", _("Onglets"), "guide/examples/tabs.html"),
    ("progression", _("Progression"), "guide/examples/progress.html"),
    ("notifications", _("Notifications"), "guide/examples/notifications.html"),
    ("graphiques", _("Graphiques et panneaux"), "guide/examples/charts.html"),
)


class ExampleForm(forms.Form):
    """A form of every kind of field, bound to wrong data so that errors show at their field."""

    name = forms.CharField(label=_("Nom de la campagne"), help_text=_("Visible du QG seulement."))
    email = forms.EmailField(label=_("Adresse de réponse"))
    channel = forms.ChoiceField(
        label=_("Canal"), choices=[("email", _("E-mail")), ("sms", _("SMS"))], required=False
    )
    purposes = forms.MultipleChoiceField(
        label=_("Finalités"),
        choices=[("news", _("Actualités")), ("volunteering", _("Bénévolat"))],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    confirm = forms.BooleanField(label=_("J'ai relu le message"))


class SearchableExampleForm(forms.Form):
    """The searchable multiple choice, on its own (its own ids: the page shows both forms)."""

    tags = forms.MultipleChoiceField(
        label=_("Étiquettes"),
        choices=[(t, t) for t in ("adhérents", "bénévoles", "donateurs", "presse", "élus")],
        widget=SearchableSelectMultiple(create=True),
        required=False,
        help_text=_("Tapez pour chercher ; Entrée ajoute une nouvelle étiquette."),
    )


# The tables example: sample campaigns, sorted by the guide's own `?tri=` as a real list is.
EXAMPLE_SORTS = (
    SortColumn("nom", "name", text=True),
    SortColumn("destinataires", "audience", descending_first=True),
    SortColumn("cree", "created", descending_first=True),
)


def example_campaigns(sorting: Sorting) -> list[SimpleNamespace]:
    rows = [
        SimpleNamespace(
            name=_("Relance J-3"),
            status="done",
            label=_("Terminée"),
            audience=48210,
            created=date(2027, 3, 2),
        ),
        SimpleNamespace(
            name=_("Appel aux volontaires"),
            status="sending",
            label=_("En cours d'envoi"),
            audience=220000,
            created=date(2027, 3, 5),
        ),
        SimpleNamespace(
            name=_("Meeting de Lyon"),
            status="draft",
            label=_("Brouillon"),
            audience=None,
            created=date(2027, 3, 6),
        ),
    ]
    keys: dict[str, Callable[[SimpleNamespace], Any]] = {
        "nom": lambda r: french_sort_key(str(r.name)),
        "destinataires": lambda r: -1 if r.audience is None else r.audience,
        "cree": lambda r: r.created,
    }
    return sorted(rows, key=keys[sorting.key], reverse=sorting.descending)


@dataclass
class Section:
    anchor: str
    title: str
    html: SafeString
    source: str


@login_required
def style_guide(request: HttpRequest) -> HttpResponse:
    if not rules.is_hq(request.user):
        raise PermissionDenied
    sorting = sorting_from(request, EXAMPLE_SORTS, "-cree")
    context = {
        # Sample figures and dates, written by the reader's language as the pages write them.
        "example_numbers": {"reachable": 182340, "active": 1208, "contacts": 2074},
        "example_day": date(2027, 3, 12),
        "example_sorting": sorting,
        "example_campaigns": example_campaigns(sorting),
        "example_form": ExampleForm({"name": "", "email": "pas-une-adresse", "channel": "email"}),
        "example_tags_form": SearchableExampleForm(initial={"tags": ["bénévoles"]}),
        "example_page": SimpleNamespace(
            has_prev=True, has_next=True, prev_cursor="exemple", next_cursor="exemple"
        ),
        # A chart is data (essaim.lib.charts.Chart) that includes/chart.html draws on a canvas
        # (Chart.js) and writes as a table; a dashboard panel (.panel) holds charts and figures.
        "example_chart": Chart(
            id="guide",
            title=str(_("Inscriptions par jour et par source")),
            kind="bar",
            labels=["02/03", "03/03", "04/03", "05/03", "06/03"],
            series=[
                Series(str(_("Formulaire d'inscription")), [12, 18, 9, 22, 31]),
                Series(str(_("Appel à volontaires")), [0, 4, 40, 26, 12]),
            ],
            stacked=True,
            row_header=str(_("Jour")),
        ),
        "example_tabs": [
            (_("Aperçu"), request.path),
            (_("Destinataires"), f"{request.path}?onglet=destinataires"),
            (_("Journal"), f"{request.path}?onglet=journal"),
        ],
    }
    sections = []
    for anchor, title, name in SECTIONS:
        template = loader.get_template(name)
        sections.append(
            Section(
                anchor=anchor,
                title=str(title),
                html=mark_safe(template.render(context, request)),  # our own templates
                source=template.template.source,  # type: ignore[attr-defined]
            )
        )
    return render(request, "guide/style_guide.html", {"sections": sections})
