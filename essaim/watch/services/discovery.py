"""Finding the feed of a page, from the HTML already fetched: its `<link rel="alternate">`
feeds, the feed of a video channel (YouTube, Dailymotion, PeerTube), then the paths where
blogs keep their feed. And what a page says of itself (title, visible text) when it has no
feed and is watched for change.

Pure: no fetch, no database. The caller fetches the candidates, in order, through the guarded
fetcher, and keeps the first that parses as a feed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from essaim.watch.services.feeds import text_only
from essaim.watch.services.urls import InvalidURL, clean_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
    }
)
# Where blogs keep their feed when the page does not say (WordPress, Blogger, Hugo, Jekyll,
# Ghost, SPIP, Dotclear, Drupal…), most common first.
COMMON_PATHS = (
    "/feed/",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/rss/",
    "/feeds/posts/default",
    "/spip.php?page=backend",
)
YOUTUBE_FEED = "https://www.youtube.com/feeds/videos.xml"
TEXT_MAX = 200_000  # characters of a page's visible text kept for its change hash
DESCRIPTION_MAX = 2000
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._-]{1,40})""", re.IGNORECASE)
_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})


@dataclass
class PageInfo:
    url: str
    title: str = ""
    base: str = ""
    feeds: list[str] = field(default_factory=list)  # declared by the page, resolved, in order
    canonical: str = ""
    channel_id: str = ""  # a YouTube channel's id, when the page names one
    text: str = ""
    # What the page says it is about (<meta name="description">, else og:description).
    description: str = ""

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def decode_html(body: bytes, content_type: str = "") -> str:
    """The page's text: the charset of its Content-Type, else of its <meta>, else UTF-8; bytes
    that do not decode become U+FFFD."""
    charset = ""
    match = re.search(r"charset=([A-Za-z0-9._-]+)", content_type or "", re.IGNORECASE)
    if match:
        charset = match[1]
    else:
        meta = _CHARSET.search(body[:4096])
        if meta:
            charset = meta[1].decode("ascii")
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def read_page(body: bytes, *, url: str, content_type: str = "") -> PageInfo:
    """What `body` (HTML fetched from `url`) says of itself."""
    reader = _Reader(url)
    reader.feed(decode_html(body, content_type))
    reader.close()
    info = reader.info
    info.title = text_only(info.title, 500)
    info.text = text_only(" ".join(reader.text), TEXT_MAX)
    info.description = text_only(info.description, DESCRIPTION_MAX)
    return info


def direct_feed(url: str) -> str | None:
    """The feed of a page whose address alone says it (no fetch needed): a YouTube channel by
    id, a playlist or a legacy user, a Dailymotion user."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if host in {"youtube.com", "www.youtube.com", "m.youtube.com"} and segments:
        if segments[0] == "channel" and len(segments) > 1 and _CHANNEL_ID.fullmatch(segments[1]):
            return f"{YOUTUBE_FEED}?channel_id={segments[1]}"
        if segments[0] == "playlist":
            playlist = parse_qs(parts.query).get("list", [""])[0]
            if re.fullmatch(r"[A-Za-z0-9_-]{2,64}", playlist):
                return f"{YOUTUBE_FEED}?playlist_id={playlist}"
        if segments[0] == "user" and len(segments) > 1 and _NAME.fullmatch(segments[1]):
            return f"{YOUTUBE_FEED}?user={segments[1]}"
    if host in {"dailymotion.com", "www.dailymotion.com"} and len(segments) == 1:
        name = segments[0]
        if _NAME.fullmatch(name) and name not in {"video", "playlist", "rss", "search"}:
            return f"https://www.dailymotion.com/rss/user/{name}"
    return None


def feed_candidates(page: PageInfo) -> list[str]:
    """Where the feed of `page` may be, in the order to try: the feeds the page declares, its
    YouTube channel's feed, a PeerTube channel's or account's, then the common paths of its
    site. Without duplicates."""
    found: list[str] = list(page.feeds)
    host = (urlsplit(page.url).hostname or "").lower()
    if host.endswith("youtube.com"):
        channel = page.channel_id or _channel_from(page.canonical)
        if channel:
            found.append(f"{YOUTUBE_FEED}?channel_id={channel}")
    parts = urlsplit(page.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 2 and _NAME.fullmatch(segments[1]):
        name = segments[1]
        if segments[0] in {"c", "video-channels"}:
            found.append(f"{origin}/feeds/videos.xml?videoChannelName={name}")
        elif segments[0] in {"a", "accounts"}:
            found.append(f"{origin}/feeds/videos.xml?accountName={name}")
    found += [origin + path for path in COMMON_PATHS]
    unique: list[str] = []
    for candidate in found:
        if candidate not in unique and candidate != page.url:
            unique.append(candidate)
    return unique


def _channel_from(url: str) -> str:
    match = re.search(r"/channel/(UC[A-Za-z0-9_-]{22})", url or "")
    return match[1] if match else ""


class _Reader(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.info = PageInfo(url=url, base=url)
        self.text: list[str] = []
        self._chars = 0
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and values.get("href") and self.info.base == self.info.url:
            self.info.base = self._resolve(values["href"]) or self.info.base
        elif tag == "link":
            rel = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";")[0].strip().lower()
            href = self._resolve(values.get("href", ""))
            if "alternate" in rel and kind in FEED_TYPES and href and href not in self.info.feeds:
                self.info.feeds.append(href)
            elif "canonical" in rel and href:
                self.info.canonical = href
        elif tag == "meta":
            name = values.get("itemprop", "") or values.get("property", "")
            content = values.get("content", "")
            if name in {"channelId", "identifier"} and _CHANNEL_ID.fullmatch(content):
                self.info.channel_id = content
            described = values.get("name", "").lower() == "description"
            if described or (name == "og:description" and not self.info.description):
                self.info.description = content
        elif tag == "title" and not self.info.title:
            self._in_title = True
        elif tag == "body":
            self._skip = 0  # a <head> (or a <script>) left open ends where the body starts
        if tag in _SKIPPED:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIPPED and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.info.title += data
        elif not self._skip and self._chars < TEXT_MAX:
            self.text.append(data)
            self._chars += len(data)

    def _resolve(self, href: str) -> str:
        try:
            return clean_url(href, base=self.info.base)
        except InvalidURL:
            return ""
