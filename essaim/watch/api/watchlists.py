"""Watchlists over JSON (mounted at /api/v1/): HQ writes them; coordinators' and veilleurs'
tokens read them and the items they matched. A query that does not parse is 422 `bad_query`
with its position, so a client can point at the mistake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut
from essaim.api.models import Scope
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.api.common import ERRORS, MAX_ID, MAX_PAGE, ONE, ItemOut, item_out
from essaim.watch.models import Watchlist, WatchlistMatch
from essaim.watch.services.watchlists import clean_labels, save_watchlist
from essaim.watch.services.watchlists.query import MAX_LENGTH, QueryError, parse

read_watchlists = TokenAuth(rules.can_read_watchlists, Scope.READ)
write_watchlists = TokenAuth(rules.can_manage_watchlists, Scope.WRITE)

router = Router(tags=["watch"])


class WatchlistIn(Schema):
    name: str = Field(min_length=1, max_length=150)
    kind: Watchlist.Kind = Field(
        Watchlist.Kind.TOPICS,
        description="names: matched word for word (folded, never stemmed); topics: on stems.",
    )
    query: str = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        description='Words, "phrases", AND, OR, NOT, parentheses, NEAR/n (within n words, '
        'either order), site:host (subdomains included), source:id or source:"label". A bad '
        "query is 422 with code bad_query and the position (0-based) in details.",
    )
    labels: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True


class WatchlistPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    kind: Watchlist.Kind | None = None
    query: str | None = Field(None, min_length=1, max_length=MAX_LENGTH)
    labels: list[str] | None = Field(None, max_length=20)
    active: bool | None = None


class WatchlistOut(Schema):
    id: int
    name: str
    kind: str
    query: str
    labels: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    backfilled_at: datetime | None = Field(
        description="When the last review of recent items ended; null while it runs."
    )


class WatchlistPage(Schema):
    items: list[WatchlistOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class MatchOut(Schema):
    id: int
    matched_at: datetime
    terms: list[str] = Field(description="The watchlist's terms found in the item.")
    item: ItemOut


class MatchPage(Schema):
    items: list[MatchOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


def _watchlist(row: Watchlist) -> dict[str, Any]:
    return {
        "id": row.pk,
        "name": row.name,
        "kind": row.kind,
        "query": row.query,
        "labels": row.labels,
        "active": row.active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "backfilled_at": row.backfilled_at,
    }


def _get_watchlist(id: int) -> Watchlist:
    row = Watchlist.objects.filter(pk=id).first()
    if row is None:
        raise ApiError(404, "No such watchlist.")
    return row


def _checked_query(query: str) -> str:
    query = query.strip()
    try:
        parse(query)
    except QueryError as error:
        raise ApiError(
            422,
            error.message,
            code="bad_query",
            details=[{"field": "query", "message": error.message, "position": error.position}],
        ) from error
    return query


@router.get(
    "/watch/watchlists",
    response={200: WatchlistPage, 422: ErrorOut, **ERRORS},
    auth=read_watchlists,
)
def list_watchlists(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Watchlists, newest first, a keyset page at a time."""
    rows_qs = Watchlist.objects.all()
    return api_page(rows_qs, after=after, limit=limit, item=_watchlist)


@router.post("/watch/watchlists", response={201: WatchlistOut, **ONE}, auth=write_watchlists)
def create_watchlist(request: HttpRequest, payload: WatchlistIn) -> Status[dict[str, Any]]:
    """Create a watchlist (201); the items of the last 30 days are reviewed in the background."""
    query = _checked_query(payload.query)
    row = save_watchlist(
        name=payload.name,
        kind=payload.kind,
        query=query,
        active=payload.active,
        labels=clean_labels(",".join(payload.labels)),
        by=token_of(request).user,
    )
    return Status(201, _watchlist(row))


@router.get("/watch/watchlists/{id}", response={200: WatchlistOut, **ONE}, auth=read_watchlists)
def get_watchlist(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _watchlist(_get_watchlist(id))


@router.patch("/watch/watchlists/{id}", response={200: WatchlistOut, **ONE}, auth=write_watchlists)
def update_watchlist(
    request: HttpRequest, payload: WatchlistPatch, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """Change what is given; a new query or kind reviews the recent items again."""
    row = _get_watchlist(id)
    query = _checked_query(payload.query) if payload.query is not None else row.query
    labels = row.labels if payload.labels is None else clean_labels(",".join(payload.labels))
    row = save_watchlist(
        watchlist=row,
        name=payload.name if payload.name is not None else row.name,
        kind=payload.kind if payload.kind is not None else row.kind,
        query=query,
        active=payload.active if payload.active is not None else row.active,
        labels=labels,
        by=token_of(request).user,
    )
    return _watchlist(row)


@router.delete("/watch/watchlists/{id}", response={204: None, **ONE}, auth=write_watchlists)
def delete_watchlist(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> Status[None]:
    """Delete the watchlist and its matches (the items stay)."""
    _get_watchlist(id).delete()
    return Status(204, None)


@router.get(
    "/watch/watchlists/{id}/matches", response={200: MatchPage, **ONE}, auth=read_watchlists
)
def list_watchlist_matches(
    request: HttpRequest,
    id: int = Path(..., ge=1, le=MAX_ID),
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """The items the watchlist matched, newest match first, with the terms found."""
    matches = WatchlistMatch.objects.filter(watchlist=_get_watchlist(id)).select_related("item")
    if after is not None:
        matches = matches.filter(pk__lt=after)
    rows = list(matches.order_by("-pk")[: limit + 1])
    page = rows[:limit]
    return {
        "items": [
            {"id": m.pk, "matched_at": m.matched_at, "terms": m.terms, "item": item_out(m.item)}
            for m in page
        ],
        "next": page[-1].pk if len(rows) > limit else None,
    }
