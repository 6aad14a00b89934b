"""robots.txt for watched pages (RFC 9309), read by protego, kept per host by each watcher.

Only pages ask: a feed is published for machines to read, and feed readers do not ask. The
rules of a host come from `scheme://host[:port]/robots.txt`, fetched through the guarded
fetcher like everything else (redirects followed, at most 512 KiB), and are read for our
product token, `Essaim` (the User-Agent's first word). As the RFC says: a robots.txt that
answers 4xx (none, or refused) allows everything; one that answers 5xx, or cannot be reached,
forbids everything for now — the page is not fetched, the poll counts as a transient failure
(`robots_unreachable`), and the host is asked again after a few minutes.

The cache lives in the watcher's memory, for WATCH_ROBOTS_TTL seconds (an hour; the RFC asks
no more than a day), at most WATCH_ROBOTS_CACHE_SIZE hosts, least recently used dropped first.
Not in the database: it is one small request per host per hour per watcher process, which
costs the site less than a poll of one of its pages, while a shared table would cost a write
and a read on every poll of every page and a purge job. Several watchers each ask once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from essaim.lib.fetcher import FetchError, FetchPolicy, FetchResult, GuardedClient

ROBOTS_NAME = "Essaim"  # the User-Agent's first word, as robots.txt names us
MAX_BYTES = 512 * 1024  # the RFC asks crawlers to read at least 500 KiB
UNREACHABLE_TTL = 300.0  # seconds before a host whose robots.txt failed is asked again

ALLOWED = "allowed"
FORBIDDEN = "forbidden"
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Rules:
    """A host's robots.txt as read: `parser` None means everything allowed (4xx), or, with
    `unreachable`, everything forbidden for now."""

    parser: Protego | None
    unreachable: str = ""  # why, when it could not be had
    fetched_at: float = 0.0

    def verdict(self, url: str) -> str:
        if self.unreachable:
            return UNREACHABLE
        if self.parser is None or self.parser.can_fetch(url, ROBOTS_NAME):
            return ALLOWED
        return FORBIDDEN

    def crawl_delay(self) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(ROBOTS_NAME)
        return float(delay) if delay is not None else None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/robots.txt"


def rules_from(result: FetchResult | FetchError, *, now: float) -> Rules:
    """The rules a fetch of robots.txt gives (see module)."""
    if isinstance(result, FetchError):
        return Rules(None, unreachable=result.code, fetched_at=now)
    if 200 <= result.status < 300:
        text = result.body.decode("utf-8", "replace")
        return Rules(Protego.parse(text), fetched_at=now)
    if 400 <= result.status < 500:
        return Rules(None, fetched_at=now)
    return Rules(None, unreachable=f"http_{result.status}", fetched_at=now)


class RobotsCache:
    """Each host's rules, fetched at most once per `ttl` seconds (see module)."""

    def __init__(self, *, ttl: float, size: int, policy: FetchPolicy) -> None:
        self.ttl = ttl
        self.size = max(1, size)
        self.policy = FetchPolicy(
            max_bytes=MAX_BYTES,
            connect_timeout=policy.connect_timeout,
            read_timeout=policy.read_timeout,
            total_timeout=policy.total_timeout,
            max_redirects=policy.max_redirects,
            allowed_ports=policy.allowed_ports,
            user_agent=policy.user_agent,
        )
        self._rules: OrderedDict[str, Rules] = OrderedDict()
        self.fetches = 0

    def cached(self, url: str) -> Rules | None:
        key = robots_url(url)
        rules = self._rules.get(key)
        if rules is None:
            return None
        ttl = UNREACHABLE_TTL if rules.unreachable else self.ttl
        if time.monotonic() - rules.fetched_at >= ttl:
            del self._rules[key]
            return None
        self._rules.move_to_end(key)
        return rules

    async def rules(self, client: GuardedClient, url: str) -> tuple[Rules, bool]:
        """The rules for `url`'s host, and whether they were fetched now (the caller then
        waits its gap before the next request to that host)."""
        rules = self.cached(url)
        if rules is not None:
            return rules, False
        try:
            result: FetchResult | FetchError = await client.fetch(
                robots_url(url), policy=self.policy
            )
        except FetchError as exc:
            result = exc
        self.fetches += 1
        rules = rules_from(result, now=time.monotonic())
        key = robots_url(url)
        self._rules[key] = rules
        self._rules.move_to_end(key)
        while len(self._rules) > self.size:
            self._rules.popitem(last=False)
        return rules, True
