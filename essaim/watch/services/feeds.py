"""Feed documents (RSS, Atom, JSON Feed) as bytes in, items out: feedparser behind a byte cap,
with XML entity declarations refused before it sees the document, and every text sanitized.

Pure: no fetch, no database. What is refused raises FeedError with a stable code (the code a
source's health shows): `too_large`, `xml_entities`, `not_a_feed`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import html
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import feedparser
import nh3

from essaim.watch.services.urls import InvalidURL, clean_url, url_key

TITLE_MAX = 500
SUMMARY_MAX = 4000
AUTHOR_MAX = 200
# Before this, a date is a placeholder (0 seconds since 1970 and its neighbours), not a date.
EARLIEST_DATE = dt.datetime(1971, 1, 1, tzinfo=dt.UTC)

# An entity declaration anywhere in an XML document: the billion laughs (entities that expand
# into each other) and external entities (SYSTEM "file:///etc/passwd") both need one. No real
# feed declares entities, so the whole document is refused rather than parsed with them off.
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
_SPACES = re.compile(r"\s+")


class FeedError(Exception):
    """A document the watch refuses or cannot read; `code` is stable, `message` for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ParsedItem:
    key: str  # identity within its source (url_key of the link, else of the guid)
    url: str  # the item's link, clean http(s), or "" when it has none we can follow
    guid: str
    title: str
    summary: str
    author: str
    published_at: dt.datetime | None
    language: str
    content_hash: str
    links: tuple[str, ...] = ()  # in its text (a watched page's, read by trafilatura)


@dataclass(frozen=True)
class ParsedFeed:
    version: str  # feedparser's name for the format: rss20, atom10, json11…
    title: str
    site_url: str
    language: str
    items: list[ParsedItem] = field(default_factory=list)
    entries: int = 0  # entries in the document (more than `items` when capped)
    notes: list[str] = field(default_factory=list)  # what was repaired, for the history

    @property
    def capped(self) -> bool:
        return self.entries > len(self.items)


def text_only(value: Any, limit: int) -> str:
    """Plain text from a fragment of HTML that came from the web: every tag dropped (a script's
    or a style's content with it), entities decoded, spaces collapsed, cut at `limit`. It is
    escaped again when rendered; this is what the page shows and what the watch compares."""
    if not value:
        return ""
    text = html.unescape(nh3.clean(str(value), tags=set()))
    text = _SPACES.sub(" ", text.replace("\x00", "")).strip()
    return text[:limit]


def refuse_entities(body: bytes) -> None:
    """FeedError(xml_entities) when the document declares an XML entity (see _ENTITY_DECL).
    UTF-16 and UTF-32 documents are decoded first: their markup is not ASCII bytes."""
    head = body[:4]
    probe = body
    for bom, codec in zip(_UTF16_32_BOMS, ("utf-32", "utf-32", "utf-16", "utf-16"), strict=True):
        if head.startswith(bom):
            probe = body.decode(codec, "replace").encode("utf-8", "replace")
            break
    else:
        if b"\x00" in body[:64]:  # UTF-16 without a byte-order mark
            probe = body.replace(b"\x00", b"")
    if _ENTITY_DECL.search(probe):
        raise FeedError("xml_entities", "The document declares XML entities: refused.")


def sniff_feed(body: bytes, content_type: str = "") -> bool:
    """Whether the bytes look like a feed worth giving to the parser (cheap: a content type, or
    the first non-blank characters); the parser still decides."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
    }:
        return True
    start = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"{"):
        return b"jsonfeed.org" in body[:4096]
    if start.startswith(b"<?xml") or start.startswith(b"<!--"):
        return any(tag in start for tag in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel"))
    return start.startswith((b"<rss", b"<feed", b"<rdf:rdf"))


def parse_feed(
    body: bytes,
    *,
    fetched_at: dt.datetime,
    max_bytes: int,
    max_items: int,
    content_type: str = "",
    base_url: str = "",
) -> ParsedFeed:
    """The feed in `body`: its title, link, language and its first `max_items` entries (in the
    document's order, newest first in every feed we know), each sanitized. Raises FeedError."""
    if len(body) > max_bytes:
        raise FeedError("too_large", f"The document is larger than {max_bytes} bytes.")
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _json_feed(body, fetched_at=fetched_at, max_items=max_items, base_url=base_url)
    refuse_entities(body)
    headers = {"content-type": content_type or "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    # A stream, never bytes or a string: feedparser opens a string that looks like a URL, and a
    # bytes value that names a file on this machine, as the document to parse.
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=True, resolve_relative_uris=True
    )
    version = parsed.get("version") or ""
    entries = parsed.get("entries") or []
    if not version:
        raise FeedError("not_a_feed", "The document is not an RSS, Atom or JSON feed.")
    feed = parsed.get("feed") or {}
    language = _language(feed.get("language"))
    notes = []
    exc = parsed.get("bozo_exception")
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        notes.append(f"encoding: declared one, read as {parsed.get('encoding', '?')}")
    items = _unique(
        _make_item(
            title=entry.get("title"),
            summary=entry.get("summary") or _first_content(entry),
            link=entry.get("link"),
            guid=entry.get("id"),
            author=entry.get("author"),
            published=_date(entry),
            language=_language(entry.get("language")) or language,
            fetched_at=fetched_at,
            base_url=base_url,
        )
        for entry in entries[:max_items]
    )
    if len(entries) > max_items:
        notes.append(f"{len(entries)} entries, the first {max_items} read")
    return ParsedFeed(
        version=version,
        title=text_only(feed.get("title"), TITLE_MAX),
        site_url=_link(feed.get("link"), base_url),
        language=language,
        items=items,
        entries=len(entries),
        notes=notes,
    )


def clamp_date(value: dt.datetime | None, *, fetched_at: dt.datetime) -> dt.datetime | None:
    """A date from the web made usable: in the future → the time it was fetched (a clock ahead
    or a scheduled post: it cannot have been published later than we saw it); before 1971 → no
    date (a zero timestamp, not a date)."""
    if value is None or value < EARLIEST_DATE:
        return None
    return min(value, fetched_at)


def content_hash(title: str, summary: str) -> str:
    text = f"{title}\n{summary}".casefold()
    return hashlib.sha256(_SPACES.sub(" ", text).strip().encode("utf-8")).hexdigest()


# --- one entry ----------------------------------------------------------------------------------


def _make_item(
    *,
    title: Any,
    summary: Any,
    link: Any,
    guid: Any,
    author: Any,
    published: dt.datetime | None,
    language: str,
    fetched_at: dt.datetime,
    base_url: str,
) -> ParsedItem | None:
    title = text_only(title, TITLE_MAX)
    summary = text_only(summary, SUMMARY_MAX)
    link = _link(link, base_url)
    guid = str(guid or "")[:500]
    digest = content_hash(title, summary)
    if link:
        key = url_key(link)
    elif guid and _link(guid, ""):  # a permalink as id; a relative id is not an address
        key = url_key(_link(guid, ""))
    elif guid:
        key = f"guid:{guid}"
    elif title or summary:
        key = f"hash:{digest}"
    else:
        return None  # nothing to show, nothing to tell it from another
    return ParsedItem(
        key=key[:2000],
        url=link,
        guid=guid,
        title=title,
        summary=summary,
        author=text_only(author, AUTHOR_MAX),
        published_at=clamp_date(published, fetched_at=fetched_at),
        language=language,
        content_hash=digest,
    )


def _unique(items: Iterable[ParsedItem | None]) -> list[ParsedItem]:
    """The items in order, the second of two with the same key left out."""
    kept: dict[str, ParsedItem] = {}
    for item in items:
        if item is not None and item.key not in kept:
            kept[item.key] = item
    return list(kept.values())


def _json_feed(
    body: bytes, *, fetched_at: dt.datetime, max_items: int, base_url: str
) -> ParsedFeed:
    """A JSON Feed (jsonfeed.org, 1.0 and 1.1), which feedparser 6.0 does not read."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FeedError("not_a_feed", "The document is not valid JSON.") from exc
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise FeedError("not_a_feed", "The document is not an RSS, Atom or JSON feed.")
    language = _language(document.get("language"))
    entries = document.get("items")
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    items = _unique(
        _make_item(
            title=_text(entry.get("title")),
            summary=_text(entry.get("summary"))
            or _text(entry.get("content_text"))
            or _text(entry.get("content_html")),
            link=_text(entry.get("url")) or _text(entry.get("external_url")),
            guid=_text(entry.get("id")),
            author=_json_author(entry) or _json_author(document),
            published=_iso_date(entry.get("date_published") or entry.get("date_modified")),
            language=_language(entry.get("language")) or language,
            fetched_at=fetched_at,
            base_url=base_url,
        )
        for entry in entries[:max_items]
    )
    notes = []
    if len(entries) > max_items:
        notes.append(f"{len(entries)} entries, the first {max_items} read")
    return ParsedFeed(
        version="json" + version.rsplit("/", 1)[-1].replace(".", ""),
        title=text_only(_text(document.get("title")), TITLE_MAX),
        site_url=_link(_text(document.get("home_page_url")), base_url),
        language=language,
        items=items,
        entries=len(entries),
        notes=notes,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _json_author(value: dict[str, Any]) -> str:
    authors = value.get("authors")
    author = authors[0] if isinstance(authors, list) and authors else value.get("author")
    return _text(author.get("name")) if isinstance(author, dict) else ""


def _iso_date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _first_content(entry: Any) -> str:
    content = entry.get("content") or []
    return str(content[0].get("value") or "") if content else ""


def _date(entry: Any) -> dt.datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            try:
                return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
            except (OverflowError, ValueError, OSError):
                return None
    return None


def _link(value: Any, base_url: str) -> str:
    if not value or not isinstance(value, str):
        return ""
    try:
        return clean_url(value, base=base_url or None)
    except InvalidURL:
        return ""  # javascript:, mailto:, garbage: shown as text, never as a link


def _language(value: Any) -> str:
    text = str(value or "").strip().lower().replace("_", "-")
    return text[:20] if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", text) else ""
