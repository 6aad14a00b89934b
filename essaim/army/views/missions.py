"""Mission pages: "Mes missions" (mobile first), a mission with its kit, claim, proof, the
review queue, leaderboards and the volunteer's mission settings. Thin: parse, authorize, call a
service, render. A mission or claim the user may not reach is a 404, never a 403, so that ids
reveal nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.accounts.models import Team
from essaim.army import mission_rules as rules
from essaim.army.models import (
    OWN_NAME_REMINDER,
    Claim,
    Mission,
    MissionKind,
    Notification,
    Proof,
    Stage,
    TalkingPointVersion,
    Volunteer,
    VolunteerMissionSettings,
    VolunteerRole,
)
from essaim.army.services import missions as svc
from essaim.army.services.proofs import clean_urls, submit_proof
from essaim.army.services.talking_points import current_versions
from essaim.lib.pagination import time_keyset

MY_MISSIONS_LIMIT = 50
OFFERS_CURSOR = "offres"
# What a mission's card shows: the kit's JSON lists stay in the database (decoding six JSON
# values per card was a tenth of the page's time at 1,000 open missions).
CARD_FIELDS = ("kind", "title", "team", "deadline", "quota", "slots_taken")
CLAIMS_CURSOR = "prises"
QUEUE_LIMIT = 50


def _volunteer(request: HttpRequest) -> Volunteer:
    volunteer = rules.volunteer_of(request.user)
    if volunteer is None:
        raise PermissionDenied
    return volunteer


def _own_claim(volunteer: Volunteer, mission_id: int) -> Claim | None:
    return Claim.objects.filter(mission_id=mission_id, volunteer=volunteer).first()


@login_required
def my_missions(request: HttpRequest) -> HttpResponse:
    """The missions open to me and my claims, each list paged by keyset (`?offres=`,
    `?prises=` cursors): the same eight queries whatever the page (session and user, the
    volunteer and their facts, one per list, the unread count)."""
    volunteer = _volunteer(request)
    facts = svc.facts_of(volunteer)
    mine = Claim.objects.filter(mission=OuterRef("pk"), volunteer=volunteer)
    offers, offers_next = time_keyset(
        svc.eligible_missions(facts)
        .filter(~Exists(mine), slots_taken__lt=F("quota"))
        .select_related("team")
        .only(*CARD_FIELDS, "team__name"),
        "deadline",
        request.GET.get(OFFERS_CURSOR, ""),
        MY_MISSIONS_LIMIT,
    )
    claims, claims_next = time_keyset(
        Claim.objects.filter(volunteer=volunteer)
        .exclude(status=Claim.Status.RELEASED)
        .select_related("mission__talking_point__point")
        .only(
            "mission_id",
            "status",
            "feedback",
            "points",
            "claimed_at",
            "mission__title",
            "mission__talking_point__point__retired_at",
        ),
        "claimed_at",
        request.GET.get(CLAIMS_CURSOR, ""),
        MY_MISSIONS_LIMIT,
        descending=True,
    )
    unread = Notification.objects.filter(volunteer=volunteer, read_at__isnull=True).count()
    # Labels looked up once: get_FOO_display() rebuilds the choices' dict at every call.
    kinds = dict(MissionKind.choices)
    statuses = dict(Claim.Status.choices)
    for mission in offers:
        mission.kind_label = kinds.get(mission.kind, mission.kind)  # type: ignore[attr-defined]
    for claim in claims:
        claim.status_label = statuses.get(claim.status, claim.status)  # type: ignore[attr-defined]

    def page_url(key: str, cursor: str | None) -> str:
        params = request.GET.copy()
        params.pop(key, None)
        if cursor:
            params[key] = cursor
        return f"{request.path}?{params.urlencode()}" if params else request.path

    paged = OFFERS_CURSOR in request.GET or CLAIMS_CURSOR in request.GET
    return render(
        request,
        "army/missions/my_missions.html",
        {
            "offers": offers,
            "claims": claims,
            "unread": unread,
            "reminder": OWN_NAME_REMINDER,
            "offers_next_url": page_url(OFFERS_CURSOR, offers_next) if offers_next else "",
            "claims_next_url": page_url(CLAIMS_CURSOR, claims_next) if claims_next else "",
            "first_url": request.path if paged else "",
        },
    )


class ProofForm(forms.Form):
    urls = forms.CharField(
        label=gettext_lazy("Adresses (une par ligne)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "inputmode": "url"}),
    )
    screenshot = forms.FileField(label=gettext_lazy("Capture d'écran"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


@login_required
def mission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    volunteer = _volunteer(request)
    claim = _own_claim(volunteer, pk)
    if claim is None and not svc.is_eligible(volunteer, pk):
        raise Http404
    Notification.objects.filter(volunteer=volunteer, mission_id=pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return _mission_page(request, pk, claim, ProofForm())


def _mission_page(
    request: HttpRequest, pk: int, claim: Claim | None, form: ProofForm, status: int = 200
) -> HttpResponse:
    mission = get_object_or_404(
        Mission.objects.select_related("role", "team", "talking_point__point"), pk=pk
    )
    return render(
        request,
        "army/missions/mission_detail.html",
        {
            "mission": mission,
            "files": list(mission.files.all()),
            "claim": claim,
            "form": form,
            "reminder": OWN_NAME_REMINDER,
            "can_prove": claim is not None
            and claim.status in (Claim.Status.CLAIMED, Claim.Status.RETURNED),
        },
        status=status,
    )


def _post_only(request: HttpRequest) -> None:
    if request.method != "POST":
        raise Http404


@login_required
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    volunteer = _volunteer(request)
    try:
        svc.claim_mission(volunteer=volunteer, mission_id=pk)
    except Mission.DoesNotExist:
        raise Http404 from None
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(request, _("Mission prise : à vous de jouer !"))
    return redirect("army:mission_detail", pk=pk)


@login_required
def release(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    claim = _own_claim(_volunteer(request), pk)
    if claim is None:
        raise Http404
    try:
        svc.release_claim(claim=claim)
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
        return redirect("army:mission_detail", pk=pk)
    messages.success(request, _("Mission rendue : la place est libre pour quelqu'un d'autre."))
    return redirect("army:my_missions")


@login_required
def prove(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    volunteer = _volunteer(request)
    claim = _own_claim(volunteer, pk)
    if claim is None:
        raise Http404
    form = ProofForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            submit_proof(
                claim=claim,
                urls=form.cleaned_data["urls"].splitlines(),
                note=form.cleaned_data["note"],
                screenshot=form.cleaned_data["screenshot"],
            )
        except svc.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(request, _("Preuve envoyée : un coordinateur va la relire."))
            return redirect("army:my_missions")
    return _mission_page(request, pk, claim, form, status=400)


@login_required
def screenshot(request: HttpRequest, pk: int) -> FileResponse:
    """A proof's screenshot, to its author and to the mission's reviewers only."""
    proof = get_object_or_404(
        Proof.objects.select_related("claim__mission").exclude(screenshot=""), pk=pk
    )
    if not (
        rules.owns_claim(request.user, proof.claim)
        or rules.can_review_claim(request.user, proof.claim)
    ):
        raise Http404
    response = FileResponse(proof.screenshot.open("rb"))
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Review -------------------------------------------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    if not rules.can_review(request.user):
        raise PermissionDenied
    scope = rules.review_scope(request.user)
    claims = list(
        svc.review_queue(teams=scope)
        .select_related("mission", "mission__team", "volunteer")
        .prefetch_related(
            Prefetch(
                "proofs",
                queryset=Proof.objects.prefetch_related("links").order_by("-submitted_at", "-id"),
            )
        )[:QUEUE_LIMIT]
    )
    return render(request, "army/missions/review_queue.html", {"claims": claims})


@login_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    claim = get_object_or_404(Claim.objects.select_related("mission"), pk=pk)
    if not rules.can_review_claim(request.user, claim):
        raise Http404
    try:
        if request.POST.get("decision") == "accept":
            svc.accept_claim(claim=claim, by=request.user)  # type: ignore[arg-type]
            messages.success(request, _("Preuve acceptée."))
        elif request.POST.get("decision") == "return":
            svc.return_claim(
                claim=claim,
                by=request.user,  # type: ignore[arg-type]
                feedback=request.POST.get("feedback", ""),
            )
            messages.success(request, _("Preuve renvoyée au volontaire."))
        else:
            messages.error(request, _("Choisissez d'accepter ou de renvoyer."))
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
    return redirect("army:review_queue")


# --- Leaderboards and settings ------------------------------------------------------------------

PERIODS = {
    "week": (gettext_lazy("7 derniers jours"), timedelta(days=7)),
    "month": (gettext_lazy("30 derniers jours"), timedelta(days=30)),
    "all": (gettext_lazy("Depuis le début"), None),
}


@login_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Per team, per zone, per period. Anyone logged in sees names that were not opted out."""
    period = request.GET.get("period", "month")
    if period not in PERIODS:
        period = "month"
    delta = PERIODS[period][1]
    team_id = request.GET.get("team", "")
    team = None
    if team_id:
        if not team_id.isascii() or not team_id.isdigit():
            raise Http404
        team = get_object_or_404(Team, pk=int(team_id))
    departement = request.GET.get("departement", "")[:3]
    standings = svc.leaderboard(
        team=team.pk if team else None,
        departement=departement,
        since=timezone.now() - delta if delta else None,
    )
    return render(
        request,
        "army/missions/leaderboard.html",
        {
            "standings": standings,
            "periods": [(key, label) for key, (label, _d) in PERIODS.items()],
            "period": period,
            "team": team,
            "departement": departement,
        },
    )


class MissionSettingsForm(forms.ModelForm):
    class Meta:
        model = VolunteerMissionSettings
        fields = ("digest", "leaderboard_opt_out")


@login_required
def mission_settings(request: HttpRequest) -> HttpResponse:
    volunteer = _volunteer(request)
    prefs, _created = VolunteerMissionSettings.objects.get_or_create(volunteer=volunteer)
    form = MissionSettingsForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Réglages enregistrés."))
        return redirect("army:mission_settings")
    return render(request, "army/missions/settings.html", {"form": form})


# --- Running missions (coordinators for their teams, HQ for all) -------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


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
        label=gettext_lazy("Échéance"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
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
    embed_codes = _lines_field(gettext_lazy("Codes d'intégration (un par ligne)"), 2)
    watch_channels = _lines_field(
        gettext_lazy("Veille : chaînes, sites, archives (un par ligne)"), 2
    )
    watch_slots = _lines_field(gettext_lazy("Veille : créneaux (un par ligne)"), 2)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
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
        points.queryset = current_versions(rules.library_scope(user))  # type: ignore[attr-defined]
        points.label_from_instance = (  # type: ignore[attr-defined]
            lambda v: f"{v.point.title} (v{v.number})"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("target_sites", "kit_files", "video_links"):
            try:
                data[name] = clean_urls(_lines(data.get(name, "")), limit=svc.MAX_KIT_URLS)
            except svc.MissionError as refused:
                self.add_error(name, str(refused.message))
        for name in ("embed_codes", "watch_channels", "watch_slots"):
            data[name] = _lines(data.get(name, ""))
        data["departements"] = [
            d.strip().upper() for d in data.get("departements", "").split(",") if d.strip()
        ]
        return data


@login_required
def missions_run(request: HttpRequest) -> HttpResponse:
    """The missions this user runs: all for HQ, their teams' for a coordinator."""
    scope = rules.review_scope(request.user)
    if scope is not None and not scope:
        raise PermissionDenied
    qs = Mission.objects.select_related("role", "team").order_by("-created_at", "-pk")
    if scope is not None:
        qs = qs.filter(team_id__in=scope)
    return render(
        request,
        "army/missions/missions_run.html",
        {
            "missions": list(qs[:100]),
            "is_hq": scope is None,
            "cap": settings.MISSION_MAX_POINTS,
        },
    )


@login_required
def mission_create(request: HttpRequest) -> HttpResponse:
    if not rules.can_review(request.user):
        raise PermissionDenied
    form = MissionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team_id = int(data["team"]) if data["team"] else None
        if not rules.can_create_mission(request.user, team_id):
            raise PermissionDenied
        try:
            svc.create_mission(
                by=request.user,  # type: ignore[arg-type]
                kind=data["kind"],
                title=data["title"],
                brief=data["brief"],
                role=data["role"],
                quota=data["quota"],
                deadline=data["deadline"],
                team=Team.objects.get(pk=team_id) if team_id else None,
                targeting=svc.Targeting(stages=data["stages"], departements=data["departements"]),
                talking_point=data["talking_point"],
                points=data["points"],
                per_volunteer_minutes=data["per_volunteer_minutes"],
                **{k: data[k] for k in KIT_FIELDS},
            )
        except svc.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(request, _("Mission enregistrée en brouillon."))
            return redirect("army:missions_run")
    return render(request, "army/missions/mission_form.html", {"form": form})


KIT_FIELDS = (
    "target_sites",
    "kit_files",
    "video_links",
    "embed_codes",
    "watch_channels",
    "watch_slots",
)


@login_required
def mission_publish(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    mission = get_object_or_404(Mission, pk=pk)
    if not rules.can_run_mission(request.user, mission):
        raise Http404
    try:
        notified = svc.publish_mission(mission=mission, by=request.user)  # type: ignore[arg-type]
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
    else:
        if mission.status == Mission.Status.AWAITING:
            messages.warning(
                request,
                _(
                    "Mission envoyée au QG : ses %(points)d points dépassent le plafond de "
                    "%(cap)d. Elle sera publiée quand un membre du QG l'aura approuvée."
                )
                % {"points": mission.points, "cap": settings.MISSION_MAX_POINTS},
            )
        else:
            messages.success(
                request, _("Mission publiée : %(n)d volontaires prévenus.") % {"n": notified}
            )
    return redirect("army:missions_run")
