"""Respond: a story turned into a new mission through the army's own form and service, the
mission remembering its story. The prefill describes the story and gives its links; it never
writes a message to paste (volunteers act in their own words)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from essaim.accounts.models import Team, User
from essaim.accounts.services import audit
from essaim.army.models import Claim, Mission, MissionKind, ProofLink, VolunteerRole
from essaim.army.services import missions as army
from essaim.watch.models import Item, Story, StoryMission, Watchlist

# The echoes offered as target sites besides the first source: the earliest originals.
MAIN_ECHOES = 5
# The role each kind of response is for, by default (the runner may change it in the form).
ROLE_OF_KIND: dict[str, str] = {
    MissionKind.RELAY.value: "tchatcheur",
    MissionKind.PLACE.value: "colleur",
    MissionKind.TRACE.value: "traceur",
}


def story_links(story: Story) -> list[str]:
    """The first source's URL, then the main echoes' (originals first, in the order seen)."""
    links: list[str] = []
    if story.first_item_id is not None and story.first_item and story.first_item.url:
        links.append(story.first_item.url)
    echoes = (
        Item.objects.filter(story=story)
        .exclude(url="")
        .order_by("is_reprint", "seen_at", "pk")
        .values_list("url", flat=True)[: MAIN_ECHOES + 1]
    )
    for url in echoes:
        if url not in links and len(links) <= MAIN_ECHOES:
            links.append(url)
    return links


def story_watchlists(story: Story) -> list[str]:
    """The names of the active watchlists that matched one of the story's items."""
    return list(
        Watchlist.objects.filter(matches__item__story=story)
        .distinct()
        .order_by("name")
        .values_list("name", flat=True)
    )


def prefill(story: Story, *, kind: str = MissionKind.RELAY) -> dict[str, Any]:
    """MissionForm's initial values for a response to `story`: a title and a brief that
    describe the story (where it started, how far it went, which watchlists it matched), its
    links as the target sites (or the channels to watch, for a trace mission)."""
    if kind not in MissionKind.values:
        kind = MissionKind.RELAY
    links = story_links(story)
    lists = story_watchlists(story)
    lines = [
        _("Sujet repéré par la veille : « %(title)s ».") % {"title": story.title or story.pk},
    ]
    if story.first_source_id is not None and story.first_source:
        lines.append(
            _("Vu d'abord chez %(source)s, le %(when)s.")
            % {
                "source": story.first_source.title or story.first_source.url,
                "when": timezone.localtime(story.first_seen).strftime("%d/%m/%Y %H:%M"),
            }
        )
    lines.append(
        ngettext("%(n)d source distincte", "%(n)d sources distinctes", story.sources_count)
        % {"n": story.sources_count}
        + ", "
        + ngettext("%(n)d écho.", "%(n)d échos.", story.items_count) % {"n": story.items_count}
    )
    if lists:
        lines.append(_("Listes de veille : %(names)s.") % {"names": ", ".join(lists)})
    lines.append(
        _(
            "Lisez les sources ci-dessous et répondez avec vos propres mots, en respectant les "
            "règles de chaque site."
        )
    )
    initial: dict[str, Any] = {
        "kind": kind,
        "title": (_("Répondre : %(title)s") % {"title": story.title or story.pk})[:200],
        "brief": "\n".join(lines),
        "quota": 5,
        "deadline": (timezone.localtime() + dt.timedelta(days=2)).replace(second=0, microsecond=0),
    }
    role = VolunteerRole.objects.filter(slug=ROLE_OF_KIND.get(kind, "tchatcheur")).first()
    if role is not None:
        initial["role"] = role.pk
    field = "watch_channels" if kind == MissionKind.TRACE else "target_sites"
    initial[field] = "\n".join(links)
    return initial


def open_mission(
    *,
    story: Story,
    by: User,
    team: Team | None,
    targeting: army.Targeting,
    request: Any = None,
    **terms: Any,
) -> Mission:
    """A draft mission made by the army's service, linked to `story`, in one transaction: a
    refused mission (army.MissionError) leaves no link behind."""
    with transaction.atomic():
        mission = army.create_mission(by=by, team=team, targeting=targeting, **terms)
        StoryMission.objects.create(story=story, mission=mission, created_by=by)
        audit(
            action="watch.story_mission_opened",
            actor=by,
            request=request,
            obj=story,
            mission=mission.pk,
            kind=mission.kind,
        )
    return mission


@dataclass(frozen=True)
class Response:
    mission: Mission
    accepted: list[Claim]


def responses(story: Story) -> list[Response]:
    """The missions opened from `story`, newest first, each with its accepted claims and their
    proofs' links (a fixed number of queries however many)."""
    accepted = (
        Claim.objects.filter(status=Claim.Status.ACCEPTED)
        .prefetch_related("proofs", Prefetch("proofs__links", ProofLink.objects.order_by("pk")))
        .order_by("reviewed_at", "pk")
    )
    rows = (
        StoryMission.objects.filter(story=story)
        .select_related("mission__team")
        .prefetch_related(Prefetch("mission__claims", queryset=accepted, to_attr="accepted"))
        .order_by("-created_at", "-pk")
    )
    return [Response(row.mission, row.mission.accepted) for row in rows]  # type: ignore[attr-defined]
