"""The stream of stories as the stream page filters it: by words (stories one of whose items
the search finds, essaim.watch.services.search), watchlist, source label, period and triage
state. Each filter is an EXISTS or an IN on the story, so that a story is listed once however
many of its items match."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from essaim.watch.models import Item, Story, TriageState, WatchlistMatch
from essaim.watch.services.search import search_items

# The label filters: the URL's name → the source's field.
LABELS = {"camp": "camp", "type": "media_type", "zone": "zone"}


@dataclasses.dataclass(frozen=True)
class Filters:
    q: str = ""
    watchlist: int | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    since: dt.timedelta | None = None
    triage: str = ""


def stories(filters: Filters) -> QuerySet[Story]:
    found: QuerySet[Story] = Story.objects.select_related("first_source")
    for param, value in filters.labels.items():
        field = LABELS[param]
        found = found.filter(
            Exists(Item.objects.filter(story=OuterRef("pk"), **{f"source__{field}": value}))
        )
    if filters.since is not None:
        found = found.filter(last_seen__gte=timezone.now() - filters.since)
    if filters.watchlist is not None:
        found = found.filter(
            Exists(
                WatchlistMatch.objects.filter(
                    watchlist_id=filters.watchlist, item__story=OuterRef("pk")
                )
            )
        )
    if filters.triage == TriageState.NEW:
        # A story nobody has triaged has no row.
        found = found.filter(Q(triage__isnull=True) | Q(triage__state=TriageState.NEW))
    elif filters.triage:
        found = found.filter(triage__state=filters.triage)
    if filters.q:
        found = found.filter(
            pk__in=search_items(filters.q).order_by().exclude(story=None).values("story_id")
        )
    return found


def newer_count(filters: Filters, *, after: int) -> int:
    """How many stories under these filters came after story `after` (the newest a page
    showed): one COUNT, its range on the primary key, for the stream's live banner."""
    return stories(filters).filter(pk__gt=after).count()
