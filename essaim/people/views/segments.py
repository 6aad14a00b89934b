"""Segment builder (HQ): list, create, edit, delete, and the live count the form asks for as its
filters change (htmx posts the form to `segment_count`, which answers with a fragment)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from essaim.lib.confirm import ask, confirmed
from essaim.lib.forms import SearchableSelectMultiple
from essaim.lib.numbers import is_ascii_digits
from essaim.lib.text import clean_name, french_sort_key
from essaim.people import rules
from essaim.people.models import Purpose, Segment, Tag
from essaim.people.services.segments import (
    CONSENT_CHOICES,
    TAG_MODES,
    SegmentDefinition,
    SegmentDefinitionError,
    SegmentInUse,
    count_segment,
    delete_segment,
    parse_definition,
    save_segment,
    segment_queryset,
    validate_definition,
)
from essaim.people.services.zones import zones

CONSENT_LABELS = {
    "granted": gettext_lazy("accordé"),
    "pending": gettext_lazy("en attente"),
    "withdrawn": gettext_lazy("retiré"),
    "none": gettext_lazy("aucun consentement"),
}
TAG_LABELS = {
    "any": gettext_lazy("Au moins une de ces étiquettes"),
    "all": gettext_lazy("Toutes ces étiquettes"),
    "none": gettext_lazy("Aucune de ces étiquettes"),
}
_SPLIT_CODES = re.compile(r"[\s,;]+")


def _ids(values: list[Any]) -> list[int]:
    return [int(v) for v in values]


class SegmentFiltersForm(forms.Form):
    """The filters of a segment, as form fields; `definition()` turns them into the document of
    essaim.people.services.segments, which does the real validation."""

    departements = forms.MultipleChoiceField(
        label=gettext_lazy("Départements"),
        required=False,
        widget=SearchableSelectMultiple(size=8),
    )
    regions = forms.MultipleChoiceField(
        label=gettext_lazy("Régions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    postcode_prefixes = forms.CharField(
        label=gettext_lazy("Codes postaux commençant par"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy("Séparés par des espaces ou des virgules, par exemple « 75 6900 »."),
    )
    sources = forms.CharField(
        label=gettext_lazy("Sources"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy("Séparées par des virgules, telles qu'enregistrées sur les fiches."),
    )
    created_from = forms.DateField(
        label=gettext_lazy("Créés à partir du"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    created_to = forms.DateField(
        label=gettext_lazy("Créés jusqu'au (inclus)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    include_segments = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Membres d'au moins un de ces segments"),
        coerce=int,
        required=False,
        widget=SearchableSelectMultiple(size=4),
    )
    exclude_segments = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Sauf les membres de ces segments"),
        coerce=int,
        required=False,
        widget=SearchableSelectMultiple(size=4),
    )

    def __init__(self, *args: Any, segment: Segment | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.segment = segment
        # One query each for tags and segments, shared by the fields that offer them.
        tag_choices = [(t.pk, t.name) for t in Tag.objects.only("pk", "name")]
        for mode in TAG_MODES:
            self.fields[f"tags_{mode}"] = forms.TypedMultipleChoiceField(
                label=TAG_LABELS[mode],
                choices=tag_choices,
                coerce=int,
                required=False,
                widget=SearchableSelectMultiple(),
            )
        for purpose, label in Purpose.choices:
            self.fields[f"consent_{purpose}"] = forms.MultipleChoiceField(
                label=_("Consentement « %s »") % label,
                choices=[(c, CONSENT_LABELS[c]) for c in CONSENT_CHOICES],
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        known = zones()
        departement_field = self.fields["departements"]
        assert isinstance(departement_field, forms.ChoiceField)
        departement_field.choices = [
            (code, f"{code} — {name}") for code, (name, _r) in sorted(known.departements.items())
        ]
        region_field = self.fields["regions"]
        assert isinstance(region_field, forms.ChoiceField)
        regions: list[tuple[str, str]] = sorted(
            known.regions.items(), key=lambda r: french_sort_key(r[1])
        )
        region_field.choices = regions
        others = Segment.objects.only("pk", "name")
        if segment is not None:
            others = others.exclude(pk=segment.pk)
        segment_choices = [(s.pk, s.name) for s in others]
        for name in ("include_segments", "exclude_segments"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = segment_choices

    @classmethod
    def initial_from(cls, definition: SegmentDefinition) -> dict[str, Any]:
        initial: dict[str, Any] = {
            f"tags_{mode}": list(getattr(definition.tags, mode)) for mode in TAG_MODES
        }
        initial |= {
            "departements": list(definition.departements),
            "regions": list(definition.regions),
            "postcode_prefixes": " ".join(definition.postcode_prefixes),
            "sources": ", ".join(definition.sources),
            "created_from": definition.created_from,
            "created_to": definition.created_to,
            "include_segments": list(definition.include_segments),
            "exclude_segments": list(definition.exclude_segments),
        }
        initial |= {f"consent_{p}": list(statuses) for p, statuses in definition.consents}
        return initial

    def definition(self) -> dict[str, Any]:
        """The definition document of the cleaned fields (call after is_valid())."""
        data = self.cleaned_data
        doc: dict[str, Any] = {"version": 1}
        tags = {mode: _ids(data.get(f"tags_{mode}") or []) for mode in TAG_MODES}
        if any(tags.values()):
            doc["tags"] = {mode: ids for mode, ids in tags.items() if ids}
        for name in ("departements", "regions"):
            if data.get(name):
                doc[name] = list(data[name])
        if prefixes := [p for p in _SPLIT_CODES.split(data.get("postcode_prefixes") or "") if p]:
            doc["postcode_prefixes"] = prefixes
        if sources := [s.strip() for s in (data.get("sources") or "").split(",") if s.strip()]:
            doc["sources"] = sources
        consents = {p: data[f"consent_{p}"] for p in Purpose.values if data.get(f"consent_{p}")}
        if consents:
            doc["consents"] = consents
        for name in ("created_from", "created_to"):
            if data.get(name):
                doc[name] = data[name].isoformat()
        for name in ("include_segments", "exclude_segments"):
            if data.get(name):
                doc[name] = _ids(data[name])
        return doc

    def validated_definition(self) -> SegmentDefinition | None:
        """Validate the document against the base (tags, segments, cycles); errors land on the
        fields they concern. None when invalid."""
        if not self.is_valid():
            return None
        try:
            return validate_definition(
                self.definition(), segment_id=self.segment.pk if self.segment else None
            )
        except SegmentDefinitionError as exc:
            for issue in exc.issues:
                self.add_error(_field_of(issue.path, self.fields), issue.message)
            return None


def _field_of(path: str, fields: dict[str, Any]) -> str | None:
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    if head == "tags":
        mode = path.split(".", 1)[1].split("[", 1)[0] if "." in path else ""
        name = f"tags_{mode}"
    elif head == "consents":
        purpose = path.split(".", 1)[1].split("[", 1)[0] if "." in path else ""
        name = f"consent_{purpose}"
    else:
        name = head
    return name if name in fields else None


class SegmentForm(SegmentFiltersForm):
    name = forms.CharField(label=gettext_lazy("Nom"), max_length=150)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=300, required=False)

    field_order = ["name", "description"]

    def clean_name(self) -> str:
        name = clean_name(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(_("Donnez un nom au segment."))
        taken = Segment.objects.filter(name=name)
        if self.segment is not None:
            taken = taken.exclude(pk=self.segment.pk)
        if taken.exists():
            raise forms.ValidationError(_("Un segment porte déjà ce nom."))
        return name


def _require_manager(request: HttpRequest) -> None:
    if not rules.can_manage_base(request.user):
        raise PermissionDenied


@login_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    segments = Segment.objects.select_related("created_by")
    return render(
        request,
        "people/segment_list.html",
        {"segments": segments, "can_export": rules.can_export(request.user)},
    )


def _edit(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    if request.method == "POST":
        form = SegmentForm(request.POST, segment=segment)
        definition = form.validated_definition()
        if definition is not None:
            try:
                saved = save_segment(
                    name=form.cleaned_data["name"],
                    description=clean_name(form.cleaned_data["description"], 300),
                    definition=definition,
                    user=request.user,
                    segment=segment,
                )
            except SegmentDefinitionError as exc:  # a referenced segment changed meanwhile
                form.add_error(None, str(exc))
            except IntegrityError:  # the same name, saved meanwhile
                form.add_error("name", _("Un segment porte déjà ce nom."))
            else:
                messages.success(
                    request,
                    _("Segment « %(name)s » enregistré : %(count)s contacts.")
                    % {"name": saved.name, "count": saved.last_count},
                )
                return redirect("people:segment_list")
    else:
        initial: dict[str, Any] = {}
        if segment is not None:
            try:
                initial = SegmentForm.initial_from(parse_definition(segment.definition))
            except SegmentDefinitionError as exc:
                messages.error(request, _("Définition enregistrée invalide : %s") % exc)
            initial |= {"name": segment.name, "description": segment.description}
        form = SegmentForm(initial=initial, segment=segment)
    return render(
        request,
        "people/segment_form.html",
        {"form": form, "segment": segment, "tag_modes": TAG_MODES},
    )


@login_required
@require_http_methods(["GET", "POST"])
def segment_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return _edit(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    return _edit(request, get_object_or_404(Segment, pk=pk))


@login_required
@require_POST
def segment_count(request: HttpRequest) -> HttpResponse:
    """The live count of the builder: the form's filters in, a fragment out (never saved)."""
    _require_manager(request)
    segment = None
    raw_id = request.POST.get("segment_id", "")
    if is_ascii_digits(raw_id):
        segment = Segment.objects.filter(pk=int(raw_id)).first()
    form = SegmentFiltersForm(request.POST, segment=segment)
    definition = form.validated_definition()
    count = None if definition is None else segment_queryset(definition).count()
    return render(
        request, "people/segment_form.html#live_count", {"count": count, "count_form": form}
    )


@login_required
@require_POST
def segment_recount(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    segment = get_object_or_404(Segment, pk=pk)
    error = ""
    try:
        count_segment(segment)
    except SegmentDefinitionError as exc:
        error = str(exc)
    if getattr(request, "htmx", False):
        return render(
            request, "people/segment_list.html#count", {"segment": segment, "error": error}
        )
    if error:
        messages.error(request, error)
    return redirect("people:segment_list")


@login_required
@require_http_methods(["GET", "POST"])
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    segment = get_object_or_404(Segment, pk=pk)
    if not confirmed(request):
        return ask(
            request,
            dialog_id="delete-dialog",
            title=_("Supprimer le segment « %s » ?") % segment.name,
            text=_(
                "Les campagnes déjà lancées gardent leurs destinataires ; un brouillon qui le "
                "visait n'aura plus de public."
            ),
            confirm_label=_("Supprimer"),
            tone="danger",
            action=reverse("people:segment_delete", args=[segment.pk]),
            cancel_url=reverse("people:segment_list"),
            eyebrow=_("Supprimer le segment"),
            heading=segment.name,
        )
    try:
        delete_segment(segment)
    except SegmentInUse as exc:
        messages.error(
            request,
            _("« %(name)s » est utilisé par d'autres segments : %(users)s. Retirez-le d'abord.")
            % {"name": segment.name, "users": ", ".join(s.name for s in exc.segments)},
        )
    else:
        messages.success(request, _("Segment « %s » supprimé.") % segment.name)
    return redirect("people:segment_list")
