"""The daily syntheses over JSON (mounted at /api/v1/), read-only: the published ones for
their readers, the drafts too for those who write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError
from essaim.api.models import Scope
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.api.common import MAX_ID, MAX_PAGE, ONE
from essaim.watch.models import Synthesis

read_syntheses = TokenAuth(rules.can_read_syntheses, Scope.READ)

router = Router(tags=["watch"])


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


@router.get("/watch/syntheses", response={200: SynthesisPage, **ONE}, auth=read_syntheses)
def list_syntheses(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Syntheses, newest first (published ones; the drafts too for the writers)."""
    qs = _visible_syntheses(request).defer("body")
    return api_page(qs, after=after, limit=limit, item=_synthesis)


@router.get("/watch/syntheses/{id}", response={200: SynthesisDetail, **ONE}, auth=read_syntheses)
def get_synthesis(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    synthesis = _visible_syntheses(request).filter(pk=id).first()
    if synthesis is None:
        raise ApiError(404, "No such synthesis.")
    return _synthesis(synthesis) | {"body": synthesis.body}
