"""Test factories for the army (factory_boy): volunteers, inviters, teams, missions and calls.

    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team], postcode="69003")
    InviterFactory.create(stage=Stage.APPLIED, trusted=False)
    TeamFactory.create(name="Paris 11e", coordinators=[coordinator.user])
    MissionFactory.create(team=team, quota=1, publish=False)
    CallFactory.create(segment=segment, user=hq)

Missions and calls are made by their services (create_mission, publish_mission, create_call),
as the pages and the API make them, so that their targeting rows, campaign and counters exist.
The make_* functions are the same factories called with the older positional signatures; tests
outside army/tests still use them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import factory
from django.conf import settings
from django.utils import timezone

from essaim.accounts.models import Membership, Role, Team, User
from essaim.army.models import (
    Call,
    Mission,
    MissionKind,
    RoleAssignment,
    RoleTransition,
    Stage,
    Volunteer,
    VolunteerRole,
)
from essaim.army.services.calls import create_call
from essaim.army.services.missions import create_mission, publish_mission
from essaim.people.tests.factories import ZONES_BY_POSTCODE


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


def give_roles(volunteer: Volunteer, roles: Mapping[str, str] | Iterable[str]) -> None:
    """`roles` as {slug: stage}, or slugs at the applied stage, each with its first transition."""
    stages = dict(roles) if isinstance(roles, Mapping) else dict.fromkeys(roles, Stage.APPLIED)
    now = timezone.now()
    for slug, stage in stages.items():
        assignment = RoleAssignment.objects.create(
            volunteer=volunteer, role=role(slug), stage=stage, stage_changed_at=now
        )
        RoleTransition.objects.create(assignment=assignment, to_stage=stage, at=now)


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    """A team; `coordinators`: users made its coordinating members."""

    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Équipe {n}")
    kind = Team.Kind.LOCAL
    departement = "75"
    coordinators = ()

    @classmethod
    def _create(cls, model_class: type[Team], *args: Any, **kwargs: Any) -> Team:
        coordinators: Iterable[User] = kwargs.pop("coordinators")
        team = super()._create(model_class, *args, **kwargs)
        for user in coordinators:
            Membership.objects.create(
                team=team, user=user, state=Membership.State.MEMBER, is_coordinator=True
            )
        return team


class VolunteerFactory(factory.django.DjangoModelFactory[Volunteer]):
    """A volunteer's account and profile, with `roles` ({slug: stage}, or slugs at the applied
    stage) and member of `teams`. The zone follows the postcode."""

    class Meta:
        model = Volunteer

    email = factory.Sequence(lambda n: f"volontaire{n}@exemple.fr")
    password = None
    first_name = "Camille"
    postcode = "75011"
    departement = factory.LazyAttribute(lambda o: ZONES_BY_POSTCODE.get(o.postcode, ("", ""))[0])
    region = factory.LazyAttribute(lambda o: ZONES_BY_POSTCODE.get(o.postcode, ("", ""))[1])
    windows = 0
    weekly_hours = 2
    roles = factory.LazyAttribute(lambda o: ())
    teams = ()

    @classmethod
    def _create(cls, model_class: type[Volunteer], *args: Any, **kwargs: Any) -> Volunteer:
        email, password = kwargs.pop("email"), kwargs.pop("password")
        roles, teams = kwargs.pop("roles"), kwargs.pop("teams")
        # The account through its manager, as every account is made (normalized, hashed).
        user = User.objects.create_user(
            email, password, role=Role.VOLUNTEER, full_name=kwargs["first_name"]
        )
        volunteer = super()._create(model_class, *args, user=user, **kwargs)
        give_roles(volunteer, roles)
        for team in teams:
            Membership.objects.create(team=team, user=user, state=Membership.State.MEMBER)
        return volunteer


class InviterFactory(VolunteerFactory):
    """A volunteer with the mondain role at `stage`. `trusted`: an account old enough and with
    accepted work (essaim.army.services.inviters.standing), so that the full daily limit
    applies; else a new account, with the small one."""

    class Params:
        stage = Stage.ACTIVE

    roles = factory.LazyAttribute(lambda o: {"mondain": o.stage})
    trusted = True

    @classmethod
    def _create(cls, model_class: type[Volunteer], *args: Any, **kwargs: Any) -> Volunteer:
        trusted = kwargs.pop("trusted")
        volunteer = super()._create(model_class, *args, **kwargs)
        if trusted:
            joined = timezone.now() - timedelta(days=settings.INVITATIONS_NEW_ACCOUNT_DAYS + 30)
            User.objects.filter(pk=volunteer.pk).update(date_joined=joined)
            RoleAssignment.objects.filter(volunteer=volunteer).update(
                last_accepted_work_at=timezone.now() - timedelta(days=3)
            )
            volunteer.user.refresh_from_db()
        return volunteer


class MissionFactory(factory.django.DjangoModelFactory[Mission]):
    """A mission made by create_mission (any of its arguments may be given: points, targeting,
    talking_point, kit fields…) and, unless `publish=False`, published and dispatched."""

    class Meta:
        model = Mission

    class Params:
        role_slug = "tchatcheur"

    by = None
    kind = MissionKind.RELAY
    title = "Relayer le discours de Lille"
    brief = "Lisez le discours et parlez-en avec vos mots sur les forums que vous fréquentez."
    role = factory.LazyAttribute(lambda o: role(o.role_slug))
    quota = 3
    deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))
    team = None
    targeting = None
    publish = True

    @classmethod
    def _create(cls, model_class: type[Mission], *args: Any, **kwargs: Any) -> Mission:
        publish = kwargs.pop("publish")
        mission = create_mission(**kwargs)
        if publish:
            publish_mission(mission=mission)
            mission.refresh_from_db()
        return mission


class CallFactory(factory.django.DjangoModelFactory[Call]):
    """A call for volunteers made by create_call, to `segment` (required), with its campaign."""

    class Meta:
        model = Call

    user = None
    title = "Appel aux bonnes volontés numériques"
    text_markdown = "Si **mille** personnes nous disent qu'elles ont du temps…"
    roles = factory.LazyFunction(lambda: [role("tchatcheur"), role("traceur")])
    subject = "La campagne a besoin de vous"
    body_markdown = 'Bonjour {{ first_name|default:"ami·e" }},\n\n[Répondre]({{ call_url }})'
    from_address = "equipe@essaim.localhost"

    @classmethod
    def _create(cls, model_class: type[Call], *args: Any, **kwargs: Any) -> Call:
        return create_call(**kwargs)


# --- The older signatures (positional address or name), for the tests that still call them ------


def make_volunteer(email: str | None = None, **kwargs: Any) -> Volunteer:
    return VolunteerFactory.create(**kwargs, **({"email": email} if email else {}))


def make_team(name: str | None = None, **kwargs: Any) -> Team:
    return TeamFactory.create(**kwargs, **({"name": name} if name else {}))


def make_inviter(email: str | None = None, **kwargs: Any) -> Volunteer:
    return InviterFactory.create(**kwargs, **({"email": email} if email else {}))
