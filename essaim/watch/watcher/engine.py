"""The watcher: claims due sources, fetches them concurrently through the guarded fetcher,
and records each poll (essaim.watch.watcher.claims). Run as many as you like, on as many
machines: the claims keep them apart.

A pipeline, not rounds: the watcher keeps up to `capacity` sources in hand and claims more as
soon as a quarter of that room is free, so that a slow host holds only its own sources, never
a batch of others behind it. A source in hand waits for its host, then for one of the
`concurrency` fetch slots.

Politeness: one request at a time per host, and at least `host_gap` seconds between the end of
one and the start of the next (more if the host's robots.txt asks a Crawl-delay, up to
MAX_CRAWL_DELAY); a host that answers 429 or 503 with Retry-After is left alone for that long
(its other sources in hand are put off, not fetched). The User-Agent names Essaim and a contact
URL (the fetcher's, FETCH_CONTACT_URL). A watched page is fetched only if its site's
robots.txt lets us (essaim.watch.watcher.robots); a feed is meant for machines and is not
asked about.

Stories: the new items of many polls are placed together (essaim.watch.services.stories), once
PLACE_AFTER_ITEMS have come in or PLACE_AFTER_SECONDS have passed, and before the watcher stops:
most of a placement's cost is per batch (the candidates' queries), not per item.

Threads: the event loop fetches; parsing (CPU) runs in worker threads, and a page's extraction
in a worker process of its own (essaim.watch.services.extraction), waited for from one of
those threads; every database call runs in one thread of its own (Django's connections are per
thread), as the sender does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from essaim.lib.fetcher import FetchError, FetchPolicy, FetchResult, GuardedClient
from essaim.watch.services.extraction import Extracted, extract_page
from essaim.watch.services.polling import (
    DEFERRED,
    ROBOTS_FORBIDDEN,
    ROBOTS_UNREACHABLE,
    Claimed,
    Extractor,
    Limits,
    Outcome,
    conditional_headers,
    interpret,
)
from essaim.watch.services.stories import ingest_after_poll
from essaim.watch.services.urls import host_of
from essaim.watch.watcher import claims
from essaim.watch.watcher.robots import FORBIDDEN, UNREACHABLE, RobotsCache

log = logging.getLogger("essaim.watch.watcher")

# Retry-After is honoured for these statuses (RFC 9110 defines it for 503 and 3xx, RFC 6585
# for 429).
BACKOFF_STATUSES = frozenset({429, 503})
# A Crawl-delay in robots.txt lengthens the gap to its host up to this many seconds.
MAX_CRAWL_DELAY = 60.0
# When the new items in hand are placed in stories (see module).
PLACE_AFTER_ITEMS = 500
PLACE_AFTER_SECONDS = 2.0


@dataclass(frozen=True)
class WatcherOptions:
    limits: Limits
    concurrency: int = 20  # fetches at once, over every host
    claim_batch: int = 50
    lease_seconds: float = 300.0
    host_gap: float = 2.0
    idle_sleep: float = 5.0  # when nothing is due
    once: bool = False  # one round: every source due now, then exit
    robots_ttl: float = 3600.0
    robots_cache_size: int = 10_000
    extract_workers: int = 1

    @property
    def capacity(self) -> int:
        """Sources in hand at most: claimed, waiting for their host or a fetch slot, or being
        recorded."""
        return max(self.claim_batch, self.concurrency) * 2


@dataclass
class Stats:
    polled: int = 0
    new_items: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lost_claims: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "polled": self.polled,
            "new_items": self.new_items,
            "outcomes": dict(sorted(self.outcomes.items())),
            "lost_claims": self.lost_claims,
        }


def make_watcher_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


class HostGate:
    """One request at a time per host, `gap` seconds apart; and the hosts that asked us to
    wait (Retry-After), until when."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._blocked: dict[str, float] = {}
        self._gaps: dict[str, float] = {}  # hosts whose robots.txt asks a longer gap
        self._queued: Counter[str] = Counter()  # sources in or waiting for each host's slot

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(host, asyncio.Lock())
        self._queued[host] += 1
        try:
            async with lock:
                await self.pause(host)
                try:
                    yield
                finally:
                    self._last[host] = time.monotonic()
        finally:
            self._queued[host] -= 1
            if self._queued[host] <= 0:
                # Nobody in or waiting for the host's slot: its lock goes, so that a watcher
                # that runs for months over thousands of hosts keeps none for each. Its last
                # request's time stays, for the gap.
                del self._queued[host]
                self._locks.pop(host, None)

    async def pause(self, host: str) -> None:
        """Wait until the host's gap since our last request to it has passed."""
        gap = max(self.gap, self._gaps.get(host, 0.0))
        wait = self._last.get(host, -1e9) + gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def done(self, host: str) -> None:
        """A request to the host just ended (inside its slot): the gap counts from now."""
        self._last[host] = time.monotonic()

    def set_gap(self, host: str, seconds: float | None) -> None:
        if seconds is None or seconds <= self.gap:
            self._gaps.pop(host, None)
        else:
            self._gaps[host] = min(seconds, MAX_CRAWL_DELAY)

    def block(self, host: str, seconds: float) -> None:
        self._blocked[host] = max(self._blocked.get(host, 0.0), time.monotonic() + seconds)

    def blocked_for(self, host: str) -> float | None:
        """Seconds this host asked us to wait still, or None."""
        until = self._blocked.get(host)
        if until is None:
            return None
        left = until - time.monotonic()
        return left if left > 0 else None


class Watcher:
    def __init__(
        self,
        options: WatcherOptions,
        *,
        watcher_id: str | None = None,
        policy: FetchPolicy | None = None,
        extractor: Extractor | None = None,
    ) -> None:
        self.opt = options
        self.id = watcher_id or make_watcher_id()
        self.policy = policy or FetchPolicy.from_settings(max_bytes=options.limits.max_bytes)
        self.stats = Stats()
        self.gate = HostGate(options.host_gap)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher-db")
        self._fetches = asyncio.Semaphore(max(1, options.concurrency))
        self._stopping = False
        self.robots = RobotsCache(
            ttl=options.robots_ttl, size=options.robots_cache_size, policy=self.policy
        )
        self.extract: Extractor = extractor or _extract
        # Pages that changed wait here for a reader before taking a thread: the extraction
        # workers are few, and a page may hold one for WATCH_EXTRACT_TIMEOUT seconds, which
        # must not starve the threads that parse feeds.
        self._readers = asyncio.Semaphore(max(1, options.extract_workers))
        # Sources whose new items are stored but not yet placed in stories, and how many.
        self._unplaced: set[int] = set()
        self._unplaced_items = 0
        self._placed_at = time.monotonic()

    async def db[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(_db_call, fn, *args, **kwargs)
        )

    def stop(self) -> None:
        if not self._stopping:
            log.info("watcher %s: stopping", self.id)
        self._stopping = True

    async def run(self) -> Stats:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop)
        log.info("watcher %s: started", self.id)
        try:
            async with GuardedClient(self.policy) as client:
                await self._pipeline(client)
        finally:
            await self._place()
            await self.db(_close_connection)
            self._executor.shutdown(wait=True)
        log.info("watcher %s: done %s", self.id, self.stats.as_dict())
        return self.stats

    async def _pipeline(self, client: GuardedClient) -> None:
        """Claim while there is room, poll each source as its own task, until stopped (or, with
        `once`, until nothing is due and every source in hand is recorded)."""
        capacity = self.opt.capacity
        refill = max(1, min(self.opt.claim_batch, capacity // 4))
        running: set[asyncio.Task[None]] = set()
        drained = False  # --once: a claim found nothing due; no more claims
        quiet_until = 0.0  # a claim found nothing: the next waits idle_sleep
        while not self._stopping:
            room = capacity - len(running)
            if not drained and room >= refill and time.monotonic() >= quiet_until:
                want = min(room, self.opt.claim_batch)
                batch = await self.db(
                    claims.claim,
                    watcher_id=self.id,
                    limit=want,
                    lease_seconds=self.opt.lease_seconds,
                )
                for source in batch:
                    running.add(asyncio.create_task(self._poll(client, source)))
                if len(batch) == want:
                    continue  # more may be due: fill the room before waiting
                if self.opt.once:
                    drained = True
                else:
                    quiet_until = time.monotonic() + self.opt.idle_sleep
            if not running:
                if drained:
                    break
                await self._place()
                await self._idle()
                continue
            if drained or capacity - len(running) < refill:
                timeout = None  # nothing to claim until a source in hand is done
            else:
                timeout = max(0.05, quiet_until - time.monotonic())  # claim again then
            if self._unplaced:
                wait = max(0.05, self._placed_at + PLACE_AFTER_SECONDS - time.monotonic())
                timeout = wait if timeout is None else min(timeout, wait)
            done, _pending = await asyncio.wait(
                running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            running -= done
            if self._unplaced_items >= PLACE_AFTER_ITEMS or (
                self._unplaced and time.monotonic() >= self._placed_at + PLACE_AFTER_SECONDS
            ):
                await self._place()
        if running:
            # Stopping: what is in hand is finished and recorded (within its lease).
            await asyncio.gather(*running)

    async def _place(self) -> None:
        """Place the new items of the polls recorded since the last time (the set is taken
        before the wait, so that a poll recorded meanwhile waits for the next)."""
        sources, self._unplaced = sorted(self._unplaced), set()
        self._unplaced_items, self._placed_at = 0, time.monotonic()
        if sources:
            await self.db(ingest_after_poll, sources)

    async def _idle(self) -> None:
        deadline = time.monotonic() + self.opt.idle_sleep
        while not self._stopping and time.monotonic() < deadline:
            await asyncio.sleep(min(0.5, self.opt.idle_sleep))

    async def _poll(self, client: GuardedClient, source: Claimed) -> None:
        host = host_of(source.url)
        try:
            result = await self._fetch(client, source, host)
            if isinstance(result, Outcome):
                outcome = result
            elif source.kind == "page":
                async with self._readers:
                    outcome = await self._interpret(source, result)
            else:
                outcome = await self._interpret(source, result)
            new = await self.db(
                claims.record,
                source,
                outcome,
                watcher_id=self.id,
                limits=self.opt.limits,
                place=False,
            )
        except Exception:
            # One source's bug must not stop the round: its lease runs out and it is due again.
            log.exception("watcher %s: source %s failed", self.id, source.id)
            self.stats.outcomes["internal_error"] += 1
            return
        self.stats.polled += 1
        self.stats.outcomes[outcome.code] += 1
        if new is None:
            self.stats.lost_claims += 1
        else:
            self.stats.new_items += new
            if new:
                self._unplaced.add(source.id)
                self._unplaced_items += new

    async def _interpret(self, source: Claimed, result: FetchResult | FetchError) -> Outcome:
        return await asyncio.to_thread(
            interpret,
            source,
            result,
            fetched_at=timezone.now(),
            limits=self.opt.limits,
            extract=self.extract,
        )

    async def _fetch(
        self, client: GuardedClient, source: Claimed, host: str
    ) -> FetchResult | FetchError | Outcome:
        async with self.gate.slot(host):
            waiting = self.gate.blocked_for(host)
            if waiting is not None:
                # The host asked us to wait: no request to it until then, no failure counted.
                return Outcome(
                    DEFERRED,
                    timezone.now(),
                    message=f"host asked to wait {int(waiting)} s",
                    retry_after=waiting,
                )
            if source.kind == "page":
                refused = await self._robots(client, source, host)
                if refused is not None:
                    return refused
            async with self._fetches:
                try:
                    result = await client.fetch(source.url, headers=conditional_headers(source))
                except FetchError as exc:
                    return exc
            # Before the host's slot is released: its next source must see the block.
            if result.status in BACKOFF_STATUSES and result.retry_after is not None:
                self.gate.block(host, min(result.retry_after, self.opt.limits.max_retry_after))
            return result

    async def _robots(self, client: GuardedClient, source: Claimed, host: str) -> Outcome | None:
        """None when the site's robots.txt lets us fetch the page, else the poll's outcome (the
        page is not fetched)."""
        rules, fetched = self.robots.cached(source.url), False
        if rules is None:
            async with self._fetches:  # a request: it takes a fetch slot, the wait below not
                rules, fetched = await self.robots.rules(client, source.url)
        self.gate.set_gap(host, rules.crawl_delay())
        verdict = rules.verdict(source.url)
        if verdict == FORBIDDEN:
            return Outcome(
                ROBOTS_FORBIDDEN,
                timezone.now(),
                message="robots.txt forbids this page to Essaim",
            )
        if verdict == UNREACHABLE:
            return Outcome(
                ROBOTS_UNREACHABLE,
                timezone.now(),
                message=f"robots.txt could not be read ({rules.unreachable}): page not fetched",
            )
        if fetched:
            # robots.txt was a request to the host too: the page waits its gap.
            self.gate.done(host)
            await self.gate.pause(host)
        return None


def options_from_settings(**overrides: Any) -> WatcherOptions:
    from django.conf import settings

    limits = Limits(
        max_bytes=settings.WATCH_MAX_BYTES,
        max_items=settings.WATCH_MAX_ITEMS_PER_POLL,
        min_interval=settings.WATCH_MIN_INTERVAL,
        max_interval=settings.WATCH_MAX_INTERVAL,
        disable_after=settings.WATCH_DISABLE_AFTER,
    )
    options = WatcherOptions(
        limits=limits,
        concurrency=settings.WATCH_CONCURRENCY,
        claim_batch=settings.WATCH_CLAIM_BATCH,
        lease_seconds=settings.WATCH_LEASE_SECONDS,
        host_gap=settings.WATCH_HOST_GAP,
        robots_ttl=settings.WATCH_ROBOTS_TTL,
        robots_cache_size=settings.WATCH_ROBOTS_CACHE_SIZE,
        extract_workers=settings.WATCH_EXTRACT_WORKERS,
    )
    return dataclasses.replace(options, **overrides)


def _extract(html: bytes, url: str) -> Extracted:
    return extract_page(html, url)


def _close_connection() -> None:
    connection.close()  # looked up in the DB thread: Django connections are per thread


def _db_call[T](fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    from django.db import InterfaceError, OperationalError

    try:
        return fn(*args, **kwargs)
    except (InterfaceError, OperationalError):
        # A dropped PostgreSQL connection stays broken: open a new one at the next call.
        connection.close()
        raise
