"""The army over JSON: the volunteer's own profile and teams (mounted at /api/v1/).

A token acts as its user: a volunteer's token reads and edits its own profile, lists its own
teams and asks to join one; a team's coordinators (and HQ) read its members and decide its join
requests. Nothing here reaches the base. Missions, claims and proofs come with the missions
module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django import forms
from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.accounts.models import Membership, Team, User
from essaim.accounts.rules import is_active_user
from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut, field_error
from essaim.api.models import Scope
from essaim.army import rules
from essaim.army.forms import MAX_WEEKLY_HOURS, clean_skills, clean_zone_postcode
from essaim.army.models import (
    DAYS,
    PARTS_OF_DAY,
    Language,
    RoleAssignment,
    Volunteer,
    window_mask,
    windows_from_mask,
)
from essaim.army.services.profile import update_profile
from essaim.army.services.teams import NotPending, decide_request, request_to_join
from essaim.lib.pagination import api_page
from essaim.lib.text import clean_name

read_own = TokenAuth(is_active_user, Scope.READ)
write_own = TokenAuth(is_active_user, Scope.WRITE)

router = Router(tags=["army"])

MAX_ID = 2**63 - 1
MAX_PAGE = 500
_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_NOT_FOUND: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}


class Window(Schema):
    day: int = Field(ge=0, le=len(DAYS) - 1, description="0 = Monday … 6 = Sunday")
    part: int = Field(
        ge=0, le=len(PARTS_OF_DAY) - 1, description="0 morning, 1 afternoon, 2 evening"
    )


class RoleOut(Schema):
    role: str = Field(description="The role's slug (tchatcheur, traceur…).")
    name: str
    stage: str
    since: datetime
    last_accepted_work_at: datetime | None


class MembershipOut(Schema):
    team: int
    name: str
    kind: str
    departement: str
    state: str
    is_coordinator: bool


class ProfileOut(Schema):
    id: int
    email: str
    first_name: str
    postcode: str
    departement: str
    region: str
    weekly_hours: int
    windows: list[Window]
    skills: list[str]
    languages: list[str]
    roles: list[RoleOut]
    teams: list[MembershipOut]


class ProfileIn(Schema):
    """Only the fields given change."""

    first_name: str | None = Field(None, max_length=100)
    postcode: str | None = Field(None, max_length=10)
    weekly_hours: int | None = Field(None, ge=1, le=MAX_WEEKLY_HOURS)
    windows: list[Window] | None = Field(None, max_length=len(DAYS) * len(PARTS_OF_DAY))
    skills: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=50)
    languages: list[Language] | None = Field(None, min_length=1, max_length=len(Language.values))


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    departement: str
    region: str
    description: str
    accepts_requests: bool


class MemberOut(Schema):
    membership: int
    user: int
    first_name: str
    state: str
    is_coordinator: bool
    weekly_hours: int | None
    windows: list[Window]
    roles: list[RoleOut]
    message: str


class MemberPage(Schema):
    items: list[MemberOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class JoinIn(Schema):
    message: str = Field("", max_length=300)


class DecisionIn(Schema):
    approve: bool


# --- The volunteer's own profile ---------------------------------------------------------------


def _own(request: HttpRequest) -> Volunteer:
    volunteer = (
        Volunteer.objects.select_related("user").filter(pk=token_of(request).user.pk).first()
    )
    if volunteer is None:
        raise ApiError(404, "This token's user has no volunteer profile.")
    return volunteer


def _windows(mask: int) -> list[dict[str, int]]:
    return [{"day": d, "part": p} for d, p in windows_from_mask(mask)]


def _roles(assignments: Any) -> list[dict[str, Any]]:
    return [
        {
            "role": a.role.slug,
            "name": a.role.label,
            "stage": a.stage,
            "since": a.stage_changed_at,
            "last_accepted_work_at": a.last_accepted_work_at,
        }
        for a in assignments
    ]


def _membership(m: Membership) -> dict[str, Any]:
    return {
        "team": m.team_id,
        "name": m.team.name,
        "kind": m.team.kind,
        "departement": m.team.departement,
        "state": m.state,
        "is_coordinator": m.is_coordinator,
    }


def _profile(volunteer: Volunteer) -> dict[str, Any]:
    assignments = (
        RoleAssignment.objects.filter(volunteer=volunteer)
        .select_related("role")
        .order_by("role__position", "role_id")
    )
    memberships = (
        Membership.objects.filter(user=volunteer.pk)
        .exclude(state=Membership.State.LEFT)
        .select_related("team")
        .order_by("team__name")
    )
    return {
        "id": volunteer.pk,
        "email": volunteer.user.email,
        "first_name": volunteer.first_name,
        "postcode": volunteer.postcode,
        "departement": volunteer.departement,
        "region": volunteer.region,
        "weekly_hours": volunteer.weekly_hours,
        "windows": _windows(volunteer.windows),
        "skills": volunteer.skills,
        "languages": volunteer.languages,
        "roles": _roles(assignments),
        "teams": [_membership(m) for m in memberships],
    }


@router.get("/me", response={200: ProfileOut, **_NOT_FOUND}, auth=read_own)
def get_my_profile(request: HttpRequest) -> dict[str, Any]:
    """The token's user's own volunteer profile, roles (with stages) and teams."""
    return _profile(_own(request))


@router.patch("/me", response={200: ProfileOut, **_NOT_FOUND}, auth=write_own)
def update_my_profile(request: HttpRequest, payload: ProfileIn) -> dict[str, Any]:
    """Change one's own profile; fields left out keep their value. Roles are not changed here."""
    volunteer = _own(request)
    first_name = volunteer.first_name
    if payload.first_name is not None:
        first_name = clean_name(payload.first_name, max_length=100)
        if not first_name:
            raise field_error("first_name", "A first name cannot be empty.")
    postcode = volunteer.postcode
    if payload.postcode is not None:
        try:
            postcode = clean_zone_postcode(payload.postcode)
        except forms.ValidationError as exc:
            raise field_error("postcode", " ".join(exc.messages)) from exc
    skills = volunteer.skills
    if payload.skills is not None:
        try:
            skills = clean_skills(",".join(s.replace(",", " ") for s in payload.skills))
        except forms.ValidationError as exc:
            raise field_error("skills", " ".join(exc.messages)) from exc
    update_profile(
        volunteer=volunteer,
        first_name=first_name,
        postcode=postcode,
        weekly_hours=(
            payload.weekly_hours if payload.weekly_hours is not None else volunteer.weekly_hours
        ),
        windows=(
            window_mask((w.day, w.part) for w in payload.windows)
            if payload.windows is not None
            else volunteer.windows
        ),
        skills=skills,
        languages=(
            [str(code) for code in Language.values if code in set(payload.languages)]
            if payload.languages is not None
            else volunteer.languages
        ),
        add_role_slugs=[],
    )
    return _profile(volunteer)


# --- Teams ---------------------------------------------------------------------------------------


def _team(team: Team) -> dict[str, Any]:
    return {
        "id": team.pk,
        "name": team.name,
        "kind": team.kind,
        "departement": team.departement,
        "region": team.region,
        "description": team.description,
        "accepts_requests": team.accepts_requests,
    }


def _user(request: HttpRequest) -> User:
    return token_of(request).user


@router.get("/teams", response={200: list[MembershipOut], **_ERRORS}, auth=read_own)
def list_my_teams(request: HttpRequest) -> list[dict[str, Any]]:
    """The teams of the token's user: member, coordinator, or asking to join."""
    memberships = (
        Membership.objects.filter(user=_user(request))
        .exclude(state=Membership.State.LEFT)
        .select_related("team")
        .order_by("team__name")
    )
    return [_membership(m) for m in memberships]


def _visible_team(request: HttpRequest, team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ApiError(404, "No such team.")
    return team


@router.get("/teams/{id}", response={200: TeamOut, **_NOT_FOUND}, auth=read_own)
def get_team(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    """A team's public description (what the join page shows)."""
    return _team(_visible_team(request, id))


@router.get("/teams/{id}/members", response={200: MemberPage, **_NOT_FOUND}, auth=read_own)
def list_team_members(
    request: HttpRequest,
    id: int = Path(..., ge=1, le=MAX_ID),
    state: Literal["member", "requested"] = Query("member"),
    after: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Members (or pending requests: ?state=requested) with roles, stages and availability, for
    the team's coordinators and HQ; a keyset page at a time."""
    team = _visible_team(request, id)
    if not rules.can_run_team(_user(request), team):
        raise ApiError(403, "Only the team's coordinators and HQ see its members.")
    memberships = (
        Membership.objects.filter(team=team, state=state)
        .select_related("user", "user__volunteer")
        .prefetch_related(
            Prefetch(
                "user__volunteer__assignments",
                queryset=RoleAssignment.objects.select_related("role").order_by("role__position"),
            )
        )
    )
    return api_page(memberships, after=after, limit=limit, item=_member)


def _member(m: Membership) -> dict[str, Any]:
    volunteer = getattr(m.user, "volunteer", None)
    return {
        "membership": m.pk,
        "user": m.user_id,
        "first_name": volunteer.first_name if volunteer else m.user.full_name,
        "state": m.state,
        "is_coordinator": m.is_coordinator,
        "weekly_hours": volunteer.weekly_hours if volunteer else None,
        "windows": _windows(volunteer.windows) if volunteer else [],
        "roles": _roles(volunteer.assignments.all()) if volunteer else [],
        "message": m.message,
    }


@router.post("/teams/{id}/join", response={202: MembershipOut, **_NOT_FOUND}, auth=write_own)
def join_team(
    request: HttpRequest, payload: JoinIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[dict[str, Any]]:
    """Ask to join a team; its coordinators decide."""
    team = _visible_team(request, id)
    user = _user(request)
    if not rules.can_request_to_join(user, team):
        raise ApiError(403, "Only volunteers may ask to join, and only a team that accepts it.")
    m = request_to_join(user=user, team=team, message=clean_name(payload.message, 300))
    m.team = team
    return Status(202, _membership(m))


@router.post(
    "/teams/{id}/requests/{membership}",
    response={200: MembershipOut, 409: ErrorOut, **_NOT_FOUND},
    auth=write_own,
)
def decide_join_request(
    request: HttpRequest,
    payload: DecisionIn,
    id: int = Path(..., ge=1, le=MAX_ID),
    membership: int = Path(..., ge=1, le=MAX_ID),
) -> dict[str, Any]:
    """Approve or decline a pending join request (the team's coordinators and HQ)."""
    team = _visible_team(request, id)
    user = _user(request)
    if not rules.can_run_team(user, team):
        raise ApiError(403, "Only the team's coordinators and HQ decide its requests.")
    row = Membership.objects.filter(pk=membership, team=team).first()
    if row is None:
        raise ApiError(404, "No such request in this team.")
    try:
        decide_request(membership=row, approve=payload.approve, actor=user)
    except NotPending as exc:
        raise ApiError(409, "This request is not pending.") from exc
    row.team = team
    return _membership(row)
