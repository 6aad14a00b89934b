"""Test factories for the army. `make_volunteer(...)` is the short way: an account, its volunteer
profile and its roles at the given stages, in one call (missions' tests may use it too)."""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterable, Mapping

from django.utils import timezone

from essaim.accounts.models import Membership, Role, Team, User
from essaim.army.models import RoleAssignment, RoleTransition, Stage, Volunteer, VolunteerRole
from essaim.people.tests.factories import ZONES_BY_POSTCODE

_seq = itertools.count(1)


def seed_roles() -> None:
    """The roles of migration 0002 again: a transactional test (live server, browser) flushes
    the tables, data migrations included, for the tests that come after it."""
    from django.apps import apps

    importlib.import_module("essaim.army.migrations.0002_seed_roles").seed(apps, None)


def role(slug: str) -> VolunteerRole:
    """One of the seeded roles (migration 0002), by slug."""
    if not VolunteerRole.objects.filter(slug=slug).exists():
        seed_roles()
    return VolunteerRole.objects.get(slug=slug)


def make_volunteer(
    email: str | None = None,
    *,
    roles: Mapping[str, str] | Iterable[str] = (),
    postcode: str = "75011",
    windows: int = 0,
    weekly_hours: int = 2,
    teams: Iterable[Team] = (),
    first_name: str = "Camille",
    password: str | None = None,
) -> Volunteer:
    """A volunteer with `roles` ({slug: stage} or slugs, stage applied) and member of `teams`."""
    n = next(_seq)
    user = User.objects.create_user(
        email or f"volontaire{n}@exemple.fr", password, role=Role.VOLUNTEER, full_name=first_name
    )
    departement, region = ZONES_BY_POSTCODE.get(postcode, ("", ""))
    volunteer = Volunteer.objects.create(
        user=user,
        first_name=first_name,
        postcode=postcode,
        departement=departement,
        region=region,
        windows=windows,
        weekly_hours=weekly_hours,
    )
    stages = dict(roles) if isinstance(roles, Mapping) else dict.fromkeys(roles, Stage.APPLIED)
    now = timezone.now()
    for slug, stage in stages.items():
        assignment = RoleAssignment.objects.create(
            volunteer=volunteer, role=role(slug), stage=stage, stage_changed_at=now
        )
        RoleTransition.objects.create(assignment=assignment, to_stage=stage, at=now)
    for team in teams:
        Membership.objects.create(team=team, user=user, state=Membership.State.MEMBER)
    return volunteer


def make_team(
    name: str | None = None,
    *,
    kind: str = Team.Kind.LOCAL,
    departement: str = "75",
    coordinators: Iterable[User] = (),
) -> Team:
    team = Team.objects.create(
        name=name or f"Équipe {next(_seq)}", kind=kind, departement=departement
    )
    for user in coordinators:
        Membership.objects.create(
            team=team, user=user, state=Membership.State.MEMBER, is_coordinator=True
        )
    return team


def make_inviter(
    email: str | None = None,
    *,
    stage: str = Stage.ACTIVE,
    trusted: bool = True,
    first_name: str = "Camille",
    **kwargs: object,
) -> Volunteer:
    """A volunteer with the mondain role at `stage`. `trusted`: an account old enough and with
    accepted work (essaim.army.services.inviters.standing), so that the full daily limit
    applies; else a new account, with the small one."""
    from datetime import timedelta

    from django.conf import settings

    volunteer = make_volunteer(
        email,
        roles={"mondain": stage},
        first_name=first_name,
        **kwargs,  # type: ignore[arg-type]
    )
    if trusted:
        joined = timezone.now() - timedelta(days=settings.INVITATIONS_NEW_ACCOUNT_DAYS + 30)
        User.objects.filter(pk=volunteer.pk).update(date_joined=joined)
        RoleAssignment.objects.filter(volunteer=volunteer).update(
            last_accepted_work_at=timezone.now() - timedelta(days=3)
        )
        volunteer.user.refresh_from_db()
    return volunteer
