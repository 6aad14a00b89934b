"""The watch over JSON (mounted at /api/v1/): sources (list, add by any URL, one with its
recent history) and their items (searchable), HQ tokens only (rules.can_manage_sources); the
stream of stories, read-only, HQ's and coordinators' tokens (rules.can_see_stream); the
watchlists and their matches, read by coordinators and veilleurs too; the tracers' submissions
(submit, one's own, review) for tracers, veilleurs, coordinators and HQ as the rules say. Thin
handlers over essaim.watch.services. Adding a source that cannot be fetched or followed is 422
with the failure's code (`dns_error`, `forbidden_address`, `http_404`, `bad_url`…); a refused
submission is 422 with its code (`bad_url`, `bad_time_code`…), a flood 429 with Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut
from essaim.api.models import Scope
from essaim.api.uploads import base64_file_field, decode_file
from essaim.army.models import Volunteer
from essaim.army.services.proofs import MAX_SCREENSHOT_BYTES
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.models import (
    Alert,
    FetchLog,
    Item,
    Source,
    Story,
    Submission,
    Synthesis,
    Watchlist,
    WatchlistMatch,
)
from essaim.watch.services import sources as svc
from essaim.watch.services import submissions as subs
from essaim.watch.services.health import error_words
from essaim.watch.services.search import search_items
from essaim.watch.services.watchlists import clean_labels, save_watchlist
from essaim.watch.services.watchlists.query import MAX_LENGTH, QueryError, parse

read_watch = TokenAuth(rules.can_manage_sources, Scope.READ)
write_watch = TokenAuth(rules.can_manage_sources, Scope.WRITE)
read_stream = TokenAuth(rules.can_see_stream, Scope.READ)
read_tracer = TokenAuth(rules.can_submit, Scope.READ)
write_tracer = TokenAuth(rules.can_submit, Scope.WRITE)
read_review = TokenAuth(rules.can_review_submissions, Scope.READ)
write_review = TokenAuth(rules.can_review_submissions, Scope.WRITE)
# Echoes a story's detail lists, earliest first.
STORY_ITEMS_MAX = 500

router = Router(tags=["watch"])

MAX_ID = 2**63 - 1
MAX_PAGE = 500
_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_ONE: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}


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


class ItemOut(Schema):
    id: int
    source: int
    url: str
    title: str
    summary: str
    author: str
    published_at: datetime | None
    fetched_at: datetime
    language: str
    story: int | None = Field(description="Its story; null until the de-duplication placed it.")
    is_reprint: bool = Field(description="Copy rather than own coverage (wire copy, or a copy).")
    links: list[str] = Field(
        description="Links in the item's main text (a watched page's), absolute, in order."
    )


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


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.pk,
        "source": item.source_id,
        "url": item.url,
        "title": item.title,
        "summary": item.summary,
        "author": item.author,
        "published_at": item.published_at,
        "fetched_at": item.fetched_at,
        "language": item.language,
        "story": item.story_id,
        "is_reprint": item.is_reprint,
        "links": item.links,
    }


def _get(id: int) -> Source:
    source = Source.objects.filter(pk=id).first()
    if source is None:
        raise ApiError(404, "No such source.")
    return source


@router.get("/watch/sources", response={200: SourcePage, 422: ErrorOut, **_ERRORS}, auth=read_watch)
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


@router.post("/watch/sources", response={200: AddedOut, 201: AddedOut, **_ONE}, auth=write_watch)
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


@router.get("/watch/sources/{id}", response={200: SourceDetail, **_ONE}, auth=read_watch)
def get_source(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    source = _get(id)
    history = source.fetches.order_by("-at", "-id")[:30]
    return _source(source) | {"history": [_fetch(row) for row in history]}


@router.get("/watch/items", response={200: ItemPage, **_ONE}, auth=read_watch)
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
    return api_page(items, after=after, limit=limit, item=_item)


@router.get("/watch/items/{id}", response={200: ItemOut, **_ONE}, auth=read_watch)
def get_item(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    item = Item.objects.filter(pk=id).first()
    if item is None:
        raise ApiError(404, "No such item.")
    return _item(item)


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


@router.get("/watch/stories", response={200: StoryPage, **_ONE}, auth=read_stream)
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


@router.get("/watch/stories/{id}", response={200: StoryDetail, **_ONE}, auth=read_stream)
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


# --- Watchlists: HQ writes; coordinators' and veilleurs' tokens read them and their matches. ---

read_watchlists = TokenAuth(rules.can_read_watchlists, Scope.READ)
write_watchlists = TokenAuth(rules.can_manage_watchlists, Scope.WRITE)


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
    response={200: WatchlistPage, 422: ErrorOut, **_ERRORS},
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


@router.post("/watch/watchlists", response={201: WatchlistOut, **_ONE}, auth=write_watchlists)
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


@router.get("/watch/watchlists/{id}", response={200: WatchlistOut, **_ONE}, auth=read_watchlists)
def get_watchlist(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _watchlist(_get_watchlist(id))


@router.patch("/watch/watchlists/{id}", response={200: WatchlistOut, **_ONE}, auth=write_watchlists)
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


@router.delete("/watch/watchlists/{id}", response={204: None, **_ONE}, auth=write_watchlists)
def delete_watchlist(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> Status[None]:
    """Delete the watchlist and its matches (the items stay)."""
    _get_watchlist(id).delete()
    return Status(204, None)


@router.get(
    "/watch/watchlists/{id}/matches", response={200: MatchPage, **_ONE}, auth=read_watchlists
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
            {"id": m.pk, "matched_at": m.matched_at, "terms": m.terms, "item": _item(m.item)}
            for m in page
        ],
        "next": page[-1].pk if len(rows) > limit else None,
    }


# --- The tracers' submissions -------------------------------------------------------------------


class SubmissionIn(Schema):
    url: str = Field(max_length=2000, description="The page seen (http or https).")
    time_code: str = Field(
        "", max_length=12, description="Where in a video or podcast: mm:ss or hh:mm:ss."
    )
    note: str = Field("", max_length=subs.NOTE_MAX)
    urgency: Submission.Urgency = Submission.Urgency.NORMAL
    screenshot_base64: str | None = base64_file_field(
        MAX_SCREENSHOT_BYTES,
        default=None,
        description="A PNG, JPEG, WebP or GIF image, base64-encoded; re-encoded without metadata.",
    )


class SubmissionOut(Schema):
    id: int
    url: str
    title: str = Field(description="The page's title, once read (else empty).")
    time_code: int | None = Field(description="Seconds from the start.")
    note: str
    urgency: str
    state: str = Field(description="new, merged (already in the watch), accepted or rejected.")
    reason: str = Field(description="Why it was rejected.")
    echo: int = Field(description="Its rank among the reports of the page, 1 for the first.")
    fetch_state: str = Field(description="pending, done, failed or known (read by the watch).")
    fetch_error: str
    item: int
    created_at: datetime
    reviewed_at: datetime | None


class SubmittedOut(SubmissionOut):
    created: bool = Field(description="False: you had submitted this page already.")
    known: bool = Field(description="The watch had the page before this submission.")
    answer: str = Field(description="The answer in words.")


class ReviewedSubmissionOut(SubmissionOut):
    tracer: int | None = Field(
        description="The tracer's user id, for HQ and the coordinators of their teams only."
    )


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class ReviewPage(Schema):
    items: list[ReviewedSubmissionOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class ReviewIn(Schema):
    decision: Literal["accept", "reject"]
    reason: str = Field("", max_length=subs.REASON_MAX, description="Required to reject.")


def _submission(row: Submission) -> dict[str, Any]:
    return {
        "id": row.pk,
        "url": row.url,
        "title": row.item.title,
        "time_code": row.time_code,
        "note": row.note,
        "urgency": row.urgency,
        "state": row.state,
        "reason": row.reason,
        "echo": row.echo,
        "fetch_state": row.fetch_state,
        "fetch_error": row.fetch_error,
        "item": row.item_id,
        "created_at": row.created_at,
        "reviewed_at": row.reviewed_at,
    }


def _refused_submission(exc: subs.SubmissionRefused) -> ApiError:
    if exc.code == "flood":
        return ApiError(
            429, exc.message, code="flood", headers={"Retry-After": str(exc.retry_after)}
        )
    if exc.code == "not_open":
        return ApiError(409, exc.message, code=exc.code)
    details = [{"field": exc.field, "message": exc.message}] if exc.field else None
    return ApiError(422, exc.message, code=exc.code, details=details)


@router.post(
    "/watch/submissions",
    response={200: SubmittedOut, 201: SubmittedOut, **_ONE, 409: ErrorOut},
    auth=write_tracer,
)
def submit_link(request: HttpRequest, payload: SubmissionIn) -> Status[dict[str, Any]]:
    """Report a page (201), or get back your earlier report of the same page (200). The answer
    says at once whether the watch had it, and which echo of it this is."""
    volunteer = Volunteer.objects.get(pk=token_of(request).user.pk)
    upload = None
    if payload.screenshot_base64:
        data = decode_file(
            "screenshot_base64", payload.screenshot_base64, service_limit=MAX_SCREENSHOT_BYTES
        )
        upload = SimpleUploadedFile("capture", data)
    try:
        submitted = subs.submit(
            volunteer=volunteer,
            url=payload.url,
            time_code=payload.time_code,
            note=payload.note,
            urgency=payload.urgency,
            screenshot=upload,
        )
    except subs.SubmissionRefused as exc:
        raise _refused_submission(exc) from exc
    row = Submission.objects.select_related("item").get(pk=submitted.submission.pk)
    body = _submission(row) | {
        "created": submitted.created,
        "known": submitted.known,
        "answer": submitted.answer,
    }
    return Status(201 if submitted.created else 200, body)


@router.get("/watch/submissions", response={200: SubmissionPage, **_ONE}, auth=read_tracer)
def my_submissions(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Your own submissions, newest first, with their fate."""
    rows = Submission.objects.filter(volunteer_id=token_of(request).user.pk).select_related("item")
    return api_page(rows, after=after, limit=limit, item=_submission)


def _reviewed(user: Any, row: Submission, shown: bool) -> dict[str, Any]:
    return _submission(row) | {"tracer": row.volunteer_id if shown else None}


@router.get("/watch/reviews", response={200: ReviewPage, **_ONE}, auth=read_review)
def submission_queue(
    request: HttpRequest,
    state: Literal["open", "accepted", "rejected"] = Query("open"),
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """The submissions you may review (open ones by default), newest first. The tracer is
    named to HQ and to the coordinators of their teams only."""
    user = token_of(request).user
    rows = rules.reviewable(user, Submission.objects.select_related("item"))
    if state == "open":
        rows = rows.filter(state__in=(Submission.State.NEW, Submission.State.MERGED))
    else:
        rows = rows.filter(state=state)
    visible = rules.identity_visible(user)
    if not isinstance(visible, bool):
        rows = rows.annotate(_identity=visible)  # type: ignore[arg-type]
    if after is not None:
        rows = rows.filter(pk__lt=after)
    found = list(rows.order_by("-pk")[: limit + 1])
    page = found[:limit]
    items = [
        _reviewed(
            user, r, visible if isinstance(visible, bool) else bool(getattr(r, "_identity", False))
        )
        for r in page
    ]
    return {"items": items, "next": page[-1].pk if len(found) > limit else None}


@router.post(
    "/watch/submissions/{id}/review",
    response={200: ReviewedSubmissionOut, **_ONE, 409: ErrorOut},
    auth=write_review,
)
def review_submission(
    request: HttpRequest, payload: ReviewIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """Accept or reject an open submission (a rejection says why); the tracer is told."""
    user = token_of(request).user
    row = Submission.objects.select_related("item").filter(pk=id).first()
    if row is None or not rules.can_review(user, row):
        raise ApiError(404, "No such submission.")
    try:
        subs.review(
            submission=row, by=user, accept=payload.decision == "accept", reason=payload.reason
        )
    except subs.SubmissionRefused as exc:
        raise _refused_submission(exc) from exc
    return _reviewed(user, row, rules.sees_tracer(user, row))


# --- The daily syntheses (read) ----------------------------------------------------------------

read_syntheses = TokenAuth(rules.can_read_syntheses, Scope.READ)


class SynthesisOut(Schema):
    id: int
    date: str
    state: str
    published_at: datetime | None
    intro: str
    notes: str


class SynthesisDetail(SynthesisOut):
    body: dict[str, Any] = Field(
        description="The day's figures: top stories with their extractive sentences, new and "
        "growing ones, missions opened from stories, volume per watchlist."
    )


class SynthesisPage(Schema):
    items: list[SynthesisOut]
    next: int | None


def _visible_syntheses(request: HttpRequest) -> Any:
    """The published syntheses; the drafts too for the writers."""
    qs = Synthesis.objects.all()
    if not rules.can_write_syntheses(token_of(request).user):
        qs = qs.filter(state=Synthesis.State.PUBLISHED)
    return qs


def _synthesis(s: Synthesis) -> dict[str, Any]:
    return {
        "id": s.pk,
        "date": s.date.isoformat(),
        "state": s.state,
        "published_at": s.published_at,
        "intro": s.intro,
        "notes": s.notes,
    }


@router.get("/watch/syntheses", response={200: SynthesisPage, **_ONE}, auth=read_syntheses)
def list_syntheses(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Syntheses, newest first (published ones; the drafts too for the writers)."""
    qs = _visible_syntheses(request).defer("body")
    return api_page(qs, after=after, limit=limit, item=_synthesis)


@router.get("/watch/syntheses/{id}", response={200: SynthesisDetail, **_ONE}, auth=read_syntheses)
def get_synthesis(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    synthesis = _visible_syntheses(request).filter(pk=id).first()
    if synthesis is None:
        raise ApiError(404, "No such synthesis.")
    return _synthesis(synthesis) | {"body": synthesis.body}


# --- Alerts (read): those who see the triage queue and the alerts ------------------------------

read_alerts = TokenAuth(rules.can_see_triage, Scope.READ)


class AlertOut(Schema):
    id: int
    kind: Literal["urgent", "spike"]
    story: int | None = Field(description="The story marked urgent (urgent alerts).")
    watchlist: int | None = Field(description="The watchlist that spiked (spike alerts).")
    title: str
    explanation: dict[str, Any] = Field(
        description="Why: the stories, first sources, top terms; for a spike, the counts of "
        "the last hour against the baselines."
    )
    created_at: datetime


class AlertPage(Schema):
    items: list[AlertOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


@router.get("/watch/alerts", response={200: AlertPage, **_ONE}, auth=read_alerts)
def list_alerts(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
    kind: Literal["urgent", "spike"] | None = Query(None),
) -> dict[str, Any]:
    """Alerts, newest first, a keyset page at a time."""
    alerts = Alert.objects.all()
    if kind is not None:
        alerts = alerts.filter(kind=kind)
    if after is not None:
        alerts = alerts.filter(pk__lt=after)
    rows = list(alerts.order_by("-pk")[: limit + 1])
    page = rows[:limit]
    return {
        "items": [
            {
                "id": a.pk,
                "kind": a.kind,
                "story": a.story_id,
                "watchlist": a.watchlist_id,
                "title": a.title,
                "explanation": a.explanation,
                "created_at": a.created_at,
            }
            for a in page
        ],
        "next": page[-1].pk if len(rows) > limit else None,
    }
