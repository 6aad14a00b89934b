"""Sources: added by pasting any URL, imported and exported as OPML, disabled and enabled.

Adding fetches what was pasted through the guarded fetcher: a feed is taken as it is; a page
is searched for its feed (essaim.watch.services.discovery), whose candidates are fetched in
turn; a page without a feed is watched for change. The watcher stores the items: adding stores
none (nor any validator, so the first poll reads everything).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from essaim.lib.fetcher import FetchError, FetchPolicy, FetchResult, fetch_sync
from essaim.watch.models import Source
from essaim.watch.services.discovery import direct_feed, feed_candidates, read_page
from essaim.watch.services.feeds import FeedError, ParsedFeed, parse_feed, sniff_feed
from essaim.watch.services.health import error_words
from essaim.watch.services.opml import OpmlError, build_opml, parse_opml
from essaim.watch.services.urls import InvalidURL, clean_url, url_key

# How a source came to be: the URL was a feed, a feed was found on the page, the address of a
# video channel gave its feed, or no feed: the page is watched.
FEED, DISCOVERED, CHANNEL, PAGE = "feed", "discovered", "channel", "page"


class AddRefused(Exception):
    """Nothing was added; `code` as in a source's health, `message` for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Labels:
    camp: str = ""
    party: str = ""
    media_type: str = ""
    zone: str = ""

    def fields(self) -> dict[str, str]:
        return {
            "camp": self.camp.strip()[:100],
            "party": self.party.strip()[:100],
            "media_type": self.media_type if self.media_type in Source.MediaType.values else "",
            "zone": self.zone.strip()[:100],
        }


@dataclass(frozen=True)
class Added:
    source: Source
    created: bool
    how: str  # FEED, DISCOVERED, CHANNEL, PAGE; or "known"
    found_on: str = ""  # the page the feed was found on


@dataclass(frozen=True)
class Imported:
    created: int
    known: int


def add_source(*, url: str, by: Any, labels: Labels | None = None) -> Added:
    """Add the source behind `url` (see module); an already known one is returned as it is.
    Raises AddRefused when the URL cannot be followed or fetched."""
    labels = labels or Labels()
    try:
        pasted = clean_url(url)
    except InvalidURL as exc:
        raise AddRefused("bad_url", str(exc)) from exc
    known = _known(pasted)
    if known is not None:
        return Added(known, created=False, how="known")
    deadline = time.monotonic() + settings.WATCH_ADD_TIMEOUT
    channel = direct_feed(pasted)
    if channel is not None:
        result, feed = _try_feed(channel, deadline)
        if feed is None or result is None:
            raise AddRefused("not_a_feed", _("Le flux de cette chaîne est introuvable."))
        return _create(result.final_url, FEED, feed, by, labels, how=CHANNEL, found_on=pasted)
    result = _fetch(pasted, deadline)
    content_type = result.headers.get("content-type", "")
    if sniff_feed(result.body, content_type):
        feed = _parse(result)
        if feed is not None:
            return _create(result.final_url, FEED, feed, by, labels, how=FEED)
    page = read_page(result.body, url=result.final_url, content_type=content_type)
    tries = settings.WATCH_DISCOVERY_TRIES
    for candidate in feed_candidates(page)[:tries]:
        if time.monotonic() > deadline:
            break
        known = _known(candidate)
        if known is not None:
            return Added(known, created=False, how="known", found_on=result.final_url)
        found, feed = _try_feed(candidate, deadline)
        if found is not None and feed is not None:
            return _create(
                found.final_url, FEED, feed, by, labels, how=DISCOVERED, found_on=result.final_url
            )
    return _create(result.final_url, PAGE, None, by, labels, how=PAGE, title=page.title)


def import_opml(data: bytes, *, by: Any, labels: Labels | None = None) -> Imported:
    """Every source of an OPML file not already watched, in one transaction (OpmlError: the
    file is refused whole). Nothing is fetched now: the watcher polls them at once, and one
    that is not a feed shows it in its health."""
    if len(data) > settings.WATCH_OPML_MAX_BYTES:
        raise OpmlError(_("Le fichier est trop volumineux."))
    entries = parse_opml(data, max_entries=settings.WATCH_OPML_MAX_SOURCES)
    defaults = (labels or Labels()).fields()
    wanted: dict[str, Source] = {}
    now = timezone.now()
    for entry in entries:
        key = url_key(entry.url)
        if key in wanted:
            continue
        fields = dict(defaults)
        for name, label in (("camp", "camp"), ("party", "party"), ("zone", "zone")):
            if entry.labels.get(label):
                fields[name] = entry.labels[label][:100]
        if entry.labels.get("media") in Source.MediaType.values:
            fields["media_type"] = entry.labels["media"]
        wanted[key] = Source(
            url=entry.url,
            url_key=key,
            kind=entry.kind,
            title=entry.title[:300],
            site_url=entry.site_url,
            interval_seconds=settings.WATCH_DEFAULT_INTERVAL,
            next_poll_at=now,
            created_by=by,
            created_at=now,
            **fields,
        )
    with transaction.atomic():
        known = set(
            Source.objects.filter(url_key__in=list(wanted)).values_list("url_key", flat=True)
        )
        fresh = [source for key, source in wanted.items() if key not in known]
        Source.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
    return Imported(created=len(fresh), known=len(entries) - len(fresh))


def export_opml() -> bytes:
    """Every source, as an OPML 2.0 file any feed reader imports."""
    sources = (
        Source.objects.exclude(kind=Source.Kind.TRACER)
        .order_by("id")
        .only("url", "kind", "title", "site_url", "camp", "party", "media_type", "zone")
    )
    return build_opml(
        sources.iterator(chunk_size=2000), title=_("Sources de la veille"), now=timezone.now()
    )


def disable_source(source: Source) -> None:
    """HQ stops polling a source; a poll in flight is not recorded (its claim is dropped)."""
    Source.objects.filter(pk=source.pk).update(
        status=Source.Status.DISABLED,
        last_error="disabled_by_hq",
        last_error_message="",
        claimed_by="",
        lease_until=None,
    )


def enable_source(source: Source) -> None:
    """HQ polls a source again, now, with a clean slate."""
    Source.objects.filter(pk=source.pk).update(
        status=Source.Status.OK,
        failure_score=0.0,
        last_error="",
        last_error_message="",
        next_poll_at=timezone.now(),
        claimed_by="",
        lease_until=None,
    )


# --- fetching ----------------------------------------------------------------------------------


def _policy(deadline: float) -> FetchPolicy:
    """The fetcher's limits, its total deadline cut to what is left of WATCH_ADD_TIMEOUT: adding
    answers a person waiting on a page (and gunicorn's worker timeout)."""
    left = max(1.0, deadline - time.monotonic())
    return FetchPolicy.from_settings(
        max_bytes=settings.WATCH_MAX_BYTES,
        total_timeout=min(settings.FETCH_TOTAL_TIMEOUT, left),
    )


def _fetch(url: str, deadline: float) -> FetchResult:
    try:
        result = fetch_sync(url, policy=_policy(deadline))
    except FetchError as exc:
        raise AddRefused(exc.code, exc.message) from exc
    if not result.ok:
        code = f"http_{result.status}"
        raise AddRefused(code, error_words(code))
    return result


def _parse(result: FetchResult) -> ParsedFeed | None:
    try:
        return parse_feed(
            result.body,
            fetched_at=timezone.now(),
            max_bytes=settings.WATCH_MAX_BYTES,
            max_items=1,
            content_type=result.headers.get("content-type", ""),
            base_url=result.final_url,
        )
    except FeedError as exc:
        if exc.code == "xml_entities":
            raise AddRefused(exc.code, error_words(exc.code)) from exc
        return None


def _try_feed(url: str, deadline: float) -> tuple[FetchResult | None, ParsedFeed | None]:
    """A candidate fetched and parsed; (None, None) when it is not a feed we can read."""
    try:
        result = fetch_sync(url, policy=_policy(deadline))
    except FetchError:
        return None, None
    if not result.ok:
        return None, None
    return result, _parse(result)


def _known(url: str) -> Source | None:
    try:
        key = url_key(url)
    except InvalidURL:
        return None
    return Source.objects.filter(url_key=key).first()


def _create(
    url: str,
    kind: str,
    feed: ParsedFeed | None,
    by: Any,
    labels: Labels,
    *,
    how: str,
    found_on: str = "",
    title: str = "",
) -> Added:
    url = clean_url(url)
    key = url_key(url)
    known = Source.objects.filter(url_key=key).first()
    if known is not None:
        return Added(known, created=False, how="known", found_on=found_on)
    try:
        with transaction.atomic():
            source = Source.objects.create(
                url=url,
                url_key=key,
                kind=kind,
                title=(feed.title if feed else title)[:300],
                site_url=feed.site_url if feed else "",
                found_on=found_on if found_on != url else "",
                interval_seconds=settings.WATCH_DEFAULT_INTERVAL,
                next_poll_at=timezone.now(),
                created_by=by,
                **labels.fields(),
            )
    except IntegrityError:  # added by someone else since the check
        return Added(Source.objects.get(url_key=key), created=False, how="known")
    return Added(source, created=True, how=how, found_on=found_on)
