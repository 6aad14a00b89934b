"""Forms of missions: a volunteer's proof and mission settings, and the runners' mission and kit
forms. Lists typed one per line become lists here (split_lines), so that views and the API hand
the services the same values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.army.models import (
    Mission,
    MissionKind,
    Stage,
    TalkingPointVersion,
    VolunteerMissionSettings,
    VolunteerRole,
)
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.army.services.kits import MAX_KIT_FILE_BYTES
from essaim.army.services.proof_picks import Pick
from essaim.army.services.proofs import clean_urls
from essaim.army.services.talking_points import current_versions

# The kit's fields of MissionForm, handed as they are to create_mission and update_draft.
KIT_FIELDS = svc.KIT_FIELDS


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def split_codes(text: str) -> list[str]:
    """Embed codes, separated by a line `---` (a code may span several lines)."""
    codes: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if is_separator(line):
            codes.append([])
        else:
            codes[-1].append(line)
    return [code for code in ("\n".join(lines).strip() for lines in codes) if code]


def is_separator(line: str) -> bool:
    return line.strip() == "---"


class ProofForm(forms.Form):
    """`picks`: the volunteer's things that may prove this mission (proof_picks), offered as one
    more field when there are any."""

    def __init__(
        self, *args: Any, picks: list[Pick] | None = None, pick_label: Any = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if picks:
            self.fields["pick"] = forms.ChoiceField(
                label=pick_label,
                required=False,
                choices=[("", "—"), *((p.key, p.label) for p in picks)],
            )
            # Picked first: on a phone, the tracer's submission is the proof.
            self.order_fields(["pick", "urls", "screenshot", "note"])

    urls = forms.CharField(
        label=gettext_lazy("Adresses (une par ligne)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "inputmode": "url"}),
    )
    screenshot = forms.FileField(label=gettext_lazy("Capture d'écran"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MissionSettingsForm(forms.ModelForm):
    class Meta:
        model = VolunteerMissionSettings
        fields = ("leaderboard_opt_out",)


def _lines_field(label: Any, rows: int) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}))


class MissionForm(forms.Form):
    team = forms.ChoiceField(label=gettext_lazy("Portée"), required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=MissionKind.choices)
    role = forms.ModelChoiceField(label=gettext_lazy("Rôle"), queryset=VolunteerRole.objects.all())
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    brief = forms.CharField(
        label=gettext_lazy("Consignes"), widget=forms.Textarea(attrs={"rows": 5})
    )
    stages = forms.MultipleChoiceField(
        label=gettext_lazy("Étapes visées"),
        choices=Stage.choices,
        initial=[Stage.ACTIVE],
        widget=forms.CheckboxSelectMultiple,
    )
    departements = forms.CharField(
        label=gettext_lazy("Départements visés (séparés par des virgules, vide : partout)"),
        required=False,
        max_length=300,
    )
    quota = forms.IntegerField(
        label=gettext_lazy("Nombre de réalisations"), min_value=1, max_value=100_000
    )
    deadline = forms.DateTimeField(
        label=gettext_lazy("Échéance"),
        # The format a datetime-local input reads back (a draft's edit shows its deadline).
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    points = forms.IntegerField(
        label=gettext_lazy("Points"), min_value=0, max_value=1000, initial=10
    )
    per_volunteer_minutes = forms.IntegerField(
        label=gettext_lazy("Durée estimée (minutes)"), min_value=1, max_value=1440, initial=30
    )
    talking_point = forms.ModelChoiceField(
        label=gettext_lazy("Argument"),
        queryset=TalkingPointVersion.objects.none(),
        required=False,
    )
    target_sites = _lines_field(gettext_lazy("Sites, forums, fils visés (un par ligne)"), 3)
    kit_files = _lines_field(gettext_lazy("Fichiers et visuels (adresses, une par ligne)"), 2)
    video_links = _lines_field(gettext_lazy("Liens vidéo (un par ligne)"), 2)
    embed_codes = _lines_field(
        gettext_lazy(
            "Codes d'intégration (un par ligne, ou séparés par une ligne --- s'ils tiennent sur "
            "plusieurs lignes)"
        ),
        2,
    )
    watch_channels = _lines_field(
        gettext_lazy("Veille : chaînes, sites, archives (un par ligne)"), 2
    )
    watch_slots = _lines_field(gettext_lazy("Veille : créneaux (un par ligne)"), 2)

    def __init__(
        self, *args: Any, user: Any, mission: Mission | None = None, **kwargs: Any
    ) -> None:
        """`mission`: the draft being edited, its values as the initial ones."""
        if mission is not None:
            kwargs.setdefault("initial", initial_of(mission))
        super().__init__(*args, **kwargs)
        choices = rules.team_choices(user)
        self.fields["team"].choices = choices  # type: ignore[attr-defined]
        # Only HQ is offered the national scope (the empty choice): anyone else must pick a
        # team, else the empty value would pass the form and meet a 403.
        self.fields["team"].required = all(value for value, _label in choices)
        self.fields["points"].help_text = _(
            "Au-delà de %(cap)d points, la mission attend l'accord d'un membre du QG avant "
            "d'être publiée."
        ) % {"cap": settings.MISSION_MAX_POINTS}
        points = self.fields["talking_point"]
        versions = current_versions(rules.library_scope(user))
        if mission is not None and mission.talking_point_id is not None:
            # A draft keeps the version it points at, even when a newer one came out since.
            versions = (
                TalkingPointVersion.objects.filter(
                    Q(pk__in=versions.values("pk")) | Q(pk=mission.talking_point_id)
                )
                .select_related("point")
                .order_by("point__title", "-number")
            )
        points.queryset = versions  # type: ignore[attr-defined]
        points.label_from_instance = (  # type: ignore[attr-defined]
            lambda v: f"{v.point.title} (v{v.number})"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("target_sites", "kit_files", "video_links"):
            try:
                data[name] = clean_urls(split_lines(data.get(name, "")), limit=svc.MAX_KIT_URLS)
            except svc.MissionError as refused:
                self.add_error(name, str(refused.message))
        codes = data.get("embed_codes", "")
        data["embed_codes"] = split_codes(codes) if has_separator(codes) else split_lines(codes)
        for name in ("watch_channels", "watch_slots"):
            data[name] = split_lines(data.get(name, ""))
        data["departements"] = [
            d.strip().upper() for d in data.get("departements", "").split(",") if d.strip()
        ]
        return data


def mission_terms(data: dict[str, Any]) -> dict[str, Any]:
    """The create and edit services' arguments from a valid MissionForm's cleaned data, but the
    team and the targeting (the army's pages and the watch's Respond share it)."""
    return {
        "kind": data["kind"],
        "title": data["title"],
        "brief": data["brief"],
        "role": data["role"],
        "quota": data["quota"],
        "deadline": data["deadline"],
        "talking_point": data["talking_point"],
        "points": data["points"],
        "per_volunteer_minutes": data["per_volunteer_minutes"],
        **{k: data[k] for k in KIT_FIELDS},
    }


def has_separator(text: str) -> bool:
    return any(is_separator(line) for line in text.splitlines())


def initial_of(mission: Mission) -> dict[str, Any]:
    """A mission's values as MissionForm shows them: lists one item per line, the stages and
    départements it targets."""
    codes = mission.embed_codes
    # A code on several lines needs the separator lines (one closes the list, so that a single
    # code reads as one when the form comes back).
    multiline = any("\n" in code for code in codes)
    return {
        "team": str(mission.team_id) if mission.team_id else "",
        "kind": mission.kind,
        "role": mission.role_id,
        "title": mission.title,
        "brief": mission.brief,
        "stages": sorted(set(mission.targets.values_list("stage", flat=True))),
        "departements": ", ".join(
            mission.zones.exclude(departement="")
            .order_by("departement")
            .values_list("departement", flat=True)
        ),
        "quota": mission.quota,
        "deadline": mission.deadline,
        "points": mission.points,
        "per_volunteer_minutes": mission.per_volunteer_minutes,
        "talking_point": mission.talking_point_id,
        **{name: "\n".join(getattr(mission, name)) for name in KIT_FIELDS if name != "embed_codes"},
        "embed_codes": "\n---\n".join(codes) + "\n---" if multiline else "\n".join(codes),
    }


class KitForm(forms.Form):
    target_sites = forms.CharField(
        label=gettext_lazy("Sites, forums, fils visés (un par ligne)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    video_links = forms.CharField(
        label=gettext_lazy("Liens vidéo (un par ligne)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    embed_codes = forms.CharField(
        label=gettext_lazy("Codes d'intégration (séparés par une ligne ---)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Fichier (image, vidéo MP4/WebM/Ogg ou PDF)"),
        help_text=gettext_lazy(
            "%(mb)d Mo au plus. Les images sont réenregistrées sans leurs métadonnées ; les SVG "
            "sont refusés."
        )
        % {"mb": MAX_KIT_FILE_BYTES // (1024 * 1024)},
    )
