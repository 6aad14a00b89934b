"""The bulk sender: one asyncio process claiming ledger rows and pushing them through
persistent SMTP connections to the relay.

Tasks of one process:
- the claimer keeps a small buffer of claimed rows (never more than `max_claimed` held at once,
  which bounds what a crash can turn into `unknown`);
- N connection workers take batches of one provider group and send them with pipelining; what
  a batch may hold is decided by the shaper (essaim.mailing.sender.shaping): a cap on the
  connections per group, token buckets per group and for the whole relay account, the group's
  rate halved on 421/4.7.x deferrals and regained slowly;
- the flusher writes outcomes in batches (every `flush_every` messages or `flush_interval`
  seconds), so the database is off the hot path;
- the watcher (essaim.mailing.sender.watcher) follows campaign statuses, blackout windows and
  suppressions, and takes out of the buffer what may no longer go;
- the heartbeat pushes leases; the janitor settles the claims of dead senders as `unknown`,
  starts scheduled campaigns and closes finished ones.

Database work runs in two dedicated threads (claims; everything else), each with its own Django
connection, one short statement at a time; the event loop never blocks on it. On PostgreSQL the
claims, outcome flushes and heartbeats run on the event loop itself instead, through psycopg's
asyncio connections (essaim.lib.postgres), and so does the LISTEN connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection

from essaim.lib.compiled import compiled_modules
from essaim.lib.postgres import LoopConnection, postgres_conninfo
from essaim.mailing.message import CompiledMessage, Recipient, UnmailableAddress, ascii_address
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.sender import ledger
from essaim.mailing.sender.shaping import Shaper, ShapingConfig, is_slow_down
from essaim.mailing.sender.smtp import (
    ConnectionLost,
    Outcome,
    Outgoing,
    RelayConfig,
    Result,
    SmtpClient,
    SmtpError,
)
from essaim.mailing.sender.watcher import RowTest, Watcher

log = logging.getLogger("essaim.mailing.sender")
T = TypeVar("T")
D = Delivery.Status
SENDING = Campaign.Status.SENDING
CANCELLED = Campaign.Status.CANCELLED


CLAIM_CHUNK = 64  # claimed rows made into jobs between two turns of the event loop
# A connection's batch takes more rows of its group this many times before it ends and its
# connection picks a group again (the one with the most rows waiting).
REFILLS = 20


@dataclass
class SenderOptions:
    connections: int = 8
    per_provider: int = 8
    max_claimed: int = 1000
    claim_batch: int = 500  # max_claimed // 2 (see the sender command)
    batch_per_connection: int = 10
    lease_seconds: float = 120.0
    retry_base: float = 60.0  # first retry after a 4xx; doubles at each attempt
    max_attempts: int = 8
    poll_interval: float = 0.25
    suppression_poll: float = 0.5
    listen: bool = True  # PostgreSQL: LISTEN for unsubscribes (the poll then runs 10x slower)
    # Outcomes per statement: bigger flushes cost less per row on both sides (see
    # docs/benchmarks.md, bulk sender); unflushed outcomes count as held.
    flush_every: int = 200
    flush_interval: float = 0.1
    janitor_interval: float = 2.0
    once: bool = False  # exit when no campaign is being sent and nothing is held
    janitor: bool = True
    sending: bool = True  # False: janitor only
    campaign_ids: frozenset[int] | None = None  # serve only these campaigns (bench, tests)
    shaping: ShapingConfig | None = None  # None: per_provider connections per group, no rates


@dataclass(slots=True)
class Job:
    """A claimed row on its way; what SmtpClient.send needs (see smtp.Outgoing)."""

    row: ledger.Claimed
    message: CompiledMessage
    recipient: Recipient
    mail_from: str
    rcpt_to: str

    def payload(self) -> bytes:
        return self.message.wire(self.recipient)


@dataclass
class Stats:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    starved_s: float = 0.0  # connection-seconds spent waiting for claimed rows
    claims: int = 0
    claim_s: float = 0.0  # time in claim statements (their own thread)
    flushes: int = 0
    flush_s: float = 0.0
    notified: int = 0  # unsubscribes heard through LISTEN
    groups: dict[str, Any] = field(default_factory=dict)  # the shaper's account, at the end

    def as_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "outcomes": dict(self.outcomes),
            "starved_s": round(self.starved_s, 3),
            "claims": self.claims,
            "claim_s": round(self.claim_s, 3),
            "flushes": self.flushes,
            "flush_s": round(self.flush_s, 3),
            "notified": self.notified,
            "groups": self.groups,
            "seconds": round(time.monotonic() - self.started, 3),
            "compiled": compiled_modules(),  # which hot modules ran from their mypyc build
        }


def make_sender_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


class Sender:
    def __init__(
        self, relay: RelayConfig, options: SenderOptions, sender_id: str | None = None
    ) -> None:
        self.relay = relay
        self.opt = options
        self.id = sender_id or make_sender_id()
        self.stats = Stats()
        # Two database threads, each with its own connection (Django's are per thread): claims
        # never queue behind an outcome flush, a heartbeat or a poll, and the reverse.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sender-db")
        self._claim_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sender-claim")
        # On PostgreSQL, claims and outcome flushes go through connections of the event loop
        # instead (essaim.lib.postgres), one each so that neither queues behind the other
        # (heartbeats share the flush one).
        self._pg_claim: LoopConnection | None = None
        self._pg_settle: LoopConnection | None = None
        # Claim again when fewer rows than this are waiting for a connection: the next batch is
        # claimed while the current one is being sent. Not higher than what leaves room, within
        # max_claimed, for the rows on the wire, a whole flush and a whole claim: otherwise a
        # claim comes back short and outcomes get flushed early, in many small statements.
        in_flight = options.connections * options.batch_per_connection
        self._low_water = max(
            in_flight * 2,
            min(
                options.max_claimed // 2,
                options.max_claimed - in_flight - options.flush_every - options.claim_batch,
            ),
        )
        self._room = asyncio.Event()
        self._watch = Watcher(
            self.id,
            db=self.db,
            compile_message=self._compile_message,
            purge=self._purge,
            wake=self._room.set,
            stopping=lambda: self._stopping,
            poll_interval=options.poll_interval,
            suppression_poll=options.suppression_poll,
            campaign_ids=options.campaign_ids,
        )
        self._shaper = Shaper(
            options.shaping or ShapingConfig(per_provider=options.per_provider), time.monotonic()
        )
        self._buffer: dict[str, deque[Job]] = {}
        self._buffered = 0
        self._active_groups: Counter[str] = Counter()
        self._outstanding = 0  # rows claimed by us and not yet settled in the database
        self._claim_left: Counter[int] = Counter()  # per live claim: its rows not yet flushed
        self._settle: list[ledger.Settlement] = []
        self._bounces: list[ledger.HardBounce] = []
        self._work = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._janitor_now = asyncio.Event()
        self._stopping = False
        self._stopped = asyncio.Event()

    # --- plumbing ---------------------------------------------------------------------------

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(_db_call, fn, *args, **kwargs)
        )

    async def db_claim(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Claims run in their own thread and connection (see __init__)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._claim_executor, functools.partial(_db_call, fn, *args, **kwargs)
        )

    def stop(self) -> None:
        """Graceful stop: no new message starts; held rows go back to pending."""
        if not self._stopping:
            log.info("sender %s: stopping", self.id)
        self._stopping = True
        self._work.set()
        self._room.set()
        self._flush_now.set()

    # --- the run ----------------------------------------------------------------------------

    async def run(self) -> Stats:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop)
        log.info("sender %s: relay %s:%s", self.id, self.relay.host, self.relay.port)
        # The database threads need the GIL back after every round trip: while the event loop
        # is busy they would wait up to the switch interval (5 ms by default) each time.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, 0.0005))
        try:
            conninfo = await self.db(postgres_conninfo)
            if conninfo is not None:
                self._pg_claim = LoopConnection(conninfo)
                # Outcomes commit without waiting for the WAL flush: one lost in a crash of the
                # database server leaves its row `claimed`, which the janitor settles as
                # `unknown` — never `pending`, so never sent twice. Claims keep the synchronous
                # commit: a claim lost after its message left would send that message again.
                self._pg_settle = LoopConnection(conninfo, synchronous_commit=False)
            watch = self._watch
            await watch.start()
            helpers = [asyncio.create_task(self._janitor_loop())] if self.opt.janitor else []
            if self.opt.sending and self.opt.listen and connection.vendor == "postgresql":
                helpers.append(asyncio.create_task(watch.listen_loop()))
            if self.opt.sending:
                await watch.refresh_campaigns()
                helpers += [
                    asyncio.create_task(watch.loop()),
                    asyncio.create_task(self._heartbeat_loop()),
                ]
                flusher = asyncio.create_task(self._flush_loop())
                workers = [
                    asyncio.create_task(self._worker(n)) for n in range(self.opt.connections)
                ]
                claimer = asyncio.create_task(self._claim_loop())
                await claimer
                await asyncio.gather(*workers)
                self._release_buffer()
                self._flush_now.set()
                self._stopped.set()
                await flusher
            else:
                await self._stop_requested()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        finally:
            for pg in (self._pg_claim, self._pg_settle):
                if pg is not None:
                    with contextlib.suppress(Exception):
                        await pg.close()
            await self.db(_close_connection)
            await self.db_claim(_close_connection)
            self._executor.shutdown(wait=True)
            self._claim_executor.shutdown(wait=True)
            sys.setswitchinterval(switch_interval)
        self.stats.groups = self._shaper.snapshot()
        self.stats.notified = self._watch.notified
        log.info("sender %s: done %s", self.id, self.stats.as_dict())
        return self.stats

    async def _stop_requested(self) -> None:
        while not self._stopping:
            await asyncio.sleep(0.2)

    # --- what the watcher stops --------------------------------------------------------------

    async def _compile_message(self, campaign_id: int) -> CompiledMessage:
        campaign = await self.db(ledger.load_campaign, campaign_id)
        return await self.db(CompiledMessage, campaign)

    def _purge(self, predicate: RowTest) -> None:
        """Take the jobs of matching rows out of the buffer and settle them
        (pending/cancelled/suppressed)."""
        for group, queue in self._buffer.items():
            if not any(predicate(job.row) for job in queue):
                continue
            kept: deque[Job] = deque()
            for job in queue:
                if predicate(job.row):
                    self._buffered -= 1
                    self._release(job)
                else:
                    kept.append(job)
            self._buffer[group] = kept

    def _release_buffer(self) -> None:
        self._purge(lambda row: True)

    # --- claiming ---------------------------------------------------------------------------

    def _sending(self) -> bool:
        return (
            not self._stopping
            and not self._watch.blackout.national
            and any(s.status == SENDING for s in self._watch.campaigns.values())
        )

    def _nothing_left(self) -> bool:
        return (
            self._buffered == 0
            and self._outstanding == 0
            and not any(s.status == SENDING for s in self._watch.campaigns.values())
        )

    async def _claim_loop(self) -> None:
        low_water = self._low_water
        watch = self._watch
        turn = 0
        idle = False
        while not self._stopping:
            room = self.opt.max_claimed - self._outstanding
            sending = sorted(c for c, s in watch.campaigns.items() if s.status == SENDING)
            if watch.blackout.national:
                sending = []  # the campaigns stay "sending": they go on when the window ends
            if self.opt.once and self._nothing_left():
                break
            if not sending or self._buffered >= low_water or room < min(50, self.opt.claim_batch):
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), timeout=0.5)
                continue
            got = 0
            for offset in range(len(sending)):
                cid = sending[(turn + offset) % len(sending)]
                try:
                    got = await self._claim(cid, min(self.opt.claim_batch, room))
                except Exception:
                    log.exception("sender %s: claim failed", self.id)
                    await asyncio.sleep(1.0)
                    break
                if got:
                    turn += offset + 1
                    break
            if not got:
                if self._buffered == 0 and self._outstanding == 0 and not idle:
                    # Nothing left to claim nor to settle: the campaign may be done now; the
                    # janitor closes it without waiting for its next round (once per lull).
                    idle = True
                    self._janitor_now.set()
                await asyncio.sleep(0.2)
            else:
                idle = False
        self._stopping = True
        self._work.set()

    async def _claim(self, cid: int, limit: int) -> int:
        watch = self._watch
        state = watch.campaigns[cid]
        if state.message is None:
            return 0
        began = time.monotonic()
        claim: dict[str, Any] = {
            "sender_id": self.id,
            "campaign_id": cid,
            "purpose": state.purpose,
            "limit": limit,
            "lease_seconds": self.opt.lease_seconds,
            "blocked": sorted(watch.blocked),
        }
        if self._pg_claim is not None:
            rows, stopped = await self._pg_claim.run(ledger.claim_async, **claim)
        else:
            rows, stopped = await self.db_claim(ledger.claim, **claim)
        self.stats.claims += 1
        self.stats.claim_s += time.monotonic() - began
        self._outstanding += len(rows) + len(stopped)
        self.stats.claimed += len(rows)
        self._claim_left.update(row.claim for row in (*rows, *stopped) if row.claim)
        for row in stopped:
            self._record(ledger.Settlement(row, D.SUPPRESSED, None, "suppressed before the send"))
        message = state.message
        verp = message.verp
        unsubscribed = watch.unsubscribed
        for n, row in enumerate(rows):
            if n and not n % CLAIM_CHUNK:
                # Let the connections go on between chunks: a whole claim's jobs in one go would
                # keep the loop from every reply for milliseconds.
                self._work.set()
                await asyncio.sleep(0)
            address = row.email
            if not address.isascii():
                try:
                    address = ascii_address(address)
                except UnmailableAddress as exc:
                    # Refused here, for this row only: the rest of the batch goes on.
                    self._record(ledger.Settlement(row, D.REJECTED, None, str(exc)[:200]))
                    continue
            job = Job(
                row,
                message,
                Recipient(row.id, row.contact_id, address, row.email_hash, row.first_name),
                verp.address(row.id),
                address,
            )
            if unsubscribed(row) or state.status != SENDING:
                self._release(job)
                continue
            self._buffer.setdefault(row.provider, deque()).append(job)
            self._buffered += 1
        self._work.set()
        return len(rows) + len(stopped)

    # --- sending ----------------------------------------------------------------------------

    def _take(self) -> tuple[str, list[Job]] | None:
        """A batch of the group with the most waiting rows among those the shaper lets go now."""
        shaper = self._shaper
        now = time.monotonic()
        best: str | None = None
        allowed = 0
        for group, queue in self._buffer.items():
            if (
                queue
                and self._active_groups[group] < shaper.cap(group)
                and (best is None or len(queue) > len(self._buffer[best]))
            ):
                allowance = shaper.allowance(group, now)
                if allowance > 0:
                    best, allowed = group, allowance
        if best is None:
            return None
        self._active_groups[best] += 1
        return best, self._take_from(best, allowed, now)

    def _take_from(self, group: str, allowed: int, now: float) -> list[Job]:
        queue = self._buffer[group]
        size = min(self.opt.batch_per_connection, len(queue), allowed)
        jobs = [queue.popleft() for _ in range(size)]
        self._shaper.took(group, size, now)
        self._buffered -= size
        if self._buffered < self._low_water:
            self._room.set()
        return jobs

    def _refill(self, group: str) -> Callable[[], list[Job]]:
        """More jobs of the group for a connection's running batch (SmtpClient.send), as long
        as the shaper lets them go: the batch then goes on without a round trip of its own."""
        left = REFILLS

        def refill() -> list[Job]:
            nonlocal left
            if left <= 0 or self._stopping or not self._buffer.get(group):
                return []
            left -= 1
            now = time.monotonic()
            allowed = self._shaper.allowance(group, now)
            return self._take_from(group, allowed, now) if allowed > 0 else []

        return refill

    def _may_start(self, item: Outgoing) -> bool:
        assert isinstance(item, Job)
        watch = self._watch
        row = item.row
        state = watch.campaigns.get(row.campaign_id)
        blocked = watch.blocked
        return (
            not self._stopping
            and state is not None
            and state.status == SENDING
            and row.email_hash not in watch.suppressed
            and not (watch.withdrawn and watch.unsubscribed(row))
            and not watch.blackout.national
            and (not blocked or row.departement not in blocked)
        )

    async def _worker(self, number: int) -> None:
        client = SmtpClient(self.relay)
        backoff = 0.5
        try:
            while True:
                taken = self._take()
                if taken is None:
                    if self._stopping:
                        break
                    self._work.clear()
                    waited = time.monotonic()
                    timeout = 1.0
                    starving = not self._buffered
                    if not starving:  # rows wait for their group's tokens: wake up for them
                        groups = [g for g, q in self._buffer.items() if q]
                        timeout = min(1.0, max(0.002, self._shaper.delay(groups, waited)))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._work.wait(), timeout=timeout)
                    if self._sending() and starving:
                        self.stats.starved_s += time.monotonic() - waited
                    continue
                group, jobs = taken
                try:
                    if not client.connected:
                        try:
                            await client.connect()
                        except (ConnectionLost, SmtpError, OSError) as exc:
                            log.warning("sender %s/%s: %s", self.id, number, exc)
                            client.close()
                            for job in jobs:
                                self._on_result(job, Result(Outcome.RELEASED))
                            await asyncio.sleep(backoff)
                            backoff = min(backoff * 2, 10.0)
                            continue
                        backoff = 0.5
                    await client.send(
                        jobs, self._on_result_any, self._may_start, self._refill(group)
                    )
                except ConnectionLost as exc:
                    log.warning("sender %s/%s: connection lost: %s", self.id, number, exc)
                finally:
                    self._active_groups[group] -= 1
                    self._work.set()
        finally:
            await client.quit()

    def _on_result_any(self, item: Outgoing, result: Result) -> None:
        assert isinstance(item, Job)
        self._on_result(item, result)

    def _on_result(self, job: Job, result: Result) -> None:
        row = job.row
        reply = result.reply
        code = reply.code if reply else None
        text = reply.short() if reply else ""
        if result.outcome is Outcome.ACCEPTED:
            self._record(ledger.Settlement(row, D.ACCEPTED, code, text))
        elif result.outcome is Outcome.REJECTED:
            self._record(ledger.Settlement(row, D.REJECTED, code, text))
            if reply is not None and reply.enhanced.startswith("5.1."):
                self._bounces.append(
                    ledger.HardBounce(row.id, row.campaign_id, row.contact_id, row.email, text)
                )
        elif result.outcome is Outcome.DEFERRED:
            if (
                reply is not None
                and is_slow_down(code, reply.enhanced)
                and self._shaper.on_deferral(row.provider, time.monotonic())
            ):
                log.warning(
                    "sender %s: %s asks to slow down (%s): %s",
                    self.id,
                    row.provider,
                    text,
                    self._shaper.snapshot().get(row.provider),
                )
            if row.attempts >= self.opt.max_attempts:
                text = f"gave up after {row.attempts} attempts: {text}"
                self._record(ledger.Settlement(row, D.REJECTED, code, text))
            else:
                delay = self.opt.retry_base * 2 ** (row.attempts - 1)
                due = _now() + dt.timedelta(seconds=delay)
                self._record(ledger.Settlement(row, D.DEFERRED, code, text, due))
        elif result.outcome is Outcome.UNKNOWN:
            self._record(
                ledger.Settlement(row, D.UNKNOWN, None, "connection lost after the final dot")
            )
        else:
            state = self._watch.campaigns.get(row.campaign_id)
            if not self._stopping and state is not None and self._may_start(job):
                # The content never left (connection lost, relay down): send it again, from
                # this process, without a trip to the database.
                self._buffer.setdefault(row.provider, deque()).appendleft(job)
                self._buffered += 1
                self._work.set()
            else:
                self._release(job)

    def _release(self, job: Job) -> None:
        """Settle a job that never went on the wire, by what stopped it."""
        row = job.row
        state = self._watch.campaigns.get(row.campaign_id)
        if self._watch.unsubscribed(row):
            self._record(ledger.Settlement(row, D.SUPPRESSED, None, "suppressed during send"))
        elif state is not None and state.status == CANCELLED:
            self._record(ledger.Settlement(row, D.CANCELLED))
        else:
            # Paused, stopping, or the relay refused us: back to pending, due now, for anyone
            # to claim as a row that came back.
            self._record(ledger.Settlement(row, D.PENDING, None, "", _now()))

    def _record(self, settlement: ledger.Settlement) -> None:
        self._settle.append(settlement)
        self.stats.outcomes[settlement.status] += 1
        if len(self._settle) >= self.opt.flush_every or (
            # Settled but unflushed rows count against max_claimed: flush early when they
            # stand in the way of a claim that is due (not merely of the next one: right after
            # a claim there is never room for another, and flushes then came at half size).
            self._buffered < self._low_water
            and self.opt.max_claimed - self._outstanding < self.opt.claim_batch
            and len(self._settle) >= self.opt.flush_every // 2
        ):
            self._flush_now.set()

    # --- writing outcomes -------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), timeout=self.opt.flush_interval)
            self._flush_now.clear()
            await self._flush()
            if self._stopped.is_set() and not self._settle:
                return

    async def _flush(self) -> None:
        batch, self._settle = self._settle, []
        bounces, self._bounces = self._bounces, []
        if not batch:
            return
        # The claims whose last rows are in this batch end with it (in the same statement).
        flushed = Counter(s.row.claim for s in batch if s.row.claim)
        ended = [c for c, n in flushed.items() if self._claim_left[c] == n]
        began = time.monotonic()
        try:
            if self._pg_settle is not None:
                await self._pg_settle.run(ledger.settle_async, self.id, batch, ended)
            else:
                await self.db(ledger.settle, self.id, batch, ended)
            self.stats.flushes += 1
            self.stats.flush_s += time.monotonic() - began
        except Exception:
            log.exception("sender %s: writing %d outcomes failed; will retry", self.id, len(batch))
            self._settle[:0] = batch
            self._bounces[:0] = bounces
            await asyncio.sleep(1.0)
            return
        self._outstanding -= len(batch)
        self._claim_left.subtract(flushed)
        for claim in ended:
            del self._claim_left[claim]
        self._room.set()
        if bounces:
            try:
                await self.db(ledger.apply_hard_bounces, bounces)
            except Exception:
                log.exception("sender %s: recording hard bounces failed", self.id)

    # --- leases and the janitor -------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.2, self.opt.lease_seconds / 3))
            try:
                if self._pg_settle is not None:
                    # On the flush connection, never beside a flush: both lock this sender's
                    # rows, in different orders; on two connections they deadlocked.
                    await self._pg_settle.run(
                        ledger.heartbeat_async, self.id, self.opt.lease_seconds
                    )
                else:
                    await self.db(ledger.heartbeat, self.id, self.opt.lease_seconds)
            except Exception:
                log.exception("sender %s: heartbeat failed", self.id)

    async def _janitor_loop(self) -> None:
        while True:
            try:
                expired = await self.db(ledger.expire_leases)
                if expired:
                    log.warning("janitor: %d expired claims settled as unknown", expired)
                await self.db(ledger.promote_scheduled)
                finished = await self.db(ledger.finish_campaigns)
                if finished:
                    log.info("janitor: campaigns %s done", finished)
                    campaigns = self._watch.campaigns
                    for cid in finished:
                        if cid in campaigns:
                            campaigns[cid].status = Campaign.Status.DONE
                    self._room.set()
            except Exception:
                log.exception("janitor failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._janitor_now.wait(), self.opt.janitor_interval)
            self._janitor_now.clear()


def _close_connection() -> None:
    connection.close()  # looked up in the DB thread: Django connections are per thread


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _db_call[T](fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    from django.db import InterfaceError, OperationalError

    try:
        return fn(*args, **kwargs)
    except (InterfaceError, OperationalError):
        # A dropped PostgreSQL connection stays broken: open a new one at the next call.
        connection.close()
        raise
