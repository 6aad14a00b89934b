"""The talking points library: entries with tags, versions that are never edited, retirement,
and usage (missions pointing at an entry, accepted work on them).

A talking point is material for each volunteer's own words, never a text to paste (see
OWN_NAME_REMINDER). National entries are HQ's; a team's coordinators keep their team's
entries, which their team's missions may use beside the national ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from essaim.army.models import (
    Claim,
    Mission,
    TalkingPoint,
    TalkingPointTag,
    TalkingPointVersion,
)
from essaim.army.services.mission_base import MissionError

if TYPE_CHECKING:
    from essaim.accounts.models import Team, User

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_TITLE = 200
MAX_BODY = 20_000


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Lower-case, trimmed, unique, sorted tags; MissionError past the limits."""
    clean = sorted({t.strip().lower() for t in tags if t.strip()})
    if len(clean) > MAX_TAGS:
        raise MissionError(_("Vingt étiquettes au plus."))
    if any(len(t) > MAX_TAG_LENGTH for t in clean):
        raise MissionError(_("Une étiquette a %(n)d caractères au plus.") % {"n": MAX_TAG_LENGTH})
    return clean


def _check_text(title: str | None, body: str) -> None:
    if title is not None and not (0 < len(title.strip()) <= MAX_TITLE):
        raise MissionError(_("Donnez un titre (%(n)d caractères au plus).") % {"n": MAX_TITLE})
    if not (0 < len(body.strip()) <= MAX_BODY):
        raise MissionError(_("Donnez un texte (%(n)d caractères au plus).") % {"n": MAX_BODY})


def add_talking_point(
    *,
    title: str,
    body: str,
    tags: Iterable[str] = (),
    team: Team | None = None,
    by: User | None,
) -> TalkingPoint:
    """A new entry with its first version."""
    _check_text(title, body)
    clean = normalize_tags(tags)
    with transaction.atomic():
        point = TalkingPoint.objects.create(
            title=title.strip(), tags=clean, team=team, created_by=by
        )
        TalkingPointTag.objects.bulk_create(TalkingPointTag(point=point, tag=t) for t in clean)
        TalkingPointVersion.objects.create(point=point, number=1, body=body.strip(), created_by=by)
    return point


def revise_talking_point(
    *, point: TalkingPoint, body: str, by: User | None, tags: Iterable[str] | None = None
) -> TalkingPointVersion:
    """A new version; older ones stay for the missions that point at them. Retries once if two
    editors revise at the same instant (the unique (point, number) decides). A retired entry
    is not revised: it is outdated, write a new one."""
    _check_text(None, body)
    clean = normalize_tags(tags) if tags is not None else None
    if TalkingPoint.objects.filter(pk=point.pk, retired_at__isnull=False).exists():
        raise MissionError(_("Cet argument est retiré : il ne reçoit plus de version."))
    for _attempt in range(2):
        number = (point.versions.aggregate(n=models.Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                version = TalkingPointVersion.objects.create(
                    point=point, number=number, body=body.strip(), created_by=by
                )
                if clean is not None:
                    TalkingPoint.objects.filter(pk=point.pk).update(tags=clean)
                    TalkingPointTag.objects.filter(point=point).exclude(tag__in=clean).delete()
                    TalkingPointTag.objects.bulk_create(
                        (TalkingPointTag(point=point, tag=t) for t in clean),
                        ignore_conflicts=True,
                    )
                    point.tags = clean
                return version
        except IntegrityError:
            continue
    raise MissionError(_("Quelqu'un a modifié cet argument en même temps ; réessayez."))


def retire_talking_point(*, point: TalkingPoint) -> bool:
    """Retire an outdated entry: no new mission may use it, and the missions that do show
    the volunteer that it is outdated. Returns False if it already was."""
    done = TalkingPoint.objects.filter(pk=point.pk, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )
    return bool(done)


def _visible(teams: Iterable[int] | None) -> Q:
    """National entries and those of `teams` (None: every entry, for HQ)."""
    if teams is None:
        return Q()
    return Q(team__isnull=True) | Q(team_id__in=list(teams))


def library(
    *, teams: Iterable[int] | None, tag: str = "", include_retired: bool = False
) -> QuerySet[TalkingPoint]:
    """The entries a runner sees, annotated with their usage; order and page it by pk
    (keyset). Usage is counted by two correlated subqueries, each through an index, for the
    page's rows only."""
    qs = TalkingPoint.objects.filter(_visible(teams))
    if not include_retired:
        qs = qs.filter(retired_at__isnull=True)
    tag = tag.strip().lower()
    if tag:
        qs = qs.filter(Exists(TalkingPointTag.objects.filter(point=OuterRef("pk"), tag=tag)))
    missions = (
        Mission.objects.filter(talking_point__point=OuterRef("pk"))
        .exclude(status=Mission.Status.DRAFT)
        .values("talking_point__point")
        .annotate(n=Count("pk"))
        .values("n")
    )
    accepted = (
        Claim.objects.filter(
            mission__talking_point__point=OuterRef("pk"), status=Claim.Status.ACCEPTED
        )
        .values("mission__talking_point__point")
        .annotate(n=Count("pk"))
        .values("n")
    )
    latest = (
        TalkingPointVersion.objects.filter(point=OuterRef("pk"))
        .order_by("-number")
        .values("number")[:1]
    )
    return qs.select_related("team").annotate(
        missions_count=Coalesce(Subquery(missions), 0),
        accepted_count=Coalesce(Subquery(accepted), 0),
        latest_number=Subquery(latest),
    )


def current_versions(teams: Iterable[int] | None) -> QuerySet[TalkingPointVersion]:
    """The latest version of each current entry national or of `teams` (None: all): what a
    runner may point a new mission at (check_usable says which fits which mission)."""
    newer = TalkingPointVersion.objects.filter(
        point=OuterRef("point"), number__gt=OuterRef("number")
    )
    scope = Q(point__team__isnull=True)
    if teams is None:
        scope = Q()
    else:
        scope |= Q(point__team_id__in=list(teams))
    return (
        TalkingPointVersion.objects.filter(scope, point__retired_at__isnull=True)
        .filter(~Exists(newer))
        .select_related("point")
        .order_by("point__title", "pk")
    )


def check_usable(version: TalkingPointVersion, team_id: int | None) -> None:
    """MissionError if a mission of this scope may not point at this version."""
    # Read again: the version in hand may have been loaded before someone retired its entry.
    point = TalkingPoint.objects.only("retired_at", "team_id").get(pk=version.point_id)
    if point.retired_at is not None:
        raise MissionError(_("Cet argument est retiré : choisissez-en un à jour."))
    if point.team_id is not None and point.team_id != team_id:
        raise MissionError(_("Cet argument appartient à une autre équipe."))
