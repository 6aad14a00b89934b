"""Teams: finding and joining one, a coordinator's dashboard, join decisions, role moves.
Thin views: rules.py decides who, services do the writing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from essaim.accounts.models import Membership, Team, User
from essaim.army import rules
from essaim.army.forms.teams import JoinForm, TeamForm
from essaim.army.labels import transition_reason
from essaim.army.models import ALLOWED_MOVES, RoleAssignment, RoleTransition, StaleStage, Volunteer
from essaim.army.services.invitations import reports_of as invitation_reports_of
from essaim.army.services.lifecycle import move_role
from essaim.army.services.teams import (
    NotPending,
    decide_request,
    leave_team,
    request_to_join,
    set_coordinator,
)
from essaim.lib.pagination import keyset_page, querystring
from essaim.lib.sorting import SortColumn, sorting_from

THEMATIC_SHOWN = 200


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# A team's members: the columns people may sort by (`?tri=`); each by the name the table shows
# (the volunteer's first name, else the account's name, else its address).
MEMBER_SORTS = (
    SortColumn(
        "nom",
        Coalesce(
            NullIf("user__volunteer__first_name", Value("")),
            NullIf("user__full_name", Value("")),
            "user__email",
        ),
        text=True,
    ),
    SortColumn("depuis", "joined_at", descending_first=True),
)
# HQ's list of every team: the columns people may sort by (`?tri=`).
TEAM_SORTS = (
    SortColumn("nom", "name", text=True),
    SortColumn("type", "kind"),
    SortColumn("departement", "departement"),
    SortColumn("creee", "created_at", descending_first=True),
)


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    """Everyone's entry to teams: theirs, the ones they run, and the ones they may join (local
    teams of their département, thematic teams). HQ gets every team, by pages."""
    user = _user(request)
    mine = list(
        Membership.objects.filter(user=user)
        .exclude(state=Membership.State.LEFT)
        .select_related("team")
        .order_by("team__name")
    )
    volunteer = Volunteer.objects.filter(pk=user.pk).first()
    context: dict[str, object] = {"mine": mine, "volunteer": volunteer}
    taken = {m.team_id for m in mine if m.state != Membership.State.DECLINED}
    if volunteer is not None:
        open_teams = Team.objects.filter(accepts_requests=True).exclude(pk__in=taken)
        context["local"] = list(
            open_teams.filter(kind=Team.Kind.LOCAL, departement=volunteer.departement).order_by(
                "name"
            )
        )
        context["thematic"] = list(
            open_teams.filter(kind=Team.Kind.THEMATIC).order_by("name")[:THEMATIC_SHOWN]
        )
    if rules.can_manage_teams(user):
        sorting = sorting_from(request, TEAM_SORTS, "nom")
        members = Count("memberships", filter=Q(memberships__state=Membership.State.MEMBER))
        teams = Team.objects.annotate(members=members)
        context["page"] = keyset_page(teams, request, size=50, sorting=sorting)
        context["sorting"] = sorting
        context["qs"] = querystring(request)
    return render(request, "army/team_list.html", context)


@login_required
@require_POST
def team_join(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    if not rules.can_request_to_join(request.user, team):
        raise PermissionDenied
    form = JoinForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Votre message est trop long (300 caractères au plus)."))
        return redirect("army:team_list")
    request_to_join(user=_user(request), team=team, message=form.cleaned_data["message"])
    messages.success(request, _("Demande envoyée aux coordinateurs de l'équipe."))
    return redirect("army:team_list")


@login_required
@require_POST
def team_leave(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    if leave_team(user=_user(request), team=team):
        messages.success(request, _("Vous avez quitté l'équipe."))
    return redirect("army:team_list")


def _team_run_by(request: HttpRequest, pk: int) -> Team:
    team = get_object_or_404(Team, pk=pk)
    if not rules.can_run_team(request.user, team):
        raise PermissionDenied
    return team


@login_required
def team_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Members with their roles, stages and availability; pending requests. Missions and
    proofs to review join here when the missions module comes. A fixed number of queries
    whatever the number of members."""
    team = _team_run_by(request, pk)
    assignments = Prefetch(
        "user__volunteer__assignments",
        queryset=RoleAssignment.objects.select_related("role").order_by("role__position"),
    )
    members = (
        Membership.objects.filter(team=team, state=Membership.State.MEMBER)
        .select_related("user", "user__volunteer")
        .prefetch_related(assignments)
    )
    sorting = sorting_from(request, MEMBER_SORTS, "nom")
    page = keyset_page(members, request, size=50, sorting=sorting)
    requests = list(
        Membership.objects.filter(team=team, state=Membership.State.REQUESTED)
        .select_related("user", "user__volunteer")
        .prefetch_related(assignments)
        .order_by("requested_at", "pk")[:200]
    )
    return render(
        request,
        "army/team_dashboard.html",
        {
            "team": team,
            "page": page,
            "sorting": sorting,
            "qs": querystring(request),
            "requests": requests,
            "can_manage": rules.can_manage_teams(request.user),
        },
    )


@login_required
@require_POST
def team_decide(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    team = _team_run_by(request, pk)
    membership = get_object_or_404(Membership, pk=membership_pk, team=team)
    decision = request.POST.get("decision")
    if decision not in {"approve", "decline"}:
        messages.error(request, _("Décision inconnue."))
        return redirect("army:team_dashboard", pk=team.pk)
    try:
        decide_request(membership=membership, approve=decision == "approve", actor=_user(request))
    except NotPending:
        messages.error(request, _("Cette demande a déjà été traitée."))
    else:
        messages.success(request, _("Décision enregistrée."))
    return redirect("army:team_dashboard", pk=team.pk)


@login_required
@require_POST
def team_coordinator(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    if not rules.can_manage_teams(request.user):
        raise PermissionDenied
    team = get_object_or_404(Team, pk=pk)
    membership = get_object_or_404(
        Membership, pk=membership_pk, team=team, state=Membership.State.MEMBER
    )
    set_coordinator(
        membership=membership,
        is_coordinator=request.POST.get("coordinator") == "1",
        actor=_user(request),
    )
    return redirect("army:team_dashboard", pk=team.pk)


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    if not rules.can_manage_teams(request.user):
        raise PermissionDenied
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = form.save(commit=False)
        if team.departement:
            from essaim.people.services.zones import zones

            team.region = zones().departements[team.departement][1]
        team.save()
        return redirect("army:team_dashboard", pk=team.pk)
    return render(request, "army/team_form.html", {"form": form})


def _member_of(
    team: Team, user_pk: int, states: tuple[str, ...] = (Membership.State.MEMBER,)
) -> tuple[Volunteer, Membership]:
    """The volunteer and their place in the team, in one of `states` (a member, by default:
    only a member's roles may be moved), else a 404."""
    membership = (
        Membership.objects.filter(team=team, user_id=user_pk, state__in=states)
        .select_related("user__volunteer")
        .first()
    )
    volunteer = getattr(membership.user, "volunteer", None) if membership else None
    if membership is None or volunteer is None:
        raise Http404
    return volunteer, membership


@login_required
def member_detail(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    """A member's roles with their whole history and the moves the lifecycle allows."""
    team = _team_run_by(request, pk)
    # A pending request's applicant too: whoever decides reads their roles first.
    volunteer, membership = _member_of(
        team, user_pk, (Membership.State.MEMBER, Membership.State.REQUESTED)
    )
    applicant = membership.state == Membership.State.REQUESTED
    assignments = list(
        RoleAssignment.objects.filter(volunteer=volunteer)
        .select_related("role", "stage_changed_by")
        .prefetch_related(
            Prefetch("transitions", queryset=RoleTransition.objects.select_related("by"))
        )
        .order_by("role__position")
    )
    moves = {a.pk: [] if applicant else sorted(ALLOWED_MOVES.get(a.stage, ())) for a in assignments}
    for assignment in assignments:
        for transition in assignment.transitions.all():
            transition.reason_label = transition_reason(transition.reason)  # type: ignore[attr-defined]
    reported = (
        invitation_reports_of(volunteer)
        if rules.can_see_invitation_reports_of(request.user, volunteer)
        else None
    )
    return render(
        request,
        "army/member_detail.html",
        {
            "team": team,
            "volunteer": volunteer,
            "membership": membership,
            "applicant": applicant,
            "invitations_reported": reported,
            "assignments": [(a, moves[a.pk]) for a in assignments],
        },
    )


@login_required
@require_POST
def role_move(request: HttpRequest, pk: int, user_pk: int, assignment_pk: int) -> HttpResponse:
    team = _team_run_by(request, pk)
    volunteer, _membership = _member_of(team, user_pk)
    assignment = get_object_or_404(RoleAssignment, pk=assignment_pk, volunteer=volunteer)
    try:
        move_role(
            assignment=assignment,
            stage=request.POST.get("stage", ""),
            actor=_user(request),
            reason=request.POST.get("reason", ""),
        )
    except ValueError:
        messages.error(request, _("Ce changement d'étape n'est pas possible."))
    except StaleStage:
        messages.error(request, _("Quelqu'un a changé cette étape entre-temps."))
    else:
        messages.success(request, _("Étape enregistrée."))
    return redirect("army:member_detail", pk=team.pk, user_pk=volunteer.pk)
