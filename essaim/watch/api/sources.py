"""Sources and their items over JSON (mounted at /api/v1/): list, add by any URL, one with its
recent history; items searchable. HQ tokens only (rules.can_manage_sources); thin handlers over
essaim.watch.services.sources. Adding a source that cannot be fetched or followed is 422 with
the failure's code (`dns_error`, `forbidden_address`, `http_404`, `bad_url`…)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut
from essaim.api.models import Scope
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.api.common import ERRORS, MAX_ID, MAX_PAGE, ONE, ItemOut, item_out
from essaim.watch.models import FetchLog, Item, Source
from essaim.watch.services import sources as svc
from essaim.watch.services.health import error_words
from essaim.watch.services.search import search_items

read_watch = TokenAuth(rules.can_manage_sources, Scope.READ)
write_watch = TokenAuth(rules.can_manage_sources, Scope.WRITE)

router = Router(tags=["watch"])


class SourceIn(Schema):
    url: str = Field(
        max_length=2000,
        description="Any address: a feed, a blog's or a site's page (its feed is discovered), a "
        "video channel; a page without a feed is watched for change.",
    )
    camp: str = Field("", max_length=100)
    party: str = Field("", max_length=100)
    media_type: Source.MediaType = Source.MediaType.NONE
    zone: str = Field("", max_length=100)


class SourceOut(Schema):
    id: int
    url: str
    kind: str
    title: str
    site_url: str
    found_on: str
    camp: str
    party: str
    media_type: str
    zone: str
    status: str = Field(description="ok, failing or disabled.")
    last_error: str = Field(description="The last failure's code; empty when ok.")
    last_error_text: str
    last_http_status: int | None
    failure_score: float
    last_fetched_at: datetime | None
    next_poll_at: datetime
    interval_seconds: int
    items_count: int
    is_demo: bool = Field(description="Made by the demo: a made-up address, never polled.")
    created_at: datetime


class FetchOut(Schema):
    at: datetime
    outcome: str
    http_status: int | None
    new_items: int
    elapsed_ms: int | None
    message: str


class SourceDetail(SourceOut):
    history: list[FetchOut] = Field(description="The last 30 polls, newest first.")


class AddedOut(SourceOut):
    created: bool
    how: str = Field(description="feed, discovered, channel, page, or known (already watched).")


class SourcePage(Schema):
    items: list[SourceOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class ItemPage(Schema):
    items: list[ItemOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


def _source(source: Source) -> dict[str, Any]:
    return {
        "id": source.pk,
        "url": source.url,
        "kind": source.kind,
        "title": source.title,
        "site_url": source.site_url,
        "found_on": source.found_on,
        "camp": source.camp,
        "party": source.party,
        "media_type": source.media_type,
        "zone": source.zone,
        "status": source.status,
        "last_error": source.last_error,
        "last_error_text": error_words(source.last_error),
        "last_http_status": source.last_http_status,
        "failure_score": source.failure_score,
        "last_fetched_at": source.last_fetched_at,
        "next_poll_at": source.next_poll_at,
        "interval_seconds": source.interval_seconds,
        "items_count": source.items_count,
        "is_demo": source.is_demo,
        "created_at": source.created_at,
    }


def _fetch(row: FetchLog) -> dict[str, Any]:
    return {
        "at": row.at,
        "outcome": row.outcome,
        "http_status": row.http_status,
        "new_items": row.new_items,
        "elapsed_ms": row.elapsed_ms,
        "message": row.message,
    }


def _get(id: int) -> Source:
    source = Source.objects.filter(pk=id).first()
    if source is None:
        raise ApiError(404, "No such source.")
    return source


@router.get("/watch/sources", response={200: SourcePage, 422: ErrorOut, **ERRORS}, auth=read_watch)
def list_sources(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
    status: Literal["ok", "failing", "disabled"] | None = Query(
        None, description="Only the sources in this state."
    ),
) -> dict[str, Any]:
    """Sources, newest first, a keyset page at a time."""
    sources = Source.objects.all()
    if status is not None:
        sources = sources.filter(status=status)
    return api_page(sources, after=after, limit=limit, item=_source)


@router.post("/watch/sources", response={200: AddedOut, 201: AddedOut, **ONE}, auth=write_watch)
def add_source(request: HttpRequest, payload: SourceIn) -> Status[dict[str, Any]]:
    """Add the source behind any URL (201), or return the one already watched (200)."""
    labels = svc.Labels(
        camp=payload.camp, party=payload.party, media_type=payload.media_type, zone=payload.zone
    )
    try:
        added = svc.add_source(url=payload.url, by=token_of(request).user, labels=labels)
    except svc.AddRefused as exc:
        raise ApiError(
            422, exc.message, code=exc.code, details=[{"field": "url", "message": exc.message}]
        ) from exc
    body = _source(added.source) | {"created": added.created, "how": added.how}
    return Status(201 if added.created else 200, body)


@router.get("/watch/sources/{id}", response={200: SourceDetail, **ONE}, auth=read_watch)
def get_source(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    source = _get(id)
    history = source.fetches.order_by("-at", "-id")[:30]
    return _source(source) | {"history": [_fetch(row) for row in history]}


@router.get("/watch/items", response={200: ItemPage, **ONE}, auth=read_watch)
def list_items(
    request: HttpRequest,
    source: int | None = Query(None, ge=1, le=MAX_ID, description="Only this source's items."),
    q: str | None = Query(
        None,
        max_length=200,
        description="Only the items holding every word, French-aware: any accents, case, "
        "elision or form of the same stem.",
    ),
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Items, newest first, a keyset page at a time; of one source with `source`."""
    items = Item.objects.all() if source is None else _get(source).items.all()
    if q is not None:
        items = items & search_items(q)
    return api_page(items, after=after, limit=limit, item=item_out)


@router.get("/watch/items/{id}", response={200: ItemOut, **ONE}, auth=read_watch)
def get_item(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    item = Item.objects.filter(pk=id).first()
    if item is None:
        raise ApiError(404, "No such item.")
    return item_out(item)
