"""What the watch's live regions share: the lists that ask, while they are open, how many rows
arrived after the newest one they show (the stream, the triage queue, the alerts), and the
answer they are given — a banner with a link that shows the list again, or nothing.

A poll answers 403 to everyone who cannot see the list, signed out included: a redirect to the
login page would be followed by the browser and its page swapped into the banner.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from essaim.lib.pagination import KeysetPage, int_param

# The parameter a poll carries: the id of the newest row the page showed (0: it showed none).
SINCE = "depuis"

View = Callable[..., HttpResponse]


def poll_view(view: View) -> View:
    """GET only, never cached, and 403 (not the login redirect) for a signed-out browser."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(require_GET(wrapper))


def since(request: HttpRequest) -> int:
    """The newest id the page showed; anything malformed counts from the start."""
    return int_param(request, SINCE) or 0


def newest_shown(page: KeysetPage[Any]) -> int | None:
    """The id a list's poll counts from, on the first page only (None: no poll). A later page
    has newer rows before it already: its newest is no mark of what arrived."""
    if page.has_prev:
        return None
    return int(page.items[0].pk) if page.items else 0


def news(*, count: int, text: str, list_url: str, region: str) -> HttpResponse:
    """The banner (`text` already says the count, through ngettext), or an empty answer when
    nothing arrived: the region is emptied, and nothing is announced. Rendered without the
    request's context processors: a poll runs its own query and no other."""
    if count <= 0:
        return HttpResponse("")
    return HttpResponse(
        render_to_string("watch/_news.html", {"text": text, "list_url": list_url, "region": region})
    )
