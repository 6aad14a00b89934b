"""Mission pages for volunteers: "Mes missions" (mobile first), a mission with its kit, claim,
release, proof, the leaderboards and the volunteer's mission settings. Thin: parse, authorize,
call a service, render. A mission or claim the user may not reach is a 404, never a 403, so
that ids reveal nothing. The pages that run missions are in mission_desk.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.accounts.models import Team
from essaim.accounts.services import notifications
from essaim.army.forms.missions import MissionSettingsForm, ProofForm
from essaim.army.models import (
    OWN_NAME_REMINDER,
    Claim,
    Mission,
    MissionKind,
    Volunteer,
    VolunteerMissionSettings,
)
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.army.services.notifications import VOLUNTEER_KINDS
from essaim.army.services.proofs import claim_picker, submit_proof
from essaim.army.views.common import post_only
from essaim.lib.numbers import ascii_int
from essaim.lib.pagination import time_keyset

MY_MISSIONS_LIMIT = 50
OFFERS_CURSOR = "offres"
# What a mission's card shows: the kit's JSON lists stay in the database (decoding six JSON
# values per card was a tenth of the page's time at 1,000 open missions).
CARD_FIELDS = ("kind", "title", "team", "deadline", "quota", "slots_taken")
CLAIMS_CURSOR = "prises"


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
    # The menu's count, shared with it: one query for both.
    unread = notifications.unread_count(request.user, VOLUNTEER_KINDS)
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


@login_required
def mission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    volunteer = _volunteer(request)
    claim = _own_claim(volunteer, pk)
    if claim is None and not svc.is_eligible(volunteer, pk):
        raise Http404
    notifications.mark_read_about(user_id=volunteer.pk, kinds=VOLUNTEER_KINDS, object_id=pk)
    return _mission_page(request, pk, claim, _proof_form(claim))


def _proof_form(claim: Claim | None, data: Any = None, files: Any = None) -> ProofForm:
    """The proof form, with the volunteer's things that may prove this kind of mission (a
    tracer's submissions for a `trace` mission: essaim.army.services.proof_picks)."""
    picker = claim_picker(claim) if claim is not None else None
    if picker is None or claim is None:
        return ProofForm(data, files)
    return ProofForm(data, files, picks=picker.choices(claim.volunteer_id), pick_label=picker.label)


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


@login_required
@post_only
def claim(request: HttpRequest, pk: int) -> HttpResponse:
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
@post_only
def release(request: HttpRequest, pk: int) -> HttpResponse:
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
@post_only
def prove(request: HttpRequest, pk: int) -> HttpResponse:
    volunteer = _volunteer(request)
    claim = _own_claim(volunteer, pk)
    if claim is None:
        raise Http404
    form = _proof_form(claim, request.POST, request.FILES)
    if form.is_valid():
        try:
            submit_proof(
                claim=claim,
                urls=form.cleaned_data["urls"].splitlines(),
                note=form.cleaned_data["note"],
                screenshot=form.cleaned_data["screenshot"],
                pick=form.cleaned_data.get("pick", ""),
            )
        except svc.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(request, _("Preuve envoyée : un coordinateur va la relire."))
            return redirect("army:my_missions")
    return _mission_page(request, pk, claim, form, status=400)


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
        if (team_pk := ascii_int(team_id)) is None:
            raise Http404
        team = get_object_or_404(Team, pk=team_pk)
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
