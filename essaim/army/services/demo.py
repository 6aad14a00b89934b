"""The army's part of the demo: a place for the accounts `make run` prints.

Without it the coordinator runs no team (its "Missions" page refuses it) and the volunteer has no
profile (its "Mon espace", "Mes missions" and "Mes invitations" refuse it). Here the coordinator
coordinates a local team of its zone with a few members, one request waiting for its decision
and published missions; the volunteer signed up as a real person would (the volunteering consent
with its proof, through the sign-up service), holds the mondain and tchatcheur roles, active
(trained then activated by the coordinator, audited as any move), is a member of that team and
is offered its missions.

Idempotent: `make run` runs it at every start. Everything is looked up before it is made, so a
second run writes nothing; a mission is made again only once the earlier one is no longer open
(closed or past its deadline), so that "Mes missions" is never empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from essaim.accounts.models import Membership, Team, User
from essaim.accounts.services import DEMO_COORDINATOR, DEMO_VOLUNTEER, ensure_demo_accounts
from essaim.army.models import (
    Mission,
    MissionKind,
    RoleAssignment,
    Stage,
    Volunteer,
    VolunteerRole,
    window_mask,
)
from essaim.army.services.lifecycle import move_role
from essaim.army.services.missions import Targeting, create_mission, publish_mission
from essaim.army.services.signup import VolunteerSignup, confirm_enlistment
from essaim.army.services.teams import decide_request, request_to_join

TEAM_NAME = "Paris 11e — démo"
USER_AGENT = "essaim demo"
MISSION_DAYS = 60


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    postcode: str
    roles: dict[str, str]  # slug: stage to reach
    windows: tuple[tuple[int, int], ...] = ((5, 2), (6, 0))  # Saturday evening, Sunday morning
    member: bool = True  # False: a request to join, waiting for the coordinator


PEOPLE = (
    DemoPerson(
        DEMO_VOLUNTEER,
        "Volontaire",
        "Démo",
        "75011",
        {"mondain": Stage.ACTIVE, "tchatcheur": Stage.ACTIVE},
        ((1, 2), (3, 2), (5, 0), (5, 1)),
    ),
    DemoPerson(
        "camille.martin@essaim.localhost",
        "Camille",
        "Martin",
        "75011",
        {"tchatcheur": Stage.ACTIVE, "colleur": Stage.TRAINED},
    ),
    DemoPerson(
        "karim.benali@essaim.localhost",
        "Karim",
        "Benali",
        "75020",
        {"colleur": Stage.ACTIVE, "mondain": Stage.APPLIED},
    ),
    DemoPerson(
        "lea.moreau@essaim.localhost",
        "Léa",
        "Moreau",
        "75012",
        {"redacteur": Stage.TRAINED},
    ),
    DemoPerson(
        "ines.roux@essaim.localhost",
        "Inès",
        "Roux",
        "75010",
        {"tchatcheur": Stage.APPLIED},
        member=False,
    ),
)

MISSIONS = (
    (
        MissionKind.RELAY,
        "tchatcheur",
        "Relayer l'argumentaire sur les transports du quotidien",
        "Répondez dans deux discussions de forums ou de groupes locaux avec l'argumentaire sur "
        "les transports, en votre nom, puis déposez les liens de vos messages comme preuve.",
    ),
    (
        MissionKind.INVITE,
        "mondain",
        "Inviter trois proches à la réunion publique du quartier",
        "Invitez depuis votre carnet d'adresses trois personnes que vous connaissez à la réunion "
        "publique de samedi, en votre nom propre.",
    ),
)

# The path of a role from applied to each stage (ALLOWED_MOVES), the coordinator's moves.
PATHS: dict[str, tuple[str, ...]] = {
    Stage.APPLIED: (),
    Stage.TRAINED: (Stage.TRAINED,),
    Stage.ACTIVE: (Stage.TRAINED, Stage.ACTIVE),
}


def seed_demo_army() -> str:
    """Give the demo coordinator its team and the demo volunteer its place (see the module's
    docstring); returns a one-line summary for the `demo` command."""
    accounts = ensure_demo_accounts()
    coordinator = accounts[DEMO_COORDINATOR]
    team = _coordinated_team(coordinator)
    profiles = 0
    for person in PEOPLE:
        profiles += _enlist(person, team=team, coordinator=coordinator)
    missions = _open_missions(team=team, coordinator=coordinator)
    return (
        f"team {team.name!r} run by {coordinator.email}, {profiles} volunteer profiles created, "
        f"{missions} missions published"
    )


def _coordinated_team(coordinator: User) -> Team:
    zone = coordinator.zones[0] if coordinator.zones else "75"
    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            name=TEAM_NAME,
            defaults={
                "kind": Team.Kind.LOCAL,
                "departement": zone,
                "description": "L'équipe locale de la démo : ses volontaires relaient, tractent "
                "et invitent dans le quartier.",
            },
        )
        Membership.objects.update_or_create(
            team=team,
            user=coordinator,
            defaults={"state": Membership.State.MEMBER, "is_coordinator": True},
        )
    return team


def _enlist(person: DemoPerson, *, team: Team, coordinator: User) -> int:
    """Sign the person up (once), bring their roles to their stages and into the team. Returns 1
    if the profile was created now."""
    created = 0
    volunteer = Volunteer.objects.filter(user__email__iexact=person.email).first()
    if volunteer is None:
        now = timezone.now()
        signup = VolunteerSignup(
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            postcode=person.postcode,
            phone="",
            roles=tuple(person.roles),
            weekly_hours=3,
            windows=window_mask(person.windows),
            skills=(),
            languages=("fr",),
            ip=None,
            user_agent=USER_AGENT,
            requested_at=now,
        )
        enlistment = confirm_enlistment(signup=signup, ip=None, user_agent=USER_AGENT)
        if enlistment is None:  # the person withdrew the volunteering consent: leave them be
            return 0
        volunteer, created = enlistment.volunteer, int(enlistment.profile_created)
    assignments = RoleAssignment.objects.filter(
        volunteer=volunteer, role__slug__in=list(person.roles)
    ).select_related("role")
    for assignment in assignments:
        if assignment.stage != Stage.APPLIED:
            continue  # already moved: by an earlier run, or by someone trying the demo
        for stage in PATHS[person.roles[assignment.role.slug]]:
            move_role(assignment=assignment, stage=stage, actor=coordinator, reason="démo")
    user = volunteer.user
    membership = request_to_join(user=user, team=team)
    if person.member and membership.state == Membership.State.REQUESTED:
        decide_request(membership=membership, approve=True, actor=coordinator)
    return created


def _open_missions(*, team: Team, coordinator: User) -> int:
    """Publish each demo mission of the team that is not open (any more, or yet)."""
    now = timezone.now()
    published = 0
    for kind, role_slug, title, brief in MISSIONS:
        is_open = Mission.objects.filter(
            team=team,
            title=title,
            status=Mission.Status.PUBLISHED,
            deadline__gt=now,
        ).exists()
        if is_open:
            continue
        mission = create_mission(
            by=coordinator,
            kind=kind,
            title=title,
            brief=brief,
            role=VolunteerRole.objects.get(slug=role_slug),
            quota=20,
            deadline=now + timedelta(days=MISSION_DAYS),
            team=team,
            targeting=Targeting(stages=(Stage.ACTIVE,)),
        )
        publish_mission(mission=mission, by=coordinator)
        published += 1
    return published
