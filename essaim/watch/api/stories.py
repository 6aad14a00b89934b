"""The stream of stories over JSON (mounted at /api/v1/), read-only: the de-duplicated stories
and each one's echoes, for HQ's and coordinators' tokens (rules.can_see_stream)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema

from essaim.api.auth import TokenAuth
from essaim.api.errors import ApiError
from essaim.api.models import Scope
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.api.common import MAX_ID, MAX_PAGE, ONE
from essaim.watch.models import Item, Story

read_stream = TokenAuth(rules.can_see_stream, Scope.READ)
# Echoes a story's detail lists, earliest first.
STORY_ITEMS_MAX = 500

router = Router(tags=["watch"])


class StoryOut(Schema):
    id: int
    title: str = Field(description="The title of its first original item (else its first).")
    first_item: int | None
    first_source: int | None
    first_seen: datetime
    last_seen: datetime
    items_count: int = Field(description="Echoes: every item of the story.")
    sources_count: int = Field(description="Distinct sources among its items.")
    originals_count: int = Field(description="Items of own coverage.")
    reprints_count: int = Field(description="Wire copy and copies of an earlier item.")


class StoryPage(Schema):
    items: list[StoryOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class EchoOut(Schema):
    id: int
    source: int
    url: str
    title: str
    seen_at: datetime | None
    is_reprint: bool
    is_wire: bool = Field(description="The text credits a news agency (AFP, Reuters…).")
    match: str = Field(description="How it joined: first, url, text, title, near, person.")
    similarity: float | None


class StoryDetail(StoryOut):
    echoes: list[EchoOut] = Field(description="Its items, earliest first (500 at most).")


def _story(story: Story) -> dict[str, Any]:
    return {
        "id": story.pk,
        "title": story.title,
        "first_item": story.first_item_id,
        "first_source": story.first_source_id,
        "first_seen": story.first_seen,
        "last_seen": story.last_seen,
        "items_count": story.items_count,
        "sources_count": story.sources_count,
        "originals_count": story.originals_count,
        "reprints_count": story.reprints_count,
    }


def _utc(value: datetime, field: str) -> datetime:
    """A datetime from a query, in UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601
    parsers accept; naive means the server's time zone. Out of range is a 422."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as error:
        raise ApiError(
            422, f"{field} is out of range.", details=[{"field": field, "message": str(error)}]
        ) from error


@router.get("/watch/stories", response={200: StoryPage, **ONE}, auth=read_stream)
def list_stories(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
    since: datetime | None = Query(  # noqa: B008 - ninja reads the default, never mutated
        None, description="Only stories with an echo since then."
    ),
) -> dict[str, Any]:
    """Stories, newest first, a keyset page at a time."""
    stories = Story.objects.all()
    if since is not None:
        stories = stories.filter(last_seen__gte=_utc(since, "since"))
    return api_page(stories, after=after, limit=limit, item=_story)


@router.get("/watch/stories/{id}", response={200: StoryDetail, **ONE}, auth=read_stream)
def get_story(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    story = Story.objects.filter(pk=id).first()
    if story is None:
        raise ApiError(404, "No such story.")
    echoes = Item.objects.filter(story=story).order_by("seen_at", "pk")[:STORY_ITEMS_MAX]
    return _story(story) | {
        "echoes": [
            {
                "id": item.pk,
                "source": item.source_id,
                "url": item.url,
                "title": item.title,
                "seen_at": item.seen_at,
                "is_reprint": item.is_reprint,
                "is_wire": item.is_wire,
                "match": item.match,
                "similarity": item.similarity,
            }
            for item in echoes.only(
                "pk",
                "source_id",
                "url",
                "title",
                "seen_at",
                "is_reprint",
                "is_wire",
                "match",
                "similarity",
            )
        ]
    }
