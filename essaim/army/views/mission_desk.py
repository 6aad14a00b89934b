"""Pages that run missions (coordinators for their teams, HQ for all): the missions run,
a new mission, a draft's edit, a copy, publication (confirmed first), the review queue, a review
and the proofs' screenshots. Thin: parse, authorize (rules/missions.py), call a service, render.
A mission or claim the user may not reach is a 404. Closing a mission and its kit are in
kits.py, HQ's oversight in oversight.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_htmx.http import HttpResponseClientRedirect

from essaim.accounts.models import Team
from essaim.army.forms.missions import MissionForm, mission_terms
from essaim.army.models import (
    Claim,
    Mission,
    Proof,
)
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.army.views.common import post_only, run_mission
from essaim.lib.sorting import SortColumn, choice_order, sorting_from

QUEUE_LIMIT = 50


# The list's columns people may sort by (`?tri=`). A national mission has no team: its scope
# sorts as an empty name, before every team's.
MISSION_SORTS = (
    SortColumn("titre", "title", text=True),
    SortColumn("portee", Coalesce("team__name", Value("")), text=True),
    SortColumn("etat", choice_order("status", Mission.Status.values)),
    SortColumn("echeance", "deadline"),
    SortColumn("creee", "created_at", descending_first=True),
)


@login_required
def missions_run(request: HttpRequest) -> HttpResponse:
    """The missions this user runs: all for HQ, their teams' for a coordinator."""
    scope = rules.review_scope(request.user)
    if scope is not None and not scope:
        # A coordinator's account before HQ puts it at the head of a team: the page its menu
        # leads to says so, rather than "forbidden".
        if not getattr(request.user, "is_coordinator", False):
            raise PermissionDenied
        return render(request, "army/missions/missions_run.html", {"no_team": True})
    sorting = sorting_from(request, MISSION_SORTS, "-creee")
    qs = sorting.apply(Mission.objects.select_related("role", "team"))
    if scope is not None:
        qs = qs.filter(team_id__in=scope)
    return render(
        request,
        "army/missions/missions_run.html",
        {
            "missions": list(qs[:100]),
            "sorting": sorting,
            "is_hq": scope is None,
            "cap": settings.MISSION_MAX_POINTS,
        },
    )


def _team_of(request: HttpRequest, data: dict[str, Any]) -> Team | None:
    """The form's team, if this user may put a mission there (the form offers only those)."""
    team_id = int(data["team"]) if data["team"] else None
    if not rules.can_create_mission(request.user, team_id):
        raise PermissionDenied
    return Team.objects.get(pk=team_id) if team_id else None


@login_required
def mission_create(request: HttpRequest) -> HttpResponse:
    if not rules.can_review(request.user):
        raise PermissionDenied
    form = MissionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team = _team_of(request, data)
        try:
            svc.create_mission(
                by=request.user,  # type: ignore[arg-type]
                team=team,
                targeting=svc.Targeting(stages=data["stages"], departements=data["departements"]),
                **mission_terms(data),
            )
        except svc.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(request, _("Mission enregistrée en brouillon."))
            return redirect("army:missions_run")
    return render(request, "army/missions/mission_form.html", {"form": form})


def _not_a_draft(request: HttpRequest, mission: Mission) -> HttpResponse:
    """Back to the missions, told why: only a draft is edited or published from here."""
    messages.error(
        request,
        _(
            "La mission « %(title)s » n'est plus un brouillon : elle ne se modifie plus et ne "
            "se publie plus. Dupliquez-la pour en préparer une autre."
        )
        % {"title": mission.title},
    )
    url = reverse("army:missions_run")
    if getattr(request, "htmx", False):
        # An htmx request would follow a redirect into the dialog: the browser goes instead.
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
def mission_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's form, filled with its values. A published mission is not edited: volunteers
    were told what it says."""
    mission = run_mission(request, pk)
    if mission.status != Mission.Status.DRAFT:
        return _not_a_draft(request, mission)
    form = MissionForm(request.POST or None, user=request.user, mission=mission)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team = _team_of(request, data)
        try:
            svc.update_draft(
                mission=mission,
                team=team,
                stages=data["stages"],
                departements=data["departements"],
                **mission_terms(data),
            )
        except svc.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(
                request, _("Brouillon « %(title)s » enregistré.") % {"title": mission.title}
            )
            return redirect("army:missions_run")
    return render(request, "army/missions/mission_form.html", {"form": form, "mission": mission})


@login_required
@post_only
def mission_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft copy of any mission its runner may run, opened for editing."""
    mission = run_mission(request, pk)
    copy = svc.duplicate_mission(mission=mission, by=request.user)  # type: ignore[arg-type]
    messages.success(
        request, _("Mission dupliquée : relisez le brouillon, modifiez-le, puis publiez-le.")
    )
    return redirect("army:mission_edit", pk=copy.pk)


def _publish_question(mission: Mission) -> dict[str, Any]:
    """The confirmation's words (includes/confirm.html): how many volunteers publishing will
    notify, counted by the query the publication notifies from."""
    preview = svc.publish_preview(mission)
    n = preview.notified
    if preview.needs_approval:
        title = _("Envoyer la mission au QG pour approbation ?")
        text = ngettext(
            "Ses %(points)d points dépassent le plafond de %(cap)d : elle sera publiée quand un "
            "membre du QG l'aura approuvée. Aujourd'hui, elle préviendrait %(n)s volontaire.",
            "Ses %(points)d points dépassent le plafond de %(cap)d : elle sera publiée quand un "
            "membre du QG l'aura approuvée. Aujourd'hui, elle préviendrait %(n)s volontaires.",
            n,
        ) % {"points": mission.points, "cap": settings.MISSION_MAX_POINTS, "n": n}
        label = _("Envoyer au QG")
    elif n == 0:
        title = _("Publier sans prévenir personne ?")
        text = _(
            "Aucun volontaire ne correspond aujourd'hui au ciblage de cette mission (rôle, "
            "étapes, zone, équipe, créneaux) avec assez de temps libre dans sa semaine."
        )
        label = _("Publier")
    else:
        title = ngettext(
            "Publier et prévenir %(n)s volontaire ?", "Publier et prévenir %(n)s volontaires ?", n
        ) % {"n": n}
        text = _(
            "Ils la trouveront dans leurs missions et dans leur résumé par e-mail. Une mission "
            "publiée ne se modifie plus."
        )
        label = _("Publier")
    return {
        "id": "publish-dialog",
        "title": title,
        "text": text,
        "confirm_label": label,
        "action": reverse("army:mission_publish", args=[mission.pk]),
        "cancel_url": reverse("army:missions_run"),
        "notified": n,
    }


@login_required
def mission_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publishing asks first: GET (or a POST without `confirm`) shows how many volunteers will
    be notified — a page of its own without script, the dialog's content through htmx — and
    only the confirmation's POST publishes."""
    mission = run_mission(request, pk)
    if mission.status != Mission.Status.DRAFT:
        return _not_a_draft(request, mission)
    if request.method != "POST" or request.POST.get("confirm") != "1":
        question = _publish_question(mission)
        if getattr(request, "htmx", False):
            return render(request, "includes/confirm.html", question)
        return render(
            request, "army/missions/mission_publish.html", {"mission": mission, **question}
        )
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
                request,
                ngettext(
                    "Mission publiée : %(n)d volontaire prévenu.",
                    "Mission publiée : %(n)d volontaires prévenus.",
                    notified,
                )
                % {"n": notified},
            )
    return redirect("army:missions_run")


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
@post_only
def review(request: HttpRequest, pk: int) -> HttpResponse:
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
