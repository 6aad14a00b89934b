"""What the watch's API rooms share: the id and page bounds, the error responses every
operation documents, and an item's shape, which the sources' room and the watchlists' matches
both return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from essaim.api.errors import ErrorOut
from essaim.watch.models import Item

MAX_ID = 2**63 - 1
MAX_PAGE = 500
ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
ONE: dict[int, Any] = {**ERRORS, 404: ErrorOut, 422: ErrorOut}


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


def item_out(item: Item) -> dict[str, Any]:
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
