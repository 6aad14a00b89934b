"""What one poll of a source means: the fetch's result (or failure) turned into an outcome, and
the source's next state (status, failure score, interval, next poll).

Pure: no fetch and no database (the watcher fetches, essaim.watch.watcher.claims records), so
that the rules are tested on bytes and numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from essaim.lib.fetcher import FetchError, FetchResult
from essaim.watch.services.discovery import read_page
from essaim.watch.services.evidence import make_warc
from essaim.watch.services.extraction import Extracted, ExtractionError
from essaim.watch.services.feeds import FeedError, ParsedItem, content_hash, parse_feed
from essaim.watch.services.health import failure_weight
from essaim.watch.services.urls import url_key

OK = "ok"
NOT_MODIFIED = "not_modified"  # 304 to a conditional GET
UNCHANGED = "unchanged"  # 200 with the same body as last time (servers lie about ETag)
DEFERRED = "deferred"  # not fetched: its host asked us to wait (429/503 with Retry-After)
ROBOTS_FORBIDDEN = "robots_forbidden"  # a page its site's robots.txt forbids us: not fetched
ROBOTS_UNREACHABLE = "robots_unreachable"  # its robots.txt failed (5xx, network): not fetched
SUCCESSES = frozenset({OK, NOT_MODIFIED, UNCHANGED})
PAGE_SUMMARY_MAX = 4000  # characters of a page's main text kept as its item's summary

# How a page's HTML is read: essaim.watch.services.extraction.extract_page, or a stand-in.
Extractor = Callable[[bytes, str], Extracted]


@dataclass(slots=True)
class Claimed:
    """A source as a watcher claimed it: what the poll needs, nothing more."""

    id: int
    url: str
    kind: str
    etag: str
    last_modified: str
    body_hash: str
    interval: int
    failure_score: float
    status: str
    last_new_at: dt.datetime | None = None  # when a poll last brought a new item


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_items: int
    min_interval: int
    max_interval: int
    disable_after: float
    max_retry_after: int = 24 * 3600


@dataclass(frozen=True)
class EvidenceData:
    url: str
    status: int
    content_type: str
    size: int
    sha256: str
    warc: bytes


@dataclass
class Outcome:
    """One poll's result, ready to record."""

    code: str
    fetched_at: dt.datetime
    http_status: int | None = None
    message: str = ""
    elapsed_ms: int | None = None
    items: list[ParsedItem] = field(default_factory=list)
    page: ParsedItem | None = None  # a watched page, as its one item
    evidence: EvidenceData | None = None
    title: str = ""  # the feed's or the page's, for a source that has none yet
    site_url: str = ""
    etag: str | None = None  # None: keep the stored validators
    last_modified: str | None = None
    body_hash: str | None = None
    retry_after: float | None = None

    @property
    def success(self) -> bool:
        return self.code in SUCCESSES


@dataclass(frozen=True)
class NextState:
    status: str
    failure_score: float
    interval: int
    next_poll_at: dt.datetime


def conditional_headers(source: Claimed) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from what the source's server sent last time."""
    headers = {}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    return headers


def interpret(
    source: Claimed,
    result: FetchResult | FetchError,
    *,
    fetched_at: dt.datetime,
    limits: Limits,
    extract: Extractor | None = None,
) -> Outcome:
    """The outcome of one fetch of `source`: a failure's code, 304, the same body, or the items
    (a feed's entries; a page's one item when its text changed) with the evidence. A page
    whose text changed is read by `extract` (trafilatura in a worker that can be killed);
    without one, its visible text stands for its main text."""
    if isinstance(result, FetchError):
        return Outcome(result.code, fetched_at, message=result.message[:300])
    elapsed = int(result.elapsed * 1000)
    base = Outcome("", fetched_at, http_status=result.status, elapsed_ms=elapsed)
    if result.not_modified:
        base.code = NOT_MODIFIED
        return base
    if not result.ok:
        base.code = f"http_{result.status}"
        base.retry_after = result.retry_after
        return base
    base.etag = result.headers.get("etag", "")[:300]
    base.last_modified = result.headers.get("last-modified", "")[:100]
    if source.kind == "page":
        return _page(source, result, base, extract)
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == source.body_hash:
        base.code = UNCHANGED
        return base
    try:
        feed = parse_feed(
            result.body,
            fetched_at=fetched_at,
            max_bytes=limits.max_bytes,
            max_items=limits.max_items,
            content_type=result.headers.get("content-type", ""),
            base_url=result.final_url,
        )
    except FeedError as exc:
        base.code, base.message = exc.code, exc.message[:300]
        return base
    base.code = OK
    base.items = feed.items
    base.title, base.site_url = feed.title, feed.site_url
    base.body_hash = digest
    base.message = "; ".join(feed.notes)[:300]
    base.evidence = _evidence(result, digest, fetched_at)
    return base


def next_state(source: Claimed, outcome: Outcome, *, new_items: int, limits: Limits) -> NextState:
    """The source's status, score, interval and next poll after `outcome`.

    Success: the score halves, and the interval adapts (`adapt_interval`). Failure: the score
    grows by the failure's weight; the next poll waits what Retry-After asks (at most a day),
    else the interval doubled for each point of score; at WATCH_DISABLE_AFTER the source is
    disabled."""
    now = outcome.fetched_at
    interval = source.interval
    if outcome.code == DEFERRED:
        wait = outcome.retry_after or interval
        return NextState(
            source.status, source.failure_score, interval, now + dt.timedelta(seconds=wait)
        )
    if outcome.success:
        if outcome.page is not None:
            new_items = max(new_items, 1)  # a page whose text changed is news, stored or not
        interval = adapt_interval(
            interval,
            seen=len(outcome.items) or (1 if outcome.page else 0),
            new=new_items,
            quiet_since=source.last_new_at,
            now=now,
            limits=limits,
        )
        score = source.failure_score / 2
        return NextState(
            "ok", score if score >= 0.05 else 0.0, interval, now + dt.timedelta(seconds=interval)
        )
    retry_after = outcome.retry_after
    score = source.failure_score + failure_weight(outcome.code, retry_after=retry_after is not None)
    status = "disabled" if score >= limits.disable_after else "failing"
    if retry_after is not None:
        wait = max(1.0, min(float(limits.max_retry_after), retry_after))
    else:
        wait = min(float(limits.max_interval), interval * 2 ** min(score, 8.0))
    return NextState(status, round(score, 4), interval, now + dt.timedelta(seconds=wait))


def adapt_interval(
    interval: int,
    *,
    seen: int,
    new: int,
    quiet_since: dt.datetime | None,
    now: dt.datetime,
    limits: Limits,
) -> int:
    """The seconds until the next poll of a source whose poll just succeeded, having read
    `seen` items of which `new` were new (a 304 or an unchanged body: none seen).

    Nothing new — Media Cloud's rule: a source is polled again after as long as it has been
    quiet (since `quiet_since`, when a poll last brought something new) plus the minimum
    interval, never sooner than now: one that has said nothing for a day waits a day more, one
    that spoke an hour ago an hour. A source that never brought anything waits twice as long.
    Something new — aim at polls where about half of what is read is new: when more than half
    was new, items may have scrolled out of the feed between two polls, so the interval
    shrinks in proportion (halved at most per poll); when new items came among repeats, it
    grows in proportion (doubled at most). A first poll (everything new, nothing known before)
    says nothing of the pace and keeps the interval. Always within WATCH_MIN_INTERVAL and
    WATCH_MAX_INTERVAL."""
    if new <= 0:
        if quiet_since is None:
            wanted = interval * 2.0
        else:
            quiet = max(0.0, (now - quiet_since).total_seconds())
            wanted = max(float(interval), quiet + limits.min_interval)
    elif quiet_since is None:
        wanted = float(interval)
    else:
        share = new / max(seen, new)
        wanted = interval * min(2.0, max(0.5, 0.5 / share))
    return int(max(limits.min_interval, min(limits.max_interval, wanted)))


def _page(
    source: Claimed, result: FetchResult, base: Outcome, extract: Extractor | None
) -> Outcome:
    page = read_page(
        result.body, url=result.final_url, content_type=result.headers.get("content-type", "")
    )
    # The visible text's hash: markup, scripts and tokens change at every load of most pages.
    if page.text_hash == source.body_hash:
        base.code = UNCHANGED
        return base
    title, text, author, language = page.title, page.text, "", ""
    published: dt.datetime | None = None
    links: tuple[str, ...] = ()
    if extract is not None:
        try:
            extracted = extract(result.body, result.final_url)
        except ExtractionError as exc:
            # The hash is not kept: the next poll reads the page again.
            base.code, base.message = exc.code, exc.message[:300]
            return base
        title = extracted.title or page.title
        text = extracted.text or page.text
        author, language = extracted.author, extracted.language
        links = tuple(extracted.links)
        published = extracted.published_at
        if published is not None and published > base.fetched_at:
            published = base.fetched_at
    base.code = OK
    base.body_hash = page.text_hash
    base.title = page.title
    base.page = ParsedItem(
        key=url_key(source.url),
        url=source.url,
        guid="",
        title=title,
        summary=text[:PAGE_SUMMARY_MAX],
        author=author,
        published_at=published,
        language=language,
        content_hash=content_hash(title, text),
        links=links,
    )
    base.evidence = _evidence(result, hashlib.sha256(result.body).hexdigest(), base.fetched_at)
    return base


def _evidence(result: FetchResult, digest: str, fetched_at: dt.datetime) -> EvidenceData:
    return EvidenceData(
        url=result.final_url,
        status=result.status,
        content_type=result.headers.get("content-type", "")[:200],
        size=len(result.body),
        sha256=digest,
        warc=make_warc(
            url=result.final_url,
            status=result.status,
            headers=result.headers,
            body=result.body,
            fetched_at=fetched_at,
        ),
    )
