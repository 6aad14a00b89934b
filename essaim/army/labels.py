"""The words of the army's codes: the sentences of its audit entries (teams, roles, missions,
invitations, calls), the objects they link to, the keys of their details, and the timeline
events that invitations and enlistments write on a contact. Registered from ArmyConfig.ready."""

from __future__ import annotations

import re
import time
from typing import Any

from django.urls import reverse
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import Team
from essaim.accounts.rules import is_hq
from essaim.accounts.services.audit_log import (
    Entry,
    ObjectKind,
    load_by_pk,
    register_action,
    register_family,
    register_object,
)
from essaim.accounts.services.vocabulary import choices, number, numbered, register_details
from essaim.army import rules
from essaim.army.models import Call, Mission, RoleAssignment, Stage, Volunteer, VolunteerRole
from essaim.army.rules import missions as mission_rules
from essaim.mailing.rules import can_manage_campaigns
from essaim.people.services.timeline import register_event

# Roles are rows HQ may add or rename: their labels are read again after a minute at most,
# once per language, rather than once per detail shown.
_ROLE_LABELS_TTL = 60.0
_role_labels_cache: dict[str, tuple[float, dict[str, str]]] = {}


def role_labels() -> dict[str, str]:
    """Role labels in the active language by slug and by id (details keep one or the other)."""
    language = get_language() or ""
    cached = _role_labels_cache.get(language)
    if cached is not None and time.monotonic() - cached[0] < _ROLE_LABELS_TTL:
        return cached[1]
    labels: dict[str, str] = {}
    for role in VolunteerRole.objects.all():
        labels[role.slug] = labels[str(role.pk)] = role.label
    _role_labels_cache[language] = (time.monotonic(), labels)
    return labels


# Why a role moved, as the code writes it (a coordinator's own words are kept as typed).
TRANSITION_REASONS = {
    "sign-up": _("inscription"),
    "profile": _("ajouté depuis son espace"),
    "accepted work": _("travail accepté"),
}
_LAPSE_RE = re.compile(r"no accepted work for (\d+) weeks")


def transition_reason(reason: str) -> str:
    """A role transition's reason in words."""
    lapse = _LAPSE_RE.fullmatch(reason)
    if lapse:
        weeks = int(lapse.group(1))
        return ngettext(
            "aucun travail accepté depuis %(n)s semaine",
            "aucun travail accepté depuis %(n)s semaines",
            weeks,
        ) % {"n": weeks}
    return str(TRANSITION_REASONS.get(reason, reason))


def volunteer_name(volunteer: Volunteer) -> str:
    return volunteer.user.full_name or volunteer.user.email


def register() -> None:
    register_family("army", _("Armée de volontaires"), ("army.", "call."), order=30)
    _register_objects()
    register_action(
        "army.mission_approval_requested",
        lambda e: e.say(
            gettext(
                "%(actor)s a demandé l'accord du QG pour publier la mission %(object)s "
                "(%(points)s points, au-delà de %(cap)s)"
            ),
            object=e.object,
            points=number(int(e.detail("points", 0) or 0)),
            cap=number(int(e.detail("cap", 0) or 0)),
        ),
    )
    register_action(
        "army.mission_approved",
        lambda e: e.say(
            gettext("%(actor)s a approuvé la mission %(object)s de %(author)s (%(points)s points)"),
            object=e.object,
            author=e.ref("author", "accounts.user"),
            points=number(int(e.detail("points", 0) or 0)),
        ),
        refs={"author": "accounts.user"},
    )
    register_action("army.mission_refused", _mission_refused, refs={"author": "accounts.user"})
    member = {"member": "accounts.user"}
    register_action(
        "army.join_approved",
        lambda e: e.say(
            gettext("%(actor)s a accepté %(member)s dans l'équipe %(object)s"),
            member=e.ref("member", "accounts.user"),
            object=e.object,
        ),
        refs=member,
    )
    register_action(
        "army.join_declined",
        lambda e: e.say(
            gettext("%(actor)s a refusé la demande de %(member)s pour l'équipe %(object)s"),
            member=e.ref("member", "accounts.user"),
            object=e.object,
        ),
        refs=member,
    )
    register_action(
        "army.coordinator_set",
        lambda e: e.say(
            gettext("%(actor)s a confié la coordination de l'équipe %(object)s à %(member)s"),
            member=e.ref("member", "accounts.user"),
            object=e.object,
        ),
        refs=member,
    )
    register_action(
        "army.coordinator_unset",
        lambda e: e.say(
            gettext("%(actor)s a retiré la coordination de l'équipe %(object)s à %(member)s"),
            member=e.ref("member", "accounts.user"),
            object=e.object,
        ),
        refs=member,
    )
    register_action(
        "army.invitation_reported",
        lambda e: e.say(
            gettext(
                "Une personne invitée par %(object)s a signalé l'invitation comme indésirable "
                "(invitation %(invitation)s)"
            ),
            object=e.object,
            invitation=numbered(e.detail("invitation")),
        ),
    )
    register_action("army.invitations_suspended", _invitations_suspended)
    register_action(
        "army.invitations_lifted",
        lambda e: e.say(
            gettext("%(actor)s a levé la suspension des invitations de %(object)s"),
            object=e.object,
        ),
    )
    register_action(
        "army.role_moved",
        _role_moved,
        refs={"volunteer": "army.volunteer", "role": "army.volunteerrole"},
    )
    register_action("army.volunteer_enlisted", _volunteer_enlisted)
    register_action(
        "call.create",
        lambda e: e.say(
            gettext(
                "%(actor)s a créé l'appel à volontaires %(object)s (campagne %(campaign)s, "
                "segment %(segment)s)"
            ),
            object=e.object,
            campaign=e.ref("campaign", "mailing.campaign"),
            segment=e.ref("segment", "people.segment"),
        ),
        refs={"campaign": "mailing.campaign", "segment": "people.segment"},
    )
    stages = choices(dict(Stage.choices))
    register_details(
        {
            "roles": (_("rôles"), choices(role_labels)),
            "role": (_("rôle"), choices(role_labels)),
            "volunteer": (_("volontaire"), numbered),
            "invitation": (_("invitation"), numbered),
            "inviter": (_("volontaire qui invite"), numbered),
            "from_stage": (_("étape de départ"), stages),
            "to_stage": (_("nouvelle étape"), stages),
            "member": (_("membre"), numbered),
            "author": (_("auteur"), numbered),
            "points": _("points"),
            "cap": _("plafond"),
            "reports": _("signalements"),
            "window_days": _("période (jours)"),
            "account_created": _("compte créé"),
            "call": (_("appel"), numbered),
            "call_delivery": (_("envoi de l'appel"), numbered),
        }
    )
    register_event("invited", _("Invitation d'un volontaire envoyée"))
    register_event("invitation_confirmed", _("Invitation acceptée"))
    register_event("invitation_reported", _("Invitation signalée comme indésirable"))
    register_event("volunteer_roles_requested", _("Rôles de volontaire demandés"))
    register_event("volunteer_signup_confirmed", _("Engagement de volontaire confirmé"))


def _register_objects() -> None:
    register_object(
        "accounts.team",
        ObjectKind(
            load=load_by_pk(Team),
            name=lambda t: t.name,
            url=lambda t, reader: (
                reverse("army:team_dashboard", args=[t.pk])
                if rules.can_run_team(reader, t)
                else None
            ),
        ),
    )
    register_object(
        "army.mission",
        ObjectKind(
            load=load_by_pk(Mission),
            name=lambda m: m.title,
            url=lambda m, reader: (
                reverse("army:mission_kit", args=[m.pk])
                if mission_rules.can_run_mission(reader, m)
                else None
            ),
        ),
    )
    register_object(
        "army.call",
        ObjectKind(
            load=load_by_pk(Call),
            name=lambda c: c.title,
            url=lambda c, reader: (
                reverse("army:call_detail", args=[c.pk]) if can_manage_campaigns(reader) else None
            ),
        ),
    )
    register_object(
        "army.volunteer",
        ObjectKind(
            load=load_by_pk(Volunteer, related=["user"]),
            name=volunteer_name,
            url=lambda v, reader: (
                reverse("army:accepted_work", args=[v.pk]) if is_hq(reader) else None
            ),
            quoted=False,
        ),
    )
    register_object(
        "army.volunteerrole", ObjectKind(load=load_by_pk(VolunteerRole), name=lambda r: r.label)
    )
    register_object(
        "army.roleassignment",
        ObjectKind(
            load=load_by_pk(RoleAssignment, related=["role", "volunteer__user"]),
            name=lambda a: f"{a.role.label} — {volunteer_name(a.volunteer)}",
        ),
    )


def _mission_refused(entry: Entry) -> str:
    sentence = entry.say(
        gettext("%(actor)s a refusé la mission %(object)s de %(author)s"),
        object=entry.object,
        author=entry.ref("author", "accounts.user"),
    )
    if entry.detail("reason"):
        return entry.say(
            gettext("%(sentence)s : « %(reason)s »"),
            sentence=sentence,
            reason=entry.detail("reason"),
        )
    return sentence


def _invitations_suspended(entry: Entry) -> str:
    reports = int(entry.detail("reports", 0) or 0)
    return entry.say(
        ngettext(
            "Invitations de %(object)s suspendues : %(reports)s signalement en %(days)s jours",
            "Invitations de %(object)s suspendues : %(reports)s signalements en %(days)s jours",
            reports,
        ),
        object=entry.object,
        reports=number(reports),
        days=number(int(entry.detail("window_days", 0) or 0)),
    )


def _role_moved(entry: Entry) -> str:
    stages = dict(Stage.choices)
    return entry.say(
        gettext(
            "%(actor)s a fait passer %(volunteer)s de « %(from)s » à « %(to)s » dans le rôle "
            "%(role)s"
        ),
        volunteer=entry.ref("volunteer", "army.volunteer"),
        role=entry.ref("role", "army.volunteerrole"),
        **{
            "from": stages.get(entry.detail("from_stage"), entry.detail("from_stage")),
            "to": stages.get(entry.detail("to_stage"), entry.detail("to_stage")),
        },
    )


def _volunteer_enlisted(entry: Entry) -> str:
    roles: Any = entry.detail("roles") or []
    labels = role_labels()
    names = ", ".join(labels.get(str(r), str(r)) for r in roles)
    if entry.detail("account_created"):
        template = gettext(
            "%(actor)s a rejoint les volontaires, compte créé (rôles demandés : %(roles)s)"
        )
    else:
        template = gettext("%(actor)s a rejoint les volontaires (rôles demandés : %(roles)s)")
    return entry.say(template, roles=names or "—")
